import serialize from 'serialize-javascript';
import { SerializationError } from '../errors.js';
import type { FunctionSource } from '../protocol/messages.js';

/** A function ready to ship: an id that workers cache it under, and its source. */
export interface ShippedFunction extends FunctionSource {
  readonly id: number;
}

// biome-ignore lint/complexity/noBannedTypes: any callable can be shipped
type AnyFunction = Function;

/**
 * Gives each distinct function an id and its source text, once. The same function object is found
 * by identity; a new object with the same source (an inline arrow in a loop) is found by its text,
 * so each worker compiles it only once.
 */
export class FunctionRegistry {
  readonly #byFunction = new WeakMap<AnyFunction, ShippedFunction>();
  readonly #bySource = new Map<string, ShippedFunction>();
  #nextId = 1;

  resolve(fn: unknown): ShippedFunction {
    if (typeof fn !== 'function') {
      throw new TypeError(`Expected a function to run in a worker, got ${describeType(fn)}`);
    }
    const known = this.#byFunction.get(fn);
    if (known) return known;
    const source = sourceOf(fn);
    let shipped = this.#bySource.get(source);
    if (!shipped) {
      shipped = { id: this.#nextId++, source, name: fn.name };
      this.#bySource.set(source, shipped);
    }
    this.#byFunction.set(fn, shipped);
    return shipped;
  }
}

function sourceOf(fn: AnyFunction): string {
  try {
    // `unsafe`: the source goes to a worker, not into HTML, so it must stay byte for byte.
    return serialize(fn, { unsafe: true });
  } catch (error) {
    const name = fn.name || 'anonymous';
    const bound = name.startsWith('bound ');
    const why = bound
      ? 'it is a bound function, whose target and bound values stay in this process'
      : 'it is native code (a built-in such as Math.max, or a function from a native addon)';
    throw new SerializationError(
      `The function \`${name}\` cannot be sent to a worker: ${why}. Wrap the call in an arrow function that a worker can rebuild, e.g. (x) => Math.max(x, 0), and pass bound values as arguments.`,
      { stage: 'function', functionName: name },
      { cause: error },
    );
  }
}

function describeType(value: unknown): string {
  return value === null ? 'null' : typeof value;
}
