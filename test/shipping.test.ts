/**
 * Shipping functions: closures by scope, the free-variable check before sending, what kinds of
 * functions ship, and compiler output (tsx, tsc) in workers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defineTask, SerializationError, TaskTimeoutError, withScope } from 'rxpool';
import ts from 'typescript';
import {
  assertNothingSent,
  inlinesConstants,
  range,
  requireDist,
  thrownBy,
  underTsx,
  withExecutor,
} from './support/pool.js';

const T = { timeout: 30_000 };
const { analysisCount } =
  requireDist<typeof import('../dist/shipping/free-variables.js')>('shipping/free-variables.js');
const { FunctionRegistry } = requireDist<typeof import('../dist/shipping/function-registry.js')>(
  'shipping/function-registry.js',
);

// Names that only workers have: one bound by withScope, one installed by an initializer.
declare const label: string;
declare const seed: number;
declare const model: { weights: number[] };

describe('withScope: shipping the values a function closes over', T, () => {
  test('the names are bound in the worker; calling it here calls the function', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const k = 3;
      const table = new Map([[3, 40]]);
      const fn = withScope({ k, table }, (x: number) => x * k + (table.get(x) ?? 0));
      assert.equal(fn(3), 49, 'a local call runs the closure itself');
      assert.equal(await executor.submit(fn, 3), 49);
    }),
  );

  test('an initializer can have a scope too', T, () =>
    withExecutor(
      {
        maxWorkers: 1,
        initializer: withScope({ seed: 7 }, () => {
          (globalThis as { seed?: number }).seed = seed;
        }),
      },
      async ({ executor }) => {
        assert.equal(await executor.submit(() => (globalThis as { seed?: number }).seed), 7);
      },
    ),
  );

  test('one scope object is sent once per worker; a new scope object is a new function', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      // The probe is rebuilt when its unit (function + scope) is new to the worker, and cached after.
      const probe = function probe() {
        const state = globalThis as { lastProbe?: unknown };
        const verdict = state.lastProbe === probe ? 'cached' : `compiled with ${label}`;
        state.lastProbe = probe;
        return verdict;
      };
      const scope = { label: 'first' };
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) seen.push(await executor.submit(withScope(scope, probe)));
      seen.push(await executor.submit(withScope({ label: 'second' }, probe)));
      assert.deepEqual(seen, ['compiled with first', 'cached', 'cached', 'compiled with second']);
    }),
  );

  test('composes with defineTask options, and map takes a scope option', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const offset = 100;
      const slow = defineTask(
        withScope({ offset }, (ms: number) => new Promise((resolve) => setTimeout(() => resolve(ms + offset), ms))),
        { timeout: 300 },
      );
      assert.equal(await executor.submit(slow, 1), 101);
      await assert.rejects(executor.submit(slow, 5_000), TaskTimeoutError);
      const results: number[] = [];
      for await (const y of executor.map((x: number) => x + offset, range(5), { scope: { offset }, chunksize: 2 })) {
        results.push(y);
      }
      assert.deepEqual(results, [100, 101, 102, 103, 104]);
    }),
  );

  test('a scope value that cannot be cloned is refused at submit, naming it and its path', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const options = { retries: 2, onRetry: () => {} };
      const error = thrownBy(() =>
        executor.submit(
          withScope({ options }, (x: number) => x + options.retries),
          1,
        ),
      );
      assert.ok(error instanceof SerializationError);
      assert.equal(
        error.message,
        'The function `anonymous` cannot be sent to a worker with its scope: scope value `options` → .onRetry is a function `onRetry`, which cannot be sent between processes.',
      );
      assert.equal(error.path, 'scope value `options` → .onRetry');
      assert.throws(() => withScope(null as never, () => 1), /withScope expects an object/);
      assert.throws(() => executor.submit(withScope({ 'not a name': 1 }, () => 1)), /scope name `not a name`/);
      assert.throws(() => executor.submit(withScope({ class: 1 }, () => 1)), /scope name `class`/);
      assertNothingSent(events);
    }),
  );
});

describe('the free-variable check, before anything is sent', T, () => {
  test('a function using an outer variable throws at submit with the fix in the message', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const factor = 2;
      const scale = (x: number) => x * factor;
      if (inlinesConstants) {
        // Bun compiled `x * factor` to `x * 2`: nothing of the enclosing scope is left to refuse.
        assert.doesNotMatch(String(scale), /factor/);
        assert.equal(await executor.submit(scale, 5), 10);
        return;
      }
      const error = thrownBy(() => executor.submit(scale, 1));
      assert.ok(error instanceof SerializationError);
      assert.equal(
        error.message,
        'The function `scale` uses `factor` from its enclosing scope, which cannot be sent to a worker: pass it as an argument, or with withScope({ factor }).',
      );
      assert.equal(error.stage, 'function');
      assert.equal(error.path, 'factor');
      assert.throws(() => executor.map(scale, [1, 2]), SerializationError);
      assertNothingSent(events);
      // The fix the message suggests works.
      assert.equal(await executor.submit(withScope({ factor }, scale), 5), 10);
    }),
  );

  test('a recursive arrow function is told to become a named function', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
      assert.throws(
        () => executor.submit(factorial, 5),
        /The function `factorial` calls itself through `factorial`, the variable it is stored in.*write it as a named function/,
      );
      assert.equal(
        await executor.submit(function factorial(n: number): number {
          return n <= 1 ? 1 : n * factorial(n - 1);
        }, 5),
        120,
      );
    }),
  );

  test('Node globals pass: Math, JSON, Buffer, process, structuredClone, fetch, setTimeout', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const value = await executor.submit(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return [
          Math.max(1, 2),
          JSON.stringify({ a: 1 }),
          Buffer.from('abc').length,
          typeof process.pid,
          structuredClone({ b: 2 }),
          typeof fetch,
        ];
      });
      assert.deepEqual(value, [2, '{"a":1}', 3, 'number', { b: 2 }, 'function']);
    }),
  );

  test('globals installed in workers by the user are declared with the globals option', T, () =>
    withExecutor(
      {
        maxWorkers: 1,
        globals: ['model'],
        initializer: () => {
          (globalThis as { model?: unknown }).model = { weights: [1, 2, 3] };
        },
      },
      async ({ executor }) => {
        assert.deepEqual(await executor.submit(() => model.weights), [1, 2, 3]);
      },
    ),
  );

  // The registry is what submit() checks functions through. It is loaded from dist/'s modules, as
  // analysisCount is: the library's bundle (dist/index.js) has its own copy of both.
  test('the check runs once per distinct function source, not per function object', () => {
    const registry = new FunctionRegistry();
    const before = analysisCount();
    // A new function object each time, with the same source.
    for (let i = 0; i < 50; i++) registry.resolve((x: number) => x + 0.5 + 'once-per-source'.length);
    assert.equal(analysisCount() - before, 1);
    const fn = (x: number) => x - 'another source'.length;
    for (let i = 0; i < 20; i++) registry.resolve(fn);
    assert.equal(analysisCount() - before, 2);
  });

  test('lambdas, async functions, generators, default and destructuring parameters', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      assert.equal(await executor.submit((x: number) => x + 1, 1), 2);
      assert.equal(await executor.submit(async (x: number) => (await Promise.resolve(x)) * 2, 4), 8);
      assert.deepEqual(
        await executor.submit(function* count(n: number) {
          for (let i = 0; i < n; i++) yield i * i;
        }, 4),
        [0, 1, 4, 9],
        "a generator's values come back as an array",
      );
      const withDefault = (x: number, y = 10) => x + y;
      assert.equal(await executor.submit(withDefault, 1), 11);
      const destructured = ({ a, b: [c, ...rest] }: { a: number; b: [number, ...number[]] }, [d = 4]: number[] = []) =>
        a + c + rest.length + d;
      assert.equal(await executor.submit(destructured, { a: 1, b: [2, 0, 0] }), 9);
    }),
  );

  test('class static methods and methods of plain objects ship when they do not use this', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      // biome-ignore lint/complexity/noStaticOnlyClass: static methods are what this test ships
      class Geometry {
        static area(w: number, h: number) {
          return w * h;
        }
        static describe(w: number) {
          // biome-ignore lint/complexity/noThisInStatic: the `this` that cannot travel
          return `${this.name}: ${w}`;
        }
      }
      const tasks = {
        double(x: number) {
          return x * 2;
        },
        factor: 3,
        triple(x: number) {
          return x * this.factor;
        },
      };
      assert.equal(await executor.submit(Geometry.area, 2, 3), 6);
      assert.equal(await executor.submit(tasks.double, 4), 8);
      const spawned = events.length;
      assert.throws(
        () => executor.submit(tasks.triple, 2),
        (error) =>
          error instanceof SerializationError &&
          error.path === 'this' &&
          error.message ===
            'The function `triple` uses `this`, which does not travel with the function: pass what it needs as arguments.',
      );
      assert.throws(() => executor.submit(Geometry.describe, 1), /`describe` uses `this`/);
      assert.equal(events.length, spawned, 'nothing more was sent');
    }),
  );

  test('a bound function is refused with what to do instead', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const bound = function scale(this: { k: number }, x: number) {
        return x * this.k;
      }.bind({ k: 2 });
      const error = thrownBy(() => executor.submit(bound, 1));
      assert.ok(error instanceof SerializationError);
      assert.match(error.message, /^The function `bound scale` cannot be sent to a worker: it is a bound function/);
      assert.match(error.message, /Ship the function itself and pass the bound values as arguments/);
    }),
  );
});

describe('compiler output in workers', T, () => {
  test('a function that tsx compiled with __name (named inner functions and classes) runs', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const fn = (xs: number[]) => {
        function double(x: number) {
          return x * 2;
        }
        class Total {
          sum = 0;
          add(x: number) {
            this.sum += x;
            return this;
          }
        }
        return [xs.map(double), xs.reduce((total, x) => total.add(x), new Total()).sum, double.name, Total.name];
      };
      if (underTsx)
        assert.match(String(fn), /__name\(/, 'this test file runs under tsx, which keeps names with __name');
      // Bun and Deno compile this file themselves, without __name: the names are the source's own.
      assert.deepEqual(await executor.submit(fn, [1, 2, 3]), [[2, 4, 6], 6, 'double', 'Total']);
    }),
  );

  test(
    'tsc output for an old target (__awaiter, __generator, __rest, __spreadArray) passes the check and runs',
    T,
    () =>
      withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
        const { outputText } = ts.transpileModule(
          `export const load = async (x: number, ...more: number[]) => {
          const { a, ...rest } = { a: await Promise.resolve(x), b: 2 };
          return [a, rest, ...more];
        };`,
          { compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.CommonJS } },
        );
        assert.match(outputText, /__awaiter/);
        assert.match(outputText, /__generator/);
        const exports: { load?: (...args: number[]) => Promise<unknown> } = {};
        new Function('exports', outputText)(exports);
        assert.deepEqual(await executor.submit(exports.load as (...args: number[]) => Promise<unknown>, 1, 5, 6), [
          1,
          { b: 2 },
          5,
          6,
        ]);
      }),
  );

  test('istanbul coverage counters get the V8 coverage hint; unknown helpers are named', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const instrumented = new Function('return function double(x) { cov_2ab3c().s[0]++; return x * 2; }')();
      assert.throws(
        () => executor.submit(instrumented, 1),
        (error) =>
          error instanceof SerializationError &&
          /^The function `double` calls `cov_2ab3c`, a coverage counter that istanbul\/nyc inserted/.test(
            error.message,
          ) &&
          /Measure coverage with V8 instead/.test(error.message),
      );
      const renamed = new Function('return function load() { return require2("node:os"); }')();
      assert.throws(() => executor.submit(renamed), /`require2`, which is how esbuild .* renames `require`/);
      const babel = new Function('return function merge(x) { return _objectSpread({}, x); }')();
      assert.throws(
        () => executor.submit(babel, {}),
        /The function `merge` uses `_objectSpread`, a helper that a compiler \(TypeScript, Babel, esbuild\) inserted/,
      );
      assertNothingSent(events);
    }),
  );
});
