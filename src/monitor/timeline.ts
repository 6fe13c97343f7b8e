/**
 * The shared model behind the trace and SVG views: lifecycle events folded into one row per worker,
 * with its task spans, exit and stray errors. Times stay in epoch milliseconds; views rescale.
 */
import type { WorkerEvent } from '../engine/events.js';

/** How a task span ended: `unfinished` when the events stop before its task-end. */
export type TaskStatus = 'ok' | 'failed' | 'unfinished';

/** One task's run on one worker. */
export interface TaskSpan {
  readonly taskId: number;
  readonly workerId: number;
  /** Epoch ms of task-start (or task-end minus its duration, when the start was not seen). */
  readonly start: number;
  /** Epoch ms of task-end; for unfinished tasks, the worker's end. */
  readonly end: number;
  readonly status: TaskStatus;
  /** The function's name, when the caller's `taskName` or the error told it. */
  readonly functionName: string | undefined;
  /** A one-paragraph account of the error, for failed tasks. */
  readonly error: string | undefined;
}

/** How a worker ended, with a short human label such as `crashed (SIGKILL)`. */
export interface ExitMark {
  readonly time: number;
  /** An `ExitReason`, or whatever a newer engine sends. */
  readonly reason: string;
  readonly code: number | null;
  readonly signal: string | null;
  /** `crashed (SIGSEGV)`, `crashed (exit code 1)`, `idle`, `recycled`, `task timeout`... */
  readonly label: string;
  /** The worker's own doing (crash, failed start) rather than the executor's request. */
  readonly crash: boolean;
  readonly error: string | undefined;
  readonly stderr: string;
  readonly runningTaskId: number | undefined;
  readonly unstartedTaskIds: readonly number[];
}

/** An error thrown by code a task left behind, after the task ended. */
export interface StrayError {
  readonly time: number;
  readonly taskId: number | null;
  readonly error: string;
}

/** One worker process from first to last sight. */
export interface WorkerTimeline {
  readonly workerId: number;
  readonly pid: number | undefined;
  /** Epoch ms of `spawned`, or of the worker's first event when the trace began later. */
  readonly start: number;
  /** Epoch ms of `exit` (or a later task-end the executor stamped for it), else the timeline's end. */
  readonly end: number;
  readonly spawned: number | undefined;
  readonly ready: number | undefined;
  readonly exit: ExitMark | undefined;
  /** By start time. */
  readonly tasks: readonly TaskSpan[];
  readonly errors: readonly StrayError[];
}

/** Every worker seen, by id, between the earliest and latest event. */
export interface Timeline {
  /** Epoch ms of the earliest event: time zero of every view. */
  readonly start: number;
  /** Epoch ms of the latest event. */
  readonly end: number;
  readonly workers: readonly WorkerTimeline[];
}

/** Options shared by the views. */
export interface TimelineOptions {
  /** Names a task's function (e.g. from a map kept at submit time); errors that carry `functionName` are used otherwise. */
  readonly taskName?: ((taskId: number) => string | undefined) | undefined;
}

interface WorkerState {
  workerId: number;
  pid: number | undefined;
  first: number;
  spawned: number | undefined;
  ready: number | undefined;
  exit: ExitMark | undefined;
  /** task id → start time, for task-starts still waiting for their task-end. */
  open: Map<number, number>;
  tasks: TaskSpan[];
  errors: StrayError[];
}

const KNOWN_TYPES: ReadonlySet<string> = new Set([
  'spawned',
  'ready',
  'task-start',
  'task-end',
  'worker-error',
  'exit',
]);

/** Longest error text kept: views want a readable account, not a full stderr dump. */
const MAX_TEXT = 1000;

/**
 * Folds events in one at a time, keeping only what the views need (never task values, which may
 * be large), so a long-running stream can feed it without holding every event.
 */
export class TimelineBuilder {
  readonly #workers = new Map<number, WorkerState>();
  readonly #options: TimelineOptions;
  #start = Number.POSITIVE_INFINITY;
  #end = Number.NEGATIVE_INFINITY;

  constructor(options: TimelineOptions = {}) {
    this.#options = options;
  }

  /** Takes one event; unknown types and malformed events are ignored, so newer engines stay readable. */
  add(event: WorkerEvent): this {
    if (!isKnownEvent(event)) return this;
    const { time } = event;
    this.#start = Math.min(this.#start, time);
    this.#end = Math.max(this.#end, time);
    const worker = this.#worker(event);
    switch (event.type) {
      case 'spawned':
        worker.spawned = time;
        break;
      case 'ready':
        worker.ready = time;
        break;
      case 'task-start':
        worker.open.set(event.taskId, time);
        break;
      case 'task-end': {
        const start = worker.open.get(event.taskId) ?? time - (Number.isFinite(event.duration) ? event.duration : 0);
        worker.open.delete(event.taskId);
        const failed = !event.ok;
        worker.tasks.push(
          this.#span(worker, event.taskId, start, time, failed ? 'failed' : 'ok', failed ? event.error : undefined),
        );
        break;
      }
      case 'worker-error':
        worker.errors.push({ time, taskId: event.taskId, error: describeError(event.error) });
        break;
      case 'exit':
        worker.exit = {
          time,
          reason: event.reason,
          code: event.code,
          signal: event.signal,
          label: exitLabel(event.reason, event.code, event.signal, event.error),
          crash: event.reason === 'crashed' || event.reason === 'failed-to-start',
          error: event.error === undefined ? undefined : describeError(event.error),
          stderr: typeof event.stderr === 'string' ? event.stderr.slice(-MAX_TEXT) : '',
          runningTaskId: event.runningTaskId,
          unstartedTaskIds: Array.isArray(event.unstartedTaskIds) ? [...event.unstartedTaskIds] : [],
        };
        break;
    }
    return this;
  }

