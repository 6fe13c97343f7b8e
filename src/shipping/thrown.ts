import { serialize } from 'node:v8';
import * as rxpoolErrors from '../errors.js';
import type { ErrorRecord, ThrownRecord } from '../protocol/messages.js';

/**
 * Turns anything thrown into a record that survives the structured clone: an Error keeps its name,
 * message, stack, code and other own enumerable properties, cause and aggregated errors. A property
 * that cannot be cloned (a function, a socket) is replaced by a short description rather than
 * failing the whole error.
 */
export function encodeThrown(thrown: unknown, depth = 0): ThrownRecord {
  if (!(thrown instanceof Error) || depth > 8) {
    return { kind: 'value', value: cloneable(thrown) ? thrown : describe(thrown) };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (key === 'cause') continue;
    const value = (thrown as unknown as Record<string, unknown>)[key];
    props[key] = cloneable(value) ? value : describe(value);
  }
  const record: { -readonly [K in keyof ErrorRecord]: ErrorRecord[K] } = {
    kind: 'error',
    ctor: thrown.constructor?.name ?? 'Error',
    name: String(thrown.name),
    message: String(thrown.message),
    stack: typeof thrown.stack === 'string' ? thrown.stack : undefined,
    props,
  };
  if ('cause' in thrown) record.cause = encodeThrown(thrown.cause, depth + 1);
  if (thrown instanceof AggregateError && Array.isArray(thrown.errors)) {
    record.errors = thrown.errors.map((e: unknown) => encodeThrown(e, depth + 1));
  }
  return record;
}

const builtins: Record<string, new (...args: never[]) => Error> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
  AggregateError,
};

/**
 * Rebuilds what {@link encodeThrown} recorded: a real Error whose prototype is the matching built-in
 * class (TypeError, RangeError...) or, for errors rxpool raised inside the worker, the rxpool class,
 * so `instanceof` works. The worker's stack is kept. Nothing the worker sent is ever evaluated.
 */
export function decodeThrown(record: ThrownRecord): unknown {
  if (record.kind === 'value') return record.value;
  const errors = record.errors?.map(decodeThrown);
  const base = errors ? AggregateError : Error;
  const ctorArgs = errors ? [errors, record.message] : [record.message];
  const error: Error = Reflect.construct(base, ctorArgs, classFor(record));
  if (error.name !== record.name) {
    Object.defineProperty(error, 'name', { value: record.name, writable: true, configurable: true });
  }
  Object.defineProperty(error, 'stack', { value: record.stack, writable: true, configurable: true });
  if (record.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: decodeThrown(record.cause),
      writable: true,
      configurable: true,
    });
  }
  Object.assign(error, record.props);
  return error;
}

function classFor(record: ErrorRecord): new (...args: never[]) => Error {
  const code = record.props.code;
  if (typeof code === 'string' && code.startsWith('ERR_RXPOOL_')) {
    const own = (rxpoolErrors as Record<string, unknown>)[record.ctor];
    if (typeof own === 'function' && own.prototype instanceof rxpoolErrors.RxpoolError) {
      return own as new (
        ...args: never[]
      ) => Error;
    }
  }
  return builtins[record.ctor] ?? builtins[record.name] ?? Error;
}

/** True when `value` survives V8's structured clone. Used on error paths only: it serializes. */
export function cloneable(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return `[${value.toString()}]`;
  try {
    return `[uncloneable ${Object.prototype.toString.call(value).slice(8, -1)}: ${String(value)}]`;
  } catch {
    return '[uncloneable value]';
  }
}
