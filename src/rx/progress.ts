/** Where a parallelMap subscription is, for progress bars and logs. */
export interface ParallelMapProgress {
  /** Source values seen so far. */
  readonly received: number;
  /** Items waiting: in the operator, or sent to the pool and not started. */
  readonly queued: number;
  /** Items in tasks running now. */
  readonly running: number;
  /** Items whose results are out. */
  readonly done: number;
  /** Items that failed (the stream errors at the first). */
  readonly failed: number;
  /** Tasks run again after their worker died. */
  readonly retried: number;
  /** Milliseconds since the first item arrived. */
  readonly elapsed: number;
  /** Items done per second, over the whole run. */
  readonly throughput: number;
  /** True in the last report, when the stream has ended. */
  readonly finished: boolean;
}

/** Reports at most this often, plus once at the end. */
const INTERVAL_MS = 100;

/** Counts what a parallelMap subscription does and reports it, throttled. */
export class ProgressTracker {
  readonly #report: ((progress: ParallelMapProgress) => void) | undefined;
  readonly #running: () => number;
  #received = 0;
  #done = 0;
  #failed = 0;
  #retried = 0;
  #startedAt: number | undefined;
  #lastReport = 0;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;

  /** `running` counts the items in running tasks, asked only when a report is made. */
  constructor(report: ((progress: ParallelMapProgress) => void) | undefined, running: () => number) {
    this.#report = report;
    this.#running = running;
  }

  received(): void {
    this.#startedAt ??= performance.now();
    this.#received++;
    this.#changed();
  }

  /** Something moved (a task started, say): report when due. */
  changed(): void {
    this.#changed();
  }

  done(items: number): void {
    this.#done += items;
    this.#changed();
  }

  failed(items: number): void {
    this.#failed += items;
    this.#changed();
  }

  retried(): void {
    this.#retried++;
    this.#changed();
  }

  /** The stream ended: one last report, now. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#timer);
    if (this.#report) this.#report(this.#snapshot(true));
  }

  #changed(): void {
    if (!this.#report || this.#ended || this.#timer) return;
    const wait = this.#lastReport + INTERVAL_MS - performance.now();
    if (wait <= 0) this.#emit();
    else this.#timer = setTimeout(() => this.#emit(), wait).unref();
  }

  #emit(): void {
    this.#timer = undefined;
    this.#lastReport = performance.now();
    this.#report?.(this.#snapshot(false));
  }

  #snapshot(finished: boolean): ParallelMapProgress {
    const elapsed = this.#startedAt === undefined ? 0 : performance.now() - this.#startedAt;
    const running = finished ? 0 : this.#running();
    return {
      received: this.#received,
      queued: this.#received - this.#done - this.#failed - running,
      running,
      done: this.#done,
      failed: this.#failed,
      retried: this.#retried,
      elapsed,
      throughput: elapsed > 0 ? (this.#done / elapsed) * 1000 : 0,
      finished,
    };
  }
}
