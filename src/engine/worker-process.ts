import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { InitializerError, SerializationError } from '../errors.js';
import { killTree } from '../platform/process-tree.js';
import { sendChecked, unrefChannel } from '../platform/runtime.js';
import { alignedBatch, ownBytes, withoutPadding } from '../protocol/align.js';
import { FrameReader, joinLane, LaneJoin, splitLane, writeFrames } from '../protocol/byte-lane.js';
import { type ChunkValues, eachChunkItem } from '../protocol/chunk-values.js';
import {
  FromWorker,
  type FunctionSource,
  type NextMessage,
  type OkMessage,
  type ParentMessage,
  type TaskExtras,
  TaskMode,
  ToWorker,
  type WorkerMessage,
} from '../protocol/messages.js';
import { type Packed, pack, packedSize, unpack } from '../protocol/packed.js';
import { BATCH_BYTES, payloadSizeOf } from '../protocol/payload.js';
import { Observable, type Subscriber } from '../rx/rxjs.js';
import { decodeValue, sentVersionAfter, taskExtras } from '../shipping/task-shipping.js';
import { decodeThrown } from '../shipping/thrown.js';
import { type ExitReason, epochOf, now, type TaskEndEvent, type WorkerEvent } from './events.js';
import { killOnExit } from './exit-hook.js';
import { LANE_FD, launchWorker, type WorkerSpec } from './launch.js';
import { type Task, tell } from './task.js';
import { argumentsError, enrichTaskError, terminatedError } from './task-errors.js';

/**
 * The worker dropped a task it had been sent and had not started, as the scheduler asked: the
 * scheduler's own business, never on `events$` (the task never started there).
 */
export interface TaskDroppedEvent {
  readonly type: 'task-dropped';
  readonly taskId: number;
}

/** What a worker process's stream emits: its lifecycle events, and {@link TaskDroppedEvent}. */
export type ProcessEvent = WorkerEvent | TaskDroppedEvent;

/** What the scheduler tells one worker. */
export type WorkerCommand =
  | { readonly kind: 'run'; readonly task: Task }
  | { readonly kind: 'drop'; readonly task: Task }
  /** Stop a running streaming task at the source (its generator's `finally` runs). */
  | { readonly kind: 'cancel'; readonly task: Task }
  | { readonly kind: 'stop'; readonly reason: ExitReason }
  | { readonly kind: 'kill'; readonly reason: ExitReason };

/** The last bytes of stderr kept for error messages. */
const STDERR_TAIL_CHARS = 4096;
/** After `exit`, how long to wait for the last IPC messages, byte-lane values and stderr to drain. */
const DRAIN_AFTER_EXIT_MS = 200;
/** A worker asked to stop that has not exited after this long is killed. */
const STOP_GRACE_MS = 2000;

/**
 * A worker process as an Observable of its lifecycle events. Subscribing forks the process, or
 * takes over `launched`, forked from the same spec earlier in this tick (see prefork.ts);
 * `commands` says what to run; the stream emits `spawned`, `ready`, `task-start`, `task-end`,
 * `worker-error` and finally `exit`, then completes. Unsubscribing kills the process and anything
 * it started.
 *
 * Tasks wait in the parent until the process says it is up (its first message, before it loads the
 * worker), then in its channel until it is ready, and count as started from then; tasks sent to a
 * busy worker queue in the worker, which runs them one at a time. Large typed arrays travel beside
 * the IPC channel, on the byte lane (protocol/byte-lane.ts), and a message waits here for the
 * values it names. When the process ends, the exit event names the task it was running and the
 * tasks it never started, so the scheduler can fail the one and rerun the others.
 */
export function workerProcess(
  spec: WorkerSpec,
  workerId: number,
  commands: Observable<WorkerCommand>,
  launched?: ChildProcess,
): Observable<ProcessEvent> {
  return new Observable<ProcessEvent>((subscriber) => {
    const connection = new WorkerConnection(spec, workerId, subscriber, launched);
    const subscription = commands.subscribe((command) => connection.command(command));
    return () => {
      subscription.unsubscribe();
      connection.kill('killed');
    };
  });
}

