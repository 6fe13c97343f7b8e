/**
 * The byte lane: large typed arrays and Buffers cross a second pipe as raw bytes, beside the IPC
 * channel. Through IPC, V8's serializer copies such an array into a growing buffer, the receiver
 * joins the pieces of the message into another and, seven times in eight, copies the array out
 * again to align it. On the lane the sender's bytes go to the socket as they are, and the receiver
 * copies each frame once, into a buffer of its own.
 *
 * A message names the places of the values it left out (`lane` positions, in order); the values
 * follow on the lane in that order. The two pipes are each in order but not with each other, so
 * {@link LaneJoin} holds a message until its values have arrived, and everything after it too:
 * what is received is handled in the order it was sent.
 *
 * A frame is an 8-byte header (byte length and type code, each a uint32 LE) followed by the bytes.
 * Each side writes frames in the order of the messages that name them, right after sending each.
 * @module
 */
import { Fifo } from '../engine/fifo.js';

/**
 * Typed arrays and Buffers from this size on take the lane; smaller ones stay in their message.
 * Measured on Node 20, 2 cores, echoing Float64Arrays through 2 workers: at 100 KB and 1 MB the lane
 * and IPC are level (a message each way costs as much as the copies saved); at 8 MB the lane moves
 * 1.4× the bytes per second, at 32 MB 1.6–1.9× with half the parent's CPU time and none of IPC's
 * transient copies (IPC peaked 130–170 MB above the values themselves, the lane 0–36 MB).
 */
export const LANE_MIN_BYTES = 1024 * 1024;

/** The file descriptor of the lane in a worker, passed in this variable when there is one. */
export const LANE_FD_VARIABLE = 'RXPOOL_LANE_FD';

/** The position that stands for the whole value rather than one of its elements. */
export const WHOLE = -1;

const HEADER_BYTES = 8;

/** What a frame can hold, by type code. Only exact classes: a subclass stays in its message. */
const TYPES = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
  Buffer,
] as const;
const BUFFER_CODE = TYPES.indexOf(Buffer);
const CODES = new Map<unknown, number>(TYPES.map((type, code) => [type.prototype, code]));

/** The type code of a typed array or Buffer a frame can hold, or -1. */
function typeCode(value: ArrayBufferView): number {
  return CODES.get(Object.getPrototypeOf(value)) ?? -1;
}

/** A frame's length is a uint32: a larger value (4 GiB or more) stays in its message. */
const MAX_FRAME_BYTES = 2 ** 32 - 1;

/** True for a value that takes the lane: a typed array, DataView or Buffer of LANE_MIN_BYTES or more. */
export function takesLane(value: unknown): value is ArrayBufferView {
  return (
    ArrayBuffer.isView(value) &&
    value.byteLength >= LANE_MIN_BYTES &&
    value.byteLength <= MAX_FRAME_BYTES &&
    typeCode(value) !== -1
  );
}

/** What {@link splitLane} took out of a payload. */
export interface LaneSplit {
  /** The payload to send in the message: `undefined` for a whole value, else a copy with `null` in the taken places. */
  readonly rest: unknown;
  /** Where the taken values were: {@link WHOLE}, or indices into the payload. */
  readonly positions: number[];
  readonly views: ArrayBufferView[];
}

/**
 * Takes the lane's values out of `payload`: the payload itself, or the elements of a payload array
 * (deeper values stay in the message). `undefined` when there is none, or when the receiver would
 * not get what structured clone gives: an array with holes or named properties, a value found twice,
 * or one that the rest of the payload refers to as well (structured clone keeps it one object).
 */
export function splitLane(payload: unknown): LaneSplit | undefined {
  if (takesLane(payload)) return { rest: undefined, positions: [WHOLE], views: [payload] };
  if (!Array.isArray(payload)) return undefined;
  let rest: unknown[] | undefined;
  const positions: number[] = [];
  const views: ArrayBufferView[] = [];
  for (let i = 0; i < payload.length; i++) {
    const item: unknown = payload[i];
    if (!takesLane(item)) continue;
    rest ??= payload.slice();
    rest[i] = null;
    positions.push(i);
    views.push(item);
  }
  if (!rest) return undefined;
  // Rare, and checked only when something takes the lane: its transfer dwarfs the look.
  const plain = Object.getPrototypeOf(payload) === Array.prototype && Object.keys(payload).length === payload.length;
  const taken = new Set(views);
  return plain && taken.size === views.length && !mentions(rest, taken) ? { rest, positions, views } : undefined;
}

/** Objects looked into at most by {@link mentions}: past that, it answers "maybe". */
const LOOK_BUDGET = 10_000;

/**
 * Whether `root` refers to one of `views` anywhere inside (through arrays, objects, Maps and Sets),
 * or is too big to tell cheaply.
 */
function mentions(root: unknown, views: ReadonlySet<object>): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    if (views.has(value)) return true;
    if (seen.size >= LOOK_BUDGET) return true;
    seen.add(value);
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) continue;
    if (value instanceof Map) for (const [key, item] of value) stack.push(key, item);
    else if (value instanceof Set) for (const item of value) stack.push(item);
    else for (const key of Object.keys(value)) stack.push((value as Record<string, unknown>)[key]);
  }
  return false;
}

