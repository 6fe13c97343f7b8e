/** Percentiles of a duration, in milliseconds. */
export interface DurationSummary {
  /** How many samples the summary covers (the most recent ones, at most 10,000). */
  readonly count: number;
  /** The average. */
  readonly mean: number;
  /** The median: half the samples took at most this long. */
  readonly p50: number;
  /** 90% of the samples took at most this long. */
  readonly p90: number;
  /** 99% of the samples took at most this long. */
  readonly p99: number;
  /** The longest. */
  readonly max: number;
}

/** One worker in {@link ExecutorStats}. */
export interface WorkerStats {
  /** The executor-wide id of the worker. */
  readonly workerId: number;
  /** Its process id (undefined only before it spawned). */
  readonly pid: number | undefined;
  /** Tasks this worker finished (whatever their outcome). */
  readonly tasksRun: number;
  /** The last resident-memory sample, in bytes, if one was taken. */
  readonly rss: number | undefined;
}

/** A snapshot of an executor's work so far. */
export interface ExecutorStats {
  /** Tasks that ended with a value. */
  readonly completed: number;
  /** Tasks that ended with an error (thrown, crash, timeout, serialization...). */
  readonly failed: number;
  /** Tasks cancelled before they started. */
  readonly cancelled: number;
  /** Tasks running now. */
  readonly running: number;
  /** Tasks waiting for a worker (queued here or sent ahead to a busy worker). */
  readonly queued: number;
  /** The live workers. */
  readonly workers: readonly WorkerStats[];
  /** How long tasks ran, from start to end. */
  readonly runTime: DurationSummary;
  /** How long tasks waited, from submit to start. */
  readonly waitTime: DurationSummary;
}

const WINDOW = 10_000;

/** Keeps the last {@link WINDOW} samples of a duration; summarizes on demand. */
export class DurationWindow {
  readonly #samples = new Float64Array(WINDOW);
  #count = 0;

  add(ms: number): void {
    this.#samples[this.#count++ % WINDOW] = ms;
  }

  summary(): DurationSummary {
    const n = Math.min(this.#count, WINDOW);
    if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const sorted = this.#samples.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))] as number;
    let sum = 0;
    for (const value of sorted) sum += value;
    return { count: n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1] as number };
  }
}
