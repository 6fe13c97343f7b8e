/**
 * Plain data, packed: values made only of plain objects and arrays of strings, numbers, booleans,
 * null and undefined (rows, API records, lists of numbers) cross as four flat parts instead of a
 * tree: a list of structure codes (in one string), every number in one `Float64Array`, every string in
 * one list, and each object shape's keys once. V8's serializer writes such a tree value by value (a tag and a
 * boxed number per double) and its deserializer rebuilds each object key by key; the packed parts
 * are copied nearly as they are, and objects of one shape are rebuilt by one object literal, compiled
 * once per shape.
 *
 * A value is packed only when the receiver gets exactly what structured clone would give it: nothing
 * reached twice (structured clone keeps shared references and cycles), no holes or named
 * properties on arrays, no Proxy, no class instances, no inherited enumerable keys. Anything else is
 * sent the usual way, untouched.
 * @module
 */
import { types } from 'node:util';
import { define } from '../shipping/codec.js';

/** A packed value: structure codes, numbers, strings, and the keys of each object shape. */
export type Packed = [codes: string, numbers: Float64Array, strings: string[], shapes: string[][]];

/**
 * The codes travel as a string, one UTF-16 unit per code below ESCAPE, else ESCAPE and the code's
 * two 16-bit halves. A string is heap memory, freed by the young generation's quick collections; a
 * typed array's bytes are external memory, and in a parent that receives many packed values at once
 * (records by the thousand) that external memory brought V8's full collections over the whole heap,
 * each as long as a second with a gigabyte of results alive. The units are copied as they are, lone
 * surrogates included (structured clone and Buffer's `utf16le` both keep them).
 */
const ESCAPE = 0xd800;

const Code = {
  /** Followed by the shape's index; then the shape's property values, in order. */
  Object: 1,
  /** Followed by the length; then the elements. */
  Array: 2,
  /** Followed by the length: an array of numbers only, its elements next in the numbers. */
  Numbers: 3,
  /** The next string. */
  String: 4,
  /** The next number. */
  Number: 5,
  /** Followed by the value: an int32 (not -0). */
  Int: 6,
  True: 7,
  False: 8,
  Null: 9,
  Undefined: 10,
  /** Followed by an index into the strings: a short string met before in this value. */
  Again: 11,
} as const;

/**
 * Strings up to this length are sent once per value, and each repeat refers to the first. Records
 * repeat their short strings (tags, enums, categories): sent once, they are deserialized once and
 * the rebuilt records share one string, as JSON.parse (which internalizes short strings) makes them
 * share. Longer strings rarely repeat, and hashing them would cost a pass over each.
 */
const MAX_SHARED_LENGTH = 32;

/** Deeper than this, packing gives up: deep chains are not what it is for. */
const MAX_DEPTH = 200;
/**
 * Fewer items (elements and properties, nested ones included) than this, and a value is not packed:
 * the look that counts them stops here. Measured through 2 workers (echoes, Node 20, 2 cores), the
 * packed form's fixed costs (two typed arrays per message, the walk's set) make it slower up to about
 * 64 items (-25% tasks/s), level at 128 for records and slightly behind for numbers, and ahead from
 * 256 on (+20–25%; 1,024 numbers: 2.5×).
 */
const MIN_ITEMS = 200;
/** An array at least this long whose first element is a number is tried as {@link Code.Numbers}. */
const MIN_NUMBERS = 8;

/**
 * `value` packed, when that is exact and pays; `undefined` to send it as it is. A getter is read
 * here, and again by the usual path if packing gives up after it: one that changes its answer
 * between the reads is not supported. Whatever throws here (a getter) sends the value the usual way,
 * where the same problem is reported as it always was.
 */
export function pack(value: unknown): Packed | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    if (itemsLeft(value, 0, MIN_ITEMS) > 0 || inheritsEnumerableKeys()) return undefined;
  } catch {
    return undefined; // a getter threw
  }
  const packer = new Packer(spare ?? [new Int32Array(1024), new Float64Array(256), new Uint16Array(1024)]);
  spare = undefined; // a getter that packs meanwhile gets buffers of its own
  try {
    return packer.pack(value);
  } catch {
    return undefined;
  } finally {
    const buffers = packer.buffers;
    if (buffers[0].byteLength + buffers[1].byteLength + buffers[2].byteLength <= KEEP_BYTES) spare = buffers;
  }
}

