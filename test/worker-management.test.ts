/**
 * Worker lifecycle management on every executor: initializer, recycling by task count and by
 * memory, task timeouts, thread-pool sizing, the queue bound and statistics.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BrokenExecutorError,
  CancelledError,
  defineTask,
  type ExitEvent,
  InitializerError,
  ProcessPoolExecutor,
  QueueFullError,
  type ReadyEvent,
  type RecycleEvent,
  TaskTimeoutError,
  TerminatedWorkerError,
  type WorkerEvent,
} from 'rxpool';
import {
  childPids,
  isAlive,
  nextTurn,
  range,
  runtime,
  until,
  untilCount,
  waitForExit,
  withExecutor,
  withRecorded,
} from './support/pool.js';

const T = { timeout: 30_000 };
const noProc = process.platform === 'linux' ? false : 'lists processes from /proc (Linux)';
const MB = 1024 * 1024;

describe('initializer', T, () => {
  test('runs once in each worker before its first task; tasks see its state', T, () =>
    withExecutor(
      {
        maxWorkers: 2,
        initializer: async (name: string, size: number) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          const state = globalThis as { model?: { name: string; size: number; loads: number } };
          state.model = { name, size, loads: (state.model?.loads ?? 0) + 1 };
        },
        initArgs: ['tiny-model', 3],
      },
      async ({ executor }) => {
        const seen = await Promise.all(
          range(6).map(() => executor.submit(() => (globalThis as { model?: unknown }).model)),
        );
        assert.deepEqual(
          new Set(seen.map((m) => JSON.stringify(m))),
          new Set([JSON.stringify({ name: 'tiny-model', size: 3, loads: 1 })]),
        );
      },
    ),
  );

  test('one that throws fails the tasks sent to that worker, breaks the pool, and does not spin', T, () =>
    withExecutor(
      {
        maxWorkers: 2,
        initializer: function loadModel() {
          throw new Error('model file missing');
        },
      },
      async ({ executor, events }) => {
        const futures = range(5).map((i) => executor.submit((x: number) => x, i));
        const errors = await Promise.all(
          futures.map((f) =>
            f.then(
              () => assert.fail('should reject'),
              (e: unknown) => e,
            ),
          ),
        );
        const initErrors = errors.filter((e) => e instanceof InitializerError);
        assert.ok(initErrors.length >= 1, 'the tasks sent to the failed worker say the initializer failed');
        for (const error of errors) {
          assert.ok(error instanceof InitializerError || error instanceof BrokenExecutorError);
          assert.match((error as Error).message, /initializer.*failed|initializer `loadModel` failed/);
        }
        const initError = initErrors[0] as InitializerError;
        assert.match(
          initError.message,
          /The initializer \(function `loadModel`\) failed in worker \d+ \(pid \d+\): model file missing/,
        );
        assert.equal((initError.cause as Error).message, 'model file missing');
        assert.equal(executor.state, 'broken');
        assert.ok(events.filter((e) => e.type === 'spawned').length <= 2, 'no respawn loop');
      },
    ),
  );
});

describe('recycling', T, () => {
  test('maxTasksPerWorker: a worker retires after that many tasks and is replaced', T, () =>
    withExecutor({ maxWorkers: 1, maxTasksPerWorker: 3 }, async (recorded) => {
      const pids: number[] = [];
      for (let i = 0; i < 7; i++) pids.push(await recorded.executor.submit(() => process.pid));
      assert.equal(new Set(pids.slice(0, 3)).size, 1);
      assert.equal(new Set(pids.slice(3, 6)).size, 1);
      assert.notEqual(pids[0], pids[3]);
      assert.notEqual(pids[3], pids[6]);
      const recycles = await untilCount(recorded, (e): e is RecycleEvent => e.type === 'recycle', 2);
      assert.ok(recycles.every((e) => e.reason === 'max-tasks' && e.limit === 3));
      const exits = await untilCount(recorded, (e): e is ExitEvent => e.type === 'exit', 2);
      assert.ok(exits.every((e) => e.reason === 'recycled' && e.code === 0));
    }),
  );

  test('memoryLimit: a worker over the limit after a task is recycled between tasks', T, () =>
    withExecutor({ maxWorkers: 1, memoryLimit: 150 * MB }, async (recorded) => {
      const { executor } = recorded;
      const hog = await executor.submit((mb: number) => {
        (globalThis as { hoard?: Buffer }).hoard = Buffer.alloc(mb * 1024 * 1024, 1);
        return process.pid;
      }, 200);
      const recycle = await until(recorded, (e): e is RecycleEvent => e.type === 'recycle');
      assert.equal(recycle.reason, 'memory-limit');
      assert.ok((recycle.rss as number) > 150 * MB, `sampled ${recycle.rss} bytes`);
      const exit = await until(recorded, (e): e is ExitEvent => e.type === 'exit');
      assert.equal(exit.reason, 'recycled');
      assert.equal(exit.pid, hog);
      assert.notEqual(await executor.submit(() => process.pid), hog);
    }),
  );

  test('leak detection: a worker that keeps growing is recycled; every result stays intact', T, () =>
    withExecutor({ maxWorkers: 1, memoryGrowthLimit: 100 * MB }, async (recorded) => {
      const { executor } = recorded;
      const leak = async (i: number) => {
        const state = globalThis as { leaked?: Buffer[] };
        state.leaked ??= [];
        state.leaked.push(Buffer.alloc(30 * 1024 * 1024, i));
        await new Promise((resolve) => setTimeout(resolve, 150));
        return [i, process.pid];
      };
      const results: number[][] = [];
      for (let i = 0; i < 14; i++) results.push(await executor.submit(leak, i));
      assert.deepEqual(
        results.map(([i]) => i),
        range(14),
      );
      const recycle = await until(recorded, (e): e is RecycleEvent => e.type === 'recycle');
      assert.equal(recycle.reason, 'memory-growth');
      assert.ok(new Set(results.map(([, pid]) => pid)).size >= 2, 'the leaking worker was replaced');
      assert.ok(recorded.events.some((e) => e.type === 'exit' && e.reason === 'recycled'));
    }),
  );
});

describe('timeouts', T, () => {
  test('a task past its timeout (defineTask) fails; only its worker is killed', T, () =>
    withExecutor({ maxWorkers: 2 }, async (recorded) => {
      const { executor } = recorded;
      const slow = defineTask((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)), { timeout: 300 });
      const neighbour = executor.submit(() => new Promise((resolve) => setTimeout(() => resolve(process.pid), 800)));
      const overrun = executor.submit(slow, 10_000);
      await assert.rejects(overrun, (e: unknown) => e instanceof TaskTimeoutError && e.taskId === overrun.taskId);
      const neighbourPid = await neighbour;
      const exits = recorded.events.filter((e) => e.type === 'exit');
      assert.equal(exits.length, 1);
      assert.ok(exits[0]?.type === 'exit' && exits[0].reason === 'timeout' && exits[0].pid !== neighbourPid);
      assert.equal(await executor.submit(slow, 10), undefined, 'a quick one under the same definition passes');
    }),
  );
});

describe('oversubscription', T, () => {
  test('each worker gets its share of CPUs for native thread pools, unless the user set them', T, () =>
    withExecutor({ maxWorkers: 4, env: { OMP_NUM_THREADS: '7' } }, async ({ executor }) => {
      const env = await executor.submit(() => ({
        uv: process.env.UV_THREADPOOL_SIZE,
        omp: process.env.OMP_NUM_THREADS,
        blas: process.env.OPENBLAS_NUM_THREADS,
        mkl: process.env.MKL_NUM_THREADS,
      }));
      const { cpuCount } = await import('rxpool');
      const share = String(Math.max(1, Math.floor(cpuCount() / 4)));
      assert.deepEqual(env, { uv: share, omp: '7', blas: share, mkl: share });
    }),
  );

  test('a single worker gets every CPU this process may use', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const uv = await executor.submit(() => process.env.UV_THREADPOOL_SIZE);
      const { cpuCount } = await import('rxpool');
      assert.equal(uv, String(cpuCount()));
    }),
  );

  test(
    'a worker forked by the constructor gets its id and share too; a resize gives new workers their new share',
    T,
    () =>
      withExecutor({ maxWorkers: 1, minWorkers: 1 }, async ({ executor }) => {
        const { cpuCount } = await import('rxpool');
        const share = (workers: number) => String(Math.max(1, Math.floor(cpuCount() / workers)));
        const env = () => `${process.env.RXPOOL_WORKER_ID}:${process.env.UV_THREADPOOL_SIZE}`;
        assert.equal(await executor.submit(env), `1:${share(1)}`);
        executor.resize(2);
        // Each task holds its worker until both have started, so that they run on two workers.
        const file = join(mkdtempSync(join(tmpdir(), 'rxpool-share-')), 'started');
        const both = async (path: string) => {
          const fs = require('node:fs');
          fs.appendFileSync(path, 'x');
          const deadline = Date.now() + 10_000;
          while (fs.readFileSync(path, 'utf8').length < 2 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          return `${process.env.RXPOOL_WORKER_ID}:${process.env.UV_THREADPOOL_SIZE}`;
        };
        const seen = await Promise.all([executor.submit(both, file), executor.submit(both, file)]);
        assert.deepEqual(seen.sort(), [`1:${share(1)}`, `2:${share(2)}`]);
        rmSync(dirname(file), { recursive: true, force: true });
      }),
  );
});

describe('queue bound and statistics', T, () => {
  test('maxQueue: a submit beyond it throws QueueFullError; queueSize tells how many wait', T, () =>
    withExecutor({ maxWorkers: 1, maxQueue: 2 }, async (recorded) => {
      const { executor } = recorded;
      const running = executor.submit(() => new Promise((resolve) => setTimeout(resolve, 300)));
      await until(recorded, (e) => e.type === 'task-start');
      const waiting = [executor.submit(() => 1), executor.submit(() => 2)];
      assert.equal(executor.queueSize, 2);
      assert.throws(
        () => executor.submit(() => 3),
        (e: unknown) => e instanceof QueueFullError && e.maxQueue === 2,
      );
      await running;
      assert.deepEqual(await Promise.all(waiting), [1, 2]);
      assert.equal(executor.queueSize, 0);
      assert.equal(await executor.submit(() => 4), 4);
    }),
  );

  test('stats(): counts, per-worker tasks and memory, run and wait percentiles', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const ok = range(20).map((i) =>
        executor.submit((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), i * 2),
      );
      const bad = executor.submit(() => {
        throw new Error('x');
      });
      await Promise.all(ok);
      await bad.then(
        () => {},
        () => {},
      );
      const stats = executor.stats();
      assert.equal(stats.completed, 20);
      assert.equal(stats.failed, 1);
      assert.equal(stats.running, 0);
      assert.equal(stats.queued, 0);
      assert.equal(stats.workers.length, 2);
      assert.equal(
        stats.workers.reduce((sum, w) => sum + w.tasksRun, 0),
        21,
      );
      assert.ok(
        stats.workers.some((w) => (w.rss ?? 0) > 10 * MB),
        'a memory sample was taken',
      );
      assert.equal(stats.runTime.count, 21);
      assert.ok(stats.runTime.p50 <= stats.runTime.p90 && stats.runTime.p90 <= stats.runTime.p99);
      assert.ok(stats.runTime.p99 >= 30 && stats.runTime.max < 1000, JSON.stringify(stats.runTime));
      assert.equal(stats.waitTime.count, 21);
    }),
  );
});

describe('a starting worker', T, () => {
  const hook = fileURLToPath(new URL('./fixtures/boot-hook.cjs', import.meta.url));
  // Deno has no preload flag: its workers start as they are.
  const preload = { node: ['--require', hook], bun: ['--preload', hook], deno: undefined }[runtime];
  const skip = preload ? false : `${runtime} cannot preload a module into its workers`;

  // A 600 ms wait before the worker is ready, then a task with a 300 ms timeout: it must start with ready.
  const startsWithReady = (env: Record<string, string>) => () =>
    withExecutor({ maxWorkers: 1, execArgv: preload, env }, async (recorded) => {
      const quick = defineTask(() => process.pid, { timeout: 300 });
      const pid = await recorded.executor.submit(quick);
      const types = recorded.events.filter((e) => e.pid === pid).map((e) => e.type);
      assert.deepEqual(types.slice(0, 4), ['spawned', 'ready', 'task-start', 'task-end']);
      const end = recorded.events.find((e) => e.type === 'task-end');
      assert.ok(
        end?.type === 'task-end' && end.duration < 300,
        `run time ${end?.type === 'task-end' && end.duration} ms`,
      );
    });

  test(
    'its first task starts when it is ready: its boot counts against neither timeout nor run time',
    { ...T, skip },
    startsWithReady({ BOOT_BUSY_MS: '600' }),
  );

  test('a task cancelled while its worker boots never runs', { ...T, skip }, () =>
    withExecutor({ maxWorkers: 1, execArgv: preload, env: { BOOT_BUSY_MS: '400' } }, async ({ executor }) => {
      const dir = mkdtempSync(join(tmpdir(), 'rxpool-cancel-'));
      const marker = join(dir, 'ran');
      try {
        const cancelled = executor.submit((file: string) => require('node:fs').writeFileSync(file, 'ran'), marker);
        // A turn later the task is reserved on the booting worker.
        await nextTurn();
        assert.equal(cancelled.cancel(), true);
        await assert.rejects(cancelled, CancelledError);
        assert.equal(typeof (await executor.submit(() => process.pid)), 'number');
        assert.equal(existsSync(marker), false, 'the cancelled task ran');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );

  test(
    'a task sent while it is up but not ready yet starts with ready: that wait counts in neither',
    { ...T, skip },
    startsWithReady({ UP_BUSY_WORKER: '1', UP_BUSY_MS: '600' }),
  );

  test('a task already sent to a replacement that is not ready yet stays with it, and runs once', { ...T, skip }, () =>
    withExecutor(
      // The replacement (worker 3) is up at once, then takes 1.5 s to be ready.
      { maxWorkers: 2, execArgv: preload, env: { UP_BUSY_WORKER: '3', UP_BUSY_MS: '1500' } },
      async (recorded) => {
        const { executor, events } = recorded;
        const dir = mkdtempSync(join(tmpdir(), 'rxpool-once-'));
        const log = join(dir, 'runs');
        try {
          const sleep = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), ms));
          const [a, b] = await Promise.all([executor.submit(sleep, 50), executor.submit(sleep, 50)]);
          assert.notEqual(a, b, 'both workers are up');
          const survivor = executor.submit(sleep, 600);
          await assert.rejects(
            executor.submit(() => process.exit(1)),
            TerminatedWorkerError,
          );
          // Reserved on the starting replacement, and sent to it once it is up, long before the
          // survivor is idle: the survivor must not take it back, or both would run it.
          const next = executor.submit((file: string) => {
            require('node:fs').appendFileSync(file, `${process.pid}\n`);
            return process.pid;
          }, log);
          await survivor;
          const ranOn = await next;
          const replacement = events.find((e) => e.type === 'spawned' && e.workerId === 3);
          assert.equal(ranOn, replacement?.pid, 'it ran on the replacement');
          await executor.shutdown();
          assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [String(ranOn)], 'it ran once');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
  );

  test(
    'one that exits before it is ready leaves the task reserved on it to another worker',
    {
      ...T,
      skip,
    },
    () =>
      withExecutor({ maxWorkers: 2, execArgv: preload, env: { BOOT_EXIT_WORKER: '2' } }, async (recorded) => {
        const { executor } = recorded;
        const first = executor.submit(() => new Promise((resolve) => setTimeout(() => resolve(process.pid), 200)));
        await until(recorded, (e) => e.type === 'task-start');
        const second = executor.submit(() => process.pid);
        const exit = await until(recorded, (e): e is ExitEvent => e.type === 'exit' && e.workerId === 2);
        assert.equal(exit.reason, 'failed-to-start');
        assert.equal(exit.code, 3);
        assert.deepEqual(exit.unstartedTaskIds, [second.taskId]);
        const [firstPid, secondPid] = await Promise.all([first, second]);
        assert.notEqual(secondPid, exit.pid);
        assert.ok(firstPid !== undefined && executor.state === 'running');
      }),
  );
});

describe('minWorkers', T, () => {
  const isReady = (e: WorkerEvent): e is ReadyEvent => e.type === 'ready';
  const isExit = (e: WorkerEvent): e is ExitEvent => e.type === 'exit';

  test('starts that many workers with the executor; the first tasks run on them, no spawn waits', T, () =>
    withExecutor({ maxWorkers: 3, minWorkers: 2 }, async (recorded) => {
      const ready = await untilCount(recorded, isReady, 2);
      assert.equal(recorded.events.filter((e) => e.type === 'spawned').length, 2, 'no third worker before any task');
      const warm = new Set(ready.map((e) => e.pid));
      const ran = await Promise.all(range(2).map(() => recorded.executor.submit(() => process.pid)));
      for (const pid of ran) assert.ok(warm.has(pid), `task ran on ${pid}, not on a warm worker`);
    }),
  );

  test('idleTimeout and shrinking keep that many alive; one that exits or retires is replaced', T, () =>
    withExecutor({ maxWorkers: 2, minWorkers: 1, idleTimeout: 50, maxTasksPerWorker: 2 }, async (recorded) => {
      const { executor } = recorded;
      const slow = () => new Promise((resolve) => setTimeout(() => resolve(process.pid), 100));
      await Promise.all([executor.submit(slow), executor.submit(slow)]);
      const [idle] = await untilCount(recorded, (e): e is ExitEvent => isExit(e) && e.reason === 'idle', 1);
      // The other worker's idle timer has fired too by four timeouts later, and must have spared it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(recorded.events.filter(isExit).length, 1, `only ${idle?.pid} left`);
      assert.equal(executor.stats().workers.length, 1);

      const [kept] = executor.stats().workers;
      process.kill(kept?.pid as number, 'SIGKILL');
      await untilCount(recorded, isReady, 3);
      assert.equal(executor.stats().workers.length, 1, 'the killed worker was replaced, by one');

      // maxTasksPerWorker: 2 retires the replacement after two tasks, with nothing queued.
      await executor.submit(() => 1);
      await executor.submit(() => 2);
      await untilCount(recorded, (e): e is ExitEvent => isExit(e) && e.reason === 'recycled', 1);
      await untilCount(recorded, isReady, 4);

      executor.resize(1);
      executor.resize(2);
      await nextTurn(); // the pool tops itself up in a microtask
      assert.equal(executor.stats().workers.length, 1, 'growing maxWorkers starts no worker beyond minWorkers');
    }),
  );

  // They boot while the constructor, and whatever the program does next, go on.
  test('are forked in the constructor, and are the workers the pool then uses', { ...T, skip: noProc }, () => {
    const before = childPids();
    const executor = new ProcessPoolExecutor({ maxWorkers: 3, minWorkers: 2, execArgv: [] });
    const forked = childPids().filter((pid) => !before.includes(pid));
    return withRecorded(executor, async (recorded) => {
      assert.equal(forked.length, 2, 'two worker processes exist as soon as the constructor returns');
      const ready = await untilCount(recorded, isReady, 2);
      assert.deepEqual(ready.map((e) => e.pid).sort(), [...forked].sort());
      assert.equal(recorded.events.filter((e) => e.type === 'spawned').length, 2, 'no other worker was started');
      assert.deepEqual(await recorded.executor.submit(() => 'ran'), 'ran');
    });
  });

  test('those forked for a pool shut down or shrunk at once are killed', { ...T, skip: noProc }, async () => {
    let before = childPids();
    const closed = new ProcessPoolExecutor({ maxWorkers: 2, minWorkers: 2, execArgv: [] });
    const forked = childPids().filter((pid) => !before.includes(pid));
    await closed.shutdown();
    assert.equal(forked.length, 2);
    for (const pid of forked) assert.equal(isAlive(pid), false, `forked worker ${pid} outlived shutdown()`);

    before = childPids();
    const shrunk = new ProcessPoolExecutor({ maxWorkers: 2, minWorkers: 2, execArgv: [] });
    const both = childPids().filter((pid) => !before.includes(pid));
    shrunk.resize(1);
    await withRecorded(shrunk, async (recorded) => {
      assert.equal(both.length, 2);
      const [ready] = await untilCount(recorded, isReady, 1);
      assert.ok(both.includes(ready?.pid as number), 'the one worker is one of those forked');
      await waitForExit(both.find((pid) => pid !== ready?.pid) as number, 2000);
      assert.equal(shrunk.stats().workers.length, 1);
    });
  });

  test('is checked at construction', () => {
    assert.throws(
      () => new ProcessPoolExecutor({ maxWorkers: 2, minWorkers: 3 }),
      /minWorkers \(3\) must not exceed maxWorkers \(2\)/,
    );
    assert.throws(() => new ProcessPoolExecutor({ minWorkers: -1 }), RangeError);
    assert.throws(() => new ProcessPoolExecutor({ minWorkers: 1.5 }), RangeError);
  });
});
