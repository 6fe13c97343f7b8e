import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CancelledError, Future, ProcessPoolExecutor, ShutdownExecutorError, TaskTimeoutError } from 'rxpool';
import { collectGarbage, nextTurn, range, until, withExecutor } from './support/pool.js';

const T = { timeout: 30_000 };

/**
 * Quick tasks, one after the other, until the pool has measured its tasks to be short: from then on
 * a busy worker is sent its next task ahead. (A worker's first task takes longer: ~1 ms on Node,
 * ~20 ms on Bun, and the measure is a moving average.)
 */
async function warmUp(executor: ProcessPoolExecutor): Promise<void> {
  for (let i = 0; i < 10; i++) await executor.submit(() => 0);
}

describe('submit', T, () => {
  test('runs a function in another process and resolves its value', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const future = executor.submit((a: number, b: number) => a + b, 1, 2);
      assert.ok(future instanceof Future);
      assert.equal(await future, 3);
      assert.equal(future.state, 'fulfilled');
      assert.notEqual(await executor.submit(() => process.pid), process.pid);
    }),
  );

  test('awaits async functions in the worker', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const value = await executor.submit(async (x: number) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return x * 2;
      }, 21);
      assert.equal(value, 42);
    }),
  );

  test('a Future reports pending, running, then fulfilled', T, () =>
    withExecutor({ maxWorkers: 1 }, async (recorded) => {
      const { executor } = recorded;
      const future = executor.submit(() => new Promise((resolve) => setTimeout(() => resolve('ok'), 200)));
      assert.equal(future.state, 'pending');
      assert.equal(future.done, false);
      await until(recorded, (e) => e.type === 'task-start' && e.taskId === future.taskId);
      assert.equal(future.state, 'running');
      assert.equal(await future, 'ok');
      assert.equal(future.state, 'fulfilled');
      assert.equal(future.done, true);
    }),
  );

  test('50 tasks on 4 workers use exactly 4 distinct processes', T, () =>
    withExecutor({ maxWorkers: 4 }, async ({ executor, pids }) => {
      const results = await Promise.all(range(50).map((k) => executor.submit((x: number) => [x, process.pid], k)));
      assert.deepEqual(
        results.map(([k]) => k),
        range(50),
      );
      const used = new Set(results.map(([, pid]) => pid));
      assert.equal(used.size, 4);
      assert.deepEqual(used, pids);
    }),
  );

  test('cancel() drops a queued task: it rejects with CancelledError and never runs', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const blocker = executor.submit(() => new Promise((resolve) => setTimeout(resolve, 300)));
      const queued = executor.submit(() => 'should not run');
      assert.equal(queued.cancel(), true);
      assert.equal(queued.state, 'cancelled');
      assert.equal(queued.cancel(), true, 'cancelling twice still says cancelled');
      await assert.rejects(queued, CancelledError);
      await blocker;
      assert.equal(blocker.cancel(), false, 'a finished task cannot be cancelled');
      assert.ok(!events.some((e) => e.type === 'task-start' && e.taskId === queued.taskId));
    }),
  );

  test('cancel() of a running task returns false and the task completes', T, () =>
    withExecutor({ maxWorkers: 1 }, async (recorded) => {
      const running = recorded.executor.submit(() => new Promise((resolve) => setTimeout(() => resolve(7), 200)));
      await until(recorded, (e) => e.type === 'task-start');
      assert.equal(running.cancel(), false);
      assert.equal(await running, 7);
    }),
  );

  test('cancel() of a task sent ahead to a busy worker returns false; the worker drops it', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const dir = mkdtempSync(join(tmpdir(), 'rxpool-cancel-'));
      const [gate, marker] = [join(dir, 'gate'), join(dir, 'ran')];
      try {
        await warmUp(executor);
        const busy = executor.submit(async (file: string) => {
          while (!require('node:fs').existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 2));
          return 'busy';
        }, gate);
        const ahead = executor.submit((file: string) => require('node:fs').writeFileSync(file, 'ran'), marker);
        await nextTurn(); // both are written to the worker's channel
        assert.equal(ahead.cancel(), false, 'the worker might have started it');
        // The worker, awaiting the busy task, drops it at once.
        await assert.rejects(ahead, CancelledError);
        assert.equal(ahead.state, 'cancelled');
        assert.equal(ahead.cancel(), true, 'a cancelled task says so');
        writeFileSync(gate, '');
        assert.equal(await busy, 'busy');
        assert.equal(await executor.submit(() => 'after'), 'after');
        assert.equal(existsSync(marker), false, 'the dropped task ran');
        const end = events.find((e) => e.type === 'task-end' && e.taskId === ahead.taskId);
        if (end?.type === 'task-end')
          assert.ok(!end.ok && end.error instanceof CancelledError, 'an announced start has its end');
        assert.equal(executor.stats().cancelled, 1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );

  test('cancel() never returns true for a task its worker has started, even before the parent knows', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const dir = mkdtempSync(join(tmpdir(), 'rxpool-cancel-'));
      const [started, gate] = [join(dir, 'started'), join(dir, 'gate')];
      try {
        await warmUp(executor);
        const first = executor.submit(() => 'first');
        // Sync: it blocks the worker until the gate exists, so the drop that cancel() sends waits unread.
        const second = executor.submit(
          (files: string[]) => {
            const fs = require('node:fs');
            fs.writeFileSync(files[0], '');
            while (!fs.existsSync(files[1]));
            return 'second';
          },
          [started, gate],
        );
        await nextTurn(); // both are written to the worker's channel
        // Without yielding (the parent hears nothing meanwhile), wait until the worker starts the second task.
        const deadline = Date.now() + 10_000;
        while (!existsSync(started) && Date.now() < deadline);
        assert.ok(existsSync(started), 'the worker started the second task');
        assert.equal(second.state, 'pending', "the parent has not heard the first task's answer yet");
        assert.equal(second.cancel(), false);
        writeFileSync(gate, '');
        assert.deepEqual(await Promise.all([first, second]), ['first', 'second']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );

  test('a Future is a native Promise: await, Promise.all and then treat it as one', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const future = executor.submit((x: number) => x * 2, 21);
      assert.ok(future instanceof Promise);
      assert.ok(future instanceof Future);
      assert.equal(Promise.resolve(future), future, 'Promise.resolve adopts it as is');
      const chained = future.then((v) => v + 1);
      assert.equal(Object.getPrototypeOf(chained), Promise.prototype, 'then gives a plain Promise');
      assert.deepEqual(await Promise.all([future, chained]), [42, 43]);
      assert.throws(() => Future.resolve(1), /comes from executor\.submit\(\)/);
    }),
  );

  test('an unobserved failed Future raises no unhandled rejection', T, () =>
    withExecutor({ maxWorkers: 1 }, async (recorded) => {
      const { executor } = recorded;
      let unhandled: unknown;
      const listener = (reason: unknown) => {
        unhandled = reason;
      };
      process.on('unhandledRejection', listener);
      try {
        const future = executor.submit(() => {
          throw new Error('nobody listens');
        });
        await until(recorded, (e) => e.type === 'task-end' && e.taskId === future.taskId);
        await nextTurn();
        assert.equal(unhandled, undefined);
        assert.equal(future.state, 'rejected');
      } finally {
        process.off('unhandledRejection', listener);
      }
    }),
  );

  test('a settled Future keeps its value, not its arguments', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      let collected = false;
      const registry = new FinalizationRegistry(() => {
        collected = true;
      });
      // Built in a function of its own, so that nothing here holds the argument but the task.
      const submitBig = () => {
        const big = { data: new Array<number>(10_000).fill(1) };
        registry.register(big, undefined);
        return executor.submit((o: { data: number[] }) => o.data.length, big);
      };
      const future = submitBig();
      assert.equal(await future, 10_000);
      // The registry's callback runs in a later turn than the collection.
      for (let turn = 0; turn < 20 && !collected; turn++) {
        collectGarbage();
        await nextTurn();
      }
      assert.ok(collected, 'the argument is still reachable from the settled Future');
      assert.equal(future.state, 'fulfilled');
      assert.equal(await future, 10_000);
    }),
  );

  test('submit after shutdown throws ShutdownExecutorError', T, async () => {
    const executor = new ProcessPoolExecutor({ maxWorkers: 1, execArgv: [] });
    await executor.shutdown();
    assert.throws(() => executor.submit(() => 1), ShutdownExecutorError);
    assert.throws(() => executor.map((x: number) => x, [1]), ShutdownExecutorError);
    assert.equal(executor.state, 'shut-down');
  });

  test('rejects bad options at construction with a precise error', T, () => {
    assert.throws(
      () => new ProcessPoolExecutor({ maxWorkers: 0 }),
      /maxWorkers must be an integer greater than 0, got 0/,
    );
    assert.throws(() => new ProcessPoolExecutor({ maxWorkers: 1.5 }), RangeError);
    assert.throws(() => new ProcessPoolExecutor({ execArgv: 'x' as never }), /execArgv must be an array of strings/);
    assert.throws(() => new ProcessPoolExecutor({ env: { A: 1 as never } }), /env.A must be a string/);
    const executor = new ProcessPoolExecutor({ maxWorkers: 1 });
    assert.throws(() => executor.submit(42 as never), /Expected a function to run in a worker, got number/);
    return executor.shutdown();
  });
});

