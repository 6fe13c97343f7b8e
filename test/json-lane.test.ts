/**
 * The JSON lane: record-like values cross as JSON text, and only when that gives back exactly what
 * structured clone would. The unit tests say which values take it; the round trips through real
 * workers check that a value comes back the same whichever way it went.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { fromJsonLane, toJsonLane } from '../src/protocol/json-lane.js';
import { withExecutor, withThrowingGetter } from './support/pool.js';

const T = { timeout: 60_000 };
const echo = <V>(value: V): V => value;

type Row = { id: number; name: string; tags: string[]; ok: boolean } & Record<string, unknown>;

/** `n` small records, like rows from a database or an API: what the lane is for. */
function rows(n: number, extra: (i: number) => Record<string, unknown> = () => ({})): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    name: `row-${i}`,
    tags: ['a', 'b'],
    ok: i % 2 === 0,
    ...extra(i),
  }));
}

/** What the receiver gets when `value` goes through the lane (undefined: it did not take the lane). */
function throughLane(value: unknown): { value: unknown } | undefined {
  const lane = toJsonLane(value);
  return lane && { value: fromJsonLane(lane.text, structuredClone(lane.patches)) };
}

describe('which values take the JSON lane', () => {
  test('many small records take it and come back equal', () => {
    const value = { page: 1, rows: rows(100) };
    const back = throughLane(value);
    assert.ok(back, 'records take the lane');
    assert.deepStrictEqual(back.value, value);
  });

  test('-0, NaN, ±Infinity and undefined array elements are put back exactly', () => {
    const value = rows(200, (i) => ({
      y: i === 0 ? -0 : -i,
      ratio: i === 1 ? Number.NaN : i === 2 ? Number.POSITIVE_INFINITY : i === 3 ? Number.NEGATIVE_INFINITY : i / 2,
      slots: i === 4 ? [1, undefined, -0] : [i],
    }));
    const back = throughLane(value)?.value as typeof value | undefined;
    assert.ok(back, 'records with patched leaves take the lane');
    assert.deepStrictEqual(back, value);
    assert.ok(Object.is(back[0]?.y, -0));
    assert.ok(Number.isNaN(back[1]?.ratio));
    assert.equal(back[2]?.ratio, Number.POSITIVE_INFINITY);
    assert.equal(back[3]?.ratio, Number.NEGATIVE_INFINITY);
    const slots = back[4]?.slots as unknown[];
    assert.ok(1 in slots, 'an undefined element is an element, not a hole');
    assert.ok(Object.is(slots[2], -0));
  });

  test('small values, primitive arrays and text-heavy records stay on the usual path', () => {
    assert.equal(toJsonLane([1, 2, 3]), undefined);
    assert.equal(toJsonLane(rows(10)), undefined, 'too few records to pay for the walk');
    assert.equal(
      toJsonLane([Array.from({ length: 12_800 }, Math.random)]),
      undefined,
      'doubles: V8 writes them faster',
    );
    assert.equal(toJsonLane(rows(200, () => ({ text: 'lorem ipsum '.repeat(50) }))), undefined, 'long strings');
    assert.equal(toJsonLane('x'), undefined);
    assert.equal(toJsonLane(null), undefined);
  });

  test('a value that is not a plain object or array is not looked into', () => {
    // A Float64Array's 12,800 elements would be 12,800 property reads: the lane must turn it down at once.
    let reads = 0;
    const instance = new (class Probe {})();
    Object.defineProperty(instance, 'x', { enumerable: true, get: () => ++reads });
    assert.equal(toJsonLane([instance, ...rows(200)]), undefined);
    assert.equal(reads, 0);
  });

  test('what JSON would change keeps the value off the lane', () => {
    const shared = { shared: true };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const match = /b/.exec('abc');
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
    const holey = [1, , 3];
    class Point {
      x = 1;
    }
    const spoilers: Record<string, unknown> = {
      'a shared reference': shared,
      'a cycle': cyclic,
      'an array with named properties': match,
      'an array with a hole': holey,
      'an undefined property': undefined,
      'a Date': new Date(0),
      'a Map': new Map([[1, 2]]),
      'a typed array': new Uint8Array(2),
      'a class instance': new Point(),
      'a bigint': 1n,
      'a function': () => 1,
      'a symbol': Symbol('s'),
      'an Array subclass': new (class Rows extends Array {})(),
      'a Proxy': new Proxy({ x: 1 }, {}),
    };
    assert.ok(toJsonLane(rows(200)), 'the same records, unspoiled, take the lane');
    for (const [what, spoiler] of Object.entries(spoilers)) {
      const value = rows(200);
      (value[100] as Record<string, unknown>).spoiler = spoiler;
      if (what === 'a shared reference') (value[150] as Record<string, unknown>).spoiler = shared;
      assert.equal(toJsonLane(value), undefined, what);
    }
    const nested = rows(200);
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 300; i++) deep = { deep };
    (nested[0] as Record<string, unknown>).deep = deep;
    assert.equal(toJsonLane(nested), undefined, 'too deep');
    assert.equal(toJsonLane(new Proxy(rows(200), {})), undefined, 'a Proxy around the records');
  });

  test('a __proto__ key stays an own property, patches included', () => {
    const value = rows(200, (i) => (i === 7 ? JSON.parse('{"__proto__": {"z": -0}}') : {}));
    const back = throughLane(value)?.value as Array<Record<string, unknown>> | undefined;
    assert.ok(back);
    assert.deepStrictEqual(back, value);
    const own = Object.getOwnPropertyDescriptor(back[7], '__proto__')?.value as { z: number };
    assert.ok(Object.is(own.z, -0));
    assert.equal(Object.getPrototypeOf(back[7]), Object.prototype);
  });
});

