import { serialize as v8Serialize } from 'node:v8';
import serialize from 'serialize-javascript';
import { SerializationError } from '../errors.js';
import type { FunctionSource, ModuleReference, ScopeValues } from '../protocol/messages.js';
import { encode, SCOPE_SITE } from './codec.js';
import { describeCulprit, findCulprit } from './culprit.js';
import type { FunctionAnalysis } from './free-variables.js';
import { analysisOf, shippingError } from './function-check.js';
import { rewriteImports } from './import-rewrite.js';
import type { SerializerSet } from './serializers.js';
import { taskDefinition } from './task-definition.js';

/** A function ready to ship: an id that workers cache it under, and what they rebuild it from. */
export interface ShippedFunction {
  readonly id: number;
  /** The name to report it by. */
  readonly name: string;
  /** The source a worker compiles ('' for a module export). */
  readonly source: string;
  /** What a worker needs to rebuild it, sent along with the first task that worker gets for `id`. */
  readonly wire: FunctionSource;
}

/** How an executor's registry checks and ships functions. */
export interface RegistryOptions {
  /** Names that workers define themselves (the executor's `globals` option): the check accepts them. */
  readonly globals?: readonly string[];
  /** The serializers in use, for scope values. */
  readonly serializers?: () => SerializerSet | undefined;
}

// biome-ignore lint/complexity/noBannedTypes: any callable can be shipped
type AnyFunction = Function;

/** One distinct source: its unit without scope, and the analysis its verdicts come from. */
interface Base {
  readonly shipped: ShippedFunction;
  readonly analysis: FunctionAnalysis;
  /** The unit without scope passed the check (it is run once, then remembered). */
  checked: boolean;
}

/**
 * Gives each distinct function an id and its source text, once, and refuses at once a function
 * that could not work in a worker (see `free-variables.ts`): the check runs once per distinct
 * source, so submitting the same function again costs a WeakMap lookup.
 *
 * The unit workers cache is a function with its scope: the same function object is found by
 * identity; a new object with the same source (an inline arrow in a loop) by its text; a function
 * with a withScope scope by the scope object, so its values travel once per worker for as long as
 * the same scope object is used. A module export (fromModule) is found by module and name.
 */
export class FunctionRegistry {
  readonly #byFunction = new WeakMap<AnyFunction, Base>();
  readonly #bySource = new Map<string, Base>();
  readonly #scoped = new WeakMap<object, Map<number, ShippedFunction>>();
  readonly #modules = new Map<string, ShippedFunction>();
  readonly #globals: readonly string[];
  readonly #serializers: () => SerializerSet | undefined;
  #nextId = 1;

  constructor(options: RegistryOptions = {}) {
    this.#globals = options.globals ?? [];
    this.#serializers = options.serializers ?? (() => undefined);
  }

