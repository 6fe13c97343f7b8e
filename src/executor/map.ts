import { Fifo } from '../engine/fifo.js';
import type { Outcome, Task } from '../engine/task.js';
import type { ChunkSizer, Chunksize } from './chunk-sizer.js';

/** Options of `executor.map()`. */
export interface MapOptions {
  /**
   * Items per task (default 1). Each task carries this many items to a worker and brings their
   * results back together: for many tiny items, far fewer messages. `'auto'` starts at 1 and sizes
   * chunks from measured time per item, aiming at about 10 ms per task (items are then sent as the
   * sizes are learned, at most a few tasks per worker ahead of the results).
   */
  readonly chunksize?: Chunksize;
  /** Milliseconds each task (each chunk) may run before its worker is killed: TaskTimeoutError. */
  readonly timeout?: number;
  /** Values the function closes over, by name, sent once per worker: as `withScope(scope, fn)`. */
  readonly scope?: Readonly<Record<string, unknown>>;
}

/** Starts one task over `items` (one item unless chunked) and returns it. */
export type StartTask = (items: unknown[], chunked: boolean) => Task;

/** A task of the map, and its outcome to come. */
interface Entry {
  readonly task: Task;
  readonly outcome: Promise<Outcome>;
}

/**
 * Runs `items` through tasks and yields the results in input order. A sync iterable is read at
 * once, so an error from it throws from `map()` itself, and, with a fixed chunk size, submitted at
 * once, so the pool works while the caller is not yet iterating. An async iterable, or any iterable
 * with `'auto'` chunks, is submitted as it goes, at most `lookahead` tasks ahead of the consumer.
 * A failed item throws at its position, after the results before it. Leaving the loop early
 * cancels every task that has not started.
 */
export function orderedResults<R>(
  items: Iterable<unknown> | AsyncIterable<unknown>,
  chunks: ChunkSizer,
  lookahead: number,
  start: StartTask,
  cancel: (task: Task) => void,
): AsyncIterableIterator<R> {
  // A queue, not an array: shift() on an array of 100,000 waiting tasks costs 100,000 moves.
  const order = new Fifo<Entry>();
  let closed = false;
  let sourceDone = false;
  let sourceFailed: { error: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  // 'auto' chunks even a single item, so every outcome has the same shape.
  const chunked = chunks.auto || chunks.size > 1;

  const enqueue = (group: unknown[]) => {
    const task = start(group, chunked);
    const outcome = new Promise<Outcome>((resolve) =>
      task.own({
        settled: (done) => {
          if (done.outcome?.ok && done.startedAt !== undefined) {
            chunks.learn(group.length, performance.now() - done.startedAt);
          }
          resolve(done.outcome as Outcome);
        },
      }),
    );
    order.push({ task, outcome });
    wakeConsumer?.();
  };
  const cancelRest = () => {
    for (const { task } of order.drain()) cancel(task);
  };
  const room = () => order.length < lookahead && !closed;

  if (isIterable(items) && !chunks.auto) {
    try {
      for (const group of groups(items, chunks.size)) enqueue(group);
    } catch (error) {
      cancelRest();
      throw error;
    }
    sourceDone = true;
  } else if (isIterable(items)) {
    const all = Array.isArray(items) ? items : Array.from(items);
    let next = 0;
    const produce = () => {
      while (next < all.length && room()) {
        const size = chunks.size;
        enqueue(all.slice(next, next + size));
        next += size;
      }
      if (next >= all.length) sourceDone = true;
    };
    wakeProducer = produce;
    produce();
  } else {
    void (async () => {
      try {
        let group: unknown[] = [];
        for await (const item of items) {
          if (closed) return;
          group.push(item);
          if (group.length < chunks.size) continue;
          enqueue(group);
          group = [];
          while (!room() && !closed) await new Promise<void>((wake) => (wakeProducer = wake));
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
        const entry = order.shift();
        wakeProducer?.();
        if (!entry) {
          if (sourceFailed) throw sourceFailed.error;
          if (sourceDone) return;
          await new Promise<void>((wake) => (wakeConsumer = wake));
          continue;
        }
        const outcome = await entry.outcome;
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
