/**
 * How big a message may grow before it is sent. Many payloads share one message, up to about a
 * megabyte: Node's IPC channel reads 64 KB at a time, and each time a read completes a message it
 * copies everything it holds into one buffer, the next message's first bytes included, which are
 * copied again with the next. Large messages sent back to back (a worker queued several tasks, or
 * answers them as fast as they come) were each copied 1.25 times at 100 KB, into fresh memory;
 * at a megabyte the excess is at most a read (6%), and there are a tenth as many messages.
 * Typed arrays are the exception: their batches stay near 64 KB (see VIEW_WEIGHT).
 * @module
 */

/**
 * A batch is sent once the payloads in it reach about this many bytes. Measured on Node 20, 2 cores,
 * echoing 2,000 strings of 100 KB through 2 workers, against 64 KB (one message per string): 3–7%
 * more MB/s with 14% less CPU (parent and workers); 256 KB in between. Tasks of a millisecond or
 * more are mostly sent and answered one at a time anyway (prefetch depth, the outbox's age limit):
 * this is for large data and little work.
 */
export const BATCH_BYTES = 1024 * 1024;

/**
 * Typed arrays, Buffers and DataViews count this many times their bytes, so that a batch carrying
 * them stays near 64 KB, as before megabyte batches. Node hands such a value out as a view of its
 * message's buffer whenever its bytes sit aligned there (always, for bytes), and a received view
 * that would keep more than 64 KB of other bytes alive is copied (align.ts, `ownBytes`): in batches
 * of a megabyte, 100 KB Uint8Array results kept up to 11 times their size and were all copied; at
 * 64 KB a large one travels alone, placed to be handed out uncopied, and small ones seldom need it.
 * An ArrayBuffer is copied on arrival anyway: it counts its bytes.
 */
const VIEW_WEIGHT = BATCH_BYTES / (64 * 1024);

/**
 * A cheap guess at what `value` adds to a message, in bytes: a string's length, an ArrayBuffer's
 * byteLength, a typed array's (or Buffer's, or DataView's) {@link VIEW_WEIGHT} times its byteLength,
 * 0 for anything else (containers are not walked, so the guess costs nothing for the tiny values
 * that batching is for).
 */
export function payloadSize(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null) return 0;
  if (ArrayBuffer.isView(value)) return value.byteLength * VIEW_WEIGHT;
  if (value instanceof ArrayBuffer) return value.byteLength;
  return 0;
}

/** The guess for a list of values: a task's arguments, or a chunk's items. */
export function payloadSizeOf(values: readonly unknown[]): number {
  let bytes = 0;
  for (const value of values) bytes += payloadSize(value);
  return bytes;
}
