import type { FunctionSource } from '../protocol/messages.js';

/** The scheme shipped functions' stack frames carry, so both ends can tell them from library frames. */
export const SHIPPED_URL_SCHEME = 'rxpool-fn://';

/** Names bound around a rebuilt function, and their values, in the same order. */
export interface Bindings {
  readonly names: readonly string[];
  readonly values: readonly unknown[];
}

const NONE: Bindings = { names: [], values: [] };

/**
 * Rebuilds a shipped function from its source. The function is evaluated at the worker's top level:
 * it sees Node's globals, the `bindings` (the worker's `require`, withScope values) and nothing of
 * the scope it was written in. The `sourceURL` names the function in stack traces
 * (`at rxpool-fn://scale:1:20`).
 */
export function compileShipped(
  { source, name }: Pick<FunctionSource, 'source' | 'name'>,
  bindings: Bindings = NONE,
): (...args: unknown[]) => unknown {
  const url = `${SHIPPED_URL_SCHEME}${encodeURIComponent(name || 'anonymous')}`;
  // The newline before `)` keeps a trailing line comment in the source from swallowing the paren.
  const body = `return (${source}\n);\n//# sourceURL=${url}`;
  const fn: unknown = new Function(...bindings.names, body)(...bindings.values);
  if (typeof fn !== 'function') throw new TypeError(`the shipped source of \`${name}\` is not a function`);
  return fn as (...args: unknown[]) => unknown;
}
