import { types } from 'node:util';
import { cloneable } from './thrown.js';

/** The first value that cannot be cloned inside a larger one, and where it sits. */
export interface Culprit {
  /** Path from the root, e.g. `.handler` or `[2].socket`; '' for the root itself. */
  readonly path: string;
  /** What it is, e.g. "a function `onData`", "a symbol Symbol(id)", "a Promise". */
  readonly what: string;
}

/**
 * Finds why a value failed V8's structured clone, for an error message a person can act on.
 * Runs only after a clone failed, so it may be slow; it never throws and never loops on cycles.
 */
export function findCulprit(root: unknown): Culprit | undefined {
  const seen = new Set<object>();

  const visit = (value: unknown, path: string): Culprit | undefined => {
    if (typeof value === 'function') return { path, what: `a function${value.name ? ` \`${value.name}\`` : ''}` };
    if (typeof value === 'symbol') return { path, what: `a symbol ${value.toString()}` };
    if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
    seen.add(value);
    if (types.isProxy(value)) {
      return { path, what: "a Proxy (send the object it wraps, such as Vue's `toRaw(value)`, or a plain copy)" };
    }
    if (types.isPromise(value)) return { path, what: 'a Promise (await it before passing the value)' };
    if (types.isWeakMap(value) || types.isWeakSet(value) || value instanceof WeakRef) {
      return { path, what: `a ${value.constructor.name}` };
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = visitProperty(value, i, `${path}[${i}]`);
        if (found) return found;
      }
      return undefined;
    }
    if (types.isMap(value)) {
      let i = 0;
      for (const [k, v] of value) {
        const found = visit(k, `${path} → Map key #${i}`) ?? visit(v, `${path}.get(${label(k)})`);
        if (found) return found;
        i++;
      }
      return undefined;
    }
    if (types.isSet(value)) {
      let i = 0;
      for (const v of value) {
        const found = visit(v, `${path} → Set item #${i++}`);
        if (found) return found;
      }
      return undefined;
    }
    if (isCloneLeaf(value)) return undefined;
    for (const key of Object.keys(value)) {
      const found = visitProperty(value, key, `${path}.${key}`);
      if (found) return found;
    }
    // Nothing inside is at fault, yet the clone failed: a native handle or similar.
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null && !cloneable(value)) {
      return { path, what: `a ${value.constructor?.name ?? 'native object'} (it wraps a native resource)` };
    }
    return undefined;
  };

  // The clone reads every property once; a getter that throws is what stopped it.
  const visitProperty = (holder: object, key: string | number, path: string): Culprit | undefined => {
    let item: unknown;
    try {
      item = (holder as Record<string | number, unknown>)[key];
    } catch (error) {
      return { path, what: `a getter that throws ${errorText(error)}` };
    }
    return visit(item, path);
  };

  try {
    return visit(root, '');
  } catch (error) {
    // A proxy's trap, a throwing `constructor` getter...: the value cannot even be looked at.
    return { path: '', what: `a value that throws when looked at (${errorText(error)})` };
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Values structured clone copies whole, with nothing inside to look at: binary data, dates, regular
 * expressions, boxed primitives, errors.
 */
export function isCloneLeaf(value: object): boolean {
  return (
    types.isArrayBufferView(value) ||
    types.isAnyArrayBuffer(value) ||
    types.isDate(value) ||
    types.isRegExp(value) ||
    types.isBoxedPrimitive(value) ||
    value instanceof Error
  );
}

/** Formats "argument 1 → .handler is a function `h`". */
export function describeCulprit(label: string, culprit: Culprit | undefined, fallback: string): string {
  if (!culprit) return `${label} cannot be cloned: ${fallback}`;
  const where = culprit.path ? `${label} → ${culprit.path.replace(/^ → /, '')}` : label;
  return `${where} is ${culprit.what}, which cannot be sent between processes`;
}

function label(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}
