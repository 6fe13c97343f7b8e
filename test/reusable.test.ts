/**
 * The shared executor: reused, resized in place, replaced when its options change, idle workers
 * exiting and coming back.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type ExitEvent,
  getReusableExecutor,
  type ProcessPoolExecutor,
  type ReusableExecutorOptions,
  ShutdownExecutorError,
  type WorkerEvent,
} from 'rxpool';
import { isAlive, type Recorded, range, until, untilCount, waitForExit } from './support/pool.js';

const T = { timeout: 30_000 };
const sleepTask = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), ms));

/** Every shared executor a test touched, shut down (killing) after it, with its workers checked gone. */
const touched = new Map<ProcessPoolExecutor, Recorded>();

function shared(options: ReusableExecutorOptions): Recorded {
  const executor = getReusableExecutor({ execArgv: [], ...options });
  let recorded = touched.get(executor);
  if (!recorded) {
    const events: WorkerEvent[] = [];
    const pids = new Set<number>();
    executor.events$.subscribe((event) => {
      events.push(event);
      if (event.type === 'spawned' && event.pid !== undefined) pids.add(event.pid);
    });
    recorded = { executor, events, pids };
    touched.set(executor, recorded);
  }
  return recorded;
}

afterEach(async () => {
  for (const [executor, { pids }] of touched) {
    await executor.shutdown({ killWorkers: true });
    for (const pid of pids) assert.equal(isAlive(pid), false, `worker ${pid} outlived its executor`);
  }
  touched.clear();
});

describe('getReusableExecutor', T, () => {
  test('returns the same executor while it is alive, and a fresh one after shutdown', T, async () => {
    const first = shared({ maxWorkers: 2 }).executor;
    assert.equal(shared({ maxWorkers: 2 }).executor, first);
    assert.equal(await first.submit((x: number) => x + 1, 1), 2);
    await first.shutdown();
    const second = shared({ maxWorkers: 2 }).executor;
    assert.notEqual(second, first);
    assert.equal(await second.submit((x: number) => x + 1, 2), 3);
  });

  test('resizes in place: growing adds workers, shrinking retires idle ones and kills no task', T, async () => {
    const recorded = shared({ maxWorkers: 2 });
    const { executor } = recorded;
    const firstWave = range(2).map(() => executor.submit(sleepTask, 300));
    assert.equal(shared({ maxWorkers: 4 }).executor, executor, 'growing keeps the same executor');
    assert.equal(executor.maxWorkers, 4);
    const secondWave = range(2).map(() => executor.submit(sleepTask, 300));
    const wave = await Promise.all([...firstWave, ...secondWave]);
    assert.equal(new Set(wave).size, 4, 'four workers ran the four tasks at once');

    const running = range(4).map(() => executor.submit(sleepTask, 300));
    await until(recorded, (e) => e.type === 'task-start' && e.taskId === running[3]?.taskId);
    assert.equal(shared({ maxWorkers: 1 }).executor, executor, 'shrinking keeps the same executor');
    const survivors = await Promise.all(running); // none of them is killed
    assert.equal(survivors.length, 4);
    const resized = await untilCount(recorded, (e): e is ExitEvent => e.type === 'exit' && e.reason === 'resized', 3);
    assert.ok(resized.every((e) => e.code === 0 && e.signal === null));
    const [left] = await Promise.all([executor.submit(() => process.pid)]);
    assert.ok(wave.includes(left as number), 'the worker that stays is one of the old ones');
    assert.equal(executor.stats().workers.length, 1);
  });

  test("different worker options: the old executor's tasks finish, then the new one starts", T, async () => {
    const old = shared({ maxWorkers: 1, env: { FLAVOUR: 'old' } });
    const oldTask = old.executor.submit(async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return process.env.FLAVOUR;
    });
    await until(old, (e) => e.type === 'task-start');
    const fresh = shared({ maxWorkers: 1, env: { FLAVOUR: 'new' } });
    assert.notEqual(fresh.executor, old.executor);
    const newTask = fresh.executor.submit(() => process.env.FLAVOUR);
    assert.equal(await oldTask, 'old', 'the old task was not killed');
    assert.equal(await newTask, 'new');
    const oldEnd = await until(old, (e) => e.type === 'task-end');
    const newSpawn = await until(fresh, (e) => e.type === 'spawned');
    assert.ok(newSpawn.time >= oldEnd.time, 'the new workers started after the old tasks ended');
    assert.equal(old.executor.state, 'shut-down');
  });

  test('killWorkers: true replaces the executor at once, failing its unfinished tasks', T, async () => {
    const old = shared({ maxWorkers: 1, env: { FLAVOUR: 'old' } });
    const stuck = old.executor.submit(sleepTask, 60_000);
    await until(old, (e) => e.type === 'task-start');
    const fresh = shared({ maxWorkers: 1, env: { FLAVOUR: 'new' }, killWorkers: true });
    await assert.rejects(stuck, ShutdownExecutorError);
    assert.equal(await fresh.executor.submit(() => process.env.FLAVOUR), 'new');
  });

  test('reuse: true keeps the executor whatever the options; reuse: false always replaces it', T, async () => {
    const first = shared({ maxWorkers: 1, env: { A: '1' } }).executor;
    assert.equal(shared({ env: { A: '2' }, reuse: true }).executor, first);
    const replaced = shared({ env: { A: '1' }, reuse: false }).executor;
    assert.notEqual(replaced, first);
  });
});

describe('idleTimeout', T, () => {
  test('an idle worker exits after the timeout; the next task spawns one again', T, async () => {
    const recorded = shared({ maxWorkers: 2, idleTimeout: 200 });
    const { executor } = recorded;
    const pids = await Promise.all(range(2).map(() => executor.submit(sleepTask, 50)));
    const idle = await untilCount(recorded, (e): e is ExitEvent => e.type === 'exit' && e.reason === 'idle', 2);
    assert.deepEqual(new Set(idle.map((e) => e.pid)), new Set(pids));
    for (const pid of pids) await waitForExit(pid);
    const again = await executor.submit(() => process.pid);
    assert.ok(!pids.includes(again), 'a new worker ran it');
  });

  test('a script that only uses the shared executor exits by itself, workers and all', T, async () => {
    const script = fileURLToPath(new URL('./fixtures/shared-only.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const [line] = (await once(lines, 'line')) as [string];
    const { pids, sum } = JSON.parse(line) as { pids: number[]; sum: number };
    assert.equal(sum, 4950);
    const printedAt = performance.now();
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.ok(performance.now() - printedAt < 1000, 'it did not wait for the idle timeout');
    for (const pid of pids) await waitForExit(pid, 1000);
  });
});
