/**
 * Every error rxpool raises itself. Errors thrown by user functions inside workers are not wrapped:
 * they arrive rebuilt with their own name, message, code, properties and cause.
 * @module
 */

/** What every rxpool error carries: a stable `code` to branch on. */
export abstract class RxpoolError extends Error {
  /** A stable machine-readable code, e.g. `ERR_RXPOOL_TERMINATED_WORKER`. */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where a task was when something went wrong: helps a reader find the culprit. */
export interface TaskContext {
  /** The executor-wide id of the task. */
  readonly taskId?: number | undefined;
  /** The shipped function's name, when it has one. */
  readonly functionName?: string | undefined;
}

/** Describes a worker process's end: exit code or signal, pid, and the last lines it wrote to stderr. */
export interface WorkerExit {
  /** The executor-wide id of the worker (1, 2, 3... in spawn order). */
  readonly workerId: number;
  /** The worker's process id, if it was spawned. */
  readonly pid: number | undefined;
  /** The exit code, when the process exited by itself (`null` when a signal ended it). */
  readonly exitCode: number | null;
  /** The signal that ended the process, e.g. `SIGSEGV` or `SIGKILL` (`null` when it exited). */
  readonly signal: NodeJS.Signals | null;
  /** The tail of the worker's stderr (at most a few KB), when it wrote any. */
  readonly stderr: string;
}

/**
 * A worker process died while it ran the task: it called `process.exit()`, crashed (SIGSEGV,
 * SIGABRT), ran out of heap, or was killed (SIGKILL, e.g. by the OS out-of-memory killer).
 * Only that task fails; the executor replaces the worker and keeps going.
 */
export class TerminatedWorkerError extends RxpoolError implements WorkerExit, TaskContext {
  readonly code = 'ERR_RXPOOL_TERMINATED_WORKER';
  /** The executor-wide id of the worker (1, 2, 3... in spawn order). */
  readonly workerId: number;
  /** The worker's process id, if it was spawned. */
  readonly pid: number | undefined;
  /** The exit code, when the process exited by itself (`null` when a signal ended it). */
  readonly exitCode: number | null;
  /** The signal that ended the process, e.g. `SIGSEGV` or `SIGKILL` (`null` when it exited). */
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly taskId: number | undefined;
  /** The shipped function's name, when it has one. */
  readonly functionName: string | undefined;
  /** A short guess at the cause (segfault, heap exhaustion, OOM killer...), or '' when there is none. */
  readonly hint: string;

  constructor(exit: WorkerExit & TaskContext & { hint: string }) {
    const how = exit.signal ? `was killed by signal ${exit.signal}` : `exited with code ${exit.exitCode}`;
    const task = exit.taskId === undefined ? '' : ` while running task ${exit.taskId}${fnLabel(exit.functionName)}`;
    const hint = exit.hint ? `: ${exit.hint}` : '';
    const tail = exit.stderr ? `\nLast lines of the worker's stderr:\n${indent(exit.stderr)}` : '';
    super(`Worker ${exit.workerId} (pid ${exit.pid ?? '?'}) ${how}${task}${hint}.${tail}`);
    this.workerId = exit.workerId;
    this.pid = exit.pid;
    this.exitCode = exit.exitCode;
    this.signal = exit.signal;
    this.stderr = exit.stderr;
    this.taskId = exit.taskId;
    this.functionName = exit.functionName;
    this.hint = exit.hint;
  }
}

/** The executor was shut down: no new task is accepted, or a pending task was dropped by a kill. */
export class ShutdownExecutorError extends RxpoolError {
  readonly code = 'ERR_RXPOOL_SHUTDOWN';
}

/**
 * Workers cannot start at all (a bad `execArgv`, a missing `cwd`, a crash during bootstrap). The
 * executor stops trying rather than respawning for ever: every pending and later task rejects with
 * this error. Create a new executor once the cause is fixed.
 */
export class BrokenExecutorError extends RxpoolError implements Partial<WorkerExit> {
  readonly code = 'ERR_RXPOOL_BROKEN_EXECUTOR';
  /** The executor-wide id of the worker (1, 2, 3... in spawn order). */
  readonly workerId: number | undefined;
  /** The worker's process id, if it was spawned. */
  readonly pid: number | undefined;
  /** The exit code, when the process exited by itself (`null` when a signal ended it). */
  readonly exitCode: number | null | undefined;
  /** The signal that ended the process, e.g. `SIGSEGV` or `SIGKILL` (`null` when it exited). */
  readonly signal: NodeJS.Signals | null | undefined;
  readonly stderr: string;

