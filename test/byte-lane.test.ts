/**
 * The byte lane: typed arrays and Buffers of 1 MiB or more cross a pipe of their own, as raw bytes,
 * beside the IPC channel. The unit tests say which values take it and check the framing and the
 * ordering under every interleaving; the round trips through real workers check that values come
 * back exact and in the right task, and that a worker dying with a value on the way fails only
 * that task.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { CancelledError, TerminatedWorkerError } from 'rxpool';
import {
  FrameReader,
  joinLane,
  LANE_MIN_BYTES,
  LaneJoin,
  splitLane,
  takesLane,
  WHOLE,
  writeFrames,
} from '../src/protocol/byte-lane.js';
import { pack } from '../src/protocol/packed.js';
import { runtime, withExecutor, withThrowingGetter } from './support/pool.js';

const T = { timeout: 120_000 };
const MiB = 1024 * 1024;

/** Every kind of value the lane carries, `bytes` long, its contents made from `seed`. */
function laneValues(bytes: number, seed: number): ArrayBufferView[] {
  const fill = (view: ArrayBufferView) => {
    const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    for (let i = 0; i < u8.length; i += 4093) u8[i] = (i + seed) % 251;
    u8[u8.length - 1] = seed % 256;
    return view;
  };
  const buffer = () => new ArrayBuffer(bytes);
  return [
    new Int8Array(buffer()),
    new Uint8Array(buffer()),
    new Uint8ClampedArray(buffer()),
    new Int16Array(buffer()),
    new Uint16Array(buffer()),
    new Int32Array(buffer()),
    new Uint32Array(buffer()),
    new Float32Array(buffer()),
    new Float64Array(buffer()),
    new BigInt64Array(buffer()),
    new BigUint64Array(buffer()),
    new DataView(buffer()),
    Buffer.alloc(bytes),
  ].map(fill);
}

/** Same class, same bytes. */
function assertSameView(actual: unknown, expected: ArrayBufferView, label: string): void {
  assert.ok(ArrayBuffer.isView(actual), `${label}: a typed array came back`);
  assert.equal(actual.constructor, expected.constructor, `${label}: same class`);
  assert.equal(Buffer.isBuffer(actual), Buffer.isBuffer(expected), `${label}: a Buffer stays a Buffer`);
  const bytes = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  assert.ok(bytes(actual).equals(bytes(expected)), `${label}: same bytes`);
}

/** A sink that keeps what is written, as the socket would send it. */
function memorySink(): { sink: Parameters<typeof writeFrames>[0]; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    sink: {
      cork() {},
      uncork() {},
      write(chunk) {
        chunks.push(Buffer.from(chunk)); // a copy: the socket may read later, the test reads now
        return true;
      },
    },
    bytes: () => Buffer.concat(chunks),
  };
}