describe('shipping', T, () => {
  test('each distinct function is compiled once per worker, even when re-created with the same source', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        // A new function object each time around the loop, with the same source.
        const probe = function probe() {
          const state = globalThis as { lastProbe?: unknown };
          const verdict = state.lastProbe === probe ? 'cached' : 'compiled';
          state.lastProbe = probe;
          return verdict;
        };
        seen.push(await executor.submit(probe));
      }
      assert.deepEqual(seen, ['compiled', 'cached', 'cached']);
    }),
  );

  test('a burst mixing large arguments and results with tiny tasks keeps every value', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      // Tiny tasks and 400 KB arguments share IPC messages of about a megabyte: two here. The
      // function's source rides with the first message only, and the worker still knows it after.
      const big = (i: number) => String(i % 10).repeat(400_000);
      const args = range(12).map((i) => (i % 3 === 0 ? big(i) : i));
      const echoes = await Promise.all(args.map((arg) => executor.submit((x: unknown) => x, arg)));
      assert.deepEqual(echoes, args);
      const bytes = new Float64Array(20_000).fill(1.5);
      const summed = await executor.submit((a: Float64Array) => [a.length, a[0], new Float64Array(a)], bytes);
      assert.deepEqual(summed, [20_000, 1.5, bytes]);
    }),
  );

  test('CommonJS code can require the package', T, () => {
    const script = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url));
    assert.equal(execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 }), '42\n');
  });
});

