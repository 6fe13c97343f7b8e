/**
 * Custom serializers: registered classes cross the process boundary as instances, both ways, in
 * arguments, results and scope values. Registrations made here with registerSerializer are global
 * to this test file's process, so each test uses its own classes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  deserializeSymbol,
  ProcessPoolExecutor,
  registerSerializer,
  SerializationError,
  serializeSymbol,
  withScope,
} from 'rxpool';
import { inlinesConstants, range, withExecutor, withThrowingGetter } from './support/pool.js';

const T = { timeout: 30_000 };

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  translate(dx: number, dy: number): Point {
    return new Point(this.x + dx, this.y + dy);
  }
  distanceTo(other: Point): number {
    return Math.hypot(this.x - other.x, this.y - other.y);
  }
}
registerSerializer(Point, {
  serialize: (point: Point) => [point.x, point.y],
  deserialize: ([x, y]: number[]) => new Point(x as number, y as number),
});

/** Implements the protocol itself: registered per executor with `serializers: [Money]`. */
class Money {
  constructor(
    readonly cents: number,
    readonly currency: string,
  ) {}
  add(other: Money): Money {
    return new Money(this.cents + other.cents, this.currency);
  }
  [serializeSymbol](): string {
    return `${this.cents} ${this.currency}`;
  }
  static [deserializeSymbol](text: string): Money {
    const [cents, currency] = text.split(' ');
    return new Money(Number(cents), String(currency));
  }
}

