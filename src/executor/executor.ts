import { join } from 'node:path';
import { BehaviorSubject, type Observable, Subject } from 'rxjs';
import type { WorkerEvent } from '../engine/events.js';
import { type SchedulerControl, schedule } from '../engine/scheduler.js';
import { Task } from '../engine/task.js';
import { type WorkerSpec, workerProcess } from '../engine/worker-process.js';
import { type BrokenExecutorError, ShutdownExecutorError } from '../errors.js';
import { FunctionRegistry } from '../shipping/function-registry.js';
import { Future } from './future.js';
import { type MapOptions, orderedResults } from './map.js';
import { checkTimeout, type ExecutorOptions, type ResolvedOptions, resolveOptions } from './options.js';

/** Options of `executor.shutdown()`. */
export interface ShutdownOptions {
  /** Wait until every worker process has exited (default true). */
  readonly wait?: boolean;
  /**
   * Kill the workers, and any processes they started, at once; every task not yet finished rejects
   * with ShutdownExecutorError (default false: queued and running tasks finish first).
   */
  readonly killWorkers?: boolean;
}

/** Where an executor is in its life. */
export type ExecutorState = 'running' | 'shutting-down' | 'shut-down' | 'broken';

const BOOTSTRAP = join(__dirname, '..', 'worker', 'main.js');

/**
 * A pool of worker processes that runs shipped functions: `submit()` one call, `map()` many, then
 * `shutdown()`. Each worker is a fresh Node.js process (never a copy of this one). Functions travel
 * by source, arguments and results by structured clone.
 *
 * A task that throws, cannot be serialized, or takes its worker down fails alone, with an error
 * that says what happened; the pool replaces dead workers and nothing hangs. Idle workers never keep
 * the process alive, so a script that forgets `shutdown()` still exits.
 *
 * @example
 * ```ts
 * await using ex = new ProcessPoolExecutor({ maxWorkers: 4 });
 * const sum = await ex.submit((a: number, b: number) => a + b, 1, 2); // 3
 * for await (const y of ex.map((x: number) => x * 2, [1, 2, 3])) console.log(y); // 2, 4, 6
 * ```
 */
export class ProcessPoolExecutor implements AsyncDisposable {
  /**
   * Every worker's lifecycle: spawned, ready, task-start, task-end, worker-error, exit. Each event
   * carries the worker's id and pid. Completes when the executor has shut down and every worker
   * process has exited (or the executor broke).
   */
  readonly events$: Observable<WorkerEvent>;
  readonly #options: ResolvedOptions;
  readonly #functions = new FunctionRegistry();
  readonly #tasks = new Subject<Task>();
  readonly #control = new Subject<SchedulerControl>();
  readonly #maxWorkers$: BehaviorSubject<number>;
  readonly #finished: Promise<void>;
  #nextTaskId = 1;
  #state: ExecutorState = 'running';
  #broken: BrokenExecutorError | undefined;

