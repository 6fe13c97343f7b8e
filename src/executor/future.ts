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

/**
 * The eventual result of a task submitted to an executor. Await it like a promise; ask its `state`;
 * `cancel()` it while it has not started.
 *
 * A Future that nobody awaits never raises an unhandled rejection: like Python's futures, its
 * failure stays inside it until asked for. (The failure also shows on `executor.events$`.)
 */
export class Future<T> implements PromiseLike<T> {
  readonly #task: Task;
  readonly #cancel: (task: Task) => void;
  readonly #relay: ProgressRelay | undefined;
  #promise: Promise<T> | undefined;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((reason: unknown) => void) | undefined;

  /** @internal Futures come from `executor.submit()`. */
  constructor(task: Task, cancel: (task: Task) => void, relay?: ProgressRelay) {
    this.#task = task;
    this.#cancel = cancel;
    this.#relay = relay;
    task.onSettled(() => {
      relay?.complete();
      this.#settled();
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

  // biome-ignore lint/suspicious/noThenProperty: a Future is a PromiseLike by design
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#asPromise().then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.#asPromise().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.#asPromise().finally(onFinally);
  }

  get [Symbol.toStringTag](): string {
    return 'Future';
  }

  #asPromise(): Promise<T> {
    if (!this.#promise) {
      this.#promise = new Promise<T>((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
      this.#settled();
    }
    return this.#promise;
  }

  #settled(): void {
    const outcome = this.#task.outcome;
    if (!outcome || !this.#resolve || !this.#reject) return;
    if (outcome.ok) this.#resolve(outcome.value as T);
    else this.#reject(outcome.error);
  }
}
