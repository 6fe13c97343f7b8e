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
  /** Milliseconds the task may run once started before its worker is killed. */
  readonly timeout: number | undefined;
  /** Custom serializers in use: set only when some are registered. */
  readonly shipping?: TaskShipping | undefined;
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
  readonly timeout: number | undefined;
  readonly shipping: TaskShipping | undefined;
  state: TaskState = 'pending';
  readonly queuedAt = performance.now();
  startedAt: number | undefined;
  outcome: Outcome | undefined;
  #onSettle: ((task: Task) => void) | undefined;

  constructor(id: number, spec: TaskSpec) {
    this.id = id;
    this.fn = spec.fn;
    this.args = spec.args;
    this.chunk = spec.chunk;
    this.timeout = spec.timeout;
    this.shipping = spec.shipping;
  }

  /** Sets the one listener that hears the outcome (immediately, if the task is already settled). */
  onSettled(listener: (task: Task) => void): void {
    if (this.outcome) listener(this);
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
    onSettle?.(this);
  }
}
