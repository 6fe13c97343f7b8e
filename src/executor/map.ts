import type { Outcome, Task } from '../engine/task.js';

/** Options of `executor.map()`. */
export interface MapOptions {
  /**
   * Items per task (default 1). Each task carries this many items to a worker and brings their
   * results back together: for many tiny items, far fewer messages.
   */
  readonly chunksize?: number;
  /** Milliseconds each task (each chunk) may run before its worker is killed: TaskTimeoutError. */
  readonly timeout?: number;
  /** Values the function closes over, by name, sent once per worker: as `withScope(scope, fn)`. */
  readonly scope?: Readonly<Record<string, unknown>>;
}

/** Starts one task over `items` (one item unless chunked) and returns it. */
export type StartTask = (items: unknown[], chunked: boolean) => Task;

/**
 * Runs `items` through tasks and yields the results in input order. A sync iterable is read and
 * submitted at once, so the pool works while the caller is not yet iterating, and an error from the
 * iterable throws from `map()` itself. An async iterable is read as it yields, at most `lookahead`
 * tasks ahead of the consumer. A failed item throws at its position, after the results before it.
 * Leaving the loop early cancels every task that has not started.
 */
export function orderedResults<R>(
  items: Iterable<unknown> | AsyncIterable<unknown>,
  chunksize: number,
  lookahead: number,
  start: StartTask,
  cancel: (task: Task) => void,
): AsyncIterableIterator<R> {
  const order: Task[] = [];
  let closed = false;
  let sourceDone = false;
  let sourceFailed: { error: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const chunked = chunksize > 1;

  const enqueue = (group: unknown[]) => {
    order.push(start(group, chunked));
    wakeConsumer?.();
  };
  const cancelRest = () => {
    for (const task of order) cancel(task);
    order.length = 0;
  };

  if (isIterable(items)) {
    try {
      for (const group of groups(items, chunksize)) enqueue(group);
    } catch (error) {
      cancelRest();
      throw error;
    }
    sourceDone = true;
  } else {
    void (async () => {
      try {
        let group: unknown[] = [];
        for await (const item of items) {
          if (closed) return;
          group.push(item);
          if (group.length < chunksize) continue;
          enqueue(group);
          group = [];
          while (order.length >= lookahead && !closed) await new Promise<void>((wake) => (wakeProducer = wake));
        }
        if (group.length > 0 && !closed) enqueue(group);
      } catch (error) {
        sourceFailed = { error };
      } finally {
        sourceDone = true;
        wakeConsumer?.();
      }
    })();
  }

  return (async function* results(): AsyncGenerator<R> {
    try {
      for (;;) {
        const task = order.shift();
        wakeProducer?.();
        if (!task) {
          if (sourceFailed) throw sourceFailed.error;
          if (sourceDone) return;
          await new Promise<void>((wake) => (wakeConsumer = wake));
          continue;
        }
        const outcome = await settled(task);
        if (outcome.ok && !chunked) {
          yield outcome.value as R;
          continue;
        }
        // A chunk's results (or a failed chunk's results before its failing item). Indexed, as
        // `yield*` over an array costs an async generator about twice as much per item.
        const values = (outcome.ok ? outcome.value : outcome.partial) as R[] | undefined;
        if (values) for (let i = 0; i < values.length; i++) yield values[i] as R;
        if (!outcome.ok) throw outcome.error;
      }
    } finally {
      closed = true;
      cancelRest();
      wakeProducer?.();
    }
  })();
}

function settled(task: Task): Promise<Outcome> {
  return new Promise((resolve) => task.onSettled((done) => resolve(done.outcome as Outcome)));
}

function* groups(items: Iterable<unknown>, size: number): Generator<unknown[]> {
  if (Array.isArray(items) && items[Symbol.iterator] === Array.prototype[Symbol.iterator]) {
    // A plain array is cut with slice: no per-item push.
    for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
    return;
  }
  let group: unknown[] = [];
  for (const item of items) {
    group.push(item);
    if (group.length === size) {
      yield group;
      group = [];
    }
  }
  if (group.length > 0) yield group;
}

function isIterable(value: object): value is Iterable<unknown> {
  return typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}