describe('custom serializers', T, () => {
  test('instances cross both ways, nested in arrays, objects, Maps and Sets, shared references kept', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const a = new Point(1, 2);
      const shape = { points: [a, new Point(3, 4)], byName: new Map([['a', a]]), marks: new Set([new Point(0, 0)]) };
      const result = await executor.submit(
        (s: typeof shape) => ({
          arrived: s.points.every((p) => p instanceof Point) && s.byName.get('a') instanceof Point,
          shared: s.points[0] === s.byName.get('a'),
          moved: s.points.map((p) => p.translate(1, 1)),
          index: new Map([[s.points[1]?.translate(0, 0), 'key']]),
          marks: s.marks,
        }),
        shape,
      );
      assert.equal(result.arrived, true, 'instances arrived in the worker as instances');
      assert.equal(result.shared, true, 'one instance referenced twice is one instance there');
      assert.deepEqual(result.moved, [new Point(2, 3), new Point(4, 5)]);
      assert.ok(
        result.moved.every((p) => p instanceof Point),
        'results come back as instances',
      );
      assert.ok([...result.index.keys()][0] instanceof Point, 'a Map key');
      assert.ok([...result.marks][0] instanceof Point, 'a Set item');
      assert.deepEqual(shape.points, [a, new Point(3, 4)], "the caller's value is not changed");
    }),
  );

  test('in scope values, and in map items and results (chunked, partial results too)', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const origin = new Point(0, 0);
      assert.equal(
        await executor.submit(
          withScope({ origin }, (p: Point) => p.distanceTo(origin)),
          new Point(3, 4),
        ),
        5,
      );
      const moved: Point[] = [];
      await assert.rejects(async () => {
        for await (const p of executor.map(
          (p: Point) => {
            if (p.x === 4) throw new RangeError('too far');
            return p.translate(10, 0);
          },
          range(6).map((x) => new Point(x, 0)),
          { chunksize: 3 },
        )) {
          moved.push(p);
        }
      }, /too far/);
      assert.deepEqual(moved, [new Point(10, 0), new Point(11, 0), new Point(12, 0), new Point(13, 0)]);
      assert.ok(moved.every((p) => p instanceof Point));
    }),
  );

  test("a class's own [serializeSymbol] and static [deserializeSymbol], registered per executor", T, async () => {
    await withExecutor({ maxWorkers: 1, serializers: [Money] }, async ({ executor }) => {
      const sum = await executor.submit((a: Money, b: Money) => a.add(b), new Money(100, 'EUR'), new Money(50, 'EUR'));
      assert.ok(sum instanceof Money);
      assert.deepEqual(sum, new Money(150, 'EUR'));
    });
    await withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      // Without the registration, structured clone sends the fields alone.
      const plain = await executor.submit(
        (m: Money) => [m instanceof Object, m.constructor.name, m],
        new Money(1, 'X'),
      );
      assert.deepEqual(plain, [true, 'Object', { cents: 1, currency: 'X' }]);
    });
  });

  test("an executor's serializer wins over the global one for the same class", T, async () => {
    class Celsius {
      via = 'constructor';
      constructor(readonly degrees: number) {}
    }
    // Each serializer tags the data it makes, and its deserializer keeps the tag.
    registerSerializer(Celsius, {
      serialize: (c: Celsius) => ({ degrees: c.degrees, via: 'global' }),
      deserialize: (data: { degrees: number; via: string }) =>
        Object.assign(new Celsius(data.degrees), { via: data.via }),
    });
    const own = {
      type: Celsius,
      serialize: (c: Celsius) => ({ degrees: c.degrees, via: 'executor' }),
      deserialize: (data: { degrees: number; via: string }) =>
        Object.assign(new Celsius(data.degrees), { via: data.via }),
    };
    await withExecutor({ maxWorkers: 1, serializers: [own] }, async ({ executor }) => {
      assert.equal(await executor.submit((c: Celsius) => c.via, new Celsius(20)), 'executor');
      assert.equal((await executor.submit((d: number) => new Celsius(d), 5)).via, 'executor');
    });
    await withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      assert.equal(await executor.submit((c: Celsius) => c.via, new Celsius(20)), 'global');
    });
  });

  test('a throwing serializer or deserializer fails only that task, naming the class and the place', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      class Fragile {
        constructor(readonly value: number) {}
      }
      registerSerializer(Fragile, {
        serialize: (f: Fragile) => {
          if (f.value === 13) throw new Error('unlucky');
          return f.value;
        },
        deserialize: (value: number) => {
          if (value < 0) throw new RangeError('negative');
          return new Fragile(value);
        },
      });
      const pid = await executor.submit(() => process.pid);
      const failures: [Promise<unknown>, string, string, string][] = [
        // The parent's serializer, on an argument: the Future rejects; nothing is sent.
        [
          executor.submit((x: { f: Fragile }) => x, { f: new Fragile(13) }),
          'argument',
          'argument 1 → .f',
          'Could not serialize argument 1 → .f, a `Fragile`: its registered serializer threw Error: unlucky',
        ],
        // The worker's deserializer, on an argument.
        [
          executor.submit((f: Fragile) => f, new Fragile(-1)),
          'argument',
          'argument 1',
          'Could not deserialize argument 1, a `Fragile`: its registered deserializer threw RangeError: negative',
        ],
        // The worker's serializer, on the result.
        [
          executor.submit(() => [new Fragile(13)]),
          'result',
          'the result → [0]',
          'Could not serialize the result → [0], a `Fragile`: its registered serializer threw Error: unlucky',
        ],
        // The parent's deserializer, on the result.
        [
          executor.submit(() => ({ f: new Fragile(-2) })),
          'result',
          'the result → .f',
          'Could not deserialize the result → .f, a `Fragile`: its registered deserializer threw RangeError: negative',
        ],
      ];
      for (const [future, stage, path, message] of failures) {
        const error = await future.then(
          () => assert.fail('should reject'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof SerializationError, String(error));
        assert.equal(error.message, message);
        assert.equal(error.stage, stage);
        assert.equal(error.path, path);
      }
      assert.deepEqual(await executor.submit((f: Fragile) => f, new Fragile(7)), new Fragile(7));
      assert.equal(await executor.submit(() => process.pid), pid, 'the worker lives on');
      assert.ok(!events.some((event) => event.type === 'exit'));
    }),
  );

  test('with serializers in use, a getter that throws still fails only its task, naming the getter', T, () =>
    withExecutor({ maxWorkers: 1, serializers: [Money] }, async ({ executor, events }) => {
      const value = { price: new Money(5, 'EUR') };
      withThrowingGetter(value, 'broken', 'getter says no');
      await assert.rejects(
        executor.submit((v: unknown) => v, value),
        (error: unknown) => {
          assert.ok(error instanceof SerializationError, String(error));
          assert.match(error.message, /argument 1 → \.broken is a getter that throws Error: getter says no/);
          return true;
        },
      );
      const made = executor.submit(() => {
        const result = {};
        Object.defineProperty(result, 'broken', {
          enumerable: true,
          get() {
            throw new Error('worker getter says no');
          },
        });
        return result;
      });
      await assert.rejects(made, (error: unknown) => {
        assert.ok(error instanceof SerializationError, String(error));
        assert.match(error.message, /the result → \.broken is a getter that throws Error: worker getter says no/);
        return true;
      });
      assert.ok(!events.some((e) => e.type === 'exit'), 'no worker died');
    }),
  );

  test('user data shaped like a placeholder stays data', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const lookalike = { id: 1, data: [5, 6] };
      const sent = { point: new Point(1, 1), lookalike, list: [{ id: 2, data: null }] };
      const back = await executor.submit((x: typeof sent) => x, sent);
      assert.deepEqual(back, sent);
      assert.ok(back.point instanceof Point);
      assert.equal(Object.getPrototypeOf(back.lookalike), Object.prototype);
    }),
  );

  test('a class every worker has (URL) is not shipped, only its serializer', T, () =>
    withExecutor(
      {
        maxWorkers: 1,
        serializers: [{ type: URL, serialize: (u: URL) => u.href, deserialize: (h: string) => new URL(h) }],
      },
      async ({ executor }) => {
        const next = await executor.submit((u: URL) => new URL('/next', u), new URL('https://example.com/a'));
        assert.ok(next instanceof URL);
        assert.equal(next.href, 'https://example.com/next');
      },
    ),
  );

  test('a registration that cannot work in a worker is refused at once', T, () => {
    const unit = 'cm';
    class Length {
      constructor(readonly value: number) {}
      toString() {
        return `${this.value} ${unit}`;
      }
    }
    const lengthSerializer = { serialize: (l: Length) => l.value, deserialize: (v: number) => new Length(v) };
    // Bun's transpiler inlines some consts bound to literals (`${unit}` becomes `cm`), others not:
    // a registration is refused exactly when the shipped source still names the outer variable.
    if (/\bunit\b/.test(String(Length)) || !inlinesConstants) {
      assert.throws(
        () => registerSerializer(Length, lengthSerializer),
        (error) =>
          error instanceof SerializationError &&
          /^Cannot register a serializer for `Length`: workers rebuild the class `Length` from its source/.test(
            error.message,
          ) &&
          /uses `unit` from its enclosing scope/.test(error.message),
      );
    } else {
      registerSerializer(Length, lengthSerializer);
    }
    class Scaled {}
    const scale = 2;
    const scaledSerializer = { serialize: () => scale, deserialize: () => new Scaled() };
    if (/\bscale\b/.test(String(scaledSerializer.serialize)) || !inlinesConstants) {
      assert.throws(
        () => registerSerializer(Scaled, scaledSerializer),
        /the serialize function of `Scaled` .* uses `scale` from its enclosing scope/,
      );
    } else {
      registerSerializer(Scaled, scaledSerializer);
    }
    class Plain {}
    assert.throws(() => registerSerializer(Plain), /`Plain` has no serializer: pass \{ serialize, deserialize \}/);
    assert.throws(
      () => registerSerializer(Plain, { serialize: () => 1 } as never),
      /needs both serialize and deserialize functions, or neither/,
    );
    assert.throws(() => new ProcessPoolExecutor({ serializers: [Plain] }), /`Plain` has no serializer/);
  });
});
