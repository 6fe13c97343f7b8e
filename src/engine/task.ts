import type { ShippedFunction } from '../shipping/function-registry.js';
import type { TaskShipping } from '../shipping/task-shipping.js';

/** Where a task is in its life. `pending` covers both queued and sent-but-not-started. */
export type TaskState = 'pending' | 'running' | 'fulfilled' | 'rejected' | 'cancelled';

/** How a task ended. `partial` carries a chunk's results before its failing item. */
export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown; readonly partial?: unknown[] | undefined };

/** What the executor asks of one task. */
export interface TaskSpec {
  readonly fn: ShippedFunction;
  readonly args: unknown[];
  /** Apply `fn` to each of `args` in turn and return the results as one array. */
  readonly chunk: boolean;
  /**
   * Send each value the function's iterator, async iterable or observable yields as it comes. With
   * `chunk`, each item's result becomes the list of values it yields.
   */
  readonly stream?: boolean | undefined;
  /** Milliseconds the task may run once started before its worker is killed. */
  readonly timeout: number | undefined;
  /** Tasks of different groups take turns in the queue (0: plain submits). */
  readonly group?: number | undefined;
  /** Custom serializers in use: set only when some are registered. */
  readonly shipping?: TaskShipping | undefined;
}

/**
 * Whoever a task answers to: it hears the outcome, exactly once, and before that what the task
 * streams or reports. One object with methods rather than a closure per task: a burst of 100,000
 * submits keeps 100,000 of them alive, and each byte is copied by every scavenge they survive.
 */
export interface TaskOwner {
  /** The task settled (`task.outcome` says how). */
  settled(task: Task): void;
  /** A value of a streaming task. */
  next?(value: unknown): void;
  /** A value the task passed to `reportProgress`. */
  progress?(value: unknown): void;
}

const SETTLED_ARGS: unknown[] = [];

/**
 * One unit of work moving through the engine. The scheduler alone changes its state; its owner
 * (see `own`) hears the outcome, exactly once.
 */
export class Task implements TaskSpec {
  readonly id: number;
  readonly fn: ShippedFunction;
  /** Let go of when the task settles: a Future kept after its result must not keep its arguments. */
  args: unknown[];
  readonly chunk: boolean;
  readonly stream: boolean;
  readonly timeout: number | undefined;
  readonly group: number;
  readonly shipping: TaskShipping | undefined;
  state: TaskState = 'pending';
  /** Whether it waits in the scheduler's queue (kept by the queue itself). */
  queued = false;
  readonly queuedAt = performance.now();
  startedAt: number | undefined;
  /** The worker it was dispatched to (the scheduler's bookkeeping). */
  workerId: number | undefined;
  /**
   * Written to its worker's channel (set by the worker's connection): that worker may start it at
   * any moment, so only the worker can tell whether it was dropped in time.
   */
  sent = false;
  /** `Future.cancel()` came after it was sent: its worker was asked to drop it, and its answer settles it. */
  dropAsked = false;
  /** Its timeout's timer, while it runs (the scheduler's bookkeeping). */
  timer: NodeJS.Timeout | undefined;
  outcome: Outcome | undefined;
  #owner: TaskOwner | undefined;

  constructor(id: number, spec: TaskSpec) {
    this.id = id;
    this.fn = spec.fn;
    this.args = spec.args;
    this.chunk = spec.chunk;
    this.stream = spec.stream ?? false;
    this.timeout = spec.timeout;
    this.group = spec.group ?? 0;
    this.shipping = spec.shipping;
  }

  /** Sets the task's one owner, who hears the outcome (at once, if the task is already settled). */
  own(owner: TaskOwner): void {
    if (this.outcome) this.#tell(owner);
    else this.#owner = owner;
  }

  /** The owner, until the task settles. */
  get owner(): TaskOwner | undefined {
    return this.#owner;
  }

  get settled(): boolean {
    return this.outcome !== undefined;
  }

  /** Records the outcome and tells the owner; later calls are ignored. */
  settle(outcome: Outcome, state: 'fulfilled' | 'rejected' | 'cancelled'): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.state = state;
    this.args = SETTLED_ARGS;
    const owner = this.#owner;
    this.#owner = undefined;
    if (owner) this.#tell(owner);
  }

  #tell(owner: TaskOwner): void {
    try {
      owner.settled(this);
    } catch (error) {
      rethrowLater(error);
    }
  }
}

/**
 * Passes a streamed value or a progress report to a task's owner, from inside the engine. An owner
 * that throws must not leave the engine half way through a loop: its error is rethrown on its own,
 * later, like RxJS reports errors no one handles.
 */
export function tell(owner: TaskOwner | undefined, what: 'next' | 'progress', value: unknown): void {
  try {
    owner?.[what]?.(value);
  } catch (error) {
    rethrowLater(error);
  }
}

function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
