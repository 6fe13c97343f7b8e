import type { Task, TaskListener } from '../engine/task.js';
import { type Observable, Subject } from '../rx/rxjs.js';

/** Passes a task's progress reports to whoever asked for them, creating nothing until someone does. */
export class ProgressRelay implements TaskListener {
  #subject: Subject<unknown> | undefined;

  get progress$(): Observable<unknown> {
    this.#subject ??= new Subject<unknown>();
    return this.#subject.asObservable();
  }

  progress(value: unknown): void {
    this.#subject?.next(value);
  }

  complete(): void {
    this.#subject?.complete();
  }
}

/** Where a Future is: `pending` (queued or waiting on a worker), `running`, or settled. */
export type FutureState = 'pending' | 'running' | 'fulfilled' | 'rejected' | 'cancelled';

/** Marks a rejection as handled: an unobserved Future's failure stays inside it. */
const ignore = (): void => {};

/**
 * The eventual result of a task submitted to an executor: a native Promise (await it, pass it to
 * `Promise.all`, chain it) that can also tell its `state` and `cancel()` the task while it has not
 * started.
 *
 * A Future that nobody awaits never raises an unhandled rejection: like Python's futures, its
 * failure stays inside it until asked for. (The failure also shows on `executor.events$`.)
 * `then`, `catch` and `finally` return plain Promises.
 */
export class Future<T> extends Promise<T> {
  /** What `then`, `catch` and `finally` build: plain Promises. */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  readonly #task: Task;
  readonly #cancel: (task: Task) => void;
  readonly #relay: ProgressRelay | undefined;

  /** @internal Futures come from `executor.submit()`. */
  constructor(task: Task, cancel: (task: Task) => void, relay?: ProgressRelay) {
    // What Promise's statics do (`Future.resolve(x)` is `new Future(executor)`): say so plainly.
    if (typeof task === 'function') {
      throw new TypeError(
        'A Future comes from executor.submit(); for a plain promise use Promise.resolve() or new Promise()',
      );
    }
    let resolve: (value: T) => void = ignore;
    let reject: (reason: unknown) => void = ignore;
    super((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#task = task;
    this.#cancel = cancel;
    this.#relay = relay;
    task.onSettled(({ outcome }) => {
      relay?.complete();
      if (!outcome) return;
      if (outcome.ok) return resolve(outcome.value as T);
      reject(outcome.error);
      Promise.prototype.then.call(this, undefined, ignore);
    });
  }

  /**
   * What the task reports with `reportProgress(value)` while it runs; completes when it settles.
   * Subscribe before the task starts to see every report.
   */
  get progress$(): Observable<unknown> {
    if (!this.#relay) throw new Error('this Future has no progress channel');
    return this.#relay.progress$;
  }

  /** The executor-wide id of the task, as `events$` reports it. */
  get taskId(): number {
    return this.#task.id;
  }

  /** Where the task is now: `pending`, `running`, or how it ended. */
  get state(): FutureState {
    return this.#task.state;
  }

  /** True once the task has a value, an error, or was cancelled. */
  get done(): boolean {
    return this.#task.settled;
  }

  /**
   * Cancels the task if it has not started: the Future then rejects with CancelledError and this
   * returns true (also when it was already cancelled). A running or finished task cannot be
   * cancelled: this returns false.
   */
  cancel(): boolean {
    if (this.#task.state === 'pending') this.#cancel(this.#task);
    return this.#task.state === 'cancelled';
  }

  /** `[object Future]`. */
  override get [Symbol.toStringTag](): string {
    return 'Future';
  }
}

// `await future` takes V8's fast path only when `future.constructor` is Promise itself; `instanceof
// Future` still holds.
Object.defineProperty(Future.prototype, 'constructor', { value: Promise, writable: true, configurable: true });
