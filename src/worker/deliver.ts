/** Where a task's outcome goes. */
export interface Sink {
  /** A value of a streaming task. */
  next(value: unknown): void;
  /** The task's value (`undefined` for a finished stream). */
  done(value: unknown): void;
  fail(error: unknown): void;
  /** Registers how to stop the source early (return its iterator, end its subscription). */
  stopWith(stop: () => void): void;
}

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
    drainAsync((result as AsyncIterable<unknown>)[Symbol.asyncIterator](), stream, sink);
  } else if (isIterator(result)) drainSync(result, stream, sink);
  else if (typeof (result as { subscribe?: unknown }).subscribe === 'function') drainObservable(result, stream, sink);
  else settlePlain(result, stream, sink);
}

function settlePlain(value: unknown, stream: boolean, sink: Sink): void {
  if (stream) sink.next(value);
  sink.done(stream ? undefined : value);
}

function drainAsync(iterator: AsyncIterator<unknown>, stream: boolean, sink: Sink): void {
  const values: unknown[] = [];
  let stopped = false;
  sink.stopWith(() => {
    stopped = true;
    Promise.resolve(iterator.return?.()).then(() => sink.done(undefined), sink.fail);
  });
  const step = (): void => {
    iterator.next().then((result) => {
      if (stopped) return;
      if (result.done) {
        sink.done(stream ? undefined : values);
        return;
      }
      if (stream) sink.next(result.value);
      else values.push(result.value);
      step();
    }, sink.fail);
  };
  step();
}

function drainSync(iterator: Iterator<unknown>, stream: boolean, sink: Sink): void {
  const values: unknown[] = [];
  try {
    for (let result = iterator.next(); !result.done; result = iterator.next()) {
      if (stream) sink.next(result.value);
      else values.push(result.value);
    }
  } catch (error) {
    sink.fail(error);
    return;
  }
  sink.done(stream ? undefined : values);
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
      sink.done(stream ? undefined : values);
    },
  });
  sink.stopWith(() => {
    if (finished) return;
    finished = true;
    if (typeof subscription === 'function') subscription();
    else subscription?.unsubscribe();
    sink.done(undefined);
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
