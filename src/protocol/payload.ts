/**
 * How big a message may grow before it is sent: small messages are batched (one write for many
 * tiny tasks), large payloads travel one message each, so that the receiver starts on the first
 * while the next is still in the pipe rather than waiting for one huge write to arrive whole.
 * @module
 */

/** A batch is sent once the payloads in it reach about this many bytes (a socket buffer's worth). */
export const BATCH_BYTES = 64 * 1024;

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
