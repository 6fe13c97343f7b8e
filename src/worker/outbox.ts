import { SerializationError } from '../errors.js';
import { alignedBatch } from '../protocol/align.js';
import { type LaneSink, splitLane, writeFrames } from '../protocol/byte-lane.js';
import { FromWorker, type WorkerMessage } from '../protocol/messages.js';
import { BATCH_BYTES, payloadSize } from '../protocol/payload.js';
import { describeCulprit, findCulprit } from '../shipping/culprit.js';
import { encodeThrown } from '../shipping/thrown.js';
import { monotonicMs } from './clock.js';

/** Results wait at most this long for company before they are sent. */
const MAX_BATCH_AGE_MS = 1;

/**
 * Collects messages for the parent and sends them in batches. A batch is flushed when the worker
 * has nothing left to run, when its oldest message is a millisecond old, or when its values reach
 * BATCH_BYTES (about a megabyte, see payload.ts), so tiny tasks and large results share IPC writes
 * while a result waits a millisecond at most, plus the task running when that millisecond ends.
 */
export class Outbox {
  readonly #send: (batch: WorkerMessage[]) => void;
  /** The byte lane, if the parent opened one: large typed arrays in values take it. */
  readonly #lane: LaneSink | undefined;
  #batch: WorkerMessage[] = [];
  #since = 0;
  /** A guess at the bytes of the values in the batch (see payloadSize). */
  #bytes = 0;
  #soon = false;

  constructor(send: (batch: WorkerMessage[]) => void, lane?: LaneSink) {
    this.#send = send;
    this.#lane = lane;
  }

  push(message: WorkerMessage): void {
    if (this.#batch.length === 0) this.#since = monotonicMs();
    this.#batch.push(message);
    const tag = message[0];
    if (tag === FromWorker.Ok || tag === FromWorker.Next) this.#bytes += payloadSize(message[2]);
  }

  /** Flushes after the current turn of the event loop: values a stream yields together go together. */
  flushSoon(): void {
    if (this.stale) this.flush();
    if (this.#soon) return;
    this.#soon = true;
    setImmediate(() => {
      this.#soon = false;
      this.flush();
    });
  }

  /** True when the batch should go now even though more work is queued. */
  get stale(): boolean {
    return this.#batch.length > 0 && (this.#bytes >= BATCH_BYTES || monotonicMs() - this.#since >= MAX_BATCH_AGE_MS);
  }

  flush(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    const frames = this.#lane ? takeLane(batch) : undefined;
    this.#batch = [];
    this.#bytes = 0;
    try {
      this.#send(alignedBatch(batch) as WorkerMessage[]);
    } catch {
      // Some value in the batch cannot be cloned: send one by one so only the culprit fails.
      for (let i = 0; i < batch.length; i++) this.#sendAlone(batch[i] as WorkerMessage, frames?.[i]);
      return;
    }
    if (frames) for (const views of frames) if (views) writeFrames(this.#lane as LaneSink, views);
  }

  #sendAlone(message: WorkerMessage, views: ArrayBufferView[] | undefined): void {
    try {
      this.#send([message]);
      if (views) writeFrames(this.#lane as LaneSink, views);
    } catch (error) {
      const [tag, taskId, value] = message;
      if (tag !== FromWorker.Ok && tag !== FromWorker.Next && tag !== FromWorker.Progress) throw error;
      const failure = unsendable(tag, taskId, value, error);
      // A bad progress value is reported without failing the task; a bad result or stream value fails it.
      this.#send([
        tag === FromWorker.Progress
          ? [FromWorker.Leftover, taskId, encodeThrown(failure)]
          : [FromWorker.Err, taskId, encodeThrown(failure)],
      ]);
    }
  }
}

/** The error of a value a task produced that cannot be sent back: where inside it, and why. */
export function unsendable(
  tag: typeof FromWorker.Ok | typeof FromWorker.Next | typeof FromWorker.Progress,
  taskId: number,
  value: unknown,
  error: unknown,
): SerializationError {
  const what =
    tag === FromWorker.Progress ? 'the progress value' : tag === FromWorker.Next ? 'a streamed value' : 'the result';
  const culprit = findCulprit(value);
  return new SerializationError(
    `Task ${taskId} produced a value that cannot be sent back: ${describeCulprit(what, culprit, error instanceof Error ? error.message : String(error))}.`,
    { stage: 'result', path: culprit?.path, taskId },
  );
}

/**
 * Takes the large typed arrays out of the values in `batch` (results and streamed values, as they
 * are or packed; not those with custom serializers), in place; returns each message's, by index.
 */
function takeLane(batch: WorkerMessage[]): Array<ArrayBufferView[] | undefined> | undefined {
  let frames: Array<ArrayBufferView[] | undefined> | undefined;
  for (let i = 0; i < batch.length; i++) {
    const message = batch[i] as WorkerMessage;
    // Values with placeholders (custom serializers) stay whole: placeholders are known by identity.
    if ((message[0] !== FromWorker.Ok && message[0] !== FromWorker.Next) || message[3] !== undefined) continue;
    const split = splitLane(message[2]);
    if (!split) continue;
    batch[i] = [message[0], message[1], split.rest, undefined, message[4], split.positions];
    frames ??= [];
    frames[i] = split.views;
  }
  return frames;
}
