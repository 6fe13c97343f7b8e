/**
 * How big a message may grow before it is sent. Many payloads share one message, up to about a
 * megabyte: Node's IPC channel reads 64 KB at a time, and each time a read completes a message it
 * copies everything it holds into one buffer, the next message's first bytes included, which are
 * copied again with the next. Large messages sent back to back (a worker queued several tasks, or
 * answers them as fast as they come) were each copied 1.25 times at 100 KB, into fresh memory;
 * at a megabyte the excess is at most a read (6%), and there are a tenth as many messages.
 * A typed array that shares such a message is copied out of it on arrival (by Node, or by
 * align.ts's `ownBytes`), so that it does not keep the others' bytes alive.
 * @module
 */

/**
 * A batch is sent once the payloads in it reach about this many bytes. Measured on Node 20, 2 cores,
 * echoing 2,000 values of 100 KB through 2 workers, against 64 KB (one message per value): strings
 * 3–7% more MB/s with 14% less CPU (parent and workers); Float64Arrays 0.96× jest-worker's MB/s in
 * the full bench where one message each (aligned, handed out uncopied) gave 0.82–0.87×, with 8%
 * less parent CPU: copied once into a buffer of their own size, they cost less than the 25% the
 * channel copies again and the 22% more memory an in-place view keeps. 256 KB in between. Tasks of
 * a millisecond or more are mostly sent and answered one at a time anyway (prefetch depth, the
 * outbox's age limit): this is for large data and little work.
 */
export const BATCH_BYTES = 1024 * 1024;

/**
 * A cheap guess at the bytes `value` adds to a message: a string's length, a typed array's or
 * buffer's byteLength, 0 for anything else (containers are not walked, so the guess costs nothing
 * for the tiny values that batching is for).
 */
export function payloadSize(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null) return 0;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
  return 0;
}

/** The guess for a list of values: a task's arguments, or a chunk's items. */
export function payloadSizeOf(values: readonly unknown[]): number {
  let bytes = 0;
  for (const value of values) bytes += payloadSize(value);
  return bytes;
}
