/**
 * The lifecycle events of worker processes, as `executor.events$` publishes them. Each carries the
 * worker's id (stable for the executor's life, never reused), its pid and a timestamp in epoch
 * milliseconds with sub-millisecond precision.
 */

/** What every lifecycle event carries. */
export interface WorkerEventBase {
  /** The executor-wide id of the worker: 1, 2, 3... in spawn order, never reused. */
  readonly workerId: number;
  /** The worker's process id; `undefined` only when the process could not be spawned at all. */
  readonly pid: number | undefined;
  /** When it happened: epoch milliseconds with sub-millisecond precision. */
  readonly time: number;
}

/** The process was started. */
export interface SpawnedEvent extends WorkerEventBase {
  /** Tells the event kinds apart. */
  readonly type: 'spawned';
}

/** The worker finished its bootstrap (and the executor's initializer, if any) and runs tasks. */
export interface ReadyEvent extends WorkerEventBase {
  /** Tells the event kinds apart. */
  readonly type: 'ready';
}

/** The worker began running a task. */
export interface TaskStartEvent extends WorkerEventBase {
  /** Tells the event kinds apart. */
  readonly type: 'task-start';
  /** The task, as its Future's `taskId` names it. */
  readonly taskId: number;
}

/** A task ended on this worker: its value, or why it failed (thrown, crash, timeout...). */
export type TaskEndEvent = WorkerEventBase & {
  /** Tells the event kinds apart. */
  readonly type: 'task-end';
  /** The task, as its Future's `taskId` names it. */
  readonly taskId: number;
  /** Milliseconds from task-start to task-end. */
  readonly duration: number;
} & (
    | {
        /** The task returned a value. */
        readonly ok: true;
        /** What it returned. */
        readonly value: unknown;
      }
    | {
        /** The task failed. */
        readonly ok: false;
        /** Why: what it threw, or a TerminatedWorkerError, TaskTimeoutError, SerializationError... */
        readonly error: unknown;
        /** For a chunk (`map` with `chunksize`), the results of its items before the failing one. */
        readonly partial?: unknown[] | undefined;
      }
  );

/** A task called `reportProgress(value)`. */
export interface TaskProgressEvent extends WorkerEventBase {
  /** Tells the event kinds apart. */
  readonly type: 'task-progress';
  /** The task that reported. */
  readonly taskId: number;
  /** What it passed to `reportProgress`. */
  readonly value: unknown;
}

/**
 * An error thrown by code a task left behind (a timer, an unawaited promise) after that task
 * ended. The worker survives it. `taskId` names the task whose code threw, when it is known.
 */
export interface WorkerErrorEvent extends WorkerEventBase {
  /** Tells the event kinds apart. */
  readonly type: 'worker-error';
  /** The task whose leftover code threw, or `null` when that is not known. */
  readonly taskId: number | null;
  /** What was thrown, rebuilt in the parent. */
  readonly error: unknown;
}

/** A sample of the worker's resident memory, taken by the parent (at most once a second per pool). */
export interface MemoryEvent extends WorkerEventBase {
  /** Tells the event kinds apart. */
  readonly type: 'memory';
  /** Resident set size in bytes. */
  readonly rss: number;
}

/** Why a worker is retired between tasks. */
export type RecycleReason = 'max-tasks' | 'memory-limit' | 'memory-growth';

/**
 * The worker will be retired once it is idle: it ran `maxTasksPerWorker` tasks, its memory went
 * over `memoryLimit`, or it grew by more than `memoryGrowthLimit` since its first task (a leak).
 * Its `exit` (reason `recycled`) follows; a new worker replaces it when work needs one.
 */
export interface RecycleEvent extends WorkerEventBase {
  /** Tells the event kinds apart. */
  readonly type: 'recycle';
  /** Which limit it reached. */
  readonly reason: RecycleReason;
  /** The memory sample behind a memory recycle, in bytes. */
  readonly rss?: number | undefined;
  /** The limit it crossed: bytes for memory, a task count for max-tasks. */
  readonly limit: number;
}

/**
 * Why a worker process ended. `crashed` and `failed-to-start` are the worker's doing; the others
 * were asked for by the executor.
 */
export type ExitReason =
  | 'crashed'
  | 'failed-to-start'
  | 'shutdown'
  | 'timeout'
  | 'idle'
  | 'recycled'
  | 'resized'
  | 'killed';

/** The process is gone. */
export interface ExitEvent extends WorkerEventBase {
  /** Tells the event kinds apart. */
  readonly type: 'exit';
  /** The exit code, or `null` when a signal ended the process. */
  readonly code: number | null;
  /** The signal that ended the process (`SIGKILL`, `SIGSEGV`...), or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** Why it ended. */
  readonly reason: ExitReason;
  /** The tail of what the worker wrote to stderr (a few KB at most). */
  readonly stderr: string;
  /** Why it failed to start: a spawn error (ENOENT, EACCES, EAGAIN...) or an InitializerError. */
  readonly error?: Error | undefined;
  /** The task the worker was running when it ended, if any. */
  readonly runningTaskId: number | undefined;
  /** Tasks sent to the worker that it had not started: the executor runs them elsewhere. */
  readonly unstartedTaskIds: readonly number[];
}

/** Everything `executor.events$` emits. */
export type WorkerEvent =
  | SpawnedEvent
  | ReadyEvent
  | TaskStartEvent
  | TaskEndEvent
  | TaskProgressEvent
  | WorkerErrorEvent
  | MemoryEvent
  | RecycleEvent
  | ExitEvent;

// A getter that calls into Node each time (~30 ns), read twice per task: once is enough.
const TIME_ORIGIN = performance.timeOrigin;

/** Epoch milliseconds with sub-millisecond precision, monotonic within the process. */
export function now(): number {
  return TIME_ORIGIN + performance.now();
}

/** {@link now} of an instant read earlier with `performance.now()`. */
export function epochOf(monotonic: number): number {
  return TIME_ORIGIN + monotonic;
}

/** The `performance.now()` reading of an event's `time`: {@link epochOf} undone. */
export function monotonicOf(epoch: number): number {
  return epoch - TIME_ORIGIN;
}
