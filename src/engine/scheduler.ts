import { BrokenExecutorError, InitializerError, TaskTimeoutError, TerminatedWorkerError } from '../errors.js';
import {
  EMPTY,
  Observable,
  type OperatorFunction,
  Subject,
  type Subscriber,
  type Subscription,
  switchMap,
} from '../rx/rxjs.js';
import type {
  ExitEvent,
  ExitReason,
  MemoryEvent,
  RecycleEvent,
  RecycleReason,
  TaskEndEvent,
  WorkerEvent,
} from './events.js';
import { monotonicOf, now } from './events.js';
import { KeepAlive } from './keep-alive.js';
import { sampleMemory } from './memory-sampler.js';
import { DurationWindow, type ExecutorStats } from './pool-stats.js';
import { nextMean, prefetchDepth } from './prefetch.js';
import { Relay } from './relay.js';
import type { Outcome, Task } from './task.js';
import { cancelledError, terminatedError } from './task-errors.js';
import { TaskQueue } from './task-queue.js';
import { unrefTimer } from './unref-timer.js';
import type { ProcessEvent, WorkerCommand } from './worker-process.js';

/** What else, besides tasks, the scheduler listens to. */
export interface SchedulerOptions {
  /** The most workers alive at once. A new value resizes the pool: up on demand, down as workers fall idle. */
  readonly maxWorkers$: Observable<number>;
  /** Cancellations and kills, applied synchronously. */
  readonly control$: Observable<SchedulerControl>;
  /** Starts worker `workerId`, obeying `commands`; the stream is its lifecycle. */
  readonly spawn: (workerId: number, commands: Observable<WorkerCommand>) => Observable<ProcessEvent>;
  /** Workers kept alive even idle, started at once (capped by `maxWorkers$`). Default: 0. */
  readonly minWorkers?: number | undefined;
  /** A worker without a task for this many ms exits. Default: never. */
  readonly idleTimeout?: number | undefined;
  /** A worker is retired after running this many tasks. Default: never. */
  readonly maxTasksPerWorker?: number | undefined;
  /** A worker whose resident memory exceeds this many bytes is retired between tasks. */
  readonly memoryLimit?: number | undefined;
  /** A worker whose memory grew by more than this many bytes since its first task is retired. */
  readonly memoryGrowthLimit?: number | undefined;
  /** Handed the pool's live view once subscribed: for `executor.stats()` and `queueSize`. */
  readonly observe?: ((view: PoolView) => void) | undefined;
}

/** A live look into a running pool. */
export interface PoolView {
  /** Tasks waiting for a worker. */
  readonly queued: number;
  /** Why the pool is broken, from the moment it is (its workers may still be exiting). */
  readonly broken: Error | undefined;
  stats(): ExecutorStats;
}

export type SchedulerControl =
  /**
   * Drop a task that has not started, and only if it surely will not: a task already sent to a
   * worker is dropped by that worker if it has not started it yet, and settles when it answers.
   */
  | { readonly kind: 'cancel'; readonly task: Task }
  /** End a task early: drop it if it has not started, stop a running stream at its source. */
  | { readonly kind: 'stop'; readonly task: Task }
  /** End a task now: drop it, or fail it with `error` and kill the worker running it. */
  | { readonly kind: 'abort'; readonly task: Task; readonly error: Error }
  /** Fail every task with `error`, kill every worker, then complete. */
  | { readonly kind: 'kill'; readonly error: Error }
  /**
   * A first task is on its way: start `minWorkers`, and one worker if none is alive, now. Its
   * function is checked meanwhile, which may take 20 ms (the parser loads), while a worker boots.
   */
  | { readonly kind: 'warm' };

/** A dead worker is replaced within this long, even if tasks keep the pool busy (see `#replaceSoon`). */
const REPLACE_WITHIN_MS = 50;
/** Consecutive workers that may fail to start before the pool is declared broken. */
const MAX_START_FAILURES = 3;
/** Worker memory is sampled at most this often per pool, after a task ends. */
const MEMORY_SAMPLE_INTERVAL_MS = 1000;

