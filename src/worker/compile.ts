import type { FunctionSource } from '../protocol/messages.js';

/** The scheme shipped functions' stack frames carry, so both ends can tell them from library frames. */
export const SHIPPED_URL_SCHEME = 'rxpool-fn://';

/**
 * Rebuilds a shipped function from its source. The function is evaluated at the worker's top level:
 * it sees Node's globals and nothing of the scope it was written in. The `sourceURL` names the
 * function in stack traces (`at rxpool-fn://scale:1:20`).
 */
export function compileShipped({ source, name }: FunctionSource): (...args: unknown[]) => unknown {
  const url = `${SHIPPED_URL_SCHEME}${encodeURIComponent(name || 'anonymous')}`;
  // The newline before `)` keeps a trailing line comment in the source from swallowing the paren.
  const fn: unknown = new Function(`return (${source}\n);\n//# sourceURL=${url}`)();
  if (typeof fn !== 'function') throw new TypeError(`the shipped source of \`${name}\` is not a function`);
  return fn as (...args: unknown[]) => unknown;
}