class WorkerConnection {
  readonly #workerId: number;
  readonly #subscriber: Subscriber<ProcessEvent>;
  readonly #child: ChildProcess | undefined;
  readonly #pid: number | undefined;
  readonly #forget: () => void = () => {};
  /** Delivered to the worker, in order: the head is running once `#started` says so. */
  readonly #inFlight: Task[] = [];
  #started = false;
  #headStartedAt = 0;
  /** Waiting to be sent: held until the worker is ready, then flushed in one batch per tick. */
  #outbox: Array<Task | number> = [];
  #flushQueued = false;
  readonly #functionsSent = new Set<number>();
  /** What the batch being built already carries (function sources, serializer sets); cleared after each flush. */
  readonly #included = new Set<unknown>();
  /** The version of the executor's custom serializers this worker has (0: none). */
  #serializersSent = 0;
  #ready = false;
  /** The process said it is up (FromWorker.Up): tasks may be sent, to start once it is ready. */
  #up = false;
  #exited = false;
  #requested: ExitReason | undefined;
  #initializer: WorkerSpec['initializer'];
  #startError: Error | undefined;
  #stderr = '';
  /** The code the worker announced it was exiting with (FromWorker.Exiting). */
  #exitCode: number | undefined;
  /** The task that was running when the worker announced its exit (already failed by then). */
  #exitingTaskId: number | undefined;
  #stopTimer: NodeJS.Timeout | undefined;
  /** The byte lane's socket (see protocol/byte-lane.ts), when the runtime has one. */
  readonly #lane: Socket | undefined;
  /** The worker reads the lane: large arguments may take it. */
  #laneOut = false;
  /** The lane values of the messages being sent, written once their message is. */
  readonly #laneViews = new Map<Task, ArrayBufferView[]>();
  /** Holds a message until its lane values have arrived, and what came after it. */
  readonly #join = new LaneJoin<WorkerMessage>(laneNeeds, fillLane, (messages) => {
    for (const message of messages) this.#handle(message);
  });

  constructor(spec: WorkerSpec, workerId: number, subscriber: Subscriber<ProcessEvent>, launched?: ChildProcess) {
    this.#workerId = workerId;
    this.#subscriber = subscriber;
    this.#initializer = spec.initializer;
    let child: ChildProcess;
    try {
      child = launched ?? launchWorker(spec);
    } catch (error) {
      this.#finish(null, null, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#child = child;
    this.#pid = child.pid;
    child.on('error', (error) => {
      // Without a pid the process never started, and no `exit` will follow.
      if (child.pid === undefined) this.#finish(null, null, error);
    });
    if (child.pid === undefined) return;
    this.#forget = killOnExit(child);
    child.on('message', (batch: Array<WorkerMessage | string>) => this.#receive(withoutPadding(batch)));
    const lane = child.stdio[LANE_FD] as Socket | null | undefined;
    if (lane) {
      this.#lane = lane;
      const reader = new FrameReader((view) => this.#join.value(view));
      lane.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk);
        } catch {
          this.kill('crashed'); // a frame this build cannot read: the lane is out of step for good
        }
      });
      // A worker that dies mid-write breaks the pipe: its exit says what happened.
      lane.on('error', () => {});
      lane.unref();
    }
    child.on('exit', (code, signal) => this.#onExit(code, signal));
    const stderr = child.stderr as Socket | null;
    stderr?.setEncoding('utf8');
    stderr?.on('data', (text: string) => {
      process.stderr.write(text);
      this.#stderr = (this.#stderr + text).slice(-STDERR_TAIL_CHARS);
    });
    // An idle pool must not keep the parent alive; the scheduler holds the loop while work is pending.
    child.unref();
    unrefChannel(child);
    stderr?.unref();
    this.#emit({ type: 'spawned' });
  }

  command(command: WorkerCommand): void {
    switch (command.kind) {
      case 'run':
        this.#enqueue(command.task);
        break;
      case 'drop':
        this.#drop(command.task);
        break;
      case 'cancel':
        if (this.#inFlight.includes(command.task)) {
          this.#outbox.push(-command.task.id);
          this.#scheduleFlush();
        } else {
          this.#drop(command.task);
        }
        break;
      case 'stop':
        this.#stop(command.reason);
        break;
      case 'kill':
        this.kill(command.reason);
        break;
    }
  }

  kill(reason: ExitReason): void {
    if (this.#exited || this.#pid === undefined) return;
    this.#requested ??= reason;
    killTree(this.#pid);
  }

  #stop(reason: ExitReason): void {
    if (this.#exited || this.#requested) return;
    this.#requested = reason;
    this.#flush();
    if (this.#child?.connected) this.#child.disconnect();
    this.#stopTimer = setTimeout(() => this.kill(reason), STOP_GRACE_MS).unref();
  }

  #enqueue(task: Task): void {
    if (this.#exited) return;
    this.#outbox.push(task);
    this.#scheduleFlush();
  }

  #drop(task: Task): void {
    const waiting = this.#outbox.indexOf(task);
    if (waiting !== -1) {
      this.#outbox.splice(waiting, 1);
      return;
    }
    if (this.#inFlight.includes(task)) {
      this.#outbox.push(task.id);
      this.#scheduleFlush();
    }
  }

  /**
   * Whether what waits may be sent: once ready, or once up when there is no initializer (which must
   * run before any task: those wait for its success, sent after Ready).
   */
  #accepting(): boolean {
    return this.#ready || (this.#up && !this.#initializer);
  }

  #scheduleFlush(): void {
    if (this.#flushQueued || !this.#accepting()) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  #flush(): void {
    const child = this.#child;
    if (!this.#accepting() || this.#outbox.length === 0 || !child?.connected) return;
    // A worker on its way out gets nothing more: what waits here runs elsewhere once it is gone.
    if (this.#exitCode !== undefined) return;
    const items = this.#outbox;
    this.#outbox = [];
    // Tasks share messages of about BATCH_BYTES (see payload.ts): one write for many tiny tasks,
    // and large arguments in few large messages, which Node's channel copies least.
    const included = this.#included;
    let batch: ParentMessage[] = [];
    let sent: Array<Task | number> = [];
    let bytes = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Task | number;
      let message: ParentMessage | undefined;
      try {
        message = this.#message(item, included);
      } catch (error) {
        if (typeof item !== 'number') this.#emitTaskEnd(item, { ok: false, error: argumentsError(item, error) });
      }
      if (message) {
        batch.push(message);
        sent.push(item);
        if (message[0] === ToWorker.Task) {
          bytes += message[6]?.packed ? packedSize(message[3] as Packed) : payloadSizeOf(message[3] as unknown[]);
        }
      }
      if ((bytes < BATCH_BYTES && i < items.length - 1) || batch.length === 0) continue;
      included.clear();
      this.#sendBatch(child, sent, batch);
      batch = [];
      sent = [];
      bytes = 0;
    }
  }

  #sendBatch(child: ChildProcess, items: Array<Task | number>, batch: ParentMessage[]): void {
    try {
      sendChecked(child, alignedBatch(batch));
      for (const item of items) this.#delivered(item);
    } catch {
      for (const item of items) if (typeof item !== 'number') this.#laneViews.delete(item);
      // Something in the batch cannot be cloned: send one by one so only that task fails.
      for (const item of items) this.#sendAlone(child, item);
    }
  }

  /** A number in the outbox is a drop (`id`) or a stream cancel (`-id`). */
  /**
   * The message for an outbox item. Looking at a task's arguments can throw (a getter, a Proxy
   * trap): that happens before anything of the task counts as part of the batch, and the caller
   * fails that task alone.
   */
  #message(item: Task | number, included: Set<unknown>): ParentMessage {
    if (typeof item === 'number') return item < 0 ? [ToWorker.Cancel, -item] : [ToWorker.Drop, item];
    const { fn } = item;
    // Placeholders are known by identity, which packing and the lane do not keep: encoded arguments
    // stay as they are.
    const packed = item.shipping?.records ? undefined : pack(item.args);
    const args = packed ?? item.args;
    // A packed value's numbers are a Float64Array: a long list of numbers takes the lane too.
    const split = this.#laneOut && !item.shipping?.records ? splitLane(args) : undefined;
    let source: FunctionSource | undefined;
    if (!this.#functionsSent.has(fn.id) && !included.has(fn.id)) {
      included.add(fn.id);
      source = fn.wire;
    }
    const extras = taskExtras(item.shipping, this.#serializersSent, included);
    const more: TaskExtras | undefined = packed ? { ...extras, packed: 1 } : extras;
    if (split) {
      this.#laneViews.set(item, split.views);
      const rest = split.rest as unknown[];
      return [ToWorker.Task, item.id, fn.id, rest, source, modeOf(item), { ...more, lane: split.positions }];
    }
    if (more) return [ToWorker.Task, item.id, fn.id, args, source, modeOf(item), more];
    return [ToWorker.Task, item.id, fn.id, args, source, modeOf(item)];
  }

  #sendAlone(child: ChildProcess, item: Task | number): void {
    try {
      sendChecked(child, [this.#message(item, new Set())]);
      this.#delivered(item);
    } catch (error) {
      if (typeof item === 'number') return;
      this.#laneViews.delete(item);
      this.#emitTaskEnd(item, { ok: false, error: argumentsError(item, error) });
    }
  }

  #delivered(item: Task | number): void {
    if (typeof item === 'number') return;
    if (this.#laneViews.size > 0) {
      const views = this.#laneViews.get(item);
      if (views && this.#lane) {
        this.#laneViews.delete(item);
        writeFrames(this.#lane, views);
      }
    }
    this.#functionsSent.add(item.fn.id);
    this.#serializersSent = sentVersionAfter(item.shipping, this.#serializersSent);
    item.sent = true;
    this.#inFlight.push(item);
    // Sent before Ready, it starts when the worker is ready: its run time and timeout count from then.
    if (this.#inFlight.length === 1 && this.#ready) this.#startHead();
  }

  /**
   * The worker moves to the next task the moment it finishes one (or says it is ready): mark the
   * new head as started. The protocol relies on this guess being true: a task counted as running
   * here has started in the worker, which answers Skipped for it only when the scheduler asked for
   * it to be dropped. That is why a task sent before Ready starts only with Ready: counted as
   * started at once, a stream cancel for it was answered Skipped, and the task never ended.
   */
  #startHead(startedAt = performance.now()): void {
    const head = this.#inFlight[0];
    this.#started = head !== undefined && head.state === 'pending';
    if (!head || !this.#started) return;
    this.#headStartedAt = startedAt;
    // Hot path (one per task): a literal object, no spread.
    this.#subscriber.next({
      type: 'task-start',
      taskId: head.id,
      workerId: this.#workerId,
      pid: this.#pid,
      time: epochOf(startedAt),
    });
  }

  #initialize({ fn, args }: NonNullable<WorkerSpec['initializer']>): void {
    try {
      if (this.#child) sendChecked(this.#child, [[ToWorker.Init, fn.wire, args]]);
    } catch (error) {
      this.#startError = new SerializationError(
        `The initializer's arguments cannot be sent to a worker: ${error instanceof Error ? error.message : String(error)}`,
        { stage: 'argument', functionName: fn.name },
        { cause: error },
      );
      this.#stop('failed-to-start');
    }
  }

  #becomeReady(): void {
    this.#ready = true;
    this.#emit({ type: 'ready' });
    if (!this.#started) this.#startHead();
    this.#scheduleFlush();
  }

  #receive(batch: WorkerMessage[]): void {
    if (!this.#join.idle) {
      this.#join.messages(batch);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const message = batch[i] as WorkerMessage;
      if (laneNeeds(message) > 0) {
        this.#join.messages(i === 0 ? batch : batch.slice(i));
        return;
      }
      this.#handle(message);
    }
  }

  #handle(message: WorkerMessage): void {
    switch (message[0]) {
      case FromWorker.Up:
        this.#up = true;
        this.#laneOut = message[1] === 1 && this.#lane !== undefined;
        this.#scheduleFlush();
        break;
      case FromWorker.Ready:
        this.#laneOut = message[1] === 1 && this.#lane !== undefined;
        if (this.#initializer) this.#initialize(this.#initializer);
        else this.#becomeReady();
        break;
      case FromWorker.Initialized:
        this.#becomeReady();
        break;
      case FromWorker.InitFailed:
        this.#startError = new InitializerError(
          { workerId: this.#workerId, pid: this.#pid, functionName: this.#initializer?.fn.name || undefined },
          decodeThrown(message[1]),
        );
        this.#stop('failed-to-start');
        break;
      case FromWorker.Ok:
        this.#answered(
          message[1],
          message[4]
            ? { ok: true, value: unpack(message[2] as Packed) }
            : decodeValue(ownBytes(message[2]), message[3]),
        );
        break;
      case FromWorker.Err:
        this.#answered(message[1], {
          ok: false,
          thrown: message[2],
          // Only a failed chunk carries partial results: other failures skip the task lookup.
          partial:
            message[3] === undefined ? undefined : decodedPartial(message[3], message[4], this.#find(message[1])),
        });
        break;
      case FromWorker.Skipped:
        this.#answered(message[1], undefined);
        break;
      case FromWorker.Next:
        this.#streamed(message[1], message[4] ? unpack(message[2] as Packed) : ownBytes(message[2]), message[3]);
        break;
      case FromWorker.Progress: {
        const task = this.#find(message[1]);
        if (!task) break;
        const value = ownBytes(message[2]);
        tell(task.owner, 'progress', value);
        this.#emit({ type: 'task-progress', taskId: task.id, value });
        break;
      }
      case FromWorker.Exiting:
        this.#exiting(message[1]);
        break;
      case FromWorker.Leftover:
        this.#emit({ type: 'worker-error', taskId: message[1], error: decodeThrown(message[2]) });
        break;
    }
  }

  /** A streaming task's value: to its owner, or, if this process cannot decode it, the task fails. */
  #streamed(taskId: number, value: unknown, records: Parameters<typeof decodeValue>[1]): void {
    const task = this.#find(taskId);
    if (!task?.owner?.next) return;
    const decoded = decodeValue(value, records);
    if (decoded.ok) {
      tell(task.owner, 'next', decoded.value);
      return;
    }
    this.#outbox.push(-task.id);
    this.#scheduleFlush();
    this.#emitTaskEnd(task, { ok: false, error: decoded.error }, performance.now() - this.#headStartedAt);
  }

  #find(taskId: number): Task | undefined {
    return this.#inFlight.find((task) => task.id === taskId);
  }

  #answered(
    taskId: number,
    answer:
      | { ok: true; value: unknown }
      | { ok: false; error: unknown }
      | { ok: false; thrown: Parameters<typeof decodeThrown>[0]; partial: unknown[] | undefined }
      | undefined,
  ): void {
    const inFlight = this.#inFlight;
    // Answers come in order: the head is nearly always the one.
    const index = inFlight[0]?.id === taskId ? 0 : inFlight.findIndex((task) => task.id === taskId);
    if (index === -1) return;
    const task = (index === 0 ? inFlight.shift() : inFlight.splice(index, 1)[0]) as Task;
    const wasRunning = index === 0 && this.#started;
    if (index === 0) this.#started = false;
    // One clock reading for the end of this task and the start of the next.
    const at = performance.now();
    if (answer && wasRunning) {
      this.#emitTaskEnd(
        task,
        answer.ok || 'error' in answer
          ? answer
          : { ok: false, error: enrichTaskError(decodeThrown(answer.thrown), task), partial: answer.partial },
        at - this.#headStartedAt,
        at,
      );
    } else if (!answer && task.dropAsked) {
      // Dropped as the scheduler asked, before it started (it may have been counted as started
      // when it reached the head: the drop overtook it).
      this.#subscriber.next({ type: 'task-dropped', taskId });
    } else if (wasRunning) {
      // Skipped, for a task counted as running: the guess in #startHead was wrong. Fail the task
      // rather than leave it running forever.
      const error = new Error(
        `rxpool internal error: worker ${this.#workerId} (pid ${this.#pid}) skipped task ${task.id}, which was counted as started`,
      );
      this.#emitTaskEnd(task, { ok: false, error }, at - this.#headStartedAt, at);
    }
    if (index === 0) this.#startHead(at);
  }

  #emitTaskEnd(
    task: Task,
    outcome: { ok: true; value: unknown } | { ok: false; error: unknown; partial?: unknown[] | undefined },
    duration = 0,
    at = performance.now(),
  ): void {
    // Hot path (one per task): a value's event is a literal object; failures keep the spread.
    const event: TaskEndEvent = outcome.ok
      ? {
          type: 'task-end',
          taskId: task.id,
          duration,
          ok: true,
          value: outcome.value,
          workerId: this.#workerId,
          pid: this.#pid,
          time: epochOf(at),
        }
      : {
          type: 'task-end',
          taskId: task.id,
          duration,
          ...outcome,
          workerId: this.#workerId,
          pid: this.#pid,
          time: epochOf(at),
        };
    this.#subscriber.next(event);
  }

  /**
   * The worker is ending with `code` by its own hand, somewhere in Node's exit (which takes tens of
   * milliseconds more with the watchdog thread to stop): end it now, and report the code it chose.
   */
  #exiting(code: number): void {
    if (this.#exited || this.#requested || this.#pid === undefined) return;
    this.#exitCode = code;
    const head = this.#inFlight[0];
    if (head && this.#started) {
      this.#inFlight.shift();
      this.#started = false;
      this.#exitingTaskId = head.id;
      const worker = { workerId: this.#workerId, pid: this.#pid };
      const error = terminatedError(worker, code, null, this.#stderr, head);
      this.#emitTaskEnd(head, { ok: false, error }, performance.now() - this.#headStartedAt);
    }
    try {
      process.kill(this.#pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exitCode !== undefined && signal === 'SIGKILL') {
      code = this.#exitCode;
      signal = null;
    }
    this.#exited = true;
    clearTimeout(this.#stopTimer);
    this.#forget();
    // Results sent just before the exit may still be in the pipe, and stderr may hold the reason.
    const child = this.#child;
    const pending: Array<Promise<unknown>> = [];
    if (child?.connected) pending.push(new Promise((resolve) => child.once('disconnect', resolve)));
    const stderr = child?.stderr;
    if (stderr && !stderr.readableEnded) pending.push(new Promise((resolve) => stderr.once('close', resolve)));
    const lane = this.#lane;
    if (lane && !lane.destroyed) pending.push(new Promise((resolve) => lane.once('close', resolve)));
    const cap = new Promise((resolve) => setTimeout(resolve, DRAIN_AFTER_EXIT_MS).unref());
    Promise.race([Promise.all(pending), cap]).then(() => this.#finish(code, signal));
  }

  #finish(code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (this.#subscriber.closed) return;
    this.#exited = true;
    this.#lane?.destroy();
    // What arrived before the exit is handled in order; a value the worker had not finished sending
    // fails its task, which ended in the worker but whose result did not make it here.
    for (const message of this.#join.release()) {
      if (laneNeeds(message) === 0) this.#handle(message);
      else {
        const task = this.#find(message[1] as number);
        if (task) {
          const worker = { workerId: this.#workerId, pid: this.#pid };
          this.#answered(task.id, { ok: false, error: terminatedError(worker, code, signal, this.#stderr, task) });
        }
      }
    }
    const head = this.#inFlight[0];
    const running = head && this.#started ? head : undefined;
    const unstarted = [
      ...this.#inFlight.filter((task) => task !== running),
      ...this.#outbox.filter((item): item is Task => typeof item !== 'number'),
    ];
    this.#inFlight.length = 0;
    this.#outbox = [];
    this.#emit({
      type: 'exit',
      code,
      signal,
      reason: this.#requested ?? (this.#ready ? 'crashed' : 'failed-to-start'),
      stderr: this.#stderr,
      error: error ?? this.#startError,
      runningTaskId: running?.id ?? this.#exitingTaskId,
      unstartedTaskIds: unstarted.map((task) => task.id),
    });
    this.#subscriber.complete();
  }

  #emit(event: DistributiveOmit<WorkerEvent, 'workerId' | 'pid' | 'time'>): void {
    this.#subscriber.next({ ...event, workerId: this.#workerId, pid: this.#pid, time: now() } as WorkerEvent);
  }
}

/** How many lane values a message from a worker waits for. */
function laneNeeds(message: WorkerMessage): number {
  return (message[0] === FromWorker.Ok || message[0] === FromWorker.Next) && message[5] ? message[5].length : 0;
}

/** A value message with its lane values put back. */
function fillLane(message: WorkerMessage, views: ArrayBufferView[]): WorkerMessage {
  const value = message as OkMessage | NextMessage;
  value[2] = joinLane(value[2], value[5] as number[], views);
  value[5] = undefined;
  return message;
}

function modeOf(task: Task): TaskMode {
  if (task.chunk) return task.stream ? TaskMode.ChunkStream : TaskMode.Chunk;
  return task.stream ? TaskMode.Stream : TaskMode.Call;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A chunk's results before its failing item, decoded; dropped if they cannot be (the failure matters
 * more). A ChunkStream's come as ChunkValues and leave as one list of values per item, as
 * `task-end`'s `partial` says (a failure is rare: the compact form is for the results).
 */
function decodedPartial(
  partial: ChunkValues,
  records: Parameters<typeof decodeValue>[1],
  task: Task | undefined,
): unknown[] | undefined {
  const decoded = decodeValue(partial, records);
  if (!decoded.ok || decoded.value === undefined) return undefined;
  if (!task || modeOf(task) !== TaskMode.ChunkStream) return decoded.value as unknown[];
  const lists: unknown[][] = [];
  eachChunkItem(
    decoded.value as ChunkValues,
    (_, value) => lists.push([value]),
    (_, values) => lists.push(values),
  );
  return lists;
}
