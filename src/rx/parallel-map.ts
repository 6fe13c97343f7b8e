import { Fifo } from '../engine/fifo.js';
import { nextMean, prefetchDepth } from '../engine/prefetch.js';
import type { Task, TaskOwner } from '../engine/task.js';
import { CancelledError, TerminatedWorkerError } from '../errors.js';
import { ChunkSizer, type Chunksize } from '../executor/chunk-sizer.js';
import { type ExecutorInternals, internals, type ProcessPoolExecutor, type Streamed } from '../executor/executor.js';
import { checkPositive } from '../executor/options.js';
import { borrowReusableExecutor } from '../executor/reusable.js';
import { cpuCount } from '../platform/cpu-count.js';
import { type ChunkValues, eachChunkItem } from '../protocol/chunk-values.js';
import { type ParallelMapProgress, ProgressTracker } from './progress.js';
import { Observable, type OperatorFunction } from './rxjs.js';

/** Options of {@link parallelMap}. */
export interface ParallelMapOptions<T = unknown> {
  /**
   * How many workers to use. Without `executor`, the shared executor (getReusableExecutor) is used,
   * grown to at least this many workers. Default: `executor.maxWorkers`, else cpuCount().
   */
  readonly workers?: number;
  /** The executor to run on. Default: the shared one. */
  readonly executor?: ProcessPoolExecutor;
  /**
   * `true` (default): results in source order, like concatMap's output but computed in parallel.
   * `false`: each result as soon as it is ready, like mergeMap.
   */
  readonly ordered?: boolean;
  /**
   * The most tasks in flight at once (queued in the executor or running). Default: `workers` plus a
   * small prefetch (a quarter more, at least one) so no worker waits for its next task; once tasks
   * prove short (under 10 ms) the prefetch grows to what keeps each worker busy while results
   * travel (up to 256 tasks per worker for the tiniest tasks). Values that arrive faster wait in
   * the operator.
   */
  readonly concurrency?: number;
  /**
   * With `ordered`, how far results may run ahead of the oldest unfinished item (default 10,000
   * items). At the cap the operator stops dispatching until the head-of-line item finishes: workers
   * may idle, but memory stays bounded.
   */
  readonly maxBuffer?: number;
  /**
   * Items per task: one message, one result array, for many tiny items (default 1). `'auto'` starts
   * at 1 and sizes chunks from measured time per item, aiming at about 10 ms per task.
   */
  readonly chunksize?: Chunksize;
  /**
   * For idempotent work: a task whose worker died (TerminatedWorkerError) runs again, on a fresh
   * worker, up to this many times (default 0). Errors thrown by the function are not retried.
   */
  readonly retries?: number;
  /** Aborting errors the stream with an AbortError and cancels its tasks, as unsubscribing does. */
  readonly signal?: AbortSignal;
  /**
   * What happens to this subscription's running tasks when it ends early (error, unsubscribe,
   * abort): `'finish'` (default) lets them finish, their results dropped; `'kill'` kills their
   * workers at once (the pool replaces them). Queued tasks are always dropped; streaming
   * generators are always stopped at the source.
   */
  readonly onCancel?: 'finish' | 'kill';
  /** Milliseconds each task may run (a chunk counts as one task): TaskTimeoutError. */
  readonly timeout?: number;
  /** Called with the operator's counts as they change (at most every 100 ms, and once at the end). */
  readonly progress?: (progress: ParallelMapProgress) => void;
  /** Called with what a task passes to `reportProgress(value)`, and the item it is working on. */
  readonly onTaskProgress?: (value: unknown, item: T) => void;
}

/**
 * The RxJS face of the pool: maps each source value through `fn` in worker processes.
 *
 * ```ts
 * from(urls).pipe(parallelMap(async (url: string) => heavy(url), { workers: 4 })).subscribe(console.log);
 * ```
 *
 * - Results come in source order (`ordered: true`, the default) or as they are ready.
 * - At most `concurrency` tasks are in flight; `maxBuffer` bounds the reorder buffer.
 * - A function that is an async generator (or returns an async iterable, an iterator or an
 *   observable) streams: each value it yields is emitted, keeping per-item order when `ordered`.
 * - The output completes once the source has completed and every result is out. A task's error
 *   errors it; its queued tasks are then dropped and its running ones finish or are killed
 *   (`onCancel`). Unsubscribing early (`take(3)`) does the same. The pool stays healthy.
 * - Several subscriptions share the pool fairly: their tasks take turns in the queue.
 */