describe('round trips through workers', T, () => {
  test('records come back exact as arguments, results, chunks and streamed values', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const value = { batch: 3, rows: rows(200, (i) => ({ pos: { x: i, y: -i, z: [i % 7, Number.NaN] } })) };
      const back = await executor.submit(echo, value);
      assert.deepStrictEqual(back, value);
      assert.ok(Object.is((back.rows[0]?.pos as { y: number } | undefined)?.y, -0), 'a -0 stays -0');
      // Made in the worker: the result takes the lane on its own.
      const made = await executor.submit((n: number) => Array.from({ length: n }, (_, i) => ({ i, neg: -0 })), 100);
      assert.equal(made.length, 100);
      assert.ok(made.every((row, i) => row.i === i && Object.is(row.neg, -0)));
      // map sends items in chunks: each chunk is a list of records.
      const doubled = [];
      for await (const row of executor.map((row: { id: number }) => ({ ...row, id: row.id * 2 }), rows(300), {
        chunksize: 100,
      }))
        doubled.push(row);
      assert.deepStrictEqual(
        doubled,
        rows(300).map((row) => ({ ...row, id: (row.id as number) * 2 })),
      );
      const streamed = await lastValueFrom(
        executor
          .stream(function* (n: number) {
            for (let p = 0; p < n; p++) yield Array.from({ length: 50 }, (_, i) => ({ p, i }));
          }, 3)
          .pipe(toArray()),
      );
      assert.deepStrictEqual(
        streamed,
        [0, 1, 2].map((p) => Array.from({ length: 50 }, (_, i) => ({ p, i }))),
      );
    }),
  );

  test('a getter that throws fails only its task, as it did before the lane', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const value = rows(200);
      withThrowingGetter(value[100] as Row, 'broken', 'getter says no');
      await assert.rejects(executor.submit(echo, value), (error: Error) => {
        assert.equal(error.name, 'SerializationError');
        assert.match(error.message, /getter says no/);
        return true;
      });
      const made = executor.submit(() => {
        const list = Array.from({ length: 200 }, (_, i) => ({ i }));
        Object.defineProperty(list[100], 'broken', {
          enumerable: true,
          get() {
            throw new Error('worker getter says no');
          },
        });
        return list;
      });
      await assert.rejects(made, { name: 'SerializationError', message: /worker getter says no/ });
      assert.deepStrictEqual(await executor.submit(echo, rows(200)), rows(200));
    }),
  );

  test('a Proxy (a reactive list, say) fails its task whatever its size, and the error names it', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      for (const size of [1, 200]) {
        await assert.rejects(executor.submit(echo, new Proxy(rows(size), {})), {
          name: 'SerializationError',
          message: /argument 1 is a Proxy/,
        });
        await assert.rejects(executor.submit(echo, { list: rows(size).map((row) => new Proxy(row, {})) }), {
          name: 'SerializationError',
          message: /argument 1 → \.list\[0\] is a Proxy/,
        });
        const made = executor.submit(
          (n: number) =>
            new Proxy(
              Array.from({ length: n }, (_, i) => ({ i })),
              {},
            ),
          size,
        );
        await assert.rejects(made, { name: 'SerializationError', message: /is a Proxy/ });
      }
      assert.deepStrictEqual(await executor.submit(echo, rows(200)), rows(200));
    }),
  );

  test('property: lists of arbitrary records round-trip unchanged, whichever way they go', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      // Mostly what records hold, now and then a leaf JSON writes wrongly (patched); and in some
      // lists one value JSON cannot carry at all (the whole list then goes the usual way).
      const field = fc.oneof(
        { arbitrary: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null)), weight: 40 },
        { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 4 },
        { arbitrary: fc.double(), weight: 2 },
        { arbitrary: fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY), weight: 2 },
        { arbitrary: fc.array(fc.constantFrom(1, undefined, -0), { maxLength: 3 }), weight: 1 },
      );
      const record = fc.dictionary(fc.string({ maxLength: 6 }), field, { maxKeys: 5, noNullPrototype: true });
      const spoiler = fc.constantFrom('none', 'none', 'bigint', 'date', 'undefined', 'shared');
      let lane = 0;
      let usual = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(record, { minLength: 150, maxLength: 250 }), spoiler, async (value, spoil) => {
          const first = value[0] as Record<string, unknown>;
          const last = value[value.length - 1] as Record<string, unknown>;
          if (spoil === 'bigint') first.spoiler = 1n;
          else if (spoil === 'date') first.spoiler = new Date(0);
          else if (spoil === 'undefined') first.spoiler = undefined;
          else if (spoil === 'shared') first.spoiler = last.spoiler = { shared: true };
          if (toJsonLane([value])) lane++;
          else usual++;
          const back = await executor.submit(echo, value);
          assert.deepStrictEqual(back, value);
          if (spoil === 'shared') assert.equal(back[0]?.spoiler, back[back.length - 1]?.spoiler, 'still one object');
        }),
        { numRuns: 80 },
      );
      assert.ok(lane >= 10 && usual >= 10, `both ways are exercised (JSON lane ${lane}, usual ${usual})`);
    }),
  );
});
