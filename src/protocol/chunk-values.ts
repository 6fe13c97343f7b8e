/**
 * How a ChunkStream task's items' values travel back (see `TaskMode.ChunkStream`): the worker
 * builds them item by item, the parent hands them out item by item.
 * @module
 */

/**
 * The values of a ChunkStream task's items (its result, or its partial results before a failure),
 * flat: a plain array when every item yielded exactly one value (the common case, and no array per
 * item to build, send and collect), else the values with how many each item yielded.
 */
export type ChunkValues = unknown[] | { readonly values: unknown[]; readonly counts: number[] };

/** Collects a ChunkStream task's values item by item (see {@link ChunkValues}). */
export class ChunkValuesBuilder {
  readonly #values: unknown[] = [];
  /** Set at the first item that did not yield exactly one value; until then, one per value. */
  #counts: number[] | undefined;

  /** One item yielded `values`. */
  add(values: readonly unknown[]): void {
    if (values.length !== 1 && !this.#counts) this.#counts = new Array<number>(this.#values.length).fill(1);
    for (const value of values) this.#values.push(value);
    this.#counts?.push(values.length);
  }

  /** One item yielded one value. */
  addOne(value: unknown): void {
    this.#values.push(value);
    this.#counts?.push(1);
  }

  build(): ChunkValues {
    return this.#counts ? { values: this.#values, counts: this.#counts } : this.#values;
  }
}

/**
 * Hands each item of `chunk` over in order: `one(item, value)` when it yielded exactly one value
 * (every item, in the flat form), else `many(item, values)`.
 */
export function eachChunkItem(
  chunk: ChunkValues,
  one: (item: number, value: unknown) => void,
  many: (item: number, values: unknown[]) => void,
): void {
  if (Array.isArray(chunk)) {
    for (let i = 0; i < chunk.length; i++) one(i, chunk[i]);
    return;
  }
  const { values, counts } = chunk as { values: unknown[]; counts: number[] };
  let at = 0;
  for (let item = 0; item < counts.length; item++) {
    const count = counts[item] as number;
    if (count === 1) one(item, values[at]);
    else many(item, values.slice(at, at + count));
    at += count;
  }
}
