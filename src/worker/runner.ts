import { AsyncLocalStorage } from 'node:async_hooks';
import { SerializationError } from '../errors.js';
import { type ChunkValues, ChunkValuesBuilder } from '../protocol/chunk-values.js';
import {
  FromWorker,
  type InitMessage,
  type ParentMessage,
  type TaskMessage,
  TaskMode,
  ToWorker,
  type WorkerMessage,
} from '../protocol/messages.js';
import { type Packed, pack, unpack } from '../protocol/packed.js';
import { argumentSite, RESULT_SITE } from '../shipping/codec.js';
import { encodeThrown } from '../shipping/thrown.js';
import { deliver } from './deliver.js';
import { FunctionTable, type Shipped } from './function-table.js';
import { type Outbox, unsendable } from './outbox.js';
import { SerializerTable } from './serializer-table.js';

/** The task running now, and a way to settle it early (an async leftover blamed on it). */
interface Running {
  readonly taskId: number;
  settled: boolean;
  readonly done: () => void;
  /** Stops a streaming task's source, when it has one. */
  stop?: (() => void) | undefined;
}

/**
 * Runs tasks one at a time, in the order they arrive. Sync tasks run back to back in one turn of
 * the event loop; an async task is awaited before the next starts. Every task ends in exactly one
 * message: Ok, Err, or Skipped when the parent dropped it before it started.
 */
export class Runner {
  readonly #outbox: Outbox;
  readonly #serializers = new SerializerTable();
  readonly #functions = new FunctionTable(this.#serializers);
  readonly #queue: TaskMessage[] = [];
  readonly #context = new AsyncLocalStorage<number>();
  #running: Running | undefined;
  #pumping = false;

  constructor(outbox: Outbox) {
    this.#outbox = outbox;
  }

  receive(batch: ParentMessage[]): void {
    for (const message of batch) {
      if (message[0] === ToWorker.Task) {
        this.#functions.accept(message[2], message[4]);
        if (message[6]?.serializers) this.#serializers.accept(message[6].serializers);
        this.#queue.push(message);
      } else if (message[0] === ToWorker.Drop) this.#drop(message[1]);
      else if (message[0] === ToWorker.Cancel) this.#cancel(message[1]);
      else this.#initialize(message);
    }
    this.#pump();
  }

  /**
   * `reportProgress(value)` from inside a task: the parent hears it on the task's Future and on
   * `events$`. Called outside any task, it does nothing.
   */
  progress(value: unknown): void {
    const taskId = this.#context.getStore() ?? this.#running?.taskId;
    if (taskId === undefined) return;
    this.#outbox.push([FromWorker.Progress, taskId, value]);
    this.#outbox.flushSoon();
  }