describe('which values take the byte lane', () => {
  test('typed arrays, DataViews and Buffers of 1 MiB or more take it; smaller ones, subclasses and anything else do not', () => {
    for (const view of laneValues(LANE_MIN_BYTES, 1)) assert.ok(takesLane(view), view.constructor.name);
    for (const view of laneValues(LANE_MIN_BYTES - 8, 1)) assert.ok(!takesLane(view), `small ${view.constructor.name}`);
    class Samples extends Float64Array {}
    assert.ok(
      !takesLane(new Samples(LANE_MIN_BYTES / 8)),
      'a subclass keeps structured clone, which makes it a Float64Array',
    );
    for (const other of [new ArrayBuffer(LANE_MIN_BYTES), 'x'.repeat(LANE_MIN_BYTES), [new Uint8Array(8)], null])
      assert.ok(!takesLane(other));
  });

  test('a payload gives up itself, or its large elements (nulls keep their places); joining puts them back', () => {
    const [big, other] = laneValues(LANE_MIN_BYTES, 2) as [ArrayBufferView, ArrayBufferView];
    const whole = splitLane(big);
    assert.deepEqual(whole && { rest: whole.rest, positions: whole.positions }, {
      rest: undefined,
      positions: [WHOLE],
    });
    assert.equal(joinLane(whole?.rest, [WHOLE], [big]), big);

    const args = [1, big, 'small', other, new Uint8Array(4)];
    const split = splitLane(args);
    assert.ok(split);
    assert.deepEqual(split.positions, [1, 3]);
    assert.deepEqual(split.rest, [1, null, 'small', null, new Uint8Array(4)]);
    assert.equal(args[1], big, "the caller's array is left as it was");
    assert.deepEqual(joinLane(split.rest, split.positions, split.views), args);

    assert.equal(splitLane([1, 'two', new Float64Array(16)]), undefined);
    assert.equal(splitLane({ big }), undefined, 'only the payload and its own elements are looked at');
  });

  test('a payload whose receiver would not get what structured clone gives keeps its values in the message', () => {
    const [big, other] = laneValues(LANE_MIN_BYTES, 3) as [ArrayBufferView, ArrayBufferView];
    // Structured clone keeps one object where the payload had one: the lane would make two.
    assert.equal(splitLane([big, big]), undefined, 'the same array twice');
    assert.equal(splitLane([big, { also: [new Map([['k', big]])] }]), undefined, 'the same array deeper inside');
    assert.equal(splitLane([big, new Set([other, { big }])]), undefined, 'inside a Set');
    // Holes and named properties would be lost by the copy the lane makes of the array.
    assert.equal(splitLane(Object.assign([big], { label: 'x' })), undefined, 'a named property');
    // biome-ignore lint/suspicious/noSparseArray: a hole is the point
    assert.equal(splitLane([big, , 2]), undefined, 'a hole');
    class Batch extends Array {}
    assert.equal(splitLane(Batch.from([big])), undefined, 'an Array subclass');
    // Too big to look through cheaply: not taken, rather than a guess.
    const many = Array.from({ length: 20_000 }, (_, i) => ({ i }));
    assert.equal(splitLane([big, many]), undefined);
    const ok = splitLane([big, { options: [1, 2], other }, other.byteLength]);
    assert.deepEqual(ok?.positions, [0], 'a value that refers to other large arrays, not to a taken one, is fine');
  });
});

