/**
 * Custom serializers, the counterpart of loky's reducers: a registered class crosses the process
 * boundary as an instance of that class, both ways. Registrations are global
 * ({@link registerSerializer}) or per executor (its `serializers` option).
 *
 * The worker rebuilds the class and the serializer functions from their source, once, like a
 * shipped function. The parent decodes what workers send with its own registered functions only:
 * a worker sends data, never code.
 * @module
 */
import serialize from 'serialize-javascript';
import { SerializationError } from '../errors.js';
import type { SerializerSource } from '../protocol/messages.js';
import type { CodecEntry } from './codec.js';
import { analysisOf, shippingError } from './function-check.js';
import { workerGlobals } from './worker-globals.js';

/**
 * The instance method that turns an instance into cloneable data: `[serializeSymbol]() { return ... }`.
 * `Symbol.for('rxpool.serialize')`, so a class can implement it without importing rxpool.
 */
export const serializeSymbol: unique symbol = Symbol.for('rxpool.serialize');

/**
 * The static method that rebuilds an instance from that data: `static [deserializeSymbol](data) { ... }`.
 * `Symbol.for('rxpool.deserialize')`.
 */
export const deserializeSymbol: unique symbol = Symbol.for('rxpool.deserialize');

/** Any class. */
export type Class<T = unknown> = abstract new (...args: never[]) => T;

/**
 * How instances of a class cross between processes: `serialize` turns one into data that structured
 * clone can carry (it may hold other registered instances), `deserialize` builds the instance back.
 * Both are shipped to workers by source: they may use their parameters, the class (by its name) and
 * worker globals, nothing else of the scope they were written in.
 */
export interface Serializer<T = unknown, D = unknown> {
  /** Turns an instance into data that structured clone can carry. Shipped by source: it sees only its parameter and globals. */
  serialize(value: T): D;
  /** Rebuilds the instance from that data, in the worker or in the parent. */
  deserialize(data: D): T;
}

/**
 * One entry of the executor's `serializers` option: a class and its serializer, or a class alone
 * when it implements `[serializeSymbol]()` and `static [deserializeSymbol](data)`.
 */
export interface SerializerRegistration<T = unknown, D = unknown> extends Partial<Serializer<T, D>> {
  /** The class whose instances it handles (matched by exact prototype). */
  readonly type: Class<T>;
}

/** A registration, checked and ready for both ends. */
export interface SerializerDefinition extends CodecEntry {
  readonly type: Class;
  readonly source: SerializerSource;
}

/** The serializers an executor uses at one moment: global and its own, which win for the same class. */
export interface SerializerSet {
  /** Grows with every new set in this process: a worker is sent a set newer than the last it got. */
  readonly version: number;
  /** Each registered class's prototype → its serializer. */
  readonly table: ReadonlyMap<object, CodecEntry>;
  /** What a worker needs to rebuild them. */
  readonly sources: readonly SerializerSource[];
  /** The names the classes are bound to in shipped functions (workers have them). */
  readonly classNames: readonly string[];
}

let nextId = 1;
let nextClassId = 1;
let nextSetVersion = 1;
const classIds = new WeakMap<Class, number>();
/** Every registration ever made here, by id: how results are decoded, with this process's own functions. */
const registrations = new Map<number, SerializerDefinition>();
const globalSerializers = new Map<Class, SerializerDefinition>();
let globalVersion = 0;

/** The names a shipped serializer may use besides its parameters and worker globals. */
const SYMBOL_NAMES = ['serializeSymbol', 'deserializeSymbol'];

/**
 * Registers how instances of `type` cross between processes, for every executor of this process:
 * in arguments, results and withScope values, nested anywhere in arrays, objects, Maps and Sets.
 * Without `serializer`, the class's own `[serializeSymbol]()` and `static [deserializeSymbol](data)`
 * are used. Registering a class again replaces its serializer. Instances are matched by their exact
 * class (a subclass needs its own registration).
 *
 * Nothing is looked for in values until a serializer is registered: without any, values cross as
 * they are, at no cost.
 *
 * @example
 * ```ts
 * class Point { constructor(readonly x: number, readonly y: number) {} }
 * registerSerializer(Point, { serialize: (p) => [p.x, p.y], deserialize: ([x, y]) => new Point(x, y) });
 * ```
 * @throws SerializationError when the class or the functions cannot be rebuilt in a worker (they use
 *   variables of their module, or are native or bound functions); TypeError on a malformed call.
 */
export function registerSerializer<T, D>(type: Class<T>, serializer?: Serializer<T, D>): void {
  const registration: SerializerRegistration = serializer
    ? { type, serialize: serializer.serialize, deserialize: serializer.deserialize }
    : { type };
  globalSerializers.set(type, defineSerializer(registration as SerializerRegistration));
  globalVersion++;
}

