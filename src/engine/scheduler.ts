import { Observable, type OperatorFunction, Subject, type Subscriber, type Subscription } from 'rxjs';
import { BrokenExecutorError, CancelledError, TaskTimeoutError, TerminatedWorkerError } from '../errors.js';
import type { ExitEvent, ExitReason, TaskEndEvent, WorkerEvent } from './events.js';
import { now } from './events.js';
import { diagnoseExit } from './exit-diagnosis.js';
import { KeepAlive } from './keep-alive.js';
import type { Task } from './task.js';
import { TaskQueue } from './task-queue.js';
import type { WorkerCommand } from './worker-process.js';

/** What else, besides tasks, the scheduler listens to. */
export interface SchedulerOptions {
  /** The most workers alive at once. A new value resizes the pool: up on demand, down as workers fall idle. */
  readonly maxWorkers$: Observable<number>;
  /** Cancellations and kills, applied synchronously. */
  readonly control$: Observable<SchedulerControl>;
  /** Starts worker `workerId`, obeying `commands`; the stream is its lifecycle. */
  readonly spawn: (workerId: number, commands: Observable<WorkerCommand>) => Observable<WorkerEvent>;
}

export type SchedulerControl =
  /** Drop a task that has not started. */
  | { readonly kind: 'cancel'; readonly task: Task }
  /** Fail every task with `error`, kill every worker, then complete. */
  | { readonly kind: 'kill'; readonly error: Error };

/** Consecutive workers that may die before becoming ready before the pool is declared broken. */
const MAX_START_FAILURES = 3;
/** Tasks queued on one worker at most, when tasks are tiny. */
const MAX_PREFETCH = 64;
/** Prefetch enough tiny tasks to keep a worker busy for about this long. */
const PREFETCH_WINDOW_MS = 2;

/**
 * The scheduler operator: merges a stream of tasks into a pool of worker processes and emits every
 * worker's lifecycle events.
 *
 * - Each task goes to an idle worker; with none idle, a worker is spawned (up to `maxWorkers$`);
 *   tiny tasks are also queued a few deep on busy workers so none waits for its next message.
 * - A worker's `exit` while it held a task becomes that task's TerminatedWorkerError; the tasks it
 *   had not started run elsewhere; a new worker is spawned as soon as work needs one.
 * - Workers that cannot start (three in a row, or the very first) break the pool: every waiting
 *   task fails with BrokenExecutorError, which the output stream then errors with.
 * - When the task stream completes, the pool drains, stops its workers and completes once every
 *   process has exited.
 */
export function schedule(options: SchedulerOptions): OperatorFunction<Task, WorkerEvent> {
  return (tasks$) =>
    new Observable<WorkerEvent>((subscriber) => {
      const pool = new Pool(options, subscriber);
      const subscriptions = [
        options.maxWorkers$.subscribe((n) => pool.resize(n)),
        options.control$.subscribe((control) => pool.control(control)),
        tasks$.subscribe({
          next: (task) => pool.submit(task),
          complete: () => pool.drain(),
          error: (error: unknown) => subscriber.error(error),
        }),
      ];
      return () => {
        for (const subscription of subscriptions) subscription.unsubscribe();
        pool.dispose();
      };
    });
}

interface Slot {
  readonly id: number;
  readonly commands: Subject<WorkerCommand>;
  subscription: Subscription | undefined;
  pid: number | undefined;
  ready: boolean;
  /** A stop or kill was asked for: it takes no more tasks. */
  leaving: boolean;
  /** Tasks sent to it (or reserved for it while it starts) that have not ended. */
  readonly tasks: Set<Task>;
}

class Pool {
  readonly #spawn: SchedulerOptions['spawn'];
  readonly #out: Subscriber<WorkerEvent>;
  readonly #queue = new TaskQueue();
  readonly #slots = new Map<number, Slot>();
  /** Dispatched tasks by id, for the events that name them. */
  readonly #dispatched = new Map<number, { task: Task; slot: Slot; timer?: NodeJS.Timeout }>();
  readonly #keepAlive = new KeepAlive();
  #maxWorkers = 1;
  #nextWorkerId = 1;
  #everReady = false;
  #startFailures = 0;
  /** Mean task duration (ms), an exponentially weighted moving average: it sizes prefetching. */
  #meanDuration: number | undefined;
  #draining = false;
  #killing: Error | undefined;
  #disposed = false;

  constructor(options: SchedulerOptions, out: Subscriber<WorkerEvent>) {
    this.#spawn = options.spawn;
    this.#out = out;
  }