describe('frames', () => {
  test('values come out whatever the pipe cuts them into, each exact and in memory of its own', () => {
    const kinds = laneValues(64, 0).map((view) => view.constructor as new (buffer: ArrayBuffer) => ArrayBufferView);
    const view = fc
      .record({
        kind: fc.integer({ min: 0, max: kinds.length - 1 }),
        elements: fc.integer({ min: 0, max: 40 }),
        offset: fc.integer({ min: 0, max: 3 }),
        seed: fc.integer({ min: 0, max: 255 }),
      })
      .map(({ kind, elements, offset, seed }) => {
        const Kind = kinds[kind] as new (buffer: ArrayBuffer, offset: number, length?: number) => ArrayBufferView;
        const width = (Kind as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
        const backing = new ArrayBuffer((elements + offset + 1) * width);
        new Uint8Array(backing).forEach((_, i, all) => {
          all[i] = (i * 7 + seed) % 256;
        });
        // A view into a larger buffer (a DataView's length is in bytes, its width 1): only its own bytes travel.
        return Kind === Buffer ? Buffer.from(backing, offset, elements) : new Kind(backing, offset * width, elements);
      });
    fc.assert(
      fc.property(
        fc.array(view, { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1 }),
        (views, cuts) => {
          const { sink, bytes } = memorySink();
          writeFrames(sink, views);
          const all = bytes();
          const out: ArrayBufferView[] = [];
          const reader = new FrameReader((received) => out.push(received));
          for (let at = 0, i = 0; at < all.length; i++) {
            const size = cuts[i % cuts.length] as number;
            reader.push(all.subarray(at, at + size));
            at += size;
          }
          assert.equal(out.length, views.length);
          for (let i = 0; i < views.length; i++) {
            const received = out[i] as ArrayBufferView;
            assertSameView(received, views[i] as ArrayBufferView, `value ${i}`);
            assert.equal(received.byteOffset, 0);
            assert.equal(received.buffer.byteLength, received.byteLength, 'nothing else kept alive');
          }
        },
      ),
    );
  });
});

describe('putting messages and values back together', () => {
  type Message = { readonly id: number; readonly needs: number; filled?: number[] };
  const join = (out: Message[]) =>
    new LaneJoin<Message>(
      (message) => (message.filled ? 0 : message.needs),
      (message, views) => ({ ...message, filled: views.map((view) => (view as Uint8Array)[0] as number) }),
      (ready) => {
        for (const message of ready) out.push(message);
      },
    );

  test('messages come out in the order they came, each with its own values, however the two pipes interleave', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 20 }),
        fc.array(fc.boolean(), { maxLength: 80 }),
        (needs, order) => {
          const messages: Message[] = needs.map((n, id) => ({ id, needs: n }));
          // Value k is the k-th value sent: the lane carries them in the order of their messages.
          const values = messages
            .flatMap((message) => Array.from({ length: message.needs }, () => 0))
            .map((_, k) => new Uint8Array([k]));
          const out: Message[] = [];
          const joined = join(out);
          let m = 0;
          let v = 0;
          for (const takeMessage of [...order, ...Array(messages.length + values.length).fill(true)]) {
            if ((takeMessage && m < messages.length) || v === values.length) {
              if (m < messages.length) joined.messages([messages[m++] as Message]);
            } else joined.value(values[v++] as Uint8Array);
          }
          assert.deepEqual(
            out.map((message) => message.id),
            messages.map((message) => message.id),
          );
          let k = 0;
          for (const message of out) {
            const expected = Array.from({ length: message.needs }, () => k++);
            assert.deepEqual(message.filled ?? [], expected, `message ${message.id}`);
          }
          assert.ok(joined.idle);
        },
      ),
    );
  });

  test('a value that keeps 100,000 messages waiting behind it lets them all go at once, in order', () => {
    const out: Message[] = [];
    const joined = join(out);
    joined.messages([{ id: 0, needs: 1 }]);
    for (let id = 1; id <= 100_000; id++) joined.messages([{ id, needs: 0 }]);
    assert.equal(out.length, 0);
    // The join's queues shift in O(1): with Array.prototype.shift this took 3 s here (400,000: 24 s).
    joined.value(new Uint8Array([7]));
    assert.equal(out.length, 100_001);
    assert.ok(out.every((message, i) => message.id === i));
    assert.deepEqual(out[0]?.filled, [7]);
  });

  test('released, what has its values comes out filled; from the first message short of its values on, none is', () => {
    const out: Message[] = [];
    const joined = join(out);
    joined.messages([
      { id: 0, needs: 2 },
      { id: 1, needs: 0 },
      { id: 2, needs: 1 },
    ]);
    joined.value(new Uint8Array([0]));
    assert.deepEqual(out, [], 'message 0 waits for its second value, and message 1 behind it');
    const released = joined.release();
    assert.deepEqual(
      released.map((message) => [message.id, message.filled]),
      [
        [0, undefined],
        [1, undefined],
        [2, undefined],
      ],
    );
    assert.ok(joined.idle);
  });
});