  /** Runs the executor's initializer; the parent sends no task until it hears how that went. */
  #initialize([, source, args]: InitMessage): void {
    const done = (message: WorkerMessage) => {
      this.#outbox.push(message);
      this.#outbox.flush();
    };
    const fail = (error: unknown) => done([FromWorker.InitFailed, encodeThrown(error)]);
    const run = (fn: Shipped) => {
      try {
        const result = fn(...args);
        if (isThenable(result)) result.then(() => done([FromWorker.Initialized]), fail);
        else done([FromWorker.Initialized]);
      } catch (error) {
        fail(error);
      }
    };
    try {
      const fn = this.#functions.build(source);
      if (fn instanceof Promise) fn.then(run, fail);
      else run(fn);
    } catch (error) {
      fail(error);
    }
  }

  /**
   * An error thrown outside any task's own flow: a timer or an unawaited promise. If it comes from
   * the task running now, that task fails with it; otherwise the parent hears of it as a leftover.
   * Either way the worker lives on.
   */
  leftover(error: unknown): void {
    const origin = this.#context.getStore();
    const running = this.#running;
    if (running && !running.settled && (origin === undefined || origin === running.taskId)) {
      this.#settle(running, [FromWorker.Err, running.taskId, encodeThrown(error)]);
    } else {
      this.#outbox.push([FromWorker.Leftover, origin ?? null, encodeThrown(error)]);
      if (!running) this.#outbox.flush();
    }
  }

  /** Stops a running stream (its `finally` runs); a task that has not started is dropped instead. */
  #cancel(taskId: number): void {
    const running = this.#running;
    if (running?.taskId === taskId) running.stop?.();
    else this.#drop(taskId);
  }

  #drop(taskId: number): void {
    const index = this.#queue.findIndex((task) => task[1] === taskId);
    if (index === -1) return; // already running or done: its result will tell
    this.#queue.splice(index, 1);
    this.#outbox.push([FromWorker.Skipped, taskId]);
    // A cancelled Future may wait for this answer: it goes now, not when the running task ends.
    if (this.#running) this.#outbox.flushSoon();
    else this.#outbox.flush();
  }

  #pump(): void {
    if (this.#pumping || this.#running) return;
    this.#pumping = true;
    try {
      for (let task = this.#queue.shift(); task; task = this.#queue.shift()) {
        if (this.#outbox.stale) this.#outbox.flush();
        if (this.#start(task) === 'async') {
          // What earlier tasks returned must not wait for this one to end (it may take seconds).
          this.#outbox.flushSoon();
          return;
        }
      }
      this.#outbox.flush();
    } finally {
      this.#pumping = false;
    }
  }

  /** Runs one task; 'async' when it is still running after this call returns. */
  #start(task: TaskMessage): 'sync' | 'async' {
    let async = false;
    const running: Running = {
      taskId: task[1],
      settled: false,
      done: () => {
        this.#running = undefined;
        if (async) this.#pump();
      },
    };
    this.#running = running;
    this.#context.run(task[1], () => this.#execute(task, running));
    if (this.#running !== running) return 'sync';
    async = true;
    return 'async';
  }

  #execute([, taskId, fnId, args, , mode, extras]: TaskMessage, running: Running): void {
    const chunk = mode === TaskMode.Chunk || mode === TaskMode.ChunkStream;
    let fn: Shipped | Promise<Shipped>;
    let input: unknown[];
    try {
      fn = this.#functions.get(fnId);
      const records = extras?.records;
      if (extras?.packed) input = unpack(args as Packed) as unknown[];
      else if (records) input = this.#serializers.decode(args, records, argumentSite(chunk)) as unknown[];
      else input = args as unknown[];
    } catch (error) {
      this.#settle(running, [FromWorker.Err, taskId, encodeThrown(error)]);
      return;
    }
    const run = (ready: Shipped) => {
      if (chunk) this.#runChunk(ready, input, running, mode === TaskMode.ChunkStream);
      else this.#runOne(ready, input, running, mode === TaskMode.Stream);
    };
    // A function from a module is a Promise until the module has loaded in this worker.
    if (fn instanceof Promise) {
      fn.then(run, (error: unknown) => this.#settle(running, [FromWorker.Err, taskId, encodeThrown(error)]));
    } else {
      run(fn);
    }
  }

  #runOne(fn: Shipped, args: unknown[], running: Running, stream: boolean): void {
    const { taskId } = running;
    let result: unknown;
    try {
      result = fn(...args);
    } catch (error) {
      this.#settle(running, [FromWorker.Err, taskId, encodeThrown(error)]);
      return;
    }
    deliver(result, stream, {
      next: (value) => {
        if (running.settled) return;
        const message = this.#next(taskId, value);
        if (message[0] === FromWorker.Err) {
          running.stop?.();
          this.#settle(running, message);
          return;
        }
        this.#outbox.push(message);
        this.#outbox.flushSoon();
      },
      done: (value) => this.#settle(running, this.#ok(taskId, value)),
      fail: (error) => this.#settle(running, [FromWorker.Err, taskId, encodeThrown(error)]),
      stopWith: (stop) => {
        running.stop = stop;
      },
    });
  }

  /**
   * Applies `fn` to each item in turn; on a failure, the results so far travel with the error. With
   * `streams`, each item's result is the list of values it yields.
   */
  #runChunk(fn: Shipped, items: unknown[], running: Running, streams: boolean): void {
    const { taskId } = running;
    const results: unknown[] = [];
    const streamed = streams ? new ChunkValuesBuilder() : undefined;
    const sofar = (): ChunkValues => (streamed ? streamed.build() : results);
    const fail = (error: unknown) => this.#settle(running, this.#err(taskId, error, sofar()));
    const next = (from: number): void => {
      for (let i = from; i < items.length; i++) {
        let settledNow = false;
        let waiting = false;
        let result: unknown;
        try {
          result = fn(items[i]);
        } catch (error) {
          fail(error);
          return;
        }
        // The common case, a primitive, settles here without the machinery for promises and streams.
        if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
          if (streamed) streamed.addOne(result);
          else results.push(result);
          continue;
        }
        const early: unknown[] = [];
        deliver(result, streams, {
          next: (value) => early.push(value),
          done: (value) => {
            if (streamed) streamed.add(early.length > 0 ? [...early, ...(value as unknown[])] : (value as unknown[]));
            else results.push(value);
            if (waiting) next(i + 1);
            else settledNow = true;
          },
          fail,
          stopWith: () => {},
        });
        if (!settledNow) {
          waiting = true;
          return;
        }
      }
      this.#settle(running, this.#ok(taskId, sofar()));
    };
    next(0);
  }

  /** A task's value, its custom-serialized instances encoded (a serializer that throws fails the task). */
  #ok(taskId: number, value: unknown): WorkerMessage {
    try {
      const encoded = this.#serializers.encode(value, RESULT_SITE);
      if (encoded) return [FromWorker.Ok, taskId, encoded.value, encoded.records];
      const packed = pack(value);
      return packed ? [FromWorker.Ok, taskId, packed, undefined, 1] : [FromWorker.Ok, taskId, value];
    } catch (error) {
      // A serializer's own failure names itself; anything else (a getter that throws) is found and named.
      const failure = error instanceof SerializationError ? error : unsendable(FromWorker.Ok, taskId, value, error);
      return [FromWorker.Err, taskId, encodeThrown(failure)];
    }
  }

  /** A streamed value, encoded like a result (a serializer that throws fails the task). */
  #next(taskId: number, value: unknown): WorkerMessage {
    const message = this.#ok(taskId, value);
    if (message[0] !== FromWorker.Ok) return message;
    const [, , encoded, records, packed] = message;
    if (packed) return [FromWorker.Next, taskId, encoded, undefined, packed];
    return records ? [FromWorker.Next, taskId, encoded, records] : [FromWorker.Next, taskId, encoded];
  }

  /** A chunk's failure, with the results before the failing item, encoded like a value. */
  #err(taskId: number, error: unknown, partial: ChunkValues): WorkerMessage {
    try {
      const encoded = this.#serializers.encode(partial, RESULT_SITE);
      if (encoded) return [FromWorker.Err, taskId, encodeThrown(error), encoded.value as ChunkValues, encoded.records];
    } catch {
      // The failure matters more than the partial results: send it without them.
      return [FromWorker.Err, taskId, encodeThrown(error)];
    }
    return [FromWorker.Err, taskId, encodeThrown(error), partial];
  }

  #settle(running: Running, message: WorkerMessage): void {
    if (running.settled) return;
    running.settled = true;
    this.#outbox.push(message);
    if (this.#queue.length === 0) this.#outbox.flush();
    running.done();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