/**
 * The last packing's buffers, for the next: growing fresh ones for every value made garbage (and
 * external memory, which brings V8's collector) several times the size of the packed parts.
 */
let spare: Buffers | undefined;
/** Larger buffers than this are not kept: a rare huge value should not hold its memory for good. */
const KEEP_BYTES = 1 << 20;
type Buffers = [codes: Int32Array, numbers: Float64Array, units: Uint16Array];

/** The value {@link pack} packed, rebuilt. */
export function unpack([codes, numbers, strings, shapes]: Packed): unknown {
  let at = 0;
  let number = 0;
  let string = 0;
  const next = (): number => {
    const unit = codes.charCodeAt(at++);
    return unit < ESCAPE ? unit : (codes.charCodeAt(at++) << 16) | codes.charCodeAt(at++);
  };
  // Per shape: its builder; `null` once it was met here and built key by key; `undefined` before.
  const builders: Array<Builder | null | undefined> = new Array(shapes.length);
  const read = (): unknown => {
    // A structure code is always one unit; only operands (shapes, lengths, integers, indices) may be escaped.
    switch (codes.charCodeAt(at++)) {
      case Code.Object: {
        const shape = next();
        const keys = shapes[shape] as string[];
        let builder = builders[shape];
        if (!builder) {
          builder = builderFor(keys, builder === null) ?? null;
          builders[shape] = builder;
        }
        return builder ? builder(read) : buildByKeys(keys, read);
      }
      // Arrays are made at their final length and filled: `push` leaves spare capacity behind (16
      // slots in a 3-element array), memory that the results would hold for as long as they live.
      case Code.Array: {
        const length = next();
        const array: unknown[] = new Array(length);
        for (let i = 0; i < length; i++) array[i] = read();
        return array;
      }
      case Code.Numbers: {
        const length = next();
        const array: number[] = new Array(length);
        for (let i = 0; i < length; i++) array[i] = numbers[number++] as number;
        return array;
      }
      case Code.String:
        return strings[string++];
      case Code.Again:
        return strings[next()];
      case Code.Number:
        return numbers[number++];
      case Code.Int:
        return next();
      case Code.True:
        return true;
      case Code.False:
        return false;
      case Code.Null:
        return null;
      case Code.Undefined:
        return undefined;
      default:
        throw new TypeError(`packed value: unknown code ${codes.charCodeAt(at - 1)} at ${at - 1}`);
    }
  };
  return read();
}

/**
 * About how many bytes a packed value adds to a message (a string counts its length). A part that
 * went on the byte lane is `null` here, and adds nothing.
 */
export function packedSize([codes, numbers, strings]: Packed): number {
  let bytes = 2 * codes.length + (numbers?.byteLength ?? 0);
  for (const string of strings) bytes += string.length;
  return bytes;
}

/**
 * `left` less the items (elements, properties) of `value`, nested ones included; the look stops once
 * it reaches 0. Bounded, and it allocates nothing: it runs on every task's arguments and result.
 */
function itemsLeft(value: object, depth: number, left: number): number {
  if (depth > MAX_DEPTH) return left;
  if (Array.isArray(value)) {
    const n = value.length;
    let rest = left - n;
    for (let i = 0; i < n && rest > 0; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) rest = itemsLeft(item, depth + 1, rest);
    }
    return rest;
  }
  // A typed array, Map, Date, class instance...: not packed, and not looked into.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return left;
  let rest = left;
  for (const key in value) {
    if (--rest <= 0) return rest;
    const item: unknown = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null) rest = itemsLeft(item, depth + 1, rest);
    if (rest <= 0) return rest;
  }
  return rest;
}

/** An enumerable key on `Object.prototype` would be listed by `for...in` as the object's own. */
function inheritsEnumerableKeys(): boolean {
  for (const _ in {}) return true;
  return false;
}

