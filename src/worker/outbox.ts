import { SerializationError } from '../errors.js';
import { FromWorker, type WorkerMessage } from '../protocol/messages.js';
import { BATCH_BYTES, payloadSize } from '../protocol/payload.js';
import { describeCulprit, findCulprit } from '../shipping/culprit.js';
import { encodeThrown } from '../shipping/thrown.js';

/** Results wait at most this long for company before they are sent. */
const MAX_BATCH_AGE_MS = 1;

/**
 * Collects messages for the parent and sends them in batches. A batch is flushed when the worker
 * has nothing left to run, when its oldest message is a millisecond old, or when its values reach
 * BATCH_BYTES, so tiny tasks share IPC writes while a result never waits behind more than one task,
 * and large results stream back one by one instead of piling up into one huge write.
 */
export class Outbox {
  readonly #send: (batch: WorkerMessage[]) => void;
  #batch: WorkerMessage[] = [];
  #since = 0;
  /** A guess at the bytes of the values in the batch (see payloadSize). */
  #bytes = 0;
  #soon = false;

  constructor(send: (batch: WorkerMessage[]) => void) {
    this.#send = send;
  }

  push(message: WorkerMessage): void {
    if (this.#batch.length === 0) this.#since = performance.now();
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
    return (
      this.#batch.length > 0 && (this.#bytes >= BATCH_BYTES || performance.now() - this.#since >= MAX_BATCH_AGE_MS)
    );
  }

  flush(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#bytes = 0;
    try {
      this.#send(batch);
    } catch {
      // Some value in the batch cannot be cloned: send one by one so only the culprit fails.
      for (const message of batch) this.#sendAlone(message);
    }
  }

  #sendAlone(message: WorkerMessage): void {
    try {
      this.#send([message]);
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