  /** The timeline so far; the builder may keep taking events afterwards. */
  build(): Timeline {
    if (this.#workers.size === 0) return { start: 0, end: 0, workers: [] };
    const workers = [...this.#workers.values()]
      .sort((a, b) => a.workerId - b.workerId)
      .map((worker): WorkerTimeline => {
        const tasks = [...worker.tasks];
        // The executor stamps a crashed worker's task-end just after its exit: the row spans both.
        let closed = worker.exit?.time ?? Number.NEGATIVE_INFINITY;
        for (const task of tasks) closed = Math.max(closed, task.end);
        const end = worker.exit ? closed : Math.max(this.#end, closed);
        for (const [taskId, start] of worker.open) tasks.push(this.#span(worker, taskId, start, end, 'unfinished'));
        tasks.sort((a, b) => a.start - b.start || a.taskId - b.taskId);
        const start = Math.min(worker.spawned ?? worker.first, worker.first, tasks[0]?.start ?? worker.first);
        return {
          workerId: worker.workerId,
          pid: worker.pid,
          start,
          end,
          spawned: worker.spawned,
          ready: worker.ready,
          exit: worker.exit,
          tasks,
          errors: [...worker.errors],
        };
      });
    let start = this.#start;
    let end = this.#end;
    for (const worker of workers) {
      start = Math.min(start, worker.start);
      end = Math.max(end, worker.end);
    }
    return { start, end, workers };
  }

  #worker(event: WorkerEvent): WorkerState {
    let worker = this.#workers.get(event.workerId);
    if (!worker) {
      worker = {
        workerId: event.workerId,
        pid: event.pid,
        first: event.time,
        spawned: undefined,
        ready: undefined,
        exit: undefined,
        open: new Map(),
        tasks: [],
        errors: [],
      };
      this.#workers.set(event.workerId, worker);
    }
    worker.pid ??= event.pid;
    worker.first = Math.min(worker.first, event.time);
    return worker;
  }

  #span(
    worker: WorkerState,
    taskId: number,
    start: number,
    end: number,
    status: TaskStatus,
    error?: unknown,
  ): TaskSpan {
    const functionName = this.#options.taskName?.(taskId) ?? errorFunctionName(error);
    return {
      taskId,
      workerId: worker.workerId,
      start: Math.min(start, end),
      end,
      status,
      functionName: functionName || undefined,
      error: status === 'failed' ? describeError(error) : undefined,
    };
  }
}

/** Folds a whole array of events into a timeline. */
export function buildTimeline(events: Iterable<WorkerEvent>, options?: TimelineOptions): Timeline {
  const builder = new TimelineBuilder(options);
  for (const event of events) builder.add(event);
  return builder.build();
}

/** Narrows to the event types this module understands, with the fields every view relies on. */
function isKnownEvent(event: WorkerEvent): boolean {
  if (typeof event !== 'object' || event === null) return false;
  if (!KNOWN_TYPES.has(event.type)) return false;
  if (typeof event.workerId !== 'number' || !Number.isFinite(event.time)) return false;
  if ((event.type === 'task-start' || event.type === 'task-end') && typeof event.taskId !== 'number') return false;
  return true;
}

/** A short label for why a worker ended, e.g. `crashed (SIGKILL)` or `crashed (exit code 1)`. */
export function exitLabel(reason: string, code: number | null, signal: string | null, error?: unknown): string {
  const how = signal ? signal : code !== null ? `exit code ${code}` : '';
  switch (reason) {
    case 'crashed':
      return how ? `crashed (${how})` : 'crashed';
    case 'failed-to-start': {
      const detail = errorCode(error) ?? how;
      return detail ? `failed to start (${detail})` : 'failed to start';
    }
    case 'timeout':
      return 'task timeout';
    case 'killed':
      return how ? `killed (${how})` : 'killed';
    default:
      // idle, recycled, resized, shutdown, and reasons a newer engine may add.
      return reason;
  }
}

/** `Name: message` for errors, the text itself for strings, JSON for the rest; capped in length. */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) text = `${error.name}: ${error.message}`;
  else if (typeof error === 'string') text = error;
  else {
    try {
      text = JSON.stringify(error) ?? String(error);
    } catch {
      text = String(error);
    }
  }
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

function errorFunctionName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('functionName' in error)) return undefined;
  return typeof error.functionName === 'string' ? error.functionName : undefined;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