describe('large typed arrays through real workers', T, () => {
  test('every kind goes to a worker and comes back exact, beside small arguments, as a value or inside one', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const values = laneValues(LANE_MIN_BYTES + 24, 7);
      const describeAll = (...args: unknown[]) =>
        args.map((arg) => (ArrayBuffer.isView(arg) ? [arg.constructor.name, arg.byteLength] : arg));
      const seen = await executor.submit(describeAll, 'first', ...values, 42);
      assert.deepEqual(seen, [
        'first',
        ...values.map((view) => [Buffer.isBuffer(view) ? 'Buffer' : view.constructor.name, view.byteLength]),
        42,
      ]);
      const echoed = await Promise.all(values.map((view) => executor.submit((x: unknown) => x, view)));
      for (const [i, back] of echoed.entries()) assertSameView(back, values[i] as ArrayBufferView, `echo ${i}`);
      const inside = await executor.submit((...xs: unknown[]) => [xs.length, ...xs, 'end'], ...values);
      assert.equal(inside[0], values.length);
      assert.equal(inside.at(-1), 'end');
      for (const [i, view] of values.entries()) assertSameView(inside[i + 1], view, `inside ${i}`);
    }),
  );

  test('a worker opens its end when it first needs it: a large result is the first thing on the lane', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      // Nothing large went to this worker before: writing the result is what opens the lane.
      const made = await executor.submit((n: number) => new Float64Array(n).map((_, i) => i * 0.5), LANE_MIN_BYTES / 4);
      assert.ok(made instanceof Float64Array);
      assert.equal(made.length, LANE_MIN_BYTES / 4);
      assert.deepEqual([made[1], made[made.length - 1]], [0.5, (made.length - 1) * 0.5]);
      // Then the other way: a large argument, read from the lane now open.
      assert.equal(await executor.submit((x: Float64Array) => x[x.length - 1], made), (made.length - 1) * 0.5);
    }),
  );

  test(
    'a view into a larger buffer sends only its own bytes (on Bun, the whole buffer: see platform/runtime.ts)',
    T,
    () =>
      withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
        const backing = new Float64Array((3 * LANE_MIN_BYTES) / 8).map((_, i) => i);
        const middle = backing.subarray(LANE_MIN_BYTES / 8, (2 * LANE_MIN_BYTES) / 8 + 1);
        const [length, first, last, bufferBytes] = await executor.submit(
          (x: Float64Array) => [x.length, x[0], x[x.length - 1], x.buffer.byteLength],
          middle,
        );
        assert.deepEqual([length, first, last], [middle.length, middle[0], middle[middle.length - 1]]);
        // Bun's IPC clones a view's whole ArrayBuffer, as structured clone does; Node's sends the view's bytes.
        const sent = runtime === 'bun' ? backing.byteLength : middle.byteLength;
        assert.equal(bufferBytes, sent, 'what the worker got around the view');
      }),
  );

  test('chunks of map() and the values of a stream carry them too', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const items = Array.from({ length: 5 }, (_, i) => new Float64Array(LANE_MIN_BYTES / 8).fill(i));
      const sums: number[] = [];
      for await (const back of executor.map((x: Float64Array) => x.map((v) => v * 2), items, { chunksize: 2 }))
        sums.push((back as Float64Array)[0] as number, (back as Float64Array).length);
      assert.deepEqual(sums, [0, MiB / 8, 2, MiB / 8, 4, MiB / 8, 6, MiB / 8, 8, MiB / 8]);
      const streamed = await lastValueFrom(
        executor
          .stream(function* (n: number) {
            for (let i = 0; i < n; i++) yield new Uint32Array((1024 * 1024) / 4).fill(i);
          }, 3)
          .pipe(toArray()),
      );
      assert.deepEqual(
        streamed.map((view) => [view.constructor.name, (view as Uint32Array)[0], (view as Uint32Array).length]),
        [0, 1, 2].map((i) => ['Uint32Array', i, MiB / 4]),
      );
    }),
  );

  test('many large arguments queued on busy workers each reach their own task, with some cancelled on the way', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const firstOf = (x: Float64Array, small: number) => [x[0], x[x.length - 1], small];
      const futures = Array.from({ length: 30 }, (_, i) =>
        executor.submit(firstOf, new Float64Array(LANE_MIN_BYTES / 8 + i).fill(i), i * 10),
      );
      // Cancelled as the task before starts: by then it may wait in a worker, its array sent or on its
      // way. cancel() says true when the task was still in the executor; a task already sent is
      // dropped by its worker if it has not started it, and then rejects too.
      const surely = new Set<number>();
      const asked = new Set<number>();
      const firstId = futures[0]?.taskId ?? 0;
      const subscription = executor.events$.subscribe((event) => {
        const i = event.type === 'task-start' ? event.taskId - firstId : -1;
        if (i % 3 !== 0 || !futures[i + 1]) return;
        asked.add(i + 1);
        if (futures[i + 1]?.cancel()) surely.add(i + 1);
      });
      const outcomes = await Promise.allSettled(futures);
      subscription.unsubscribe();
      let cancelled = 0;
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.status === 'rejected') {
          assert.ok(asked.has(i), `task ${i} failed: ${outcome.reason}`);
          assert.ok(outcome.reason instanceof CancelledError);
          cancelled++;
        } else {
          assert.ok(!surely.has(i), `task ${i} ran after cancel() said it would not`);
          assert.deepEqual(outcome.value, [i, i, i * 10], `task ${i}`);
        }
      }
      assert.ok(cancelled > 0, 'some were cancelled');
    }),
  );

  test(
    'a worker that exits while a large result is on its way fails that task with its exit code; the pool goes on',
    T,
    () =>
      withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
        const huge = () => {
          // The value is handed over, then the process ends before 64 MB can have left it.
          setImmediate(() => process.exit(3));
          return new Float64Array((64 * 1024 * 1024) / 8).fill(1);
        };
        const error = await executor.submit(huge).then(
          () => assert.fail('the result cannot have arrived whole'),
          (reason: unknown) => reason,
        );
        assert.ok(error instanceof TerminatedWorkerError, String(error));
        assert.equal(error.exitCode, 3);
        const after = await executor.submit((x: Float64Array) => x.length, new Float64Array(LANE_MIN_BYTES / 8));
        assert.equal(after, LANE_MIN_BYTES / 8);
      }),
  );

  test('a getter that throws in an argument beside a large array fails only that task', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      // The lane looks through the other arguments for the array; the getter throws right there.
      const bad = withThrowingGetter({}, 'broken', 'getter says no');
      await assert.rejects(
        executor.submit((a: Float64Array, _b: object) => a.length, new Float64Array(LANE_MIN_BYTES / 8), bad),
        {
          name: 'SerializationError',
          message: /argument 2 → \.broken is a getter that throws Error: getter says no/,
        },
      );
      assert.equal(await executor.submit((a: Float64Array) => a.length, new Float64Array(LANE_MIN_BYTES / 8)), MiB / 8);
    }),
  );

  test('a long plain list of numbers, packed, takes the lane as a Float64Array, both ways', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const list = Array.from({ length: (2 * LANE_MIN_BYTES) / 8 }, (_, i) => (i % 3 === 0 ? i : i / 7));
      list[5] = -0;
      const packed = pack([list]);
      assert.ok(packed, 'the list is packed');
      assert.deepEqual(splitLane(packed)?.positions, [1], 'its numbers would take the lane');
      const back = await executor.submit((xs: number[]) => [...xs.slice(0, 10), xs.length], list);
      assert.deepEqual(back, [...list.slice(0, 10), list.length]);
      const made = await executor.submit((n: number) => Array.from({ length: n }, (_, i) => i / 7), list.length);
      assert.deepEqual(
        made,
        list.map((_, i) => i / 7),
      );
      const echoed = await executor.submit((xs: number[]) => xs, list);
      assert.deepStrictEqual(echoed, list);
    }),
  );

  test(
    'on Node, a worker reads them from a pipe of its own, and what it starts does not inherit it',
    {
      ...T,
      skip: runtime !== 'node' || process.platform === 'win32' ? 'the lane is for Node on POSIX systems' : false,
    },
    () =>
      withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
        const lane = await executor.submit(() => ({
          socket: require('node:fs').fstatSync(4).isSocket() as boolean,
          variable: process.env.RXPOOL_LANE_FD ?? null,
        }));
        assert.deepEqual(lane, { socket: true, variable: null });
      }),
  );
});