  constructor(message: string, exit?: Partial<WorkerExit>, options?: ErrorOptions) {
    const tail = exit?.stderr ? `\nThe worker's stderr:\n${indent(exit.stderr)}` : '';
    super(`${message}${tail}`, options);
    this.workerId = exit?.workerId;
    this.pid = exit?.pid;
    this.exitCode = exit?.exitCode;
    this.signal = exit?.signal;
    this.stderr = exit?.stderr ?? '';
  }
}

/** Which way a value was travelling when it could not be serialized. */
export type SerializationStage = 'function' | 'argument' | 'result';

/**
 * A function, an argument or a result cannot cross the process boundary: it holds a function, a
 * symbol, a native handle, a promise... The message names the culprit and its path, e.g.
 * "argument 1 → .handler is a function". Only that task fails.
 */
export class SerializationError extends RxpoolError implements TaskContext {
  readonly code = 'ERR_RXPOOL_SERIALIZATION';
  /** What failed to cross: the shipped function, an argument, or the result. */
  readonly stage: SerializationStage;
  /** Where in the value the culprit sits, e.g. `argument 1 → .handler`; '' when unknown. */
  readonly path: string;
  readonly taskId: number | undefined;
  /** The shipped function's name, when it has one. */
  readonly functionName: string | undefined;

  constructor(
    message: string,
    details: { stage: SerializationStage; path?: string } & TaskContext,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.stage = details.stage;
    this.path = details.path ?? '';
    this.taskId = details.taskId;
    this.functionName = details.functionName;
  }
}

/**
 * The executor's `initializer` threw in a worker. The tasks sent to that worker fail with this
 * error; the worker is retired. If no worker ever initialized, the executor breaks (its
 * BrokenExecutorError has this as `cause`) instead of respawning for ever.
 */
export class InitializerError extends RxpoolError {
  readonly code = 'ERR_RXPOOL_INITIALIZER';
  /** The executor-wide id of the worker (1, 2, 3... in spawn order). */
  readonly workerId: number;
  /** The worker's process id, if it was spawned. */
  readonly pid: number | undefined;
  /** The shipped function's name, when it has one. */
  readonly functionName: string | undefined;

  constructor(
    details: { workerId: number; pid: number | undefined; functionName: string | undefined },
    cause: unknown,
  ) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(
      `The initializer${fnLabel(details.functionName)} failed in worker ${details.workerId} (pid ${details.pid ?? '?'}): ${message}`,
      { cause },
    );
    this.workerId = details.workerId;
    this.pid = details.pid;
    this.functionName = details.functionName;
  }
}

/** `submit()` found the queue at `maxQueue`: the producer is outrunning the pool. */
export class QueueFullError extends RxpoolError {
  readonly code = 'ERR_RXPOOL_QUEUE_FULL';
  /** The `maxQueue` option that was reached. */
  readonly maxQueue: number;

  constructor(maxQueue: number) {
    super(
      `The executor's queue is full (maxQueue: ${maxQueue} tasks waiting for a worker). Wait for some to finish, or raise maxQueue.`,
    );
    this.maxQueue = maxQueue;
  }
}

/** The task was cancelled before it started (`future.cancel()`, or its consumer went away). */
export class CancelledError extends RxpoolError {
  readonly code = 'ERR_RXPOOL_CANCELLED';
}

/** The task ran longer than its `timeout`; the worker running it was killed and replaced. */
export class TaskTimeoutError extends RxpoolError implements TaskContext {
  readonly code = 'ERR_RXPOOL_TASK_TIMEOUT';
  /** The timeout that was exceeded, in milliseconds. */
  readonly timeout: number;
  readonly taskId: number | undefined;
  /** The shipped function's name, when it has one. */
  readonly functionName: string | undefined;
  /** The worker's process id, if it was spawned. */
  readonly pid: number | undefined;

  constructor(details: { timeout: number; pid: number | undefined } & TaskContext) {
    super(
      `Task ${details.taskId ?? '?'}${fnLabel(details.functionName)} ran longer than its timeout of ${details.timeout} ms; its worker (pid ${details.pid ?? '?'}) was killed.`,
    );
    this.timeout = details.timeout;
    this.taskId = details.taskId;
    this.functionName = details.functionName;
    this.pid = details.pid;
  }
}

function fnLabel(name: string | undefined): string {
  return name ? ` (function \`${name}\`)` : '';
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `  | ${line}`)
    .join('\n');
}
