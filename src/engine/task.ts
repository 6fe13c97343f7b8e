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
  /** Hears streamed values and progress reports. */
  readonly listener?: TaskListener | undefined;
  /** Custom serializers in use: set only when some are registered. */
  readonly shipping?: TaskShipping | undefined;
}

/** Hears what a task sends before it ends. */
export interface TaskListener {
  /** A value of a streaming task. */
  next?(value: unknown): void;
  /** A value the task passed to `reportProgress`. */
  progress?(value: unknown): void;
}

/**
 * One unit of work moving through the engine. The scheduler alone changes its state; whoever
 * created it hears the outcome through `onSettle`, exactly once.
 */
export class Task implements TaskSpec {
  readonly id: number;
  readonly fn: ShippedFunction;
  readonly args: unknown[];
  readonly chunk: boolean;
  readonly stream: boolean;
  readonly timeout: number | undefined;
  readonly group: number;
  readonly listener: TaskListener | undefined;
  readonly shipping: TaskShipping | undefined;
  state: TaskState = 'pending';
  /** Whether it waits in the scheduler's queue (kept by the queue itself). */
  queued = false;
  readonly queuedAt = performance.now();
  startedAt: number | undefined;
  outcome: Outcome | undefined;
  #onSettle: ((task: Task) => void) | undefined;

  constructor(id: number, spec: TaskSpec) {
    this.id = id;
    this.fn = spec.fn;
    this.args = spec.args;
    this.chunk = spec.chunk;
    this.stream = spec.stream ?? false;
    this.timeout = spec.timeout;
    this.group = spec.group ?? 0;
    this.listener = spec.listener;
    this.shipping = spec.shipping;
  }

  /** Sets the one listener that hears the outcome (immediately, if the task is already settled). */
  onSettled(listener: (task: Task) => void): void {
    if (this.outcome) isolate(listener, this);
    else this.#onSettle = listener;
  }

  get settled(): boolean {
    return this.outcome !== undefined;
  }

  /** Records the outcome and tells the owner; later calls are ignored. */
  settle(outcome: Outcome, state: 'fulfilled' | 'rejected' | 'cancelled'): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.state = state;
    const onSettle = this.#onSettle;
    this.#onSettle = undefined;
    if (onSettle) isolate(onSettle, this);
  }
}

/**
 * Calls a listener from inside the engine. A listener that throws must not leave the scheduler
 * half way through a loop: its error is rethrown on its own, later, like RxJS reports errors no
 * one handles.
 */
export function isolate<A>(listener: (arg: A) => void, arg: A): void {
  try {
    listener(arg);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
