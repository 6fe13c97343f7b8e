/**
 * Lifecycle events as a Chrome/Perfetto trace (Trace Event Format, JSON Object Format), to open in
 * https://ui.perfetto.dev or chrome://tracing.
 *
 * Layout: one process ("rxpool executor") with one thread per worker, `tid` = worker id, sorted by
 * id. On each thread, an enclosing slice spans the worker's life (spawned → exit) and nests a
 * `starting` slice (spawned → ready) and one slice per task; instant markers sit on the same
 * thread for spawned, ready, exit and worker-error. A respawned worker has a new id, so a new track.
 */

import type { WorkerEvent } from '../engine/events.js';
import { defer, map, type OperatorFunction, reduce } from '../rx/rxjs.js';
import {
  buildTimeline,
  type TaskSpan,
  type Timeline,
  TimelineBuilder,
  type TimelineOptions,
  type WorkerTimeline,
} from './timeline.js';

/** A value that survives `JSON.stringify` unchanged. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * One entry of `traceEvents`: `M` metadata (names, sort order), `X` complete slices and `i`
 * instants. `ts` and `dur` are microseconds from the trace's origin.
 */
export interface TraceEvent {
  /** What it is: a task (`task 12 · fn`), a marker (`exit: crashed (SIGKILL)`) or a metadata key. */
  readonly name: string;
  /** The phase: `M` metadata, `X` a complete slice, `i` an instant. */
  readonly ph: 'M' | 'X' | 'i';
  /** Microseconds from the trace's origin. */
  readonly ts: number;
  /** Microseconds; `X` events only. */
  readonly dur?: number;
  /** The track group: one per executor. */
  readonly pid: number;
  /** The track: the worker id. */
  readonly tid: number;
  /** Comma-separated categories, e.g. `task,failed`. */
  readonly cat?: string;
  /** Instant scope: `t`, the thread (worker) it happened on. */
  readonly s?: 't';
  /** A reserved Chrome trace colour name (`good`, `terrible`...); Perfetto picks its own colours. */
  readonly cname?: string;
  /** Details shown when the event is selected: task id, pid, error message... */
  readonly args?: { readonly [key: string]: JsonValue };
}

/** The JSON Object Format file: `JSON.stringify` it and load it in Perfetto or chrome://tracing. */
export interface TraceFile {
  /** The events, metadata first, then by time. */
  readonly traceEvents: readonly TraceEvent[];
  /** How viewers show times. */
  readonly displayTimeUnit: 'ms';
  /** What the trace covers. */
  readonly metadata: {
    /** The tool that wrote it. */
    readonly source: 'rxpool';
    /** Epoch ms of `ts` 0. */
    readonly origin: number;
    /** `origin` as an ISO date, for people. */
    readonly originIso: string;
    /** Workers seen. */
    readonly workers: number;
    /** Tasks seen. */
    readonly tasks: number;
    /** Tasks that failed. */
    readonly failedTasks: number;
  };
}

/** How to build the trace. */
export interface TraceOptions extends TimelineOptions {
  /** The process track's name; default `rxpool executor`. */
  readonly processName?: string;
  /** The trace's `pid` for every event; default 1. Give executors distinct ones to merge traces. */
  readonly pid?: number;
  /** Epoch ms of `ts` 0; default the earliest event. A shared origin lines up several traces. */
  readonly origin?: number;
}

/**
 * Collects lifecycle events until the source completes, then emits one TraceFile (also for a
 * source that completes empty). Keeps only what the trace needs, never task values.
 *
 * @example executor.events$.pipe(takeUntil(done$), traceEvents()).subscribe((file) => writeFileSync('trace.json', JSON.stringify(file)))
 */
export function traceEvents(options: TraceOptions = {}): OperatorFunction<WorkerEvent, TraceFile> {
  return (source) =>
    defer(() =>
      source.pipe(
        reduce((builder, event) => builder.add(event), new TimelineBuilder(options)),
        map((builder) => timelineToTrace(builder.build(), options)),
      ),
    );
}

/** The trace for a finished list of events; event types it does not know are skipped. */
export function toTraceFile(events: readonly WorkerEvent[], options: TraceOptions = {}): TraceFile {
  return timelineToTrace(buildTimeline(events, options), options);
}

