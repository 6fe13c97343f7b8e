/**
 * Large typed arrays placed where Node's `'advanced'` channel can hand them out without a copy: the
 * unit tests serialize batches as Node's channel does and read them back as it does; the round trip
 * checks that arguments and results of real workers arrive as views of their message.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DefaultDeserializer, DefaultSerializer } from 'node:v8';
import { alignedBatch, MAX_KEPT_BYTES, ownBytes, withoutPadding } from '../src/protocol/align.js';
import { runtime, withExecutor } from './support/pool.js';

const NODE_ONLY = {
  timeout: 60_000,
  skip: runtime === 'node' ? false : "Node only: other runtimes' channels clone their own way",
};

/** The hooks Node's DefaultSerializer and DefaultDeserializer implement (not in their typings). */
interface HostHooks {
  _writeHostObject(object: object): void;
  _readHostObject(): unknown;
}

/**
 * The batch as the receiver gets it from a message joined into a buffer of its own, serialized and
 * read as Node's channel does (its 4-byte length first, views tagged as views). Made on first use:
 * other runtimes may lack these classes, and skip these tests.
 */
function throughChannel(batch: unknown[]): unknown[] {
  const serializerHooks = DefaultSerializer.prototype as unknown as HostHooks;
  const deserializerHooks = DefaultDeserializer.prototype as unknown as HostHooks;
  class ChannelSerializer extends DefaultSerializer {
    _writeHostObject(object: object): void {
      this.writeUint32(0);
      serializerHooks._writeHostObject.call(this, object);
    }
  }
  class ChannelDeserializer extends DefaultDeserializer {
    _readHostObject(): unknown {
      this.readUint32();
      return deserializerHooks._readHostObject.call(this);
    }
  }
  const serializer = new ChannelSerializer();
  serializer.writeRawBytes(Buffer.alloc(4));
  serializer.writeHeader();
  serializer.writeValue(batch);
  // Joined from several reads: a buffer that starts with the message.
  const joined = Buffer.from(new Uint8Array(serializer.releaseBuffer()));
  const deserializer = new ChannelDeserializer(joined.subarray(4));
  deserializer.readHeader();
  return withoutPadding(deserializer.readValue() as unknown[]);
}

/** True when `view` is a view of the message's buffer, not a copy of its own. */
function isView(view: ArrayBufferView): boolean {
  return view.buffer.byteLength !== view.byteLength;
}

const TYPES = [Float64Array, Float32Array, Int32Array, Uint16Array, BigInt64Array] as const;

describe('aligned typed arrays', () => {
  test('a result or a single argument of 64 KB or more lands aligned, whatever the ids', NODE_ONLY, () => {
    for (const Type of TYPES) {
      for (const bytes of [64 * 1024, 100_000 - (100_000 % 8), 1024 * 1024 - 8]) {
        const value = new Type(bytes / Type.BYTES_PER_ELEMENT);
        // Ids and function ids whose varints take one, two and three bytes.
        for (const id of [0, 63, 64, 8191, 8192, 1_000_000]) {
          const [result] = throughChannel(alignedBatch([[2, id, value]])) as [[number, number, ArrayBufferView]];
          assert.deepEqual(result.slice(0, 2), [2, id]);
          assert.ok(isView(result[2]), `${Type.name} of ${bytes} bytes, result of task ${id}`);
          const [task] = throughChannel(alignedBatch([[1, id, id % 100, [value], undefined, 0]])) as [
            [number, number, number, [ArrayBufferView], undefined, number],
          ];
          assert.deepEqual([task[0], task[1], task[2], task[4], task[5]], [1, id, id % 100, undefined, 0]);
          assert.ok(isView(task[3][0]), `${Type.name} of ${bytes} bytes, argument of task ${id}`);
          assert.equal(task[3][0].byteLength, bytes);
        }
      }
    }
  });

  test('other batches are sent as they are', NODE_ONLY, () => {
    const large = new Float64Array(12_800);
    const batches: unknown[][][] = [
      [[2, 1, new Float64Array(100)]], // small: it arrives in one read, wherever that read starts
      [[2, 1, new Uint8Array(100_000)]], // bytes need no alignment
      [
        [2, 1, large],
        [2, 2, large],
      ], // two messages
      [[2, 1, { large }]], // not the value itself
      [[1, 1, 0, [large], { source: 'x => x' }, 0]], // the function's source rides along
      [[1, 1, 0, [large, 1], undefined, 0]], // two arguments
    ];
    for (const batch of batches) assert.equal(alignedBatch(batch), batch);
  });
});