/**
 * The scheduler operator: merges a stream of tasks into a pool of worker processes and emits every
 * worker's lifecycle events.
 *
 * - Each task goes to an idle worker; with none idle, a worker is spawned (up to `maxWorkers$`);
 *   tiny tasks are also queued a few deep on busy workers so none waits for its next message.
 * - A worker's `exit` while it held a task becomes that task's TerminatedWorkerError; the tasks it
 *   had not started run elsewhere; a new worker is spawned as soon as work needs one.
 * - Workers retire between tasks when they idle out, shrink the pool, reach `maxTasksPerWorker`, or
 *   outgrow their memory limits. Timer streams drive the idle timeouts.
 * - Workers that cannot start (three in a row, or the very first) break the pool: every waiting
 *   task fails with BrokenExecutorError, which the output stream then errors with.
 * - When the task stream completes, the pool drains, stops its workers and completes once every
 *   process has exited.
 */
export function schedule(options: SchedulerOptions): OperatorFunction<Task, WorkerEvent> {
  return (tasks$) =>
    new Observable<WorkerEvent>((subscriber) => {
      const pool = new Pool(options, subscriber);
      options.observe?.(pool);
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

/** The events the pool makes itself (the rest come from the workers). */
type PoolMade = Omit<MemoryEvent, 'workerId' | 'pid' | 'time'> | Omit<RecycleEvent, 'workerId' | 'pid' | 'time'>;

interface Slot {
  readonly id: number;
  readonly commands: Relay<WorkerCommand>;
  subscription: Subscription | undefined;
  pid: number | undefined;
  ready: boolean;
  /** A stop or kill was asked for: it takes no more tasks. */
  leaving: boolean;
  /** Tasks sent to it (or reserved for it while it starts) that have not ended. */
  readonly tasks: Set<Task>;
  /** Tasks ever sent to it. */
  assigned: number;
  /**
   * It replaces a worker that died. While it starts, a ready worker that goes idle takes back the
   * task reserved on it rather than let it wait for the boot. Other workers keep theirs, so every
   * worker the pool starts for its tasks takes part in them.
   */
  readonly lends: boolean;
  /** It died and was counted for replacement. */
  lost: boolean;
  /** Tasks it finished. */
  tasksRun: number;
  /** Set once it must be retired as soon as it is idle. */
  recycle: RecycleReason | undefined;
  rss: number | undefined;
  /** Memory after its first task: leaks are measured from here. */
  baselineRss: number | undefined;
  /** Whether it sits idle; a timer stream on this retires it after `idleTimeout`. */
  readonly idle$: Subject<boolean>;
  /** The last value sent on `idle$`: only changes are sent. */
  idle: boolean | undefined;
}

class Pool implements PoolView {
  readonly #options: SchedulerOptions;
  readonly #out: Subscriber<WorkerEvent>;
  readonly #queue = new TaskQueue();
  /**
   * The live workers: an array, as the hot path loops over it several times per task. Replaced,
   * never changed in place, so that a loop over it is never disturbed.
   */
  #slots: readonly Slot[] = [];
  /** Dispatched tasks by id, for the events that name them (`task.workerId` says which worker holds each). */
  readonly #dispatched = new Map<number, Task>();
  readonly #keepAlive = new KeepAlive();
  readonly #runTime = new DurationWindow();
  readonly #waitTime = new DurationWindow();
  readonly #counts = { completed: 0, failed: 0, cancelled: 0, running: 0 };
  #maxWorkers = 1;
  #nextWorkerId = 1;
  #everReady = false;
  /** Workers that died and have not been replaced yet. */
  #deathsToReplace = 0;
  /** A replacement waits for a quiet moment (see `#replaceSoon`): its deadline. */
  #replacing: NodeJS.Timeout | undefined;
  #startFailures = 0;
  /** `#keepWarm` is running: a worker that fails to spawn synchronously must not start it again. */
  #warming = false;
  /** Mean task duration (ms), an exponentially weighted moving average: it sizes prefetching. */
  #meanDuration: number | undefined;
  #lastMemorySample = Number.NEGATIVE_INFINITY;
  #sampling = false;
  #draining = false;
  /** Set by a kill or a break: every task fails with it, every worker is killed, then the stream ends. */
  #ending: { readonly error: Error; readonly broken: boolean } | undefined;
  #disposed = false;
  /** A {@link #pumpSoon} is on its way. */
  #pumpQueued = false;

  constructor(options: SchedulerOptions, out: Subscriber<WorkerEvent>) {
    this.#options = options;
    this.#out = out;
  }

  get broken(): Error | undefined {
    return this.#ending?.broken ? this.#ending.error : undefined;
  }

  get queued(): number {
    return this.#queue.size + this.#dispatched.size - this.#counts.running;
  }

  stats(): ExecutorStats {
    return {
      ...this.#counts,
      queued: this.queued,
      workers: this.#slots.map((slot) => ({
        workerId: slot.id,
        pid: slot.pid,
        tasksRun: slot.tasksRun,
        rss: slot.rss,
      })),
      runTime: this.#runTime.summary(),
      waitTime: this.#waitTime.summary(),
    };
  }

  /**
   * Replaces a dead worker before any task asks for it, at a quiet moment: forking blocks the
   * parent for 10 ms or more, which would delay every answer on its way (say, of the task the
   * crashed one's owner resubmits at once). So it waits until no task is in flight, or
   * REPLACE_WITHIN_MS at most. A task that finds no worker starts one itself, at once.
   */
  #replaceSoon(slot: Slot): void {
    if (slot.lost) return;
    slot.lost = true;
    this.#deathsToReplace++;
    this.#replacing ??= setTimeout(() => this.#replaceNow(), REPLACE_WITHIN_MS).unref();
    // In the next turn: the failed task's owner hears of it first, and may submit more.
    this.#replaceIfQuiet();
  }

  #replaceIfQuiet(): void {
    setImmediate(() => {
      if (this.#dispatched.size === 0) this.#replaceNow();
    });
  }

  #replaceNow(): void {
    clearTimeout(this.#replacing);
    this.#replacing = undefined;
    while (this.#deathsToReplace > 0 && this.#canSpawn()) this.#spawnSlot();
    this.#deathsToReplace = 0;
  }

  /** Whether the pool, open and below its size, may start a worker no task asked for. */
  #canSpawn(): boolean {
    return !this.#ending && !this.#draining && !this.#disposed && this.#liveSlots() < this.#maxWorkers;
  }

  submit(task: Task): void {
    if (this.#ending) {
      this.#settle(task, { ok: false, error: this.#ending.error });
      return;
    }
    const behindOthers = this.#queue.size > 0;
    this.#queue.push(task);
    // A burst of submits: one pump, a microtask later, places them all (the first one goes at once).
    if (behindOthers) this.#pumpSoon();
    else this.#pump();
  }

  resize(maxWorkers: number): void {
    this.#maxWorkers = maxWorkers;
    // In a microtask: whoever subscribes to the events right after creating the executor sees these spawns.
    queueMicrotask(() => this.#keepWarm());
    this.#pump();
  }

  /** The workers kept alive even idle: `minWorkers`, within the pool's current size. */
  #warmFloor(): number {
    return Math.min(this.#options.minWorkers ?? 0, this.#maxWorkers);
  }

  /** Starts workers until `minWorkers` are alive (or on their way), before any task asks for them. */
  #keepWarm(): void {
    if (this.#warming) return;
    this.#warming = true;
    while (this.#canSpawn() && this.#liveSlots() < this.#warmFloor()) this.#spawnSlot();
    this.#warming = false;
  }

  control(control: SchedulerControl): void {
    if (control.kind === 'cancel') this.#cancel(control.task);
    else if (control.kind === 'stop') this.#stop(control.task);
    else if (control.kind === 'abort') this.#abort(control.task, control.error);
    else if (control.kind === 'warm') this.#warmForTask();
    else this.#kill(control.error);
  }

  #warmForTask(): void {
    this.#keepWarm();
    if (this.#liveSlots() === 0 && this.#canSpawn()) this.#spawnSlot();
  }

  drain(): void {
    this.#draining = true;
    this.#pump();
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#replacing);
    this.#keepAlive.release();
    for (const task of this.#dispatched.values()) clearTimeout(task.timer);
    for (const slot of this.#slots) {
      slot.idle$.complete();
      slot.subscription?.unsubscribe();
    }
    this.#slots = [];
  }

  /**
   * Cancels a task that has not started. One already sent to a worker may have started there by
   * now: unless `surely` is false (the task's owner is gone, a late run is harmless), the worker is
   * asked to drop it and its answer settles the task, cancelled or run as usual.
   */
  #cancel(task: Task, surely = true): void {
    if (task.state !== 'pending') return;
    const holder = this.#holder(task);
    if (surely && holder && task.sent) {
      if (!task.dropAsked) holder.commands.next({ kind: 'drop', task });
      task.dropAsked = true;
      return;
    }
    if (holder) {
      this.#dispatched.delete(task.id);
      holder.tasks.delete(task);
      holder.commands.next({ kind: 'drop', task });
    } else {
      this.#queue.cancelled(task);
    }
    this.#cancelled(task);
    this.#pump();
  }

  #cancelled(task: Task, error = cancelledError(task)): void {
    this.#counts.cancelled++;
    task.settle({ ok: false, error }, 'cancelled');
  }

  /** The worker dropped a task whose cancellation it was asked for, before starting it. */
  #dropped(task: Task, slot: Slot): void {
    this.#release(task, slot);
    const error = cancelledError(task);
    if (task.state === 'running') {
      // Counted as started when it reached the head of the worker's queue: the drop overtook it.
      // Its task-start was announced, so its end is too.
      this.#counts.running--;
      this.#announceEnd(task, slot, { ok: false, error }, 0);
    }
    this.#cancelled(task, error);
    this.#pumpSoon();
  }

  #stop(task: Task): void {
    const holder = this.#holder(task);
    if (task.state === 'pending') this.#cancel(task, false);
    else if (task.state === 'running' && task.stream && holder) holder.commands.next({ kind: 'cancel', task });
  }

  #abort(task: Task, error: Error): void {
    const holder = this.#holder(task);
    if (task.state === 'pending') this.#cancel(task, false);
    else if (task.state === 'running' && holder) {
      this.#end(task, holder, { ok: false, error }, true);
      this.#dismiss(holder, 'kill', 'killed');
      this.#pump();
    }
  }

  /** The worker a dispatched task was sent to (or reserved on). */
  #holder(task: Task): Slot | undefined {
    if (this.#dispatched.get(task.id) !== task || task.workerId === undefined) return undefined;
    return this.#slots.find((slot) => slot.id === task.workerId);
  }

  /**
   * Fails every task with `error` and kills every worker; once they have all exited, the stream
   * completes (a kill) or errors with `error` (a break), so no process outlives the pool's end.
   */
  #kill(error: Error, broken = false): void {
    if (this.#ending) return;
    this.#ending = { error, broken };
    for (const task of this.#queue.drain()) this.#settle(task, { ok: false, error });
    for (const task of [...this.#dispatched.values()]) {
      const holder = this.#holder(task);
      if (holder) this.#end(task, holder, { ok: false, error }, task.state === 'running');
      else {
        // Not expected (a worker's exit takes its tasks back), but a task must never be left unsettled.
        this.#dispatched.delete(task.id);
        this.#settle(task, { ok: false, error });
      }
    }
    for (const slot of this.#slots) this.#dismiss(slot, 'kill', broken ? 'killed' : 'shutdown');
    this.#pump();
  }

  /**
   * {@link #pump} in a microtask: the answers a worker sends together arrive together, and one pump
   * refills their places rather than one pump per answer.
   */
  #pumpSoon(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** Retires workers that should go, hands queued tasks to workers, and completes when all is done. */
  #pump(): void {
    if (this.#disposed) return;
    this.#retire();
    while (this.#queue.size > 0) {
      const slot = this.#pickSlot();
      if (!slot) break;
      const task = this.#queue.shift();
      if (!task) break;
      this.#dispatch(task, slot);
    }
    if (this.#queue.size === 0) this.#takeBack();
    const idle = this.#dispatched.size === 0 && this.#queue.size === 0;
    if (idle && this.#replacing) this.#replaceIfQuiet();
    if (this.#draining && idle) {
      for (const slot of this.#slots) this.#dismiss(slot, 'stop', 'shutdown');
    }
    let leaving = false;
    for (const slot of this.#slots) {
      setIdle(slot, slot.ready && !slot.leaving && slot.tasks.size === 0);
      leaving ||= slot.leaving;
    }
    const ending = this.#draining || this.#ending !== undefined;
    // Work in flight, and workers on their way out (a few ms), hold the loop; idle workers never do.
    this.#keepAlive.held = !idle || leaving || (ending && this.#slots.length > 0);
    if (!ending || !idle || this.#slots.length > 0) return;
    if (this.#ending?.broken) this.#out.error(this.#ending.error);
    else this.#out.complete();
  }

  /** Stops idle workers that are marked for recycling or beyond `maxWorkers`. */
  #retire(): void {
    let surplus = this.#liveSlots() - this.#maxWorkers;
    for (const slot of this.#slots) {
      if (slot.leaving || slot.tasks.size > 0) continue;
      if (slot.recycle) this.#dismiss(slot, 'stop', 'recycled');
      else if (surplus > 0) {
        this.#dismiss(slot, 'stop', 'resized');
        surplus--;
      }
    }
  }

  /** An idle ready worker, else one still starting, else a new one, else the least busy (tiny tasks). */
  #pickSlot(): Slot | undefined {
    let starting: Slot | undefined;
    let leastBusy: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.leaving || slot.recycle) continue;
      if (slot.ready) {
        if (slot.tasks.size === 0) return slot;
        if (!leastBusy || slot.tasks.size < leastBusy.tasks.size) leastBusy = slot;
      } else if (slot.tasks.size === 0) starting ??= slot;
    }
    if (starting) return starting;
    if (this.#liveSlots() < this.#maxWorkers) return this.#spawnSlot();
    if (leastBusy && leastBusy.tasks.size < prefetchDepth(this.#meanDuration)) return leastBusy;
    return undefined;
  }

  /**
   * The worker is exiting under a task (it announced `process.exit`, and the task has failed): it
   * takes no more tasks, what it had not started runs elsewhere now, and its replacement starts now,
   * rather than all of that waiting for the process to be gone.
   */
  #dying(slot: Slot): void {
    if (slot.leaving) return;
    slot.leaving = true;
    setIdle(slot, false);
    this.#queue.requeue(this.#withdrawUnstarted(slot));
    this.#replaceSoon(slot);
  }

  /**
   * Takes the tasks a worker holds but has not started away from it, and returns them; those whose
   * cancellation it was asked for are cancelled instead.
   */
  #withdrawUnstarted(slot: Slot): Task[] {
    const unstarted: Task[] = [];
    for (const task of slot.tasks) {
      if (task.state !== 'pending') continue;
      this.#dispatched.delete(task.id);
      slot.tasks.delete(task);
      task.sent = false;
      if (task.dropAsked) this.#cancelled(task);
      else unstarted.push(task);
    }
    return unstarted;
  }

  /**
   * Moves tasks reserved on starting workers that lend them (see `Slot.lends`) to idle ready
   * workers. Not those already sent (a worker that is up is sent its tasks before it is ready): the
   * starting worker would run them too.
   */
  #takeBack(): void {
    for (const starting of this.#slots) {
      if (starting.ready || !starting.lends || starting.tasks.size === 0) continue;
      for (const task of starting.tasks) {
        if (task.sent) continue;
        const idle = this.#idleReadySlot();
        if (!idle) return;
        starting.tasks.delete(task);
        starting.assigned--;
        starting.commands.next({ kind: 'drop', task });
        this.#dispatch(task, idle);
      }
    }
  }

  #idleReadySlot(): Slot | undefined {
    for (const slot of this.#slots) {
      if (slot.ready && !slot.leaving && !slot.recycle && slot.tasks.size === 0) return slot;
    }
    return undefined;
  }

  #liveSlots(): number {
    let live = 0;
    for (const slot of this.#slots) if (!slot.leaving) live++;
    return live;
  }

  #spawnSlot(): Slot {
    const slot: Slot = {
      id: this.#nextWorkerId++,
      commands: new Relay<WorkerCommand>(),
      subscription: undefined,
      pid: undefined,
      ready: false,
      leaving: false,
      tasks: new Set(),
      assigned: 0,
      lends: this.#deathsToReplace > 0,
      lost: false,
      tasksRun: 0,
      recycle: undefined,
      rss: undefined,
      baselineRss: undefined,
      idle$: new Subject<boolean>(),
      idle: undefined,
    };
    if (slot.lends) this.#deathsToReplace--;
    this.#slots = [...this.#slots, slot];
    const { idleTimeout } = this.#options;
    if (idleTimeout !== undefined) {
      slot.idle$.pipe(switchMap((idle) => (idle ? unrefTimer(idleTimeout) : EMPTY))).subscribe(() => {
        if (this.#liveSlots() > this.#warmFloor()) this.#dismiss(slot, 'stop', 'idle');
      });
    }
    slot.subscription = this.#options.spawn(slot.id, slot.commands).subscribe((event) => this.#onEvent(slot, event));
    return slot;
  }

  #dispatch(task: Task, slot: Slot): void {
    slot.tasks.add(task);
    slot.assigned++;
    task.workerId = slot.id;
    this.#dispatched.set(task.id, task);
    slot.commands.next({ kind: 'run', task });
    const { maxTasksPerWorker } = this.#options;
    if (maxTasksPerWorker !== undefined && slot.assigned >= maxTasksPerWorker) {
      this.#markRecycle(slot, 'max-tasks', maxTasksPerWorker);
    }
  }

  #dismiss(slot: Slot, how: 'stop' | 'kill', reason: ExitReason): void {
    if (how === 'stop' && slot.leaving) return;
    slot.leaving = true;
    setIdle(slot, false);
    slot.commands.next({ kind: how, reason });
  }

  #markRecycle(slot: Slot, reason: RecycleReason, limit: number): void {
    if (slot.recycle || slot.leaving) return;
    slot.recycle = reason;
    this.#emit(slot, { type: 'recycle', reason, rss: reason === 'max-tasks' ? undefined : slot.rss, limit });
  }

  #onEvent(slot: Slot, event: ProcessEvent): void {
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
        const task = this.#dispatched.get(event.taskId);
        if (task?.workerId !== slot.id || task.state !== 'pending') break;
        task.state = 'running';
        task.startedAt = monotonicOf(event.time);
        this.#counts.running++;
        this.#waitTime.add(task.startedAt - task.queuedAt);
        if (task.timeout !== undefined) {
          task.timer = setTimeout(() => this.#timedOut(task, slot), task.timeout).unref();
        }
        break;
      }
      case 'task-end': {
        const task = this.#dispatched.get(event.taskId);
        // Ended already (timeout, kill) or moved to another worker: this worker's answer is moot.
        if (task?.workerId !== slot.id) return;
        this.#meanDuration = nextMean(this.#meanDuration, event.duration);
        this.#out.next(event);
        this.#end(task, slot, event, false, monotonicOf(event.time));
        // This very worker died under the task (a nested pool's error names another pid).
        if (!event.ok && event.error instanceof TerminatedWorkerError && event.error.pid === slot.pid) {
          this.#dying(slot);
        }
        this.#sampleMemorySoon(monotonicOf(event.time));
        this.#pumpSoon();
        return;
      }
      case 'task-dropped': {
        const task = this.#dispatched.get(event.taskId);
        if (task?.workerId === slot.id && !task.settled) this.#dropped(task, slot);
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
  #end(task: Task, slot: Slot, outcome: Outcome, announce: boolean, at = performance.now()): void {
    this.#release(task, slot);
    if (task.state === 'running') {
      this.#counts.running--;
      slot.tasksRun++;
      this.#runTime.add(at - (task.startedAt as number));
    }
    if (announce) this.#announceEnd(task, slot, outcome, task.startedAt === undefined ? 0 : at - task.startedAt);
    this.#settle(task, outcome);
  }

  /** Lets go of a task its worker no longer holds: its timeout, and its places among those dispatched. */
  #release(task: Task, slot: Slot): void {
    clearTimeout(task.timer);
    task.timer = undefined;
    this.#dispatched.delete(task.id);
    slot.tasks.delete(task);
  }

  #announceEnd(task: Task, slot: Slot, outcome: Outcome, duration: number): void {
    const base = { type: 'task-end', workerId: slot.id, pid: slot.pid, time: now(), taskId: task.id, duration };
    this.#out.next({ ...base, ...outcome } as TaskEndEvent);
  }

  #settle(task: Task, outcome: Outcome): void {
    // A listener may already have cancelled it (re-entrantly, from a loop settling its neighbours).
    if (task.settled) return;
    if (outcome.ok) this.#counts.completed++;
    else this.#counts.failed++;
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

  /** After a task ends, at most once a second: sample every worker's memory, retire the bloated. */
  #sampleMemorySoon(at: number): void {
    if (this.#sampling || at - this.#lastMemorySample < MEMORY_SAMPLE_INTERVAL_MS) return;
    this.#sampling = true;
    this.#lastMemorySample = at;
    const slots = this.#slots.filter((slot) => slot.pid !== undefined && slot.ready);
    // A turn later: whoever awaits the task that just ended hears of it first.
    new Promise((resolve) => setImmediate(resolve))
      .then(() => sampleMemory(slots.map((slot) => slot.pid as number)))
      .then((samples) => {
        this.#sampling = false;
        if (this.#disposed) return;
        for (const slot of slots) {
          const rss = samples.get(slot.pid as number);
          if (rss === undefined || !this.#slots.includes(slot)) continue;
          slot.rss = rss;
          if (slot.tasksRun > 0) slot.baselineRss ??= rss;
          this.#emit(slot, { type: 'memory', rss });
          const { memoryLimit, memoryGrowthLimit } = this.#options;
          if (memoryLimit !== undefined && rss > memoryLimit) this.#markRecycle(slot, 'memory-limit', memoryLimit);
          else if (memoryGrowthLimit !== undefined && slot.baselineRss !== undefined) {
            if (rss - slot.baselineRss > memoryGrowthLimit) this.#markRecycle(slot, 'memory-growth', memoryGrowthLimit);
          }
        }
        this.#pump();
      });
  }

  #onExit(slot: Slot, event: ExitEvent): void {
    this.#slots = this.#slots.filter((other) => other !== slot);
    slot.idle$.complete();
    slot.subscription = undefined;
    const running = event.runningTaskId === undefined ? undefined : this.#dispatched.get(event.runningTaskId);
    if (running && running.workerId === slot.id) {
      const error = terminatedError(
        { workerId: slot.id, pid: event.pid },
        event.code,
        event.signal,
        event.stderr,
        running,
      );
      this.#end(running, slot, { ok: false, error }, true);
    }
    const unstarted = this.#withdrawUnstarted(slot);
    for (const task of slot.tasks) this.#dispatched.delete(task.id);
    slot.tasks.clear();
    if (event.error instanceof InitializerError) {
      // The initializer failed: the tasks sent to this worker fail with it rather than wait.
      for (const task of unstarted) this.#settle(task, { ok: false, error: event.error });
    } else {
      // Whatever the worker had not started runs elsewhere, first in line.
      this.#queue.requeue(unstarted);
    }
    this.#out.next(event);
    if (event.reason === 'failed-to-start') this.#startFailed(event);
    this.#pump();
    // A worker that died under a task is replaced before the next task needs it: the pool heals
    // before it is asked to.
    if (event.reason === 'crashed' || event.reason === 'timeout' || event.reason === 'killed') this.#replaceSoon(slot);
    else this.#keepWarm();
  }

  #startFailed(event: ExitEvent): void {
    this.#startFailures++;
    if (this.#everReady && this.#startFailures < MAX_START_FAILURES) return;
    const initializer = event.error instanceof InitializerError;
    const how = initializer
      ? `the initializer failed in worker ${event.workerId}: ${event.error?.message}`
      : event.error
        ? `worker ${event.workerId} could not be spawned: ${event.error.message}`
        : event.signal
          ? `worker ${event.workerId} was killed by ${event.signal} before it was ready`
          : `worker ${event.workerId} exited with code ${event.code} before it was ready`;
    const advice = initializer ? 'Fix the initializer' : "Check the executor's execArgv, env and cwd";
    const error = new BrokenExecutorError(
      `The executor is broken: ${how}${this.#everReady ? ` (${this.#startFailures} workers in a row)` : ''}. ${advice}, then create a new executor.`,
      { workerId: event.workerId, pid: event.pid, exitCode: event.code, signal: event.signal, stderr: event.stderr },
      { cause: event.error },
    );
    this.#kill(error, true);
  }

  #emit(slot: Slot, event: PoolMade): void {
    const full: MemoryEvent | RecycleEvent = { ...event, workerId: slot.id, pid: slot.pid, time: now() };
    this.#out.next(full);
  }
}

/** Tells a slot's idle timer whether it sits idle, only when that changes (it is asked after every task). */
function setIdle(slot: Slot, idle: boolean): void {
  if (slot.idle === idle) return;
  slot.idle = idle;
  slot.idle$.next(idle);
}
