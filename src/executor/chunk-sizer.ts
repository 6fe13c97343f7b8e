/** With `'auto'`, each task aims at running about this long... */
const AUTO_TARGET_MS = 10;
/** ...with at most this many items, so results still come back steadily. */
const AUTO_MAX_ITEMS = 1000;

/** The `chunksize` option of `map()` and `parallelMap`: items per task, or `'auto'`. */
export type Chunksize = number | 'auto';

/**
 * How many items each task carries: a fixed number, or, for `'auto'`, a size learned from measured
 * time per item, starting at 1 (so the first results come at once) and growing for tiny items
 * until a task runs about 10 ms.
 */
export class ChunkSizer {
  readonly auto: boolean;
  #size: number;
  #perItemMs: number | undefined;

  constructor(option: Chunksize | undefined) {
    this.auto = option === 'auto';
    this.#size = ChunkSizer.initialSize(option);
  }

  /** The first chunk size for `option`; throws RangeError when the option is invalid. */
  static initialSize(option: Chunksize | undefined): number {
    const size = option === undefined || option === 'auto' ? 1 : option;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
      throw new RangeError(`chunksize must be 'auto' or an integer of at least 1, got ${String(option)}`);
    }
    return size;
  }

  /** Items for the next task. */
  get size(): number {
    return this.#size;
  }

  /** Learns from a task of `items` items that ran `ms` milliseconds (only with `'auto'`). */
  learn(items: number, ms: number): void {
    if (!this.auto || items < 1) return;
    const sample = ms / items;
    this.#perItemMs = this.#perItemMs === undefined ? sample : this.#perItemMs * 0.7 + sample * 0.3;
    const size = Math.round(AUTO_TARGET_MS / Math.max(this.#perItemMs, 1e-3));
    this.#size = Math.max(1, Math.min(AUTO_MAX_ITEMS, size));
  }
}
