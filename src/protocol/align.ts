/**
 * Alignment of a large typed array in an IPC message. Node's `'advanced'` channel hands a received
 * typed array out as a view of the message's own buffer when its bytes sit at a multiple of its
 * element size there, and otherwise copies them into a fresh buffer first (seven times in eight for a
 * Float64Array): a second copy of every such argument and result, and external memory that brings
 * V8's collector. A message larger than one read of the pipe (64 KB) arrives joined into a buffer of
 * its own, so where its bytes will land can be counted from V8's wire format: a short string put
 * first in the batch moves them to the right place, and the receiver drops it.
 *
 * Only the plainest batches are aligned: one message, a value message (`[tag, id, value]`) or a
 * task whose worker has its function, with the typed array as its one argument. A count that turns
 * out wrong breaks nothing: the receiver copies, as it would have. Node only: other runtimes clone
 * in their own way.
 * @module
 */
import { serialize } from 'node:v8';
import { currentRuntime } from '../platform/runtime.js';

/** Bytes before V8's data: Node frames each message with its length. */
const LENGTH_PREFIX = 4;
const ALIGNS = currentRuntime() === 'node';
/** V8's header: the version tag and number. */
const HEADER = ALIGNS ? serialize(undefined).length - 1 : 0;
/** Messages from this size on arrive in more than one read, joined into a buffer that starts with them. */
const MIN_BYTES = 64 * 1024;

/** Bytes of a uint32 as a base-128 varint. */
function varintBytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Bytes of a small integer: its tag and its zigzag varint; -1 for anything else (the count gives up). */
function smiBytes(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) >= 2 ** 30) return -1;
  return 1 + varintBytes(value >= 0 ? 2 * value : -2 * value - 1);
}

/**
 * `batch`, or, when its one message carries a large typed array that would arrive misaligned, a
 * padding string followed by that message. The receiver drops a string found first in a batch.
 */
export function alignedBatch<M extends readonly unknown[]>(batch: M[]): Array<M | string> {
  if (!ALIGNS || batch.length !== 1) return batch;
  const found = alignable(batch[0] as M);
  if (!found) return batch;
  const [view, fields] = found;
  const size = (view as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  if (size === 1 || view.byteLength < MIN_BYTES || fields < 0) return batch;
  // The batch and the message: each a tag and a one-byte length. Then the typed array: V8's
  // host-object tag, Node's two (a view; its type) and the byte length.
  const before = LENGTH_PREFIX + HEADER + 2 + 2 + fields + 3 + varintBytes(view.byteLength);
  const missing = (size - (before % size)) % size;
  if (missing === 0) return batch;
  // A one-byte string takes its tag, its length (one byte here) and its characters.
  return ['.'.repeat(missing >= 2 ? missing - 2 : missing + size - 2), batch[0] as M];
}

/** The typed array of a message that can be aligned, and the bytes of the fields before it. */
function alignable(message: readonly unknown[]): [view: ArrayBufferView, fields: number] | undefined {
  // A result, a streamed or progress value: [tag, taskId, value].
  if (message.length === 3) {
    const value = message[2];
    return ArrayBuffer.isView(value) ? [value, fieldBytes(message[0], message[1])] : undefined;
  }
  // A task with one argument, its function already in the worker: [tag, taskId, fnId, [value], undefined, mode].
  const args = message[3];
  if (message.length !== 6 || message[4] !== undefined || !Array.isArray(args) || args.length !== 1) return undefined;
  const value: unknown = args[0];
  if (!ArrayBuffer.isView(value)) return undefined;
  const fields = fieldBytes(message[0], message[1], message[2]);
  // The arguments' array: a tag and a one-byte length.
  return [value, fields < 0 ? -1 : fields + 2];
}

/** Bytes of small-integer fields in a row; -1 if any is not one (the count gives up). */
function fieldBytes(...fields: unknown[]): number {
  let bytes = 0;
  for (const field of fields) {
    const size = smiBytes(field);
    if (size < 0) return -1;
    bytes += size;
  }
  return bytes;
}

/** `batch` without the padding string {@link alignedBatch} may have put first. */
export function withoutPadding<M>(batch: Array<M | string>): M[] {
  return (typeof batch[0] === 'string' ? batch.slice(1) : batch) as M[];
}

/** How much of its message's buffer a received view may keep alive beyond its own bytes. */
export const MAX_KEPT_BYTES = 64 * 1024;

/**
 * `value`, or a copy of it with a buffer of its own when it is a typed array, Buffer or DataView
 * that keeps more than {@link MAX_KEPT_BYTES} of its message alive. Node hands a received view out
 * in place whenever its bytes sit aligned (always, for bytes), and a message may carry a megabyte
 * of other values (see payload.ts): a 2 KB Buffer result kept up to 1 MB alive. A large array
 * that travelled alone keeps at most the rest of the last 64 KB read, and stays as it is.
 */
export function ownBytes<T>(value: T): T {
  if (!ArrayBuffer.isView(value) || value.buffer.byteLength - value.byteLength <= MAX_KEPT_BYTES) return value;
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  if (value instanceof DataView) {
    return new DataView(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)) as T;
  }
  return (value as unknown as Uint8Array).slice() as T;
}