export function parallelMap<T, R>(
  fn: (item: T) => R,
  options: ParallelMapOptions<T> = {},
): OperatorFunction<T, Streamed<R>> {
  const ordered = options.ordered ?? true;
  const retries = checkCount('retries', options.retries ?? 0, 0);
  const onCancel = options.onCancel ?? 'finish';
  if (onCancel !== 'finish' && onCancel !== 'kill') throw new TypeError(`onCancel must be 'finish' or 'kill'`);
  ChunkSizer.initialSize(options.chunksize); // checks the option now, not at subscription
  const maxBuffer = checkCount('maxBuffer', options.maxBuffer ?? 10_000, 1);
  const timeout = checkPositive('timeout', options.timeout);
  if (options.workers !== undefined) checkCount('workers', options.workers, 1);
  if (options.concurrency !== undefined) checkCount('concurrency', options.concurrency, 1);

  return (source) =>
    new Observable<Streamed<R>>((subscriber) => {
      const executor = options.executor ?? borrowReusableExecutor(options.workers ?? cpuCount());
      const workers = options.workers ?? executor.maxWorkers;
      const baseConcurrency = workers + Math.max(1, Math.ceil(workers / 4));
      let concurrency = options.concurrency ?? baseConcurrency;
      const run: ExecutorInternals = executor[internals];
      const group = run.newGroup();
      const tracker = new ProgressTracker(options.progress, () => {
        let running = 0;
        for (const job of inFlight) if (job.task?.state === 'running') running += job.items.length;
        return running;
      });

      /** Ordered mode: values of items that finished (or stream) ahead of the head. */
      interface Held {
        values: unknown[];
        done: boolean;
      }

      const waiting = new Fifo<T>();
      let nextIndex = 0; // index of waiting[0]
      const inFlight = new Set<Job<T>>();
      const held = new Map<number, Held>();
      let head = 0; // ordered: the next index to emit
      let sourceDone = false;
      let ended = false;
      const chunks = new ChunkSizer(options.chunksize);
      let meanTaskMs: number | undefined;

      const emit = (value: unknown) => subscriber.next(value as Streamed<R>);

      /** Ordered: emits every finished item at the head, and the head's live values. */
      const flushHead = () => {
        for (let entry = held.get(head); entry; entry = held.get(head)) {
          for (const value of entry.values) emit(value);
          entry.values = [];
          if (!entry.done) return;
          held.delete(head++);
        }
      };

      const itemValues = (index: number, values: unknown[], done: boolean) => {
        if (!ordered) {
          for (const value of values) emit(value);
          return;
        }
        if (index === head && held.get(index) === undefined) {
          for (const value of values) emit(value);
          if (done) {
            head++;
            flushHead();
          } else {
            held.set(index, { values: [], done: false });
          }
          return;
        }
        const entry = held.get(index) ?? { values: [], done: false };
        entry.values.push(...values);
        entry.done = done;
        held.set(index, entry);
        if (index === head) flushHead();
      };

      /** Ordered or not: item `index` yielded exactly `value` and is done (no list to build). */
      const itemOne = (index: number, value: unknown) => {
        if (ordered && (index !== head || held.get(index) !== undefined)) {
          itemValues(index, [value], true);
          return;
        }
        emit(value);
        if (!ordered) return;
        head++;
        flushHead();
      };

      /** Every item of a chunk's values (see ChunkValues), from `first` on. */
      const chunkValues = (first: number, chunk: ChunkValues) =>
        eachChunkItem(
          chunk,
          (item, value) => itemOne(first + item, value),
          (item, values) => itemValues(first + item, values, true),
        );

      const finish = (error?: unknown) => {
        if (ended) return;
        ended = true;
        tracker.end();
        if (error === undefined) subscriber.complete();
        else subscriber.error(error);
      };

      const maybeComplete = () => {
        if (sourceDone && waiting.length === 0 && inFlight.size === 0 && held.size === 0) finish();
      };

      const start = (job: Job<T>) => {
        job.attempts++;
        job.startedAt = performance.now();
        let task: Task;
        try {
          // A one-item job's items are the call's arguments as they are.
          task = run.start({ fn, args: job.items, chunk: job.items.length > 1, stream: true, group, timeout });
        } catch (error) {
          // The executor was shut down or broke under us.
          finish(error);
          return;
        }
        job.task = task;
        inFlight.add(job);
        tracker.changed();
        task.own(job);
      };

      const settled = (job: Job<T>, task: Task) => {
        if (ended || job.task !== task) return;
        inFlight.delete(job);
        const outcome = task.outcome;
        if (outcome?.ok) {
          const ranFor = performance.now() - (task.startedAt ?? job.startedAt);
          chunks.learn(job.items.length, ranFor);
          learnConcurrency(ranFor);
          if (job.items.length > 1) {
            chunkValues(job.first, outcome.value as ChunkValues);
          } else {
            itemValues(job.first, outcome.value as unknown[], true);
          }
          tracker.done(job.items.length);
        } else {
          const error = outcome?.error;
          if (error instanceof TerminatedWorkerError && job.attempts <= retries) {
            held.delete(job.first);
            tracker.retried();
            start(job);
            return;
          }
          if (outcome?.partial) {
            const partial = outcome.partial as unknown[][];
            for (let i = 0; i < partial.length; i++) itemValues(job.first + i, partial[i] as unknown[], true);
          }
          tracker.failed(job.items.length);
          finish(error);
          return;
        }
        dispatch();
        maybeComplete();
      };

      const hooks: JobHooks<T> = {
        next: (job, value) => itemValues(job.first, [value], false),
        progress: (job, value) => options.onTaskProgress?.(value, job.items[0] as T),
        settled,
      };

      const learnConcurrency = (ranFor: number) => {
        if (options.concurrency !== undefined) return;
        meanTaskMs = nextMean(meanTaskMs, ranFor);
        concurrency = Math.max(baseConcurrency, workers * prefetchDepth(meanTaskMs));
      };

      const dispatch = () => {
        while (!ended && inFlight.size < concurrency && waiting.length > 0) {
          let size = Math.min(chunks.size, waiting.length);
          if (ordered) {
            const room = head + maxBuffer - nextIndex;
            if (room <= 0) return; // at the cap: wait for the head-of-line item
            size = Math.min(size, room);
          }
          const job = new Job(nextIndex, waiting.take(size), hooks);
          nextIndex += size;
          start(job);
        }
      };

      const abort = () => {
        const reason: unknown = options.signal?.reason;
        const isAbortError = reason instanceof Error && reason.name === 'AbortError';
        finish(isAbortError ? reason : new DOMException('parallelMap was aborted', 'AbortError'));
      };
      if (options.signal?.aborted) {
        abort();
        return;
      }
      options.signal?.addEventListener('abort', abort, { once: true });

      const subscription = source.subscribe({
        next: (value) => {
          waiting.push(value);
          tracker.received();
          dispatch();
        },
        error: (error: unknown) => finish(error),
        complete: () => {
          sourceDone = true;
          maybeComplete();
        },
      });

      return () => {
        ended = true;
        subscription.unsubscribe();
        options.signal?.removeEventListener('abort', abort);
        tracker.end();
        // Whatever this subscription still has on the pool: drop it, stop it, or kill it.
        for (const job of inFlight) {
          const task = job.task as Task;
          if (task.settled) continue;
          if (task.state === 'running' && onCancel === 'kill') {
            run.control({
              kind: 'abort',
              task,
              error: new CancelledError(`Task ${task.id} was killed: its parallelMap subscription ended.`),
            });
          } else {
            run.control({ kind: 'stop', task });
          }
        }
        inFlight.clear();
      };
    });
}

/** What a subscription does when one of its jobs' tasks streams a value, reports progress, or settles. */
interface JobHooks<T> {
  next(job: Job<T>, value: unknown): void;
  progress(job: Job<T>, value: unknown): void;
  settled(job: Job<T>, task: Task): void;
}

/**
 * One task's worth of source items, from index `first` on, and the owner of that task (of each
 * attempt, when a crashed one is retried): one object per task, its behaviour in the shared hooks.
 */
class Job<T> implements TaskOwner {
  task: Task | undefined;
  attempts = 0;
  startedAt = 0;

  constructor(
    readonly first: number,
    readonly items: T[],
    readonly hooks: JobHooks<T>,
  ) {}

  next(value: unknown): void {
    this.hooks.next(this, value);
  }

  progress(value: unknown): void {
    this.hooks.progress(this, value);
  }

  settled(task: Task): void {
    this.hooks.settled(this, task);
  }
}

function checkCount(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer of at least ${min}, got ${String(value)}`);
  }
  return value;
}
