import type { Subscriber } from '../rx/rxjs.js';
import { Observable } from '../rx/rxjs.js';

interface RelayState<T> {
  /** Replaced, never mutated: a `next` in progress walks the list it started with. */
  subscribers: readonly Subscriber<T>[];
  end: { readonly error: unknown } | 'complete' | undefined;
}

/**
 * A Subject for the engine's per-task streams (tasks in, commands to workers, events out). It keeps
 * Subject's contract (hot, multicast, ended streams end late subscribers at once) but allocates
 * nothing per value: RxJS's Subject builds a closure and an iterator on every `next`, several
 * times per task.
 */
export class Relay<T> extends Observable<T> {
  readonly #state: RelayState<T>;

  constructor() {
    const state: RelayState<T> = { subscribers: [], end: undefined };
    super((subscriber) => {
      const { end } = state;
      if (end === 'complete') return subscriber.complete();
      if (end) return subscriber.error(end.error);
      state.subscribers = [...state.subscribers, subscriber];
      return () => {
        state.subscribers = state.subscribers.filter((s) => s !== subscriber);
      };
    });
    this.#state = state;
  }

  /** The stream alone, without `next` and friends, for handing out. */
  asObservable(): Observable<T> {
    return new Observable<T>((subscriber) => this.subscribe(subscriber));
  }

  /** Whether anyone is subscribed. */
  get observed(): boolean {
    return this.#state.subscribers.length > 0;
  }

  next(value: T): void {
    if (this.#state.end) return;
    const subscribers = this.#state.subscribers;
    for (let i = 0; i < subscribers.length; i++) subscribers[i]?.next(value);
  }

  error(error: unknown): void {
    for (const subscriber of this.#end({ error })) subscriber.error(error);
  }

  complete(): void {
    for (const subscriber of this.#end('complete')) subscriber.complete();
  }

  /** Ends the relay once; returns who must hear of it. */
  #end(end: NonNullable<RelayState<T>['end']>): readonly Subscriber<T>[] {
    const state = this.#state;
    if (state.end) return [];
    state.end = end;
    const { subscribers } = state;
    state.subscribers = [];
    return subscribers;
  }
}