  submit(task: Task): void {
    if (this.#killing) {
      task.settle({ ok: false, error: this.#killing }, 'rejected');
      return;
    }
    this.#queue.push(task);
    this.#pump();
  }

  resize(maxWorkers: number): void {
    this.#maxWorkers = maxWorkers;
    this.#pump();
  }

  control(control: SchedulerControl): void {
    if (control.kind === 'cancel') this.#cancel(control.task);
    else this.#kill(control.error);
  }

  drain(): void {
    this.#draining = true;
    this.#pump();
  }

  dispose(): void {
    this.#disposed = true;
    this.#keepAlive.held = false;
    for (const { timer } of this.#dispatched.values()) clearTimeout(timer);
    for (const slot of this.#slots.values()) slot.subscription?.unsubscribe();
    this.#slots.clear();
  }

  #cancel(task: Task): void {
    if (task.state !== 'pending') return;
    const error = new CancelledError(`Task ${task.id} was cancelled before it started.`);
    const dispatched = this.#dispatched.get(task.id);
    if (dispatched) {
      this.#dispatched.delete(task.id);
      dispatched.slot.tasks.delete(task);
      task.settle({ ok: false, error }, 'cancelled');
      dispatched.slot.commands.next({ kind: 'drop', task });
    } else {
      task.settle({ ok: false, error }, 'cancelled');
      this.#queue.cancelled();
    }
    this.#pump();
  }

  #kill(error: Error): void {
    if (this.#killing) return;
    this.#killing = error;
    for (const task of this.#queue.drain()) task.settle({ ok: false, error }, 'rejected');
    for (const { task, slot } of [...this.#dispatched.values()]) {
      this.#end(task, slot, { ok: false, error }, task.state === 'running');
    }
    for (const slot of this.#slots.values()) this.#dismiss(slot, 'kill', 'shutdown');
    this.#pump();
  }

  /** Hands queued tasks to workers, spawns and retires workers, and completes when all is done. */
  #pump(): void {
    if (this.#disposed) return;
    while (this.#queue.size > 0) {
      const slot = this.#pickSlot();
      if (!slot) break;
      const task = this.#queue.shift();
      if (!task) break;
      this.#dispatch(task, slot);
    }
    const idle = this.#dispatched.size === 0 && this.#queue.size === 0;
    let surplus = this.#liveSlots() - this.#maxWorkers;
    for (const slot of this.#slots.values()) {
      if (slot.leaving || slot.tasks.size > 0) continue;
      if (this.#draining && idle) this.#dismiss(slot, 'stop', 'shutdown');
      else if (surplus > 0) {
        this.#dismiss(slot, 'stop', 'resized');
        surplus--;
      }
    }
    this.#keepAlive.held = !idle || ((this.#draining || this.#killing !== undefined) && this.#slots.size > 0);
    if ((this.#draining || this.#killing) && idle && this.#slots.size === 0) this.#out.complete();
  }

  /** An idle ready worker, else a new one, else one still starting, else the least busy (tiny tasks). */
  #pickSlot(): Slot | undefined {
    let starting: Slot | undefined;
    let leastBusy: Slot | undefined;
    for (const slot of this.#slots.values()) {
      if (slot.leaving) continue;
      if (slot.ready) {
        if (slot.tasks.size === 0) return slot;
        if (!leastBusy || slot.tasks.size < leastBusy.tasks.size) leastBusy = slot;
      } else if (slot.tasks.size === 0) starting ??= slot;
    }
    if (starting) return starting;
    if (this.#liveSlots() < this.#maxWorkers) return this.#spawnSlot();
    if (leastBusy && leastBusy.tasks.size < this.#prefetchDepth()) return leastBusy;
    return undefined;
  }

  #prefetchDepth(): number {
    const mean = this.#meanDuration;
    if (mean === undefined) return 1;
    return Math.max(1, Math.min(MAX_PREFETCH, Math.floor(PREFETCH_WINDOW_MS / Math.max(mean, 0.01))));
  }

  #liveSlots(): number {
    let live = 0;
    for (const slot of this.#slots.values()) if (!slot.leaving) live++;
    return live;
  }

  #spawnSlot(): Slot {
    const slot: Slot = {
      id: this.#nextWorkerId++,
      commands: new Subject<WorkerCommand>(),
      subscription: undefined,
      pid: undefined,
      ready: false,
      leaving: false,
      tasks: new Set(),
    };
    this.#slots.set(slot.id, slot);
    slot.subscription = this.#spawn(slot.id, slot.commands).subscribe((event) => this.#onEvent(slot, event));
    return slot;
  }

  #dispatch(task: Task, slot: Slot): void {
    slot.tasks.add(task);
    this.#dispatched.set(task.id, { task, slot });
    slot.commands.next({ kind: 'run', task });
  }

  #dismiss(slot: Slot, how: 'stop' | 'kill', reason: ExitReason): void {
    if (how === 'stop' && slot.leaving) return;
    slot.leaving = true;
    slot.commands.next({ kind: how, reason });
  }

  #onEvent(slot: Slot, event: WorkerEvent): void {
    switch (event.type) {
      case 'spawned':
        slot.pid = event.pid;
        break;
      case 'ready':
        slot.ready = true;
        this.#everReady = true;
        this.#startFailures = 0;
        break;
      case 'task-start': {
        const entry = this.#dispatched.get(event.taskId);
        if (entry?.task.state !== 'pending') break;
        entry.task.state = 'running';
        entry.task.startedAt = performance.now();
        if (entry.task.timeout !== undefined) {
          entry.timer = setTimeout(() => this.#timedOut(entry.task, slot), entry.task.timeout).unref();
        }
        break;
      }
      case 'task-end': {
        const entry = this.#dispatched.get(event.taskId);
        if (!entry) return; // ended already (timeout, kill): the worker's late answer is moot
        this.#meanDuration =
          this.#meanDuration === undefined ? event.duration : this.#meanDuration * 0.8 + event.duration * 0.2;
        this.#out.next(event);
        this.#end(entry.task, slot, event, false);
        this.#pump();
        return;
      }
      case 'exit':
        this.#onExit(slot, event);
        return;
    }
    this.#out.next(event);
    if (event.type === 'ready') this.#pump();
  }

  /**
   * Settles a dispatched task. With `announce`, also emits its task-end: for ends the worker did
   * not report itself (crash, timeout, kill).
   */
  #end(
    task: Task,
    slot: Slot,
    outcome: { ok: true; value: unknown } | { ok: false; error: unknown; partial?: unknown[] | undefined },
    announce: boolean,
  ): void {
    const entry = this.#dispatched.get(task.id);
    clearTimeout(entry?.timer);
    this.#dispatched.delete(task.id);
    slot.tasks.delete(task);
    if (announce) {
      const duration = task.startedAt === undefined ? 0 : performance.now() - task.startedAt;
      const base = { type: 'task-end', workerId: slot.id, pid: slot.pid, time: now(), taskId: task.id, duration };
      this.#out.next({ ...base, ...outcome } as TaskEndEvent);
    }
    task.settle(outcome, outcome.ok ? 'fulfilled' : 'rejected');
  }

  #timedOut(task: Task, slot: Slot): void {
    if (task.state !== 'running' || task.timeout === undefined) return;
    const error = new TaskTimeoutError({
      timeout: task.timeout,
      pid: slot.pid,
      taskId: task.id,
      functionName: task.fn.name,
    });
    this.#end(task, slot, { ok: false, error }, true);
    this.#dismiss(slot, 'kill', 'timeout');
    this.#pump();
  }

  #onExit(slot: Slot, event: ExitEvent): void {
    this.#slots.delete(slot.id);
    slot.subscription = undefined;
    const running = event.runningTaskId === undefined ? undefined : this.#dispatched.get(event.runningTaskId);
    if (running && running.slot === slot) {
      const error = new TerminatedWorkerError({
        workerId: slot.id,
        pid: event.pid,
        exitCode: event.code,
        signal: event.signal,
        stderr: event.stderr,
        taskId: running.task.id,
        functionName: running.task.fn.name,
        hint: diagnoseExit(event.code, event.signal, event.stderr),
      });
      this.#end(running.task, slot, { ok: false, error }, true);
    }
    // Whatever the worker had not started runs elsewhere, first in line.
    const unstarted: Task[] = [];
    for (const task of slot.tasks) {
      this.#dispatched.delete(task.id);
      if (task.state === 'pending') unstarted.push(task);
    }
    slot.tasks.clear();
    this.#queue.requeue(unstarted);
    this.#out.next(event);
    if (event.reason === 'failed-to-start') this.#startFailed(event);
    this.#pump();
  }

  #startFailed(event: ExitEvent): void {
    this.#startFailures++;
    if (this.#everReady && this.#startFailures < MAX_START_FAILURES) return;
    const how = event.error
      ? `could not be spawned: ${event.error.message}`
      : event.signal
        ? `was killed by ${event.signal} before it was ready`
        : `exited with code ${event.code} before it was ready`;
    const error = new BrokenExecutorError(
      `The executor is broken: worker ${event.workerId} ${how}${this.#everReady ? ` (${this.#startFailures} workers in a row)` : ''}. Check the executor's execArgv, env and cwd.`,
      { workerId: event.workerId, pid: event.pid, exitCode: event.code, signal: event.signal, stderr: event.stderr },
      { cause: event.error },
    );
    for (const task of this.#queue.drain()) task.settle({ ok: false, error }, 'rejected');
    for (const { task, slot } of [...this.#dispatched.values()]) this.#end(task, slot, { ok: false, error }, false);
    this.#out.error(error);
  }
}