/** Puts the values that arrived on the lane back where `positions` says; returns the payload. */
export function joinLane(rest: unknown, positions: readonly number[], views: readonly ArrayBufferView[]): unknown {
  if (positions[0] === WHOLE) return views[0];
  const payload = rest as unknown[];
  for (let i = 0; i < positions.length; i++) payload[positions[i] as number] = views[i];
  return payload;
}

/** Where frames are written: a socket (or anything with the same `write`, `cork` and `uncork`). */
export interface LaneSink {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array): boolean;
}

/**
 * Writes `views` (of the types {@link takesLane} accepts, any size) as frames. The bytes are not
 * copied: the socket reads them when it can, so a value must not change until its task is done (as
 * with every argument: it is read when it is sent, not when it is submitted).
 */
export function writeFrames(sink: LaneSink, views: readonly ArrayBufferView[]): void {
  sink.cork();
  for (const view of views) {
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32LE(view.byteLength, 0);
    header.writeUInt32LE(typeCode(view), 4);
    sink.write(header);
    sink.write(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  }
  sink.uncork();
}

/**
 * Cuts the bytes read from the lane into frames, whatever the chunks: each value is copied once, as
 * it arrives, into a buffer of its own (aligned, exactly its size, nothing else kept alive).
 */
export class FrameReader {
  readonly #onFrame: (view: ArrayBufferView) => void;
  readonly #header = Buffer.alloc(HEADER_BYTES);
  #headerFill = 0;
  #body: Buffer | undefined;
  #bodyFill = 0;
  #code = 0;

  constructor(onFrame: (view: ArrayBufferView) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (!this.#body) {
        const n = Math.min(HEADER_BYTES - this.#headerFill, chunk.length - at);
        this.#header.set(chunk.subarray(at, at + n), this.#headerFill);
        this.#headerFill += n;
        at += n;
        if (this.#headerFill < HEADER_BYTES) return;
        this.#headerFill = 0;
        // Not zero-filled first: every byte is written from the pipe before the value is handed out.
        this.#body = Buffer.allocUnsafeSlow(this.#header.readUInt32LE(0));
        this.#code = this.#header.readUInt32LE(4);
        this.#bodyFill = 0;
      }
      const body = this.#body;
      const n = Math.min(body.length - this.#bodyFill, chunk.length - at);
      body.set(chunk.subarray(at, at + n), this.#bodyFill);
      this.#bodyFill += n;
      at += n;
      if (this.#bodyFill < body.length) return;
      this.#body = undefined;
      this.#onFrame(viewOf(body, this.#code));
    }
  }
}

function viewOf(bytes: Buffer, code: number): ArrayBufferView {
  if (code === BUFFER_CODE) return bytes;
  const Type = TYPES[code];
  if (Type === undefined) throw new Error(`rxpool internal error: unknown byte-lane type ${code}`);
  if (Type === DataView) return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const width = (Type as typeof Float64Array).BYTES_PER_ELEMENT;
  return new (Type as typeof Float64Array)(bytes.buffer, bytes.byteOffset, bytes.length / width);
}

/**
 * Puts received messages and lane values back together, in order. `needs` says how many lane
 * values a message waits for; `ready` gets, in order, the messages whose values have arrived
 * (filled in by `fill`, after which `needs` says 0), several at once when they came together.
 */
export class LaneJoin<M> {
  readonly #needs: (message: M) => number;
  readonly #fill: (message: M, views: ArrayBufferView[]) => M;
  readonly #ready: (messages: M[]) => void;
  // Queues with an O(1) shift: a stalled value may hold thousands of small messages behind it.
  readonly #waiting = new Fifo<M>();
  readonly #views = new Fifo<ArrayBufferView>();

  constructor(
    needs: (message: M) => number,
    fill: (message: M, views: ArrayBufferView[]) => M,
    ready: (messages: M[]) => void,
  ) {
    this.#needs = needs;
    this.#fill = fill;
    this.#ready = ready;
  }

  /** Nothing held back: a message that needs no lane value may skip the join. */
  get idle(): boolean {
    return this.#waiting.length === 0;
  }

  /** Messages received, in order. */
  messages(batch: readonly M[]): void {
    for (const message of batch) this.#waiting.push(message);
    this.#drain();
  }

  /** A value received on the lane. */
  value(view: ArrayBufferView): void {
    this.#views.push(view);
    this.#drain();
  }

  /**
   * Lets go of everything held, for good: the other side is gone. Returns the messages still held,
   * in order, those whose values did arrive filled in; the others still wait for theirs.
   */
  release(): M[] {
    const out: M[] = [];
    let complete = true;
    for (const message of this.#waiting.drain()) {
      const needs = this.#needs(message);
      // Values come in order: after the first message short of its values, none has any.
      complete &&= needs <= this.#views.length;
      out.push(needs > 0 && complete ? this.#fill(message, this.#views.take(needs)) : message);
    }
    this.#views.drain();
    return out;
  }

  #drain(): void {
    const out: M[] = [];
    for (let message = this.#waiting.peek(); message !== undefined; message = this.#waiting.peek()) {
      const needs = this.#needs(message);
      if (needs > this.#views.length) break;
      this.#waiting.shift();
      out.push(needs === 0 ? message : this.#fill(message, this.#views.take(needs)));
    }
    if (out.length > 0) this.#ready(out);
  }
}
