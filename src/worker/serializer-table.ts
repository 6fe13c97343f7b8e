import { SerializationError } from '../errors.js';
import type { SerializerSource } from '../protocol/messages.js';
import { type CodecEntry, decode, type Encoded, encode, type Placeholder, type Site } from '../shipping/codec.js';
import { type Bindings, compileShipped } from './compile.js';
import { projectBindings } from './project.js';

/** The symbols of the serializer protocol: registered symbols, the same in every process. */
const SYMBOLS = {
  serializeSymbol: Symbol.for('rxpool.serialize'),
  deserializeSymbol: Symbol.for('rxpool.deserialize'),
};

type Class = abstract new (...args: never[]) => unknown;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * The worker's side of custom serializers: the classes and functions the parent registered,
 * rebuilt from their source on first use. Decodes arguments and scope values, and encodes results
 * with the latest set the parent sent; does nothing at all until the parent sends one.
 */
export class SerializerTable {
  readonly #sources = new Map<number, SerializerSource>();
  readonly #entries = new Map<number, CodecEntry>();
  readonly #classes = new Map<number, Class>();
  #active: readonly SerializerSource[] = [];
  #table: Map<object, CodecEntry> | undefined;

  /** The executor's serializers changed: `sources` is the whole new set. */
  accept(sources: readonly SerializerSource[]): void {
    for (const source of sources) this.#sources.set(source.id, source);
    this.#active = sources;
    this.#table = undefined;
  }

  /** The registered classes by name, bound around every shipped function so that it can use them. */
  classBindings(): Bindings | undefined {
    if (this.#active.length === 0) return undefined;
    const named = this.#active.filter((source) => IDENTIFIER.test(source.name));
    return { names: named.map((source) => source.name), values: named.map((source) => this.#class(source)) };
  }

  /** Rebuilds the instances in a value the parent encoded. */
  decode(value: unknown, records: readonly Placeholder[], site: Site): unknown {
    return decode(value, records, (id) => this.#entry(id), site);
  }

  /** Encodes a value for the parent, or `undefined` when it holds no registered instance (or none is registered). */
  encode(value: unknown, site: Site): Encoded | undefined {
    if (this.#active.length === 0) return undefined;
    this.#table ??= new Map(
      this.#active.map((source) => [this.#class(source).prototype as object, this.#entry(source.id) as CodecEntry]),
    );
    return encode(value, this.#table, site);
  }

  #entry(id: number): CodecEntry | undefined {
    const known = this.#entries.get(id);
    if (known) return known;
    const source = this.#sources.get(id);
    if (!source) return undefined;
    const entry = this.#build(source);
    this.#entries.set(id, entry);
    return entry;
  }

  #build(source: SerializerSource): CodecEntry {
    const type = this.#class(source);
    const protocol = type as unknown as Record<symbol, (data: unknown) => unknown>;
    const bindings = this.#bindings(source.name, type);
    return {
      id: source.id,
      name: source.name,
      serialize: source.serialize
        ? this.#compile(source, source.serialize, bindings)
        : (value) => (value as Record<symbol, () => unknown>)[SYMBOLS.serializeSymbol]?.(),
      deserialize: source.deserialize
        ? this.#compile(source, source.deserialize, bindings)
        : (data) => protocol[SYMBOLS.deserializeSymbol]?.(data),
    };
  }

  #class(source: SerializerSource): Class {
    let type = this.#classes.get(source.classId);
    if (!type) {
      type =
        source.classSource === undefined
          ? ((globalThis as Record<string, unknown>)[source.name] as Class)
          : (this.#compile(source, source.classSource, this.#bindings('', undefined)) as unknown as Class);
      this.#classes.set(source.classId, type);
    }
    return type;
  }

  /** The class under its own name, the protocol symbols, and the project's `require` and `import`. */
  #bindings(name: string, type: Class | undefined): { names: string[]; values: unknown[] } {
    const base = projectBindings();
    const names = [...base.names, 'serializeSymbol', 'deserializeSymbol'];
    const values = [...base.values, SYMBOLS.serializeSymbol, SYMBOLS.deserializeSymbol];
    if (type && IDENTIFIER.test(name)) {
      names.push(name);
      values.push(type);
    }
    return { names, values };
  }

  #compile(
    source: SerializerSource,
    text: string,
    bindings: { names: string[]; values: unknown[] },
  ): (value: unknown) => unknown {
    try {
      return compileShipped({ source: text, name: source.name }, bindings);
    } catch (error) {
      throw new SerializationError(
        `The serializer of \`${source.name}\` could not be rebuilt in the worker: ${String(error)}`,
        { stage: 'function', functionName: source.name },
        { cause: error },
      );
    }
  }
}
