/**
 * Custom serializers on the wire: instances of registered classes are replaced by placeholder
 * records before a value is sent, and rebuilt from them after it arrives.
 *
 * A placeholder is a fresh object `{ id, data }`, and every placeholder of a value is also listed
 * in a separate array, `records`, that travels in the same message. V8's structured clone keeps
 * object identity within one message, so the receiver knows a placeholder by identity (it is in
 * `records`), never by its shape: user data that happens to look like `{ id, data }` stays data.
 *
 * Nothing here runs unless a serializer is registered: with none, values are sent as they are.
 * @module
 */
import { types } from 'node:util';
import { SerializationError, type SerializationStage } from '../errors.js';
import { isCloneLeaf } from './culprit.js';

/** A registered class as encoding and decoding see it. */
export interface CodecEntry {
  /** The registration's id, the same in the parent and in its workers: what placeholders name. */
  readonly id: number;
  /** The class name, for error messages. */
  readonly name: string;
  readonly serialize: (value: object) => unknown;
  readonly deserialize: (data: unknown) => unknown;
}

/** Stands for one registered instance inside an encoded value. */
export interface Placeholder {
  /** The {@link CodecEntry.id} to deserialize with. */
  readonly id: number;
  /** What the serializer returned, itself encoded. */
  data: unknown;
}

/** A value with its registered instances replaced, and the placeholders that replaced them. */
export interface Encoded {
  readonly value: unknown;
  readonly records: Placeholder[];
}

/** Where a value travels, for error messages: names the root of a path ("argument 1", "the result"). */
export interface Site {
  readonly stage: SerializationStage;
  /** How to name the place of a value, given the path from the root. */
  readonly describe: (path: readonly PathStep[]) => string;
}

/** One step from a value to a part of it: an array index, an object key, a Map value or a Set item. */
export type PathStep = number | string | { readonly mapKey: unknown } | { readonly setItem: number };

/**
 * Replaces every instance of a registered class (found by its exact prototype in `table`) inside
 * `root` by a placeholder. Returns `undefined` when there is none, leaving `root` untouched;
 * otherwise a copy of the containers around them (the caller's value is never changed).
 * @throws SerializationError naming the class and the place when a serializer throws.
 */
export function encode(root: unknown, table: ReadonlyMap<object, CodecEntry>, site: Site): Encoded | undefined {
  if (table.size === 0 || !reaches(root, table)) return undefined;
  const memo = new Map<object, unknown>();
  const records: Placeholder[] = [];
  const path: PathStep[] = [];

  const visit = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (memo.has(value)) return memo.get(value);
    const entry = table.get(Object.getPrototypeOf(value) as object);
    if (entry) {
      const record: Placeholder = { id: entry.id, data: undefined };
      memo.set(value, record);
      records.push(record);
      let data: unknown;
      try {
        data = entry.serialize(value);
      } catch (error) {
        throw codecError('serialize', entry, site, path, error);
      }
      record.data = visit(data);
      return record;
    }
    switch (containerKind(value)) {
      case 'array': {
        const array = value as unknown[];
        const copy: unknown[] = new Array(array.length);
        memo.set(value, copy);
        for (let i = 0; i < array.length; i++) {
          if (!(i in array)) continue;
          path.push(i);
          copy[i] = visit(array[i]);
          path.pop();
        }
        return copy;
      }
      case 'map': {
        const copy = new Map<unknown, unknown>();
        memo.set(value, copy);
        for (const [key, item] of value as Map<unknown, unknown>) {
          path.push({ mapKey: key });
          copy.set(visit(key), visit(item));
          path.pop();
        }
        return copy;
      }
      case 'set': {
        const copy = new Set<unknown>();
        memo.set(value, copy);
        let i = 0;
        for (const item of value as Set<unknown>) {
          path.push({ setItem: i++ });
          copy.add(visit(item));
          path.pop();
        }
        return copy;
      }
      case 'object': {
        // What structured clone would send anyway: own enumerable string keys, as a plain object.
        const copy: Record<string, unknown> = {};
        memo.set(value, copy);
        for (const key of Object.keys(value)) {
          path.push(key);
          define(copy, key, visit((value as Record<string, unknown>)[key]));
          path.pop();
        }
        return copy;
      }
      default:
        memo.set(value, value);
        return value;
    }
  };

  return { value: visit(root), records };
}

/**
 * Rebuilds the instances that {@link encode} replaced, in place: `root` must be a value just
 * received (a fresh structured clone). `lookup` gives the receiver's own entry for an id: the
 * receiver runs only its own deserializers, whatever the sender put in the data.
 * @throws SerializationError naming the class and the place when a deserializer throws or an id is unknown.
 */