  /**
   * The unit to ship for `fn` (a function, or one made by defineTask, withScope or fromModule);
   * `scope` replaces the scope it carries, if any.
   * @throws SerializationError when `fn` cannot work in a worker; TypeError when it is no function.
   */
  resolve(fn: unknown, scope?: Readonly<Record<string, unknown>>): ShippedFunction {
    const definition = taskDefinition(fn);
    const values = scope ?? definition.options.scope;
    if (definition.module) {
      if (values) throw new TypeError('A function from a module (fromModule) has no scope to ship: it has its module.');
      return this.#module(definition.module, definition.fn.name);
    }
    const target: unknown = definition.fn;
    if (typeof target !== 'function') {
      throw new TypeError(`Expected a function to run in a worker, got ${describeType(target)}`);
    }
    const base = this.#base(target);
    if (values !== undefined) return this.#withScope(base, values);
    if (!base.checked) {
      const error = shippingError(base.shipped.name, base.analysis, this.#provided());
      if (error) throw error;
      base.checked = true;
    }
    return base.shipped;
  }

  /** What workers have besides Node's globals: the executor's `globals`, and the classes with a serializer. */
  #provided(): readonly string[] {
    const classes = this.#serializers()?.classNames;
    return classes?.length ? [...this.#globals, ...classes] : this.#globals;
  }

  #base(fn: AnyFunction): Base {
    const known = this.#byFunction.get(fn);
    if (known) return known;
    const text = sourceOf(fn);
    let base = this.#bySource.get(text);
    if (!base) {
      const analysis = analysisOf(text);
      const source = rewriteImports(text, analysis.dynamicImports);
      const wire: FunctionSource = { source, name: fn.name };
      base = { shipped: { id: this.#nextId++, name: fn.name, source, wire }, analysis, checked: false };
      this.#bySource.set(text, base);
    }
    this.#byFunction.set(fn, base);
    return base;
  }

  #withScope(base: Base, scope: Readonly<Record<string, unknown>>): ShippedFunction {
    if (scope === null || typeof scope !== 'object' || Array.isArray(scope)) {
      throw new TypeError(`scope must be an object of values by name, got ${scope === null ? 'null' : typeof scope}`);
    }
    let units = this.#scoped.get(scope);
    const known = units?.get(base.shipped.id);
    if (known) return known;
    const { name, source } = base.shipped;
    const names = Object.keys(scope);
    for (const key of names) checkName(key);
    const error = shippingError(name, base.analysis, [...names, ...this.#provided()]);
    if (error) throw error;
    const wire: FunctionSource = { source, name, scope: this.#scopeValues(name, scope, names) };
    const unit: ShippedFunction = { id: this.#nextId++, name, source, wire };
    if (!units) {
      units = new Map();
      this.#scoped.set(scope, units);
    }
    units.set(base.shipped.id, unit);
    return unit;
  }

  /** The scope's values, encoded with the serializers in use, and checked to survive the trip now rather than at send. */
  #scopeValues(name: string, scope: Readonly<Record<string, unknown>>, names: readonly string[]): ScopeValues {
    const values = Object.fromEntries(names.map((key) => [key, scope[key]]));
    const serializers = this.#serializers();
    const encoded = serializers ? encode(values, serializers.table, SCOPE_SITE) : undefined;
    const wire: ScopeValues = encoded
      ? { values: encoded.value as Record<string, unknown>, records: encoded.records }
      : { values };
    try {
      v8Serialize(wire);
    } catch (error) {
      const fallback = error instanceof Error ? error.message : String(error);
      const culprit = names
        .map((key) => ({ key, found: findCulprit(wire.values[key]) }))
        .find(({ found }) => found !== undefined);
      const label = culprit ? `scope value \`${culprit.key}\`` : 'its scope';
      throw new SerializationError(
        `The function \`${name || 'anonymous'}\` cannot be sent to a worker with its scope: ${describeCulprit(label, culprit?.found, fallback)}.`,
        {
          stage: 'argument',
          path: culprit ? `${label}${culprit.found?.path ? ` → ${culprit.found.path}` : ''}` : undefined,
          functionName: name || undefined,
        },
        { cause: error },
      );
    }
    return wire;
  }

  #module(reference: ModuleReference, name: string): ShippedFunction {
    const key = `${reference.specifier}\0${reference.exportName}`;
    let unit = this.#modules.get(key);
    if (!unit) {
      unit = { id: this.#nextId++, name, source: '', wire: { source: '', name, module: reference } };
      this.#modules.set(key, unit);
    }
    return unit;
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
      ? 'it is a bound function: its target function and bound values are not reachable from its source, and stay in this process. Ship the function itself and pass the bound values as arguments, or with withScope({ ... })'
      : 'it is native code (a built-in such as Math.max, or a function from a native addon). Wrap the call in an arrow function that a worker can rebuild, e.g. (x) => Math.max(x, 0)';
    throw new SerializationError(
      `The function \`${name}\` cannot be sent to a worker: ${why}.`,
      {
        stage: 'function',
        functionName: name,
      },
      { cause: error },
    );
  }
}

/** A scope name becomes a parameter name in the worker: it must be one. */
function checkName(name: string): void {
  if (!/^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u.test(name)) {
    throw new TypeError(`scope name \`${name}\` is not a valid variable name`);
  }
  try {
    // Reserved words (class, await...) pass the pattern but not the parser.
    new Function(name, '');
  } catch (error) {
    if (error instanceof SyntaxError) throw new TypeError(`scope name \`${name}\` is not a valid variable name`);
    // Code generation disallowed here (--disallow-code-generation-from-strings): the worker will tell.
  }
}

function describeType(value: unknown): string {
  return value === null ? 'null' : typeof value;
}