  constructor(options?: ExecutorOptions) {
    this.#options = resolveOptions(options);
    this.#maxWorkers$ = new BehaviorSubject(this.#options.maxWorkers);
    const events = new Subject<WorkerEvent>();
    this.events$ = events.asObservable();
    const spec: WorkerSpec = {
      bootstrap: BOOTSTRAP,
      execPath: process.execPath,
      execArgv: this.#options.execArgv,
      env: { ...process.env, ...this.#options.env },
      cwd: this.#options.cwd,
    };
    this.#finished = new Promise((resolve) => {
      this.#tasks
        .pipe(
          schedule({
            maxWorkers$: this.#maxWorkers$,
            control$: this.#control,
            spawn: (workerId, commands) =>
              workerProcess({ ...spec, env: { ...spec.env, RXPOOL_WORKER_ID: String(workerId) } }, workerId, commands),
          }),
        )
        .subscribe({
          next: (event) => events.next(event),
          complete: () => {
            this.#state = 'shut-down';
            events.complete();
            resolve();
          },
          error: (error: unknown) => {
            this.#state = 'broken';
            this.#broken = error as BrokenExecutorError;
            events.complete();
            resolve();
          },
        });
    });
  }

  /** The most worker processes alive at once. */
  get maxWorkers(): number {
    return this.#maxWorkers$.value;
  }

  /** `running`, `shutting-down` (draining after `shutdown()`), `shut-down`, or `broken`. */
  get state(): ExecutorState {
    return this.#state;
  }

  /**
   * Runs `fn(...args)` in a worker process. `fn` travels by source: it sees its parameters and Node's
   * globals, not the variables around it (pass those as arguments). Async functions are awaited.
   *
   * @returns a Future: await it for the value; it rejects with the error `fn` threw (name, message,
   *   code, properties and cause intact), a SerializationError, or a TerminatedWorkerError if the
   *   worker died.
   * @throws ShutdownExecutorError after `shutdown()`; BrokenExecutorError once workers cannot start;
   *   SerializationError when `fn` itself cannot be shipped (a native or bound function).
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    const task = this.#start(fn, args, false, undefined);
    return new Future<Awaited<R>>(task, this.#cancel);
  }

  /**
   * Applies `fn` to every item, in worker processes, and yields the results in input order. A sync
   * iterable is submitted at once; an async one as it yields. A failing item throws at its position;
   * leaving the loop early cancels the tasks not yet started.
   *
   * @example
   * ```ts
   * for await (const y of ex.map((x: number) => x * x, [1, 2, 3], { chunksize: 2 })) console.log(y);
   * ```
   */
  map<T, R>(
    fn: (item: T) => R,
    items: Iterable<T> | AsyncIterable<T>,
    options: MapOptions = {},
  ): AsyncIterableIterator<Awaited<R>> {
    const { chunksize = 1 } = options;
    if (!Number.isInteger(chunksize) || chunksize < 1) {
      throw new RangeError(`chunksize must be an integer of at least 1, got ${String(chunksize)}`);
    }
    if (items === null || typeof items !== 'object') throw new TypeError('items must be an iterable or async iterable');
    const timeout = checkTimeout(options.timeout);
    this.#assertAccepting();
    const shipped = this.#functions.resolve(fn);
    const lookahead = this.maxWorkers * 4;
    return orderedResults<Awaited<R>>(
      items,
      chunksize,
      lookahead,
      (group, chunked) =>
        this.#enqueue(new Task(this.#nextTaskId++, { fn: shipped, args: group, chunk: chunked, timeout })),
      this.#cancel,
    );
  }

  /**
   * Stops accepting tasks. By default, queued and running tasks finish, the workers exit, and the
   * returned promise resolves once every worker process is gone. With `killWorkers`, workers and the
   * processes they started are killed at once and unfinished tasks reject with ShutdownExecutorError.
   * With `wait: false` the promise resolves at once while the pool winds down. Calling it again is
   * harmless (and may escalate to `killWorkers`).
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const { wait = true, killWorkers = false } = options;
    if (this.#state === 'running') this.#state = 'shutting-down';
    if (killWorkers) {
      this.#control.next({
        kind: 'kill',
        error: new ShutdownExecutorError(
          'The executor was shut down with killWorkers: true before this task could complete.',
        ),
      });
    }
    this.#tasks.complete();
    if (wait) await this.#finished;
  }

  /** `await using executor = new ProcessPoolExecutor()` shuts it down (waiting) at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  readonly #cancel = (task: Task): void => this.#control.next({ kind: 'cancel', task });

  #start(fn: unknown, args: unknown[], chunk: boolean, timeout: number | undefined): Task {
    this.#assertAccepting();
    const shipped = this.#functions.resolve(fn);
    return this.#enqueue(new Task(this.#nextTaskId++, { fn: shipped, args, chunk, timeout }));
  }

  #enqueue(task: Task): Task {
    if (this.#state !== 'running') {
      task.settle({ ok: false, error: this.#refusal() }, 'rejected');
      return task;
    }
    this.#tasks.next(task);
    return task;
  }

  #assertAccepting(): void {
    if (this.#state !== 'running') throw this.#refusal();
  }

  #refusal(): Error {
    return this.#broken ?? new ShutdownExecutorError('Cannot submit a task: the executor has been shut down.');
  }
}
