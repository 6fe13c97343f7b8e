/**
 * Arguments and results travel with structured-clone semantics, both ways.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SerializationError } from 'rxpool';
import { withExecutor, withThrowingGetter } from './support/pool.js';

const T = { timeout: 60_000 };
const echo = <V>(value: V): V => value;
const echoAll = (...values: unknown[]): unknown[] => values;

/**
 * Node 20's deepStrictEqual calls two Invalid Dates unequal (fixed in later Nodes), so the property
 * test compares copies of its acyclic values where each Invalid Date is replaced by a marker.
 */
const INVALID_DATE = { invalidDate: true };
function markInvalidDates(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? INVALID_DATE : value;
  if (Array.isArray(value)) return value.map(markInvalidDates); // map keeps holes
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [markInvalidDates(k), markInvalidDates(v)]));
  if (value instanceof Set) return new Set([...value].map(markInvalidDates));
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  const copy = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(copy, k, {
      value: markInvalidDates(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

describe('structured clone round trips', T, () => {
  test('the structured-clone types arrive as they left, in both directions', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const circular: Record<string, unknown> = { name: 'loop' };
      circular.self = circular;
      const shared = { shared: true };
      const values: Record<string, unknown> = {
        map: new Map<unknown, unknown>([
          [1, 'one'],
          [{ k: 1 }, [2]],
        ]),
        set: new Set([1, 'two', 3n]),
        date: new Date('2026-11-26T12:00:00.123Z'),
        regexp: /ab+c/gimsu,
        bigint: 2n ** 100n,
        undefined: undefined,
        specialNumbers: [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.MIN_VALUE],
        // biome-ignore lint/suspicious/noSparseArray: holes must survive
        sparse: [1, , 3],
        typed: [new Uint8Array([1, 2]), new Int32Array([-1]), new Float64Array([0.5]), new BigInt64Array([-5n])],
        arrayBuffer: new Uint16Array([7, 8]).buffer,
        dataView: new DataView(new Uint8Array([9, 10]).buffer),
        nested: { a: [{ b: { c: [new Map([['d', new Set([new Date(0)])]])] } }] },
        circular,
        aliases: [shared, shared],
        strings: ['', 'ünïcødé ✓', '\ud800 lone surrogate', 'x'.repeat(100_000)],
      };
      for (const [name, value] of Object.entries(values)) {
        assert.deepStrictEqual(await executor.submit(echo, value), value, name);
      }
      const invalid = await executor.submit(echo, new Date(Number.NaN));
      assert.ok(invalid instanceof Date && Number.isNaN(invalid.getTime()), 'an Invalid Date stays one');
      const back = await executor.submit(echo, values.aliases as object[]);
      assert.equal(back[0], back[1], 'shared references stay shared');
      const loop = await executor.submit(echo, circular);
      assert.equal(loop.self, loop, 'cycles stay cycles');
    }),
  );

  test('Buffers arrive as Buffers, and worker-made values arrive typed', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const [isBuffer, text] = await executor.submit(
        (b: Buffer) => [Buffer.isBuffer(b), b.toString()],
        Buffer.from('hi'),
      );
      assert.equal(isBuffer, true);
      assert.equal(text, 'hi');
      const made = await executor.submit(() => ({
        buffer: Buffer.from('made'),
        map: new Map([['k', new Date(5)]]),
        big: 10n ** 20n,
      }));
      assert.ok(Buffer.isBuffer(made.buffer));
      assert.equal(made.buffer.toString(), 'made');
      assert.deepStrictEqual(made.map, new Map([['k', new Date(5)]]));
      assert.equal(made.big, 10n ** 20n);
    }),
  );

  test('a getter that throws while its value is sent fails only that task, naming the getter, both ways', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const value = { ok: 1 };
      withThrowingGetter(value, 'broken', 'getter says no');
      await assert.rejects(executor.submit(echo, [value]), (error: unknown) => {
        assert.ok(error instanceof SerializationError, String(error));
        assert.equal(error.stage, 'argument');
        assert.match(error.message, /argument 1 → \[0\]\.broken is a getter that throws Error: getter says no/);
        return true;
      });
      const made = executor.submit(() => {
        const result = { ok: 1 };
        Object.defineProperty(result, 'broken', {
          enumerable: true,
          get() {
            throw new RangeError('worker getter says no');
          },
        });
        return result;
      });
      await assert.rejects(made, (error: unknown) => {
        assert.ok(error instanceof SerializationError, String(error));
        assert.equal(error.stage, 'result');
        assert.match(error.message, /the result → \.broken is a getter that throws RangeError: worker getter says no/);
        return true;
      });
      assert.equal(await executor.submit(echo, 'still fine'), 'still fine');
      assert.ok(!events.some((e) => e.type === 'exit'), 'no worker died');
    }),
  );

  test('property: arbitrary clonable values round-trip unchanged', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const clonable = fc.anything({
        withBigInt: true,
        withBoxedValues: false,
        withDate: true,
        withMap: true,
        withSet: true,
        withTypedArray: true,
        withSparseArray: true,
        withNullPrototype: false, // a clone has Object.prototype: by design of structured clone
        withObjectString: false,
        maxDepth: 4,
      });
      await fc.assert(
        fc.asyncProperty(clonable, async (value) => {
          const back = await executor.submit(echo, value);
          assert.deepStrictEqual(markInvalidDates(back), markInvalidDates(value));
        }),
        { numRuns: 150 },
      );
    }),
  );

  test('property: a function or symbol anywhere inside fails with SerializationError naming its path', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor, events }) => {
      const poison = fc.constantFrom<[unknown, RegExp]>(
        [() => 1, /is a function/],
        [function handler() {}, /is a function `handler`/],
        [Symbol('tag'), /is a symbol Symbol\(tag\)/],
      );
      const wrapping = fc.array(fc.constantFrom('object', 'array', 'map', 'set'), { maxLength: 5 });
      await fc.assert(
        fc.asyncProperty(poison, wrapping, fc.anything({ maxDepth: 2 }), async ([bad, what], layers, sibling) => {
          let value: unknown = bad;
          for (const layer of layers) {
            if (layer === 'object') value = { sibling, inner: value };
            else if (layer === 'array') value = [sibling, value];
            else if (layer === 'map') value = new Map<unknown, unknown>([['inner', value]]);
            else value = new Set([value]);
          }
          const error = await executor.submit(echoAll, 'first', value).then(
            () => assert.fail('should reject'),
            (e: unknown) => e,
          );
          assert.ok(error instanceof SerializationError, String(error));
          assert.equal(error.stage, 'argument');
          assert.match(error.message, /argument 2/);
          assert.match(error.message, what);
        }),
        { numRuns: 150 },
      );
      assert.equal(await executor.submit(echo, 'still fine'), 'still fine');
      assert.ok(!events.some((e) => e.type === 'exit'), 'no worker died');
    }),
  );
});
