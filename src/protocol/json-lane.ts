/**
 * The JSON lane: record-like values (arrays of many small plain objects: rows, API records) cross
 * as JSON text inside the message. V8's deserializer rebuilds such objects two to three times
 * slower than `JSON.parse`, and the text costs the channel only a copy.
 *
 * A value takes the lane only when JSON gives back exactly what structured clone would: plain
 * objects and arrays of strings, booleans, null and numbers, nothing reached twice (structured clone
 * keeps shared references and cycles, JSON does not), no holes or named properties on arrays, no
 * `undefined` property, no Proxy. The few leaves JSON cannot write (-0, NaN, ±Infinity, an
 * `undefined` array element) travel beside the text as patches. Anything else goes the usual way,
 * untouched.
 * @module
 */
import { types } from 'node:util';

/** A leaf that JSON writes wrongly, put back after parsing: where it is, and what it is. */
export type Patch = [path: Array<string | number>, value: number | undefined];

/** A value in the lane: its JSON text, and the leaves to put back. */
export interface JsonLaneValue {
  readonly text: string;
  readonly patches: Patch[];
}

/** Deeper than this, the walk gives up: deep chains are not what the lane is for. */
const MAX_DEPTH = 200;
/** Elements of a primitive array looked at to guess its floats (the exact walk looks at all). */
const SAMPLE = 8;

/**
 * `value` as JSON text with patches, when that is exact and pays; `undefined` to send it as it is.
 * A getter is read here and again by `JSON.stringify`: one that changes its answer between the
 * reads is not supported in the lane. Whatever throws here (a getter, a string too long for JSON)
 * sends the value the usual way, where the same problem is reported as it always was.
 */
export function toJsonLane(value: unknown): JsonLaneValue | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    if (!worthIt(value)) return undefined;
    const patches = exactPatches(value);
    return patches ? { text: JSON.stringify(value), patches } : undefined;
  } catch {
    return undefined;
  }
}

/** The value {@link toJsonLane} sent, rebuilt. */
export function fromJsonLane(text: string, patches: readonly Patch[]): unknown {
  const value: unknown = JSON.parse(text);
  for (const [path, leaf] of patches) {
    let holder = value as Record<string | number, unknown>;
    const last = path.length - 1;
    for (let i = 0; i < last; i++) holder = holder[path[i] as string | number] as Record<string | number, unknown>;
    holder[path[last] as string | number] = leaf;
  }
  return value;
}

/**
 * What the lane saves on `root`, guessed from a quick look, in hundredths of a microsecond. Measured
 * per value on a 2-core EPYC (Node 20), both ends together: JSON rebuilds an object ~0.3 µs and an
 * array ~0.15 µs faster than V8's deserializer; it is slower by ~0.2 µs per double in an object,
 * ~0.3 µs per double and ~0.04 µs per integer in an array (V8 copies those arrays nearly as they
 * are), and ~0.01 µs per string character (JSON scans strings for escapes, V8 copies them).
 */
const GAIN = { object: 30, array: 15, float: -20, arrayFloat: -30, arrayInt: -4, char: -1 } as const;
/** The least saving, in the same unit, that pays for the exact walk and the extra allocations. */
const MIN_GAIN = 3000;

/** A cheap first look: whether the lane would pay for `root` (see {@link GAIN}). */
function worthIt(root: object): boolean {
  let gain = 0;
  const look = (value: object, depth: number): boolean => {
    if (depth > MAX_DEPTH) return false;
    if (!Array.isArray(value)) {
      // A typed array, Map, Date, class instance...: off the lane, before walking its contents.
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      gain += GAIN.object;
      for (const key in value) {
        const item: unknown = (value as Record<string, unknown>)[key];
        if (typeof item === 'string') gain += GAIN.char * item.length;
        else if (typeof item === 'number') {
          if (!Number.isInteger(item)) gain += GAIN.float;
        } else if (typeof item === 'object' && item !== null && !look(item, depth + 1)) return false;
      }
      return true;
    }
    gain += GAIN.array;
    const n = value.length;
    const first: unknown = value[0];
    if (typeof first === 'object' && first !== null) {
      for (let i = 0; i < n; i++) {
        const item: unknown = value[i];
        if (typeof item === 'object' && item !== null) {
          if (!look(item, depth + 1)) return false;
        } else gain += primitiveInArray(item);
      }
      return true;
    }
    // Primitives: guessed from a sample (the exact walk looks at every element if it comes to that).
    const step = Math.max(1, Math.floor(n / SAMPLE));
    let sampled = 0;
    let sampledGain = 0;
    for (let i = 0; i < n; i += step) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) return look(value.slice(i), depth); // mixed after all
      sampled++;
      sampledGain += primitiveInArray(item);
    }
    if (sampled > 0) gain += (sampledGain * n) / sampled;
    return true;
  };
  return look(root, 0) && gain >= MIN_GAIN;
}

function primitiveInArray(item: unknown): number {
  if (typeof item === 'number') return Number.isInteger(item) ? GAIN.arrayInt : GAIN.arrayFloat;
  return typeof item === 'string' ? GAIN.char * item.length : 0;
}

/**
 * The patches that make JSON exact for `root`, or `undefined` when nothing can: the full walk, every
 * element and property, each container once.
 */
function exactPatches(root: object): Patch[] | undefined {
  const seen = new Set<object>();
  const path: Array<string | number> = [];
  const patches: Patch[] = [];

  const leaf = (item: unknown, key: string | number, inArray: boolean): boolean => {
    switch (typeof item) {
      case 'string':
      case 'boolean':
        return true;
      case 'number':
        // JSON writes -0 as 0 and NaN, ±Infinity as null.
        if (item === 0 ? 1 / item < 0 : !Number.isFinite(item)) patches.push([[...path, key], item]);
        return true;
      case 'undefined':
        // null in an array, but a property JSON would drop: its key, and the key order, would be lost.
        if (!inArray) return false;
        patches.push([[...path, key], undefined]);
        return true;
      case 'object':
        if (item === null) return true;
        path.push(key);
        if (!container(item)) return false;
        path.pop();
        return true;
      default:
        return false; // bigint, symbol, function
    }
  };

  const container = (value: object): boolean => {
    // A Proxy fails structured clone, whatever its size: it must fail the same way here.
    if (seen.has(value) || path.length > MAX_DEPTH || types.isProxy(value)) return false;
    seen.add(value);
    if (Array.isArray(value)) {
      if (Object.getPrototypeOf(value) !== Array.prototype) return false;
      const n = value.length;
      // Holes and named properties (a RegExp match's `index`) survive structured clone, not JSON.
      if (Object.keys(value).length !== n) return false;
      for (let i = 0; i < n; i++) if (!leaf(value[i], i, true)) return false;
      return true;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false; // Date, Map, typed array, class instance...
    // for...in also lists inherited enumerable keys, which JSON skips: checking them too is only stricter.
    for (const key in value) if (!leaf((value as Record<string, unknown>)[key], key, false)) return false;
    return true;
  };

  return container(root) ? patches : undefined;
}