/** Checks a registration and prepares it for both ends. */
export function defineSerializer(registration: SerializerRegistration): SerializerDefinition {
  if (registration === null || typeof registration !== 'object') {
    throw new TypeError(`a serializer registration must be an object { type, serialize, deserialize }`);
  }
  const { type } = registration;
  if (typeof type !== 'function' || typeof type.prototype !== 'object' || type.prototype === null) {
    throw new TypeError(`a serializer is registered for a class, got ${type === null ? 'null' : typeof type}`);
  }
  const name = type.name || 'anonymous';
  const given = [registration.serialize, registration.deserialize];
  if (
    given.some((fn) => fn !== undefined && typeof fn !== 'function') ||
    (given[0] === undefined) !== (given[1] === undefined)
  ) {
    throw new TypeError(`The serializer of \`${name}\` needs both serialize and deserialize functions, or neither.`);
  }
  const own = registration.serialize !== undefined;
  const protocol = type as unknown as { [deserializeSymbol]?: unknown; prototype: { [serializeSymbol]?: unknown } };
  if (
    !own &&
    (typeof protocol.prototype[serializeSymbol] !== 'function' || typeof protocol[deserializeSymbol] !== 'function')
  ) {
    throw new TypeError(
      `\`${name}\` has no serializer: pass { serialize, deserialize }, or give the class a \`[serializeSymbol]()\` method and a \`static [deserializeSymbol](data)\` method.`,
    );
  }
  const bound = identifier(type.name) ? [type.name, ...SYMBOL_NAMES] : SYMBOL_NAMES;
  let classId = classIds.get(type);
  if (classId === undefined) {
    classId = nextClassId++;
    classIds.set(type, classId);
  }
  const definition: SerializerDefinition = {
    id: nextId++,
    name,
    type,
    serialize: own
      ? (registration.serialize as (value: object) => unknown)
      : (value) => (value as { [serializeSymbol]: () => unknown })[serializeSymbol](),
    deserialize: own
      ? (registration.deserialize as (data: unknown) => unknown)
      : (data) => (type as unknown as { [deserializeSymbol]: (data: unknown) => unknown })[deserializeSymbol](data),
    source: {
      id: 0,
      classId,
      name: type.name,
      classSource: isWorkerGlobal(type) ? undefined : shippableSource(name, type, 'class', bound),
      serialize: own ? shippableSource(name, registration.serialize as () => unknown, 'serialize', bound) : undefined,
      deserialize: own
        ? shippableSource(name, registration.deserialize as () => unknown, 'deserialize', bound)
        : undefined,
    },
  };
  (definition.source as { id: number }).id = definition.id;
  registrations.set(definition.id, definition);
  return definition;
}

/** This process's own registration with that id, to decode what a worker sent. */
export function registeredSerializer(id: number): CodecEntry | undefined {
  return registrations.get(id);
}

/**
 * The serializers of one executor: the global ones, overridden by its own. `current()` is what a
 * task uses; it is `undefined`, and costs two reads, while nothing is registered anywhere.
 */
export class SerializerScope {
  readonly #own: readonly SerializerDefinition[];
  #set: SerializerSet | undefined;
  #builtAt = -1;

  constructor(registrations: readonly (Class | SerializerRegistration)[] = []) {
    if (!Array.isArray(registrations))
      throw new TypeError('serializers must be an array of { type, serialize, deserialize }');
    this.#own = registrations.map((registration) =>
      typeof registration === 'function' ? defineSerializer({ type: registration }) : defineSerializer(registration),
    );
  }

  current(): SerializerSet | undefined {
    if (this.#own.length === 0 && globalSerializers.size === 0) return undefined;
    if (this.#builtAt !== globalVersion) {
      const byType = new Map(globalSerializers);
      for (const definition of this.#own) byType.set(definition.type, definition);
      const definitions = [...byType.values()];
      this.#set = {
        version: nextSetVersion++,
        table: new Map(definitions.map((definition) => [definition.type.prototype as object, definition])),
        sources: definitions.map((definition) => definition.source),
        classNames: definitions.map((definition) => definition.type.name).filter(identifier),
      };
      this.#builtAt = globalVersion;
    }
    return this.#set;
  }
}

function identifier(name: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(name);
}

/** A class every worker has under its own name, such as URL: nothing to ship. */
function isWorkerGlobal(type: Class): boolean {
  return workerGlobals().has(type.name) && (globalThis as Record<string, unknown>)[type.name] === type;
}

/** The source a worker rebuilds `fn` from, checked like a shipped function, with `bound` names allowed. */
function shippableSource(
  className: string,
  // biome-ignore lint/complexity/noBannedTypes: a class or a function
  fn: Function,
  role: 'class' | 'serialize' | 'deserialize',
  bound: readonly string[],
): string {
  const what = role === 'class' ? `the class \`${className}\`` : `the ${role} function of \`${className}\``;
  let source: string;
  try {
    source = serialize(fn, { unsafe: true });
  } catch (error) {
    throw new SerializationError(
      `Cannot register a serializer for \`${className}\`: ${what} is native code or a bound function, which cannot be rebuilt in a worker.`,
      { stage: 'function', functionName: className },
      { cause: error },
    );
  }
  const problem = shippingError(role === 'class' ? className : fn.name, analysisOf(source), bound);
  if (problem) {
    throw new SerializationError(
      `Cannot register a serializer for \`${className}\`: workers rebuild ${what} from its source, with only the class (by its name) and \`serializeSymbol\`/\`deserializeSymbol\` around it. ${problem.message}`,
      { stage: 'function', path: problem.path, functionName: className },
    );
  }
  return source;
}