export function decode(
  root: unknown,
  records: readonly Placeholder[],
  lookup: (id: number) => CodecEntry | undefined,
  site: Site,
): unknown {
  if (records.length === 0) return root;
  const placeholders = new Set<object>(records);
  const rebuilt = new Map<object, unknown>();
  const seen = new Set<object>();
  const path: PathStep[] = [];

  const visit = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (placeholders.has(value)) return instance(value as Placeholder);
    if (seen.has(value)) return value;
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item !== 'object' || item === null) continue;
        path.push(i);
        value[i] = visit(item);
        path.pop();
      }
    } else if (types.isMap(value)) {
      const entries = [...value];
      value.clear();
      for (const [key, item] of entries) {
        path.push({ mapKey: key });
        value.set(visit(key), visit(item));
        path.pop();
      }
    } else if (types.isSet(value)) {
      const items = [...value];
      value.clear();
      items.forEach((item, i) => {
        path.push({ setItem: i });
        value.add(visit(item));
        path.pop();
      });
    } else {
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return value; // Date, Error, typed array...
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (typeof item !== 'object' || item === null) continue;
        path.push(key);
        define(value as Record<string, unknown>, key, visit(item));
        path.pop();
      }
    }
    return value;
  };

  const instance = (record: Placeholder): unknown => {
    if (rebuilt.has(record)) {
      const done = rebuilt.get(record);
      if (done !== IN_PROGRESS) return done;
      throw new SerializationError(
        `${site.describe(path)} refers back to itself through its serialized data: a cycle through a value with a custom serializer cannot be rebuilt.`,
        { stage: site.stage, path: site.describe(path) },
      );
    }
    const entry = lookup(record.id);
    if (!entry) {
      throw new SerializationError(
        `${site.describe(path)} was serialized by a serializer that this process does not have (registration #${record.id}).`,
        { stage: site.stage, path: site.describe(path) },
      );
    }
    rebuilt.set(record, IN_PROGRESS);
    const data = visit(record.data);
    let value: unknown;
    try {
      value = entry.deserialize(data);
    } catch (error) {
      throw codecError('deserialize', entry, site, path, error);
    }
    rebuilt.set(record, value);
    return value;
  };

  return visit(root);
}

const IN_PROGRESS = Symbol('in progress');

type ContainerKind = 'array' | 'map' | 'set' | 'object' | 'other';

/** How structured clone treats an object: as a container to look into, or as a value of its own. */
function containerKind(value: object): ContainerKind {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return 'object';
  if (Array.isArray(value)) return 'array';
  if (types.isMap(value)) return 'map';
  if (types.isSet(value)) return 'set';
  if (isCloneLeaf(value) || types.isPromise(value)) return 'other';
  // An instance of an unregistered class: structured clone sends its own properties.
  return 'object';
}

/** True when some registered instance is reachable from `root`. Iterative: deep values cannot overflow the stack. */
function reaches(root: unknown, table: ReadonlyMap<object, CodecEntry>): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  const push = (item: unknown) => {
    if (typeof item === 'object' && item !== null) stack.push(item);
  };
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (table.has(Object.getPrototypeOf(value) as object)) return true;
    switch (containerKind(value)) {
      case 'array':
        for (const item of value as unknown[]) push(item);
        break;
      case 'map':
        for (const [key, item] of value as Map<unknown, unknown>) {
          push(key);
          push(item);
        }
        break;
      case 'set':
        for (const item of value as Set<unknown>) push(item);
        break;
      case 'object':
        for (const key of Object.keys(value)) push((value as Record<string, unknown>)[key]);
        break;
    }
  }
  return false;
}

/** Sets an own property, `__proto__` included, without touching the prototype. */
export function define(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function codecError(
  what: 'serialize' | 'deserialize',
  entry: CodecEntry,
  site: Site,
  path: readonly PathStep[],
  cause: unknown,
): SerializationError {
  const where = site.describe(path);
  const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new SerializationError(
    `Could not ${what} ${where}, a \`${entry.name}\`: its registered ${what === 'serialize' ? 'serializer' : 'deserializer'} threw ${reason}`,
    { stage: site.stage, path: where },
    { cause },
  );
}

/** `.key`, `[3]`, `.get("k")`, ` → Set item #2`: a path as {@link Site.describe} implementations show it. */
export function formatPath(path: readonly PathStep[]): string {
  let text = '';
  for (const step of path) {
    if (typeof step === 'number') text += `[${step}]`;
    else if (typeof step === 'string')
      text += /^[A-Za-z_$][\w$]*$/.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
    else if ('mapKey' in step)
      text += `.get(${typeof step.mapKey === 'string' ? JSON.stringify(step.mapKey) : String(step.mapKey)})`;
    else text += ` → Set item #${step.setItem}`;
  }
  return text;
}

/** "argument 2 → .p" for a task's arguments (or "item 2" for a chunk of map items). */
export function argumentSite(chunk: boolean): Site {
  const noun = chunk ? 'item' : 'argument';
  return {
    stage: 'argument',
    describe: ([first, ...rest]) => {
      const head = typeof first === 'number' ? `${noun} ${first + 1}` : `the ${noun}s`;
      return rest.length > 0 ? `${head} → ${formatPath(rest)}` : head;
    },
  };
}

/** "the result → [2].p" for a task's value (or the results of a chunk). */
export const RESULT_SITE: Site = {
  stage: 'result',
  describe: (path) => (path.length > 0 ? `the result → ${formatPath(path)}` : 'the result'),
};

/** "scope value `table` → .get("a")" for the values of withScope, encoded as one object by name. */
export const SCOPE_SITE: Site = {
  stage: 'argument',
  describe: ([first, ...rest]) => {
    const head = typeof first === 'string' ? `scope value \`${first}\`` : 'the scope';
    return rest.length > 0 ? `${head} → ${formatPath(rest)}` : head;
  },
};