/** Renders a built timeline as a trace. */
export function timelineToTrace(timeline: Timeline, options: TraceOptions = {}): TraceFile {
  const pid = options.pid ?? 1;
  const origin = options.origin ?? timeline.start;
  // Microseconds, rounded to nanoseconds so the JSON stays short and float noise stays out.
  const us = (time: number): number => Math.round((time - origin) * 1e6) / 1e3;
  const dur = (from: number, to: number): number => Math.round((us(to) - us(from)) * 1e3) / 1e3;
  const metadata: TraceEvent[] = [
    { name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name: options.processName ?? 'rxpool executor' } },
  ];
  const timed: TraceEvent[] = [];
  let tasks = 0;
  let failedTasks = 0;

  for (const worker of timeline.workers) {
    const tid = worker.workerId;
    const base = { pid, tid };
    metadata.push(
      { name: 'thread_name', ph: 'M', ts: 0, ...base, args: { name: workerName(worker) } },
      { name: 'thread_sort_index', ph: 'M', ts: 0, ...base, args: { sort_index: worker.workerId } },
    );

    const start = us(worker.start);
    timed.push({
      name: workerName(worker),
      cat: 'worker',
      ph: 'X',
      ts: start,
      dur: dur(worker.start, worker.end),
      ...base,
      cname: 'grey',
      args: {
        workerId: worker.workerId,
        pid: worker.pid ?? null,
        tasks: worker.tasks.length,
        exit: worker.exit?.label ?? null,
        alive: worker.exit === undefined,
      },
    });

    if (worker.spawned !== undefined) {
      timed.push(instant('spawned', 'lifecycle', us(worker.spawned), base));
      if (worker.ready !== undefined) {
        // Clipped to the first task so that slices on the track nest strictly.
        const end = Math.max(worker.spawned, Math.min(worker.ready, worker.tasks[0]?.start ?? worker.ready));
        const ts = us(worker.spawned);
        timed.push({ name: 'starting', cat: 'worker,bootstrap', ph: 'X', ts, dur: dur(worker.spawned, end), ...base });
      }
    }
    if (worker.ready !== undefined) timed.push(instant('ready', 'lifecycle', us(worker.ready), base));

    for (const task of worker.tasks) {
      tasks++;
      if (task.status === 'failed') failedTasks++;
      timed.push(taskSlice(task, worker, us(task.start), dur(task.start, task.end), base));
    }

    for (const stray of worker.errors) {
      timed.push(
        instant(
          stray.taskId === null ? 'worker-error' : `worker-error (task ${stray.taskId})`,
          'lifecycle,error',
          us(stray.time),
          base,
          {
            cname: 'bad',
            args: { taskId: stray.taskId, error: stray.error },
          },
        ),
      );
    }

    const exit = worker.exit;
    if (exit) {
      timed.push(
        instant(`exit: ${exit.label}`, exit.crash ? 'lifecycle,crash' : 'lifecycle', us(exit.time), base, {
          ...(exit.crash ? { cname: 'terrible' } : exit.reason === 'timeout' ? { cname: 'bad' } : {}),
          args: {
            reason: exit.reason,
            code: exit.code,
            signal: exit.signal,
            runningTaskId: exit.runningTaskId ?? null,
            unstartedTaskIds: exit.unstartedTaskIds,
            ...(exit.error === undefined ? {} : { error: exit.error }),
            ...(exit.stderr ? { stderr: exit.stderr } : {}),
          },
        }),
      );
    }
  }

  // Ties: the longer slice first, so that an enclosing slice precedes what it encloses.
  timed.sort((a, b) => a.ts - b.ts || (b.dur ?? -1) - (a.dur ?? -1));
  return {
    traceEvents: [...metadata, ...timed],
    displayTimeUnit: 'ms',
    metadata: {
      source: 'rxpool',
      origin,
      originIso: Number.isFinite(origin) ? new Date(origin).toISOString() : '',
      workers: timeline.workers.length,
      tasks,
      failedTasks,
    },
  };
}

/** `worker 3 (pid 1234)`, the name of a worker's track and lifetime slice. */
function workerName(worker: WorkerTimeline): string {
  return `worker ${worker.workerId} (${worker.pid === undefined ? 'no pid' : `pid ${worker.pid}`})`;
}

function taskSlice(
  task: TaskSpan,
  worker: WorkerTimeline,
  ts: number,
  dur: number,
  base: { pid: number; tid: number },
): TraceEvent {
  const label = task.functionName ? `task ${task.taskId} · ${task.functionName}` : `task ${task.taskId}`;
  const args: { [key: string]: JsonValue } = {
    taskId: task.taskId,
    workerId: worker.workerId,
    pid: worker.pid ?? null,
    ok: task.status === 'unfinished' ? null : task.status === 'ok',
    status: task.status,
    durationMs: Math.round((task.end - task.start) * 1e3) / 1e3,
  };
  if (task.functionName) args.functionName = task.functionName;
  if (task.error !== undefined) args.error = task.error;
  const looks = {
    ok: { name: label, cat: 'task', cname: 'good' },
    failed: { name: `${label} (failed)`, cat: 'task,failed', cname: 'terrible' },
    unfinished: { name: `${label} (unfinished)`, cat: 'task,unfinished', cname: 'yellow' },
  }[task.status];
  return { ...looks, ph: 'X', ts, dur, ...base, args };
}

function instant(
  name: string,
  cat: string,
  ts: number,
  base: { pid: number; tid: number },
  extra: Pick<TraceEvent, 'cname' | 'args'> = {},
): TraceEvent {
  return { name, cat, ph: 'i', s: 't', ts, ...base, ...extra };
}
