import type { Task, TaskOwner } from '../engine/task.js';
import { EMPTY, type Observable, Subject } from '../rx/rxjs.js';

/** Where a Future is: `pending` (queued or waiting on a worker), `running`, or settled. */
export type FutureState = 'pending' | 'running' | 'fulfilled' | 'rejected' | 'cancelled';

/** Marks a rejection as handled: an unobserved Future's failure stays inside it. */
const ignore = (): void => {};

/**
 * What a Future's task answers to: it settles the promise, and passes progress reports on to
 * `progress$`, creating nothing for them until someone subscribes. A class of its own, so that the
 * Future's public surface shows none of it.
 */
class FutureOwner<T> implements TaskOwner {
  readonly #future: Promise<T>;
  readonly #resolve: (value: T) => void;
  readonly #reject: (reason: unknown) => void;
  #progress: Subject<unknown> | undefined;

  constructor(future: Promise<T>, resolve: (value: T) => void, reject: (reason: unknown) => void) {
    this.#future = future;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  get progress$(): Observable<unknown> {
    this.#progress ??= new Subject<unknown>();
    return this.#progress.asObservable();
  }

  progress(value: unknown): void {
    this.#progress?.next(value);
  }

  settled({ outcome }: Task): void {
    this.#progress?.complete();
    if (!outcome) return;
    if (outcome.ok) {
      this.#resolve(outcome.value as T);
      return;
    }
    this.#reject(outcome.error);
    Promise.prototype.then.call(this.#future, undefined, ignore);
  }
}

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

  // The FutureOwner is held by the task alone, until it settles: a settled Future keeps no closures.
  readonly #task: Task;
  readonly #cancel: (task: Task) => void;

  /** @internal Futures come from `executor.submit()`. */
  constructor(task: Task, cancel: (task: Task) => void) {
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
    task.own(new FutureOwner(this, resolve, reject));
  }

  /**
   * What the task reports with `reportProgress(value)` while it runs; completes when it settles.
   * Subscribe before the task starts to see every report.
   */
  get progress$(): Observable<unknown> {
    const owner = this.#task.owner as FutureOwner<T> | undefined;
    return owner ? owner.progress$ : EMPTY;
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
   * Cancels the task if it surely has not started: the Future then rejects with CancelledError and
   * this returns true (also when it was already cancelled). A running or finished task cannot be
   * cancelled: this returns false. So does a task already sent to its worker (workers are sent
   * tasks ahead: a busy one its next ones, a starting one its first, a few ms before it is ready),
   * which the worker may start at any moment: the worker is asked to drop it, and if the request
   * arrives before the task starts, the Future rejects with CancelledError a moment later; otherwise
   * the task runs as usual.
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