/** One packing: growable code and number buffers, the strings, the shapes met so far. */
class Packer {
  #codes: Int32Array;
  #at = 0;
  #numbers: Float64Array;
  #units: Uint16Array;
  #count = 0;
  readonly #strings: string[] = [];
  /** Where each short string is in the strings (see MAX_SHARED_LENGTH). */
  readonly #stringIds = new Map<string, number>();
  readonly #shapes: string[][] = [];
  readonly #shapeIds = new Map<string, number>();
  /** The last shape seen at each depth: the next object there (a sibling record) likely has it too. */
  readonly #recent: Array<Shape | undefined> = [];
  readonly #seen = new Set<object>();

  constructor([codes, numbers, units]: Buffers) {
    this.#codes = codes;
    this.#numbers = numbers;
    this.#units = units;
  }

  /** The buffers as they are now (grown, perhaps), to keep for the next packing. */
  get buffers(): Buffers {
    return [this.#codes, this.#numbers, this.#units];
  }

  pack(root: object): Packed | undefined {
    if (!this.#container(root, 0)) return undefined;
    return [this.#encodedCodes(), this.#numbers.slice(0, this.#count), this.#strings, this.#shapes];
  }

  /** The codes as a string (see ESCAPE). */
  #encodedCodes(): string {
    const codes = this.#codes;
    const n = this.#at;
    // At most three units per code; most take one.
    if (this.#units.length < 3 * n) this.#units = new Uint16Array(Math.max(2 * this.#units.length, 3 * n));
    const units = this.#units;
    let length = 0;
    for (let i = 0; i < n; i++) {
      const code = codes[i] as number;
      if (code >= 0 && code < ESCAPE) units[length++] = code;
      else {
        units[length++] = ESCAPE;
        units[length++] = code >>> 16;
        units[length++] = code & 0xffff;
      }
    }
    return Buffer.from(units.buffer, units.byteOffset, 2 * length).toString('utf16le');
  }

  #value(item: unknown, depth: number): boolean {
    switch (typeof item) {
      case 'string':
        this.#string(item);
        return true;
      case 'number':
        if ((item | 0) === item && (item !== 0 || 1 / item > 0)) this.#code2(Code.Int, item);
        else {
          this.#code(Code.Number);
          this.#number(item);
        }
        return true;
      case 'boolean':
        this.#code(item ? Code.True : Code.False);
        return true;
      case 'undefined':
        this.#code(Code.Undefined);
        return true;
      case 'object':
        if (item === null) {
          this.#code(Code.Null);
          return true;
        }
        return this.#container(item, depth + 1);
      default:
        return false; // bigint, symbol, function
    }
  }

  #string(value: string): void {
    if (value.length <= MAX_SHARED_LENGTH) {
      const id = this.#stringIds.get(value);
      if (id !== undefined) {
        this.#code2(Code.Again, id);
        return;
      }
      this.#stringIds.set(value, this.#strings.length);
    }
    this.#code(Code.String);
    this.#strings.push(value);
  }

  #container(value: object, depth: number): boolean {
    const seen = this.#seen;
    const before = seen.size;
    // Reached twice, too deep, or a Proxy (which fails structured clone whatever it wraps).
    if (seen.add(value).size === before || depth > MAX_DEPTH || types.isProxy(value)) return false;
    if (Array.isArray(value)) {
      if (Object.getPrototypeOf(value) !== Array.prototype) return false;
      const n = value.length;
      // Holes and named properties (a RegExp match's `index`) survive structured clone.
      if (Object.keys(value).length !== n) return false;
      if (n >= MIN_NUMBERS && typeof value[0] === 'number' && this.#numberRun(value as unknown[])) return true;
      this.#code2(Code.Array, n);
      for (let i = 0; i < n; i++) if (!this.#value(value[i], depth)) return false;
      return true;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false; // Date, Map, typed array, class instance...
    this.#code2(Code.Object, 0);
    const slot = this.#at - 1;
    const recent = this.#recent[depth];
    const recentKeys = recent?.keys;
    let same = recentKeys !== undefined;
    let keys = 0;
    for (const key in value) {
      if (same && recentKeys?.[keys] !== key) same = false;
      keys++;
      if (!this.#value((value as Record<string, unknown>)[key], depth)) return false;
    }
    this.#codes[slot] = same && recentKeys?.length === keys ? (recent as Shape).id : this.#shapeOf(value, depth);
    return true;
  }

  /** An array of numbers only, straight into the numbers; `false` (and nothing written) if it is not. */
  #numberRun(array: readonly unknown[]): boolean {
    const n = array.length;
    this.#reserveNumbers(n);
    const numbers = this.#numbers;
    const start = this.#count;
    for (let i = 0; i < n; i++) {
      const item = array[i];
      if (typeof item !== 'number') return false;
      numbers[start + i] = item;
    }
    this.#count = start + n;
    this.#code2(Code.Numbers, n);
    return true;
  }

  #shapeOf(value: object, depth: number): number {
    const keys: string[] = [];
    for (const key in value) keys.push(key);
    const name = JSON.stringify(keys);
    let id = this.#shapeIds.get(name);
    if (id === undefined) {
      id = this.#shapes.length;
      this.#shapeIds.set(name, id);
      this.#shapes.push(keys);
    }
    this.#recent[depth] = { keys: this.#shapes[id] as string[], id };
    return id;
  }

  #code(code: number): void {
    if (this.#at === this.#codes.length) this.#codes = grown(this.#codes, this.#at + 1);
    this.#codes[this.#at++] = code;
  }

  #code2(code: number, operand: number): void {
    if (this.#at + 2 > this.#codes.length) this.#codes = grown(this.#codes, this.#at + 2);
    this.#codes[this.#at++] = code;
    this.#codes[this.#at++] = operand;
  }

  #number(value: number): void {
    this.#reserveNumbers(1);
    this.#numbers[this.#count++] = value;
  }

  #reserveNumbers(n: number): void {
    if (this.#count + n > this.#numbers.length) this.#numbers = grown(this.#numbers, this.#count + n);
  }
}

/** A shape's keys, and its index in the packed shapes. */
interface Shape {
  readonly keys: readonly string[];
  readonly id: number;
}

function grown<T extends Int32Array | Float64Array>(buffer: T, least: number): T {
  const next = new (buffer.constructor as new (length: number) => T)(Math.max(buffer.length * 2, least));
  next.set(buffer);
  return next;
}

/** Builds one object of a shape, reading its property values in order. */
type Builder = (read: () => unknown) => Record<string, unknown>;

/** Shapes with more keys than this are built key by key: a literal that large is slow to compile. */
const MAX_LITERAL_KEYS = 64;
/** Compiled builders kept across messages, by shape (bounded: emptied when full). */
const literals = new Map<string, Builder>();
const MAX_LITERALS = 1000;
/** Turned off for good if the process forbids compiling code from strings. */
let compiling = true;

/**
 * The builder for objects of `keys`: an object literal, compiled once per shape, which creates the
 * object with its final layout at once. `undefined` while a shape has been used only once in this
 * value and was never compiled before: that object is built key by key, and compiling waits for a
 * second one.
 */
function builderFor(keys: readonly string[], reused: boolean): Builder | undefined {
  if (!compiling || keys.length > MAX_LITERAL_KEYS) return (read) => buildByKeys(keys, read);
  const name = JSON.stringify(keys);
  const cached = literals.get(name);
  if (cached || !reused) return cached;
  try {
    // `__proto__: x` in a literal would set the prototype: as a computed key it is an own property.
    const properties = keys.map((key) => `${key === '__proto__' ? '["__proto__"]' : JSON.stringify(key)}: read()`);
    const literal = new Function('read', `return { ${properties.join(', ')} };`) as Builder;
    if (literals.size >= MAX_LITERALS) literals.clear();
    literals.set(name, literal);
    return literal;
  } catch {
    compiling = false; // --disallow-code-generation-from-strings
    return (read) => buildByKeys(keys, read);
  }
}

function buildByKeys(keys: readonly string[], read: () => unknown): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const key of keys) define(object, key, read());
  return object;
}