describe('map', T, () => {
  test('yields results in input order even when later items finish first', T, () =>
    withExecutor({ maxWorkers: 3 }, async ({ executor }) => {
      const delays = [120, 10, 60, 0, 90, 30];
      const results: number[] = [];
      for await (const value of executor.map(
        (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)),
        delays,
      )) {
        results.push(value);
      }
      assert.deepEqual(results, delays);
    }),
  );

  test('chunksize batches items and keeps order', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor, events }) => {
      const results: number[] = [];
      for await (const value of executor.map((x: number) => x * x, range(100), { chunksize: 7 })) results.push(value);
      assert.deepEqual(
        results,
        range(100).map((x) => x * x),
      );
      assert.equal(events.filter((e) => e.type === 'task-end').length, Math.ceil(100 / 7));
    }),
  );

  test('a failing item throws at its position, after the results before it', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      for (const chunksize of [1, 3]) {
        const seen: number[] = [];
        await assert.rejects(async () => {
          for await (const value of executor.map(
            (x: number) => {
              if (x === 4) throw new RangeError(`bad item ${x}`);
              return x;
            },
            range(8),
            { chunksize },
          )) {
            seen.push(value);
          }
        }, /bad item 4/);
        assert.deepEqual(seen, [0, 1, 2, 3], `chunksize ${chunksize}`);
      }
    }),
  );

  test('a task that runs past its timeout rejects with TaskTimeoutError; its worker is replaced', T, () =>
    withExecutor({ maxWorkers: 1 }, async (recorded) => {
      const { executor } = recorded;
      const results: unknown[] = [];
      await assert.rejects(
        async () => {
          for await (const value of executor.map(
            (ms: number) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
            [10, 5_000, 10],
            { timeout: 500 },
          )) {
            results.push(value);
          }
        },
        (e: unknown) =>
          e instanceof TaskTimeoutError && e.timeout === 500 && /longer than its timeout of 500 ms/.test(e.message),
      );
      assert.deepEqual(results, [10]);
      const exit = await until(recorded, (e) => e.type === 'exit');
      assert.ok(exit?.type === 'exit' && exit.reason === 'timeout' && exit.signal === 'SIGKILL');
      assert.equal(await executor.submit(() => 'replaced'), 'replaced');
    }),
  );

  test("chunksize 'auto' keeps order, fails at the failing item's position, and batches tiny items", T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor, events }) => {
      const n = 20_000;
      let sum = 0;
      let expected = 0;
      for await (const value of executor.map((x: number) => x * 2, range(n), { chunksize: 'auto' })) {
        assert.equal(value, expected, 'in input order');
        expected += 2;
        sum += value;
      }
      assert.equal(sum, n * (n - 1));
      const tasks = events.filter((e) => e.type === 'task-start').length;
      assert.ok(tasks < n / 10, `${tasks} tasks carried ${n} tiny items: chunks grew`);

      const seen: number[] = [];
      const failing = (x: number) => {
        if (x === 50) throw new RangeError('item 50');
        return x;
      };
      await assert.rejects(async () => {
        for await (const value of executor.map(failing, new Set(range(100)), { chunksize: 'auto' })) seen.push(value);
      }, /item 50/);
      assert.deepEqual(seen, range(50), 'every result before the failing item, none after');
    }),
  );

  test('accepts async iterables', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      async function* source() {
        for (let i = 0; i < 10; i++) yield i;
      }
      const results: number[] = [];
      for await (const value of executor.map((x: number) => x + 1, source(), { chunksize: 3 })) results.push(value);
      assert.deepEqual(
        results,
        range(10).map((x) => x + 1),
      );
    }),
  );

  test('an error from the input iterable throws from map() itself', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      function* source() {
        yield 1;
        throw new Error('source broke');
      }
      assert.throws(() => executor.map((x: number) => x, source()), /source broke/);
      assert.throws(
        () => executor.map((x: number) => x, [1], { chunksize: 0 }),
        /chunksize must be 'auto' or an integer/,
      );
    }),
  );

  test('leaving the loop early cancels the tasks that have not started', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      for await (const value of executor.map(
        (x: number) => new Promise((resolve) => setTimeout(() => resolve(x), 20)),
        range(20),
      )) {
        if (value === 1) break;
      }
      await executor.shutdown();
      const started = events.filter((e) => e.type === 'task-start').length;
      assert.ok(started <= 3, `${started} tasks started after break at item 1`);
    }),
  );
});
