import { monotonicMs } from './clock.js';

/** Where a task's outcome goes. */
export interface Sink {
  /** A value of a streaming task, sent as it comes. */
  next(value: unknown): void;
  /**
   * The task's outcome: its value, or for a streaming task the list of values not yet sent (a plain
   * value travels this way, with the end, so it is never separated from it).
   */
  done(value: unknown): void;
  fail(error: unknown): void;
  /** Registers how to stop the source early (return its iterator, end its subscription). */
  stopWith(stop: () => void): void;
}

/** A stream lets the event loop in (so a stop request can arrive) after this many values... */
const YIELD_EVERY = 64;
/** ...or after this long. */
const YIELD_AFTER_MS = 5;

/**
 * Turns whatever a shipped function returned into its outcome. Promises are awaited. Iterators
 * (generator objects), async iterables (async generators) and observables are drained: into one
 * array, or value by value when `stream` is set. Anything else is the value itself. A plain value
 * settles synchronously, so runs of sync tasks stay in one turn of the event loop.
 */
export function deliver(result: unknown, stream: boolean, sink: Sink): void {
  if (!isObject(result)) settlePlain(result, stream, sink);
  else if (typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then((value) => deliver(value, stream, sink), sink.fail);
  } else if (typeof (result as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function') {
    drainIterator((result as AsyncIterable<unknown>)[Symbol.asyncIterator](), stream, sink);
  } else if (isIterator(result)) {
    if (stream) drainIterator(result, stream, sink);
    else collectSync(result, sink);
  } else if (typeof (result as { subscribe?: unknown }).subscribe === 'function') drainObservable(result, stream, sink);
  else settlePlain(result, stream, sink);
}

function settlePlain(value: unknown, stream: boolean, sink: Sink): void {
  sink.done(stream ? [value] : value);
}

/**
 * Drains a sync or async iterator. While streaming it lets the event loop in now and then, so even
 * a generator that never awaits anything can be stopped; `return()` then runs its `finally`.
 */
function drainIterator(iterator: Iterator<unknown> | AsyncIterator<unknown>, stream: boolean, sink: Sink): void {
  const values: unknown[] = [];
  let stopped = false;
  sink.stopWith(() => {
    if (stopped) return;
    stopped = true;
    Promise.resolve()
      .then(() => iterator.return?.())
      .then(() => sink.done([]), sink.fail);
  });
  let count = 0;
  let since = monotonicMs();
  const step = (): void => {
    let result: IteratorResult<unknown> | Promise<IteratorResult<unknown>>;
    try {
      result = iterator.next();
    } catch (error) {
      sink.fail(error);
      return;
    }
    Promise.resolve(result).then((item) => {
      if (stopped) return;
      if (item.done) {
        sink.done(stream ? [] : values);
        return;
      }
      if (!stream) {
        values.push(item.value);
        step();
        return;
      }
      sink.next(item.value);
      if (++count % YIELD_EVERY === 0 || monotonicMs() - since > YIELD_AFTER_MS) {
        since = monotonicMs();
        setImmediate(step);
      } else {
        step();
      }
    }, sink.fail);
  };
  step();
}

/** A sync iterator's values, collected in one go: it cannot cross as it is. */
function collectSync(iterator: Iterator<unknown>, sink: Sink): void {
  const values: unknown[] = [];
  try {
    for (let result = iterator.next(); !result.done; result = iterator.next()) values.push(result.value);
  } catch (error) {
    sink.fail(error);
    return;
  }
  sink.done(values);
}

interface ObservableLike {
  subscribe(observer: {
    next(value: unknown): void;
    error(error: unknown): void;
    complete(): void;
  }): { unsubscribe(): void } | (() => void) | undefined;
}

function drainObservable(observable: object, stream: boolean, sink: Sink): void {
  const values: unknown[] = [];
  let finished = false;
  const subscription = (observable as ObservableLike).subscribe({
    next: (value) => {
      if (stream) sink.next(value);
      else values.push(value);
    },
    error: (error) => {
      finished = true;
      sink.fail(error);
    },
    complete: () => {
      finished = true;
      sink.done(stream ? [] : values);
    },
  });
  sink.stopWith(() => {
    if (finished) return;
    finished = true;
    if (typeof subscription === 'function') subscription();
    else subscription?.unsubscribe();
    sink.done([]);
  });
}

function isObject(value: unknown): value is object {
  return value !== null && (typeof value === 'object' || typeof value === 'function');
}

function isIterator(value: object): value is Iterator<unknown> {
  return (
    typeof (value as Partial<Iterator<unknown>>).next === 'function' &&
    typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function'
  );
}
