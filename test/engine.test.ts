/**
 * The engine's shape, tested directly: a worker is an Observable of lifecycle events, and the
 * scheduler is an operator from a stream of tasks to the pool's events.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, from, lastValueFrom, NEVER, ReplaySubject, Subject, toArray } from 'rxjs';
import type { WorkerSpec } from '../dist/engine/launch.js';
import type { ProcessEvent, WorkerCommand } from '../dist/engine/worker-process.js';
import { isAlive, requireDist, waitForExit } from './support/pool.js';

// Through require: Deno would load some of these CommonJS files as ES modules if imported.
const { schedule } = requireDist<typeof import('../dist/engine/scheduler.js')>('engine/scheduler.js');
const { Task } = requireDist<typeof import('../dist/engine/task.js')>('engine/task.js');
const { TaskQueue } = requireDist<typeof import('../dist/engine/task-queue.js')>('engine/task-queue.js');
const { workerProcess } = requireDist<typeof import('../dist/engine/worker-process.js')>('engine/worker-process.js');
const { FunctionRegistry } = requireDist<typeof import('../dist/shipping/function-registry.js')>(
  'shipping/function-registry.js',
);

const T = { timeout: 20_000 };
const spec: WorkerSpec = {
  bootstrap: join(fileURLToPath(new URL('../dist/worker/', import.meta.url)), 'boot.js'),
  execPath: process.execPath,
  execArgv: [],
  env: process.env,
  cwd: undefined,
};
const functions = new FunctionRegistry();
let nextId = 1;
const task = (fn: (...args: never[]) => unknown, ...args: unknown[]) =>
  new Task(nextId++, { fn: functions.resolve(fn), args, chunk: false, timeout: undefined });

describe('a worker process as an Observable', T, () => {
  // A bare worker never holds the event loop open (the scheduler does, while work is pending).
  let hold: NodeJS.Timeout;
  beforeEach(() => {
    hold = setInterval(() => {}, 1000);
  });
  afterEach(() => clearInterval(hold));

  test('subscribing spawns it; it emits spawned, ready, task-start, task-end; stop ends it with exit', T, async () => {
    const commands = new Subject<WorkerCommand>();
    const worker = new ReplaySubject<ProcessEvent>();
    workerProcess(spec, 7, commands).subscribe(worker);
    const job = task((a: number) => a + 1, 41);
    commands.next({ kind: 'run', task: job });
    await firstValueFrom(worker.pipe(filter((e) => e.type === 'task-end')));
    commands.next({ kind: 'stop', reason: 'shutdown' });
    const events = await lastValueFrom(worker.pipe(toArray()));
    assert.deepEqual(
      events.map((e) => e.type),
      ['spawned', 'ready', 'task-start', 'task-end', 'exit'],
    );
    const end = events[3];
    assert.ok(end?.type === 'task-end' && end.ok && end.value === 42 && end.taskId === job.id);
    const exit = events[4];
    assert.ok(exit?.type === 'exit' && exit.reason === 'shutdown' && exit.code === 0 && exit.workerId === 7);
  });

  test('unsubscribing kills the process', T, async () => {
    const worker = new Subject<ProcessEvent>();
    const ready = firstValueFrom(worker.pipe(filter((e) => e.type === 'ready')));
    const subscription = workerProcess(spec, 1, NEVER).subscribe(worker);
    const { pid } = await ready;
    assert.ok(pid !== undefined && isAlive(pid));
    subscription.unsubscribe();
    await waitForExit(pid, 2000);
  });

  test('a worker that answers Skipped for a task counted as running fails that task; nothing hangs', T, async () => {
    const commands = new Subject<WorkerCommand>();
    const worker = new ReplaySubject<ProcessEvent>();
    const bootstrap = fileURLToPath(new URL('./fixtures/skipping-worker.cjs', import.meta.url));
    workerProcess({ ...spec, bootstrap }, 3, commands).subscribe(worker);
    const job = task((a: number) => a + 1, 1);
    commands.next({ kind: 'run', task: job });
    const end = await firstValueFrom(worker.pipe(filter((e) => e.type === 'task-end')));
    assert.ok(end.type === 'task-end' && !end.ok && end.taskId === job.id);
    assert.match(String(end.error), /worker 3 \(pid \d+\) skipped task \d+, which was counted as started/);
    commands.next({ kind: 'stop', reason: 'shutdown' });
    const exit = await lastValueFrom(worker.pipe(filter((e) => e.type === 'exit')));
    assert.ok(exit.pid !== undefined);
    await waitForExit(exit.pid, 2000);
  });

  test(
    'tasks are sent once the process is up and start with ready: one that dies before it never started them',
    T,
    async () => {
      const commands = new Subject<WorkerCommand>();
      const worker = new ReplaySubject<ProcessEvent>();
      const bootstrap = fileURLToPath(new URL('./fixtures/up-then-exit-worker.cjs', import.meta.url));
      workerProcess({ ...spec, bootstrap }, 4, commands).subscribe(worker);
      const job = task((a: number) => a + 1, 1);
      commands.next({ kind: 'run', task: job });
      const events = await lastValueFrom(worker.pipe(toArray()));
      assert.deepEqual(
        events.map((e) => e.type),
        ['spawned', 'exit'],
      );
      const exit = events[1];
      assert.ok(exit?.type === 'exit');
      // It exits when the task reaches it: the task was sent before Ready, and is handed back unstarted.
      assert.equal(exit.code, 1);
      assert.equal(exit.reason, 'failed-to-start');
      assert.deepEqual(exit.unstartedTaskIds, [job.id]);
      assert.equal(exit.runningTaskId, undefined);
      assert.equal(job.state, 'pending');
    },
  );
});

describe('the scheduler operator', T, () => {
  test(
    'merges a finite task stream into workers, settles every task, and completes after the workers exit',
    T,
    async () => {
      const tasks = Array.from({ length: 20 }, (_, i) => task((x: number) => x * 2, i));
      const events = await lastValueFrom(
        from(tasks).pipe(
          schedule({
            maxWorkers$: from([3]),
            control$: NEVER,
            spawn: (id, commands) => workerProcess(spec, id, commands),
          }),
          toArray(),
        ),
      );
      assert.deepEqual(
        tasks.map((t) => t.outcome),
        tasks.map((_, i) => ({ ...tasks[i]?.outcome, ok: true, value: i * 2 })),
      );
      const exits = events.filter((e) => e.type === 'exit');
      assert.equal(exits.length, new Set(events.map((e) => e.workerId)).size);
      assert.ok(exits.length <= 3);
      for (const exit of exits) assert.equal(isAlive(exit.pid as number), false);
    },
  );
});

describe('the task queue', T, () => {
  const inGroup = (group: number) =>
    new Task(nextId++, { fn: functions.resolve(() => 0), args: [], chunk: false, timeout: undefined, group });

  test('groups take turns; lanes that empty and refill, and groups that come and go, lose nothing', T, () => {
    const queue = new TaskQueue();
    const out: number[] = [];
    const take = () => {
      const next = queue.shift();
      if (next) out.push(next.group);
    };
    // A long-lived group 1, and 60 short groups of one task each: more emptied lanes than the queue keeps.
    for (let i = 0; i < 3; i++) queue.push(inGroup(1));
    for (let group = 100; group < 160; group++) {
      queue.push(inGroup(group));
      take();
      take();
      queue.push(inGroup(1));
      queue.push(inGroup(1)); // group 1's lane refills after it emptied
    }
    while (queue.size > 0) take();
    assert.equal(queue.shift(), undefined);
    assert.equal(out.filter((g) => g === 1).length, 3 + 2 * 60);
    assert.deepEqual(
      out.filter((g) => g !== 1),
      Array.from({ length: 60 }, (_, i) => 100 + i),
    );
    // Turns alternate: no short group's task comes after two of group 1's in a row.
    for (let i = 2; i < out.length; i++) {
      if (out[i] !== 1) assert.ok(out[i - 1] !== 1 || out[i - 2] !== 1, `group ${out[i]} waited more than one turn`);
    }
  });
});