describe('ownBytes', () => {
  test('copies a view that keeps more than 64 KB of other bytes alive, as the same type, and leaves the rest', () => {
    const message = new ArrayBuffer(MAX_KEPT_BYTES + 4096);
    new Uint8Array(message).forEach((_, i, all) => {
      all[i] = i % 251;
    });
    const views: ArrayBufferView[] = [
      Buffer.from(message, 8, 2048),
      new Float64Array(message, 8, 256),
      new Uint16Array(message, 2, 100),
      new DataView(message, 1, 1000),
    ];
    for (const view of views) {
      const own = ownBytes(view);
      assert.notEqual(own, view);
      assert.equal(own.constructor, view.constructor);
      assert.equal(own.byteLength, view.byteLength);
      assert.ok(own.buffer.byteLength - own.byteLength <= MAX_KEPT_BYTES, view.constructor.name);
      const bytes = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      assert.ok(bytes(own).equals(bytes(view)), view.constructor.name);
    }
    // A view that keeps 64 KB or less, and anything else, comes back as it is.
    const close = new Float64Array(new ArrayBuffer(8 * 1000 + MAX_KEPT_BYTES), 0, 1000);
    for (const value of [close, new Float64Array(10), 'text', { a: 1 }, null]) assert.equal(ownBytes(value), value);
  });
});

describe('through workers', () => {
  test('large typed arguments and results arrive as views of their message, with their contents', NODE_ONLY, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const echo = <V>(value: V): V => value;
      const argumentIsView = (value: ArrayBufferView) => value.buffer.byteLength !== value.byteLength;
      // The first task of a function carries its source, and is not aligned: ship it first.
      await executor.submit(argumentIsView, new Float64Array(1));
      // Past task 64 the ids take two bytes: the padding changes with them.
      for (let i = 0; i < 80; i++) {
        const value = new Float64Array(12_800).map((_, j) => i * j);
        const back = await executor.submit(echo, value);
        assert.deepEqual(back, value);
        assert.ok(isView(back), `result ${i}`);
        assert.ok(await executor.submit(argumentIsView, value), `argument ${i}`);
      }
    }),
  );

  test(
    'a typed array result keeps at most 64 KB of its message alive beyond itself, even in a burst with large strings',
    { timeout: 60_000 },
    () =>
      withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
        // Node hands a result out as a view of its message whenever the bytes sit aligned (bytes
        // always do), and the view keeps that message's buffer alive; large strings share messages
        // of about a megabyte, and a small Buffer that came with them kept all of it.
        const echo = <V>(value: V): V => value;
        const values = Array.from({ length: 480 }, (_, i) => {
          if (i % 4 === 0) return new Uint8Array(100_000).fill(i);
          if (i % 4 === 1) return new Float64Array(12_800).fill(i);
          if (i % 4 === 2) return Buffer.alloc(2_000 + i, i);
          return String(i % 10).repeat(100_000);
        });
        const echoes = await Promise.all(values.map((value) => executor.submit(echo, value)));
        for (const [i, back] of echoes.entries()) {
          assert.deepEqual(back, values[i]);
          if (typeof back === 'string') continue;
          // A large one that travelled alone keeps the rest of the last 64 KB read, and the few
          // bytes of length, header and id before its own.
          const extra = back.buffer.byteLength - back.byteLength;
          assert.ok(extra <= 64 * 1024 + 64, `result ${i} (${back.constructor.name}) keeps ${extra} bytes more`);
        }
      }),
  );
});
