import type { WorkerEvent } from '../engine/events.js';
import { launchWorker, type WorkerSpec } from '../engine/launch.js';
import type { ExecutorStats } from '../engine/pool-stats.js';
import { Prefork } from '../engine/prefork.js';
import { Relay } from '../engine/relay.js';
import { type PoolView, type SchedulerControl, schedule } from '../engine/scheduler.js';
import { Task, type TaskSpec } from '../engine/task.js';
import { argumentsError } from '../engine/task-errors.js';
import { workerProcess } from '../engine/worker-process.js';
import { type BrokenExecutorError, QueueFullError, SerializationError, ShutdownExecutorError } from '../errors.js';
import { CODE_CACHE_VARIABLE, codeCacheDirectory } from '../platform/code-cache.js';
import { cpuShare } from '../platform/cpu-count.js';
import { WORKER_BOOT } from '../platform/layout.js';
import { workerFlags } from '../platform/runtime.js';
import { BehaviorSubject, Observable, Subject, switchMap } from '../rx/rxjs.js';
import { FunctionRegistry, type ShippedFunction } from '../shipping/function-registry.js';
import { PROJECT_DIR_VARIABLE, projectDir } from '../shipping/project-dir.js';
import { SerializerScope } from '../shipping/serializers.js';
import { taskDefinition } from '../shipping/task-definition.js';
import { shipArguments } from '../shipping/task-shipping.js';
import { ChunkSizer } from './chunk-sizer.js';
import { Future } from './future.js';
import { type MapOptions, orderedResults } from './map.js';
import {
  checkMaxWorkers,
  checkTimeout,
  type ExecutorOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';

/** The values a streamed function yields: an async generator's, an iterator's, or its plain (awaited) value. */
export type Streamed<R> =
  R extends AsyncIterable<infer V>
    ? V
    : R extends Iterator<infer V>
      ? V
      : R extends { subscribe(observer: { next(value: infer V): void }): unknown }
        ? V
        : Awaited<R>;

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

/** What library code built on an executor (parallelMap) may ask of it: package-internal. */
export interface ExecutorInternals {
  /** Queues a task; `fn` may come from `defineTask`, whose options apply unless `spec` overrides them. */
  start(spec: Omit<TaskSpec, 'fn' | 'timeout'> & { readonly fn: unknown; readonly timeout?: number | undefined }): Task;
  control(control: SchedulerControl): void;
  /** A fresh queue group: tasks of different groups take turns. */
  newGroup(): number;
}

/** Package-internal: `executor[internals]` gives {@link ExecutorInternals}. */
export const internals = Symbol('rxpool.internals');

/**
 * Package-internal option: `{ [holdUntil]: gate }` holds a new executor's workers back until `gate`
 * settles (the shared executor waiting for the one it replaces to drain). Tasks submitted meanwhile queue.
 */
export const holdUntil = Symbol('rxpool.holdUntil');

/** The options, with the package-internal ones. */
export type InternalOptions = ExecutorOptions & { readonly [holdUntil]?: Promise<unknown> };

/** Thread-pool sizes of native libraries: each worker gets its share of the CPUs unless the user chose. */
const THREAD_VARIABLES = ['UV_THREADPOOL_SIZE', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'];

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
  readonly #functions: FunctionRegistry;
  readonly #serializers: SerializerScope;
  readonly #tasks = new Relay<Task>();
  readonly #control = new Subject<SchedulerControl>();
  readonly #maxWorkers$: BehaviorSubject<number>;
  readonly #open$ = new BehaviorSubject(true);
  readonly #finished: Promise<void>;
  #nextTaskId = 1;
  /** Queue groups: 0 is plain submits; each map() call and parallelMap subscription gets its own. */
  #nextGroup = 1;
  #state: ExecutorState = 'running';
  #broken: BrokenExecutorError | undefined;
  #pool: PoolView | undefined;
  /** The last CPU share computed, and for how many workers. */
  #share: { readonly workers: number; readonly share: number } | undefined;
  /** No function has been checked yet: the first check warms the pool first (see `#ship`). */
  #cold = true;

  constructor(options?: ExecutorOptions) {
    this.#options = resolveOptions(options);
    const gate = (options as InternalOptions | undefined)?.[holdUntil];
    const serializers = new SerializerScope(this.#options.serializers);
    this.#serializers = serializers;
    this.#functions = new FunctionRegistry({
      globals: this.#options.globals,
      serializers: () => serializers.current(),
    });
    this.#maxWorkers$ = new BehaviorSubject(this.#options.maxWorkers);
    const events = new Relay<WorkerEvent>();
    this.events$ = events.asObservable();
    const { initializer, initArgs, minWorkers, maxWorkers } = this.#options;
    const env: NodeJS.ProcessEnv = { ...process.env, [PROJECT_DIR_VARIABLE]: projectDir(), ...this.#options.env };
    const codeCache = env.NODE_DISABLE_COMPILE_CACHE ? null : codeCacheDirectory();
    if (codeCache !== null) env[CODE_CACHE_VARIABLE] = codeCache;
    const spec: WorkerSpec = {
      bootstrap: WORKER_BOOT,
      execPath: process.execPath,
      execArgv: workerFlags(this.#options.execArgv),
      env,
      cwd: this.#options.cwd,
      initializer: initializer && { fn: this.#functions.resolve(initializer), args: initArgs },
    };
    const specOf = (workerId: number): WorkerSpec => ({ ...spec, env: this.#workerEnv(env, workerId) });
    // The first workers the scheduler will start (ids 1, 2...), forked now: see engine/prefork.ts.
    const early = gate ? 0 : Math.min(minWorkers, maxWorkers);
    const prefork = new Prefork(
      (workerId) => launchWorker(specOf(workerId)),
      Array.from({ length: early }, (_, i) => i + 1),
    );
    if (gate) {
      this.#open$.next(false);
      const open = () => this.#open$.next(true);
      gate.then(open, open);
    }
    this.#finished = new Promise((resolve) => {
      // Forked ones the scheduler did not take (a shutdown or resize right after construction) are killed.
      const settle = () => prefork.discard().then(resolve);
      this.#tasks
        .pipe(
          schedule({
            // Held: no workers; open: maxWorkers, as it changes.
            maxWorkers$: this.#open$.pipe(switchMap((open) => (open ? this.#maxWorkers$ : [0]))),
            control$: this.#control,
            spawn: (workerId, commands) => {
              // A forked one needs no environment of its own any more: only the initializer is read.
              const launched = prefork.take(workerId);
              return workerProcess(launched ? spec : specOf(workerId), workerId, commands, launched);
            },
            minWorkers,
            idleTimeout: this.#options.idleTimeout,
            maxTasksPerWorker: this.#options.maxTasksPerWorker,
            memoryLimit: this.#options.memoryLimit,
            memoryGrowthLimit: this.#options.memoryGrowthLimit,
            observe: (view) => {
              this.#pool = view;
            },
          }),
        )
        .subscribe({
          next: (event) => events.next(event),
          complete: () => {
            this.#state = 'shut-down';
            events.complete();
            settle();
          },
          error: (error: unknown) => {
            this.#state = 'broken';
            this.#broken = error as BrokenExecutorError;
            events.complete();
            settle();
          },
        });
    });
    // The scheduler takes them in a microtask after construction (see Scheduler.resize).
    if (early > 0) setImmediate(() => void prefork.discard());
  }

  /** The most worker processes alive at once. */
  get maxWorkers(): number {
    return this.#maxWorkers$.value;
  }

  /** `running`, `shutting-down` (draining after `shutdown()`), `shut-down`, or `broken`. */
  get state(): ExecutorState {
    return this.#state !== 'shut-down' && this.#pool?.broken ? 'broken' : this.#state;
  }

  /** How many tasks wait for a worker (queued here, or sent ahead to a busy worker). */
  get queueSize(): number {
    return this.#pool?.queued ?? 0;
  }

  /**
   * A snapshot of the work so far: tasks completed, failed, cancelled, running and queued; each live
   * worker's pid, tasks run and last memory sample; run-time and wait-time percentiles.
   */
  stats(): ExecutorStats {
    return (this.#pool as PoolView).stats();
  }

  /**
   * Changes `maxWorkers` in place. Growing spawns workers as tasks need them; shrinking retires
   * surplus workers as soon as they are idle, never killing a running task.
   */
  resize(maxWorkers: number): void {
    this.#assertAccepting();
    this.#maxWorkers$.next(checkMaxWorkers(maxWorkers));
  }

  /**
   * Runs `fn(...args)` in a worker process. `fn` travels by source: it sees its parameters and Node's
   * globals, not the variables around it (pass those as arguments, or with withScope). Async functions
   * are awaited; a generator function's values come back as an array. `require()` and `import()`
   * inside `fn` resolve from this program's directory.
   *
   * @returns a Future: await it for the value; it rejects with the error `fn` threw (name, message,
   *   code, properties and cause intact), a SerializationError, or a TerminatedWorkerError if the
   *   worker died.
   * @throws ShutdownExecutorError after `shutdown()`; BrokenExecutorError once workers cannot start;
   *   SerializationError, before anything is sent, when `fn` cannot work in a worker: it uses variables
   *   of the scope it was written in, or `this`, or it is a native or bound function.
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Future<Awaited<R>> {
    this.#assertAccepting();
    const { maxQueue } = this.#options;
    if (maxQueue !== undefined && this.queueSize >= maxQueue) throw new QueueFullError(maxQueue);
    const definition = taskDefinition(fn);
    const shipped = this.#ship(fn);
    const timeout = checkTimeout(definition.options.timeout);
    const task = this.#newTask({ fn: shipped, args, chunk: false, timeout });
    return new Future<Awaited<R>>(task, this.#cancel);
  }

  /**
   * Runs `fn(...args)` in a worker and streams what it yields: an async generator's values, an
   * iterator's, an observable's, or a plain value once. Unsubscribing stops the task: one still
   * queued never runs; a running generator is returned in the worker (its `finally` runs).
   *
   * @example
   * ```ts
   * executor.stream(async function* (n: number) { for (let i = 0; i < n; i++) yield i; }, 3)
   *   .subscribe(console.log); // 0, 1, 2
   * ```
   */
  stream<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Observable<Streamed<R>> {
    this.#assertAccepting();
    const definition = taskDefinition(fn);
    const shipped = this.#ship(fn);
    const timeout = checkTimeout(definition.options.timeout);
    return new Observable<Streamed<R>>((subscriber) => {
      const task = this.#newTask({ fn: shipped, args, chunk: false, stream: true, timeout });
      task.own({
        next: (value) => subscriber.next(value as Streamed<R>),
        settled: ({ outcome }) => {
          if (!outcome?.ok) return subscriber.error(outcome?.error);
          for (const value of outcome.value as Streamed<R>[]) subscriber.next(value);
          subscriber.complete();
        },
      });
      return () => {
        if (!task.settled) this.#control.next({ kind: 'stop', task });
      };
    });
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
    const chunks = new ChunkSizer(options.chunksize);
    if (items === null || typeof items !== 'object') throw new TypeError('items must be an iterable or async iterable');
    this.#assertAccepting();
    const definition = taskDefinition(fn);
    const timeout = checkTimeout(options.timeout ?? definition.options.timeout);
    const shipped = this.#ship(fn, options.scope);
    const lookahead = this.maxWorkers * 4;
    const group = this.#nextGroup++;
    return orderedResults<Awaited<R>>(
      items,
      chunks,
      lookahead,
      (args, chunk) => this.#newTask({ fn: shipped, args, chunk, timeout, group }),
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

  /** @internal */
  get [internals](): ExecutorInternals {
    return {
      // Once per parallelMap item: fields copied one by one (a rest/spread copy costs ~1 µs here).
      start: (spec) => {
        this.#assertAccepting();
        const definition = taskDefinition(spec.fn);
        const timeout = checkTimeout(spec.timeout ?? definition.options.timeout);
        return this.#newTask({
          fn: this.#ship(spec.fn),
          args: spec.args,
          chunk: spec.chunk,
          stream: spec.stream,
          timeout,
          group: spec.group,
        });
      },
      control: (control) => this.#control.next(control),
      newGroup: () => this.#nextGroup++,
    };
  }

  /** `await using executor = new ProcessPoolExecutor()` shuts it down (waiting) at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** The shipped form of `fn`, checked (throws SerializationError before anything is sent). */
  #ship(fn: unknown, scope?: Readonly<Record<string, unknown>>): ShippedFunction {
    if (this.#cold) {
      // The first check may load the parser (~20 ms): workers fork first and boot meanwhile. Should
      // the check refuse `fn`, they are the workers the next task would start anyway.
      this.#cold = false;
      this.#control.next({ kind: 'warm' });
    }
    return this.#functions.resolve(fn, scope);
  }

  readonly #cancel = (task: Task): void => this.#control.next({ kind: 'cancel', task });

  /** The environment of worker `workerId`: its id, and a fair share of CPUs for native thread pools. */
  #workerEnv(base: NodeJS.ProcessEnv, workerId: number): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...base, RXPOOL_WORKER_ID: String(workerId) };
    const share = String(this.#cpuShare());
    for (const name of THREAD_VARIABLES) {
      if (!(name in this.#options.env) && process.env[name] === undefined) env[name] = share;
    }
    return env;
  }

  /** {@link cpuShare} for the current `maxWorkers`, looked up once per size (it reads the CPU list). */
  #cpuShare(): number {
    const workers = this.maxWorkers;
    if (this.#share?.workers !== workers) this.#share = { workers, share: cpuShare(workers) };
    return this.#share.share;
  }

  /** A task, queued; when a custom serializer throws on its arguments, it is rejected at once and never sent. */
  #newTask(spec: Omit<TaskSpec, 'shipping'>): Task {
    const serializers = this.#serializers.current();
    // No serializer registered (the usual case): the arguments go as they are, nothing to copy.
    if (!serializers) return this.#enqueue(new Task(this.#nextTaskId++, spec));
    let shipped: ReturnType<typeof shipArguments>;
    try {
      shipped = shipArguments(spec.args, spec.chunk, serializers);
    } catch (error) {
      const task = new Task(this.#nextTaskId++, spec);
      // A serializer's own failure names itself; anything else (a getter that throws) is found and named.
      task.settle(
        { ok: false, error: error instanceof SerializationError ? error : argumentsError(task, error) },
        'rejected',
      );
      return task;
    }
    return this.#enqueue(new Task(this.#nextTaskId++, { ...spec, args: shipped.args, shipping: shipped.shipping }));
  }

  #enqueue(task: Task): Task {
    if (this.state !== 'running') {
      task.settle({ ok: false, error: this.#refusal() }, 'rejected');
      return task;
    }
    this.#tasks.next(task);
    return task;
  }

  #assertAccepting(): void {
    if (this.state !== 'running') throw this.#refusal();
  }

  #refusal(): Error {
    return (
      this.#broken ??
      this.#pool?.broken ??
      new ShutdownExecutorError('Cannot submit a task: the executor has been shut down.')
    );
  }
}
