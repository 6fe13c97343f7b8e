/**
 * Shutdown, lifecycle events, and the promise that no worker process outlives its reason to exist.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ProcessPoolExecutor, ShutdownExecutorError, type WorkerEvent } from 'rxpool';
import {
  isAlive,
  range,
  requireDist,
  runtime,
  scriptArgs,
  underTsx,
  until,
  waitForExit,
  withExecutor,
} from './support/pool.js';

const T = { timeout: 30_000 };
const { sampleMemory } = requireDist<typeof import('../dist/engine/memory-sampler.js')>('engine/memory-sampler.js');
const { workerFlags } = requireDist<typeof import('../dist/platform/runtime.js')>('platform/runtime.js');
const { workerLaunch } = requireDist<typeof import('../dist/platform/parent-death.js')>('platform/parent-death.js');
/** How workers started by this process (with `env`) die with it. */
const parentDeath = (env: NodeJS.ProcessEnv = process.env) => workerLaunch('node', [], env).how;
const { needsWatchdog, startedBy } = requireDist<typeof import('../dist/worker/watchdog.js')>('worker/watchdog.js');
const { FromWorker } = requireDist<typeof import('../dist/protocol/messages.js')>('protocol/messages.js');
/** Linux only: the test reads the process tree from /proc. */
const LINUX = { ...T, skip: process.platform === 'linux' ? false : 'reads the process tree from /proc (Linux)' };
/** POSIX only: on Windows an orphan keeps its parent pid, so the watchdog cannot see its parent die. */
const POSIX = { ...T, skip: process.platform === 'win32' ? 'Windows does not re-parent orphans' : false };
const distPath = (path: string) => fileURLToPath(new URL(`../dist/${path}`, import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('shutdown', T, () => {
  test('by default lets queued and running tasks finish, then every worker exits', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor, events, pids }) => {
      const futures = range(10).map((i) =>
        executor.submit((x: number) => new Promise((resolve) => setTimeout(() => resolve(x), 30)), i),
      );
      await executor.shutdown();
      assert.equal(executor.state, 'shut-down');
      assert.deepEqual(
        futures.map((f) => f.state),
        range(10).map(() => 'fulfilled'),
      );
      assert.deepEqual(await Promise.all(futures), range(10));
      const exits = events.filter((e) => e.type === 'exit');
      assert.equal(exits.length, pids.size);
      assert.ok(exits.every((e) => e.type === 'exit' && e.reason === 'shutdown' && e.code === 0));
      for (const pid of pids) assert.equal(isAlive(pid), false);
    }),
  );

  test('wait: false resolves at once while the pool drains', T, () =>
    withExecutor({ maxWorkers: 1 }, async (recorded) => {
      const { executor } = recorded;
      const slow = executor.submit(() => new Promise((resolve) => setTimeout(() => resolve('done'), 200)));
      await executor.shutdown({ wait: false });
      assert.equal(executor.state, 'shutting-down');
      assert.equal(await slow, 'done');
      await until(recorded, (e) => e.type === 'exit');
    }),
  );

  test('killWorkers kills workers and the processes they started, and rejects unfinished tasks', LINUX, () =>
    withExecutor({ maxWorkers: 2 }, async (recorded) => {
      const { executor } = recorded;
      const grandchildren = range(2).map(() =>
        executor.submit(async () => {
          const { spawn } = await import('node:child_process');
          const child = spawn('sleep', ['300'], { stdio: 'ignore' });
          await new Promise((resolve) => setTimeout(resolve, 60_000));
          return child.pid;
        }),
      );
      const queued = range(3).map(() => executor.submit(() => 'never'));
      await until(recorded, (e) => e.type === 'task-start' && e.taskId === grandchildren[1]?.taskId);
      const sleepers = await sleepProcessesOf(recorded.pids);
      assert.equal(sleepers.length, 2, 'each worker started a grandchild');
      const started = performance.now();
      await executor.shutdown({ killWorkers: true });
      assert.ok(performance.now() - started < 2000, 'killing is immediate');
      for (const future of [...grandchildren, ...queued]) await assert.rejects(future, ShutdownExecutorError);
      for (const pid of sleepers) await waitForExit(pid, 2000);
    }),
  );

  test('`await using` shuts the executor down at the end of the scope', T, async () => {
    let pids: number[];
    {
      await using executor = new ProcessPoolExecutor({ maxWorkers: 2, execArgv: [] });
      pids = await Promise.all(range(4).map(() => executor.submit(() => process.pid)));
    }
    for (const pid of pids) assert.equal(isAlive(pid), false);
  });
});

describe('events$', T, () => {
  test('tells each worker’s life: spawned, ready, task-start, task-end, exit, with ids and pids', T, async () => {
    const executor = new ProcessPoolExecutor({ maxWorkers: 1, execArgv: [] });
    const events: WorkerEvent[] = [];
    const completed = new Promise<void>((resolve) =>
      executor.events$.subscribe({ next: (e) => events.push(e), complete: resolve }),
    );
    const future = executor.submit(() => 'hello');
    await future;
    await executor.shutdown();
    await completed;
    const memory = events.filter((e) => e.type === 'memory');
    assert.ok(
      memory.every((e) => e.type === 'memory' && e.rss > 10e6),
      'memory samples are real RSS values',
    );
    events.splice(0, events.length, ...events.filter((e) => e.type !== 'memory'));
    assert.deepEqual(
      events.map((e) => e.type),
      ['spawned', 'ready', 'task-start', 'task-end', 'exit'],
    );
    const [spawned] = events;
    assert.ok(spawned && spawned.workerId === 1 && typeof spawned.pid === 'number');
    assert.ok(events.every((e) => e.workerId === 1 && e.pid === spawned.pid));
    assert.ok(events.every((e, i) => i === 0 || e.time >= (events[i - 1] as WorkerEvent).time));
    const end = events[3];
    assert.ok(end?.type === 'task-end' && end.ok && end.value === 'hello' && end.taskId === future.taskId);
    assert.ok(end.duration >= 0);
  });

  test('a memory sample on Linux reads /proc, agrees with pidusage and starts no process', LINUX, async () => {
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      const pid = child.pid as number;
      // Asleep: done loading, so its resident memory holds still between the two readings.
      const deadline = Date.now() + 5000;
      while (!/\) S /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) {
        assert.ok(Date.now() < deadline, '`sleep` went to sleep');
        await sleep(10);
      }
      // In a fresh process, where pidusage's first call would start `getconf` twice: count spawns.
      const script = `
        const { ChildProcess } = require('node:child_process');
        const original = ChildProcess.prototype.spawn;
        let spawned = 0;
        ChildProcess.prototype.spawn = function (...args) { spawned++; return original.apply(this, args); };
        require(${JSON.stringify(distPath('engine/memory-sampler.js'))}).sampleMemory([${pid}])
          .then((rss) => console.log(JSON.stringify({ spawned, rss: rss.get(${pid}) })));`;
      const dir = mkdtempSync(join(tmpdir(), 'rxpool-sample-'));
      let output: string;
      try {
        writeFileSync(join(dir, 'sample.cjs'), script);
        output = execFileSync(process.execPath, scriptArgs(join(dir, 'sample.cjs')), { encoding: 'utf8' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const { spawned, rss: ours } = JSON.parse(output) as { spawned: number; rss: number | undefined };
      assert.equal(spawned, 0, 'no process was started to read memory');
      const pidusage = (await import('pidusage')).default;
      const theirs = (await pidusage(pid)).memory;
      assert.ok(ours !== undefined && ours > 0);
      // The same resident set of an idle `sleep`, in bytes both: `VmRSS` is the exact sum, while the
      // page count pidusage reads from /proc/<pid>/stat may lag it by a few per-CPU batches of pages.
      const ratio = ours / theirs;
      assert.ok(ratio > 0.8 && ratio < 1.25, `/proc/<pid>/status says ${ours} bytes, pidusage ${theirs}`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('a memory sample leaves out a zombie (exited, not yet reaped): it holds no memory', LINUX, async () => {
    // `sh` backgrounds a `sleep 0`, prints its pid and becomes `sleep 5`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(createInterface({ input: parent.stdout as NodeJS.ReadableStream }), 'line')) as [
        string,
      ];
      const zombie = Number(line);
      const stateOf = (pid: number) => {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      };
      const deadline = Date.now() + 5000;
      while (stateOf(zombie) !== 'Z') {
        assert.ok(Date.now() < deadline, 'the background sleep became a zombie');
        await sleep(10);
      }
      const samples = await sampleMemory([zombie, parent.pid as number]);
      assert.equal(samples.has(zombie), false);
      assert.ok((samples.get(parent.pid as number) ?? 0) > 0, 'a live process is sampled');
    } finally {
      parent.kill('SIGKILL');
    }
  });

  test('a crash shows as task-end with the error, then exit with code, signal and reason', T, () =>
    withExecutor({ maxWorkers: 1 }, async (recorded) => {
      const doomed = recorded.executor.submit(() => process.exit(5));
      await doomed.then(
        () => assert.fail('should reject'),
        () => {},
      );
      const exit = await until(recorded, (e) => e.type === 'exit');
      assert.ok(exit.type === 'exit' && exit.code === 5 && exit.reason === 'crashed');
      assert.equal(exit.runningTaskId, doomed.taskId);
      const end = recorded.events.find((e) => e.type === 'task-end');
      assert.ok(end?.type === 'task-end' && !end.ok && end.taskId === doomed.taskId);
      assert.ok(recorded.events.indexOf(end) < recorded.events.indexOf(exit));
    }),
  );

  test('each worker sees RXPOOL_WORKER_ID, the env option merged over process.env, and cwd', T, () =>
    withExecutor(
      { maxWorkers: 1, env: { RXPOOL_TEST_VALUE: 'from-env', HOME: undefined }, cwd: '/tmp' },
      async ({ executor }) => {
        const seen = await executor.submit(() => ({
          id: process.env.RXPOOL_WORKER_ID,
          value: process.env.RXPOOL_TEST_VALUE,
          home: process.env.HOME,
          path: process.env.PATH,
          cwd: process.cwd(),
        }));
        assert.deepEqual(seen, { id: '1', value: 'from-env', home: undefined, path: process.env.PATH, cwd: '/tmp' });
      },
    ),
  );

  test(
    'execArgv reaches the workers; by default they inherit this process’s flags minus debugging ones',
    T,
    async () => {
      await withExecutor({ maxWorkers: 1, execArgv: ['--max-old-space-size=123'] }, async ({ executor }) => {
        if (runtime === 'deno') {
          // Deno's fork passes it to V8 as --v8-flags=..., and a Deno process.execArgv is always empty.
          assert.deepEqual(await executor.submit(() => process.execArgv), []);
          const limit = await executor.submit(() => require('node:v8').getHeapStatistics().heap_size_limit as number);
          assert.ok(limit < 256 * 2 ** 20, `heap limit ${limit} bytes`);
        } else {
          assert.deepEqual(await executor.submit(() => process.execArgv), workerFlags(['--max-old-space-size=123']));
        }
      });
      const executor = new ProcessPoolExecutor({ maxWorkers: 1 });
      try {
        // This test file runs under `node --import tsx --test ...`: the loader carries over, test flags
        // do not, nor do debugger, watch and profiler flags (some Node versions hand the test process
        // those explicitly, with their default values).
        const inherited = await executor.submit(() => process.execArgv);
        const debugging = [
          '--test',
          '--experimental-test',
          '--inspect',
          '--debug',
          '--watch',
          '--cpu-prof',
          '--heap-prof',
          '--prof',
        ];
        assert.deepEqual(
          inherited,
          workerFlags(process.execArgv.filter((flag) => !debugging.some((prefix) => flag.startsWith(prefix)))),
        );
        // Only Node runs this file through a loader flag (`--import tsx`); `bun test` and `deno test`
        // compile TypeScript themselves and start with no flags.
        if (underTsx) assert.ok(inherited.includes('tsx'));
        else assert.deepEqual(inherited, workerFlags([]));
      } finally {
        await executor.shutdown();
      }
      // A script started with this runtime's own flags: its workers get them, minus the debugger's.
      // Deno's process.execArgv is always empty, whatever `deno run` was given.
      const started = {
        // Values given apart from their flag go with it (a '100' left behind would be the worker's script).
        node: {
          flags: ['--inspect-port=0', '--inspect-publish-uid', 'http', '--no-warnings', '--test-reporter', 'spec'],
          inherited: ['--no-warnings'],
        },
        bun: { flags: ['--smol', '--inspect=127.0.0.1:0'], inherited: ['--smol'] },
        deno: { flags: [], inherited: [] },
      }[runtime];
      const output = execFileSync(
        process.execPath,
        runtime === 'deno'
          ? ['run', '-A', '--v8-flags=--max-old-space-size=200', fixture('exec-argv.mjs')]
          : [...started.flags, fixture('exec-argv.mjs')],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      assert.deepEqual(JSON.parse(output), { parent: started.flags, worker: workerFlags(started.inherited) });
    },
  );
});

describe('no orphans', T, () => {
  test('a script that never calls shutdown() exits within a second of its last result', T, () =>
    runFixture('forgets-shutdown.mjs', async (child, line) => {
      const { results, pids } = JSON.parse(line) as { results: number[]; pids: number[] };
      assert.deepEqual(results, [10, 20, 30, 40]);
      await exitsPromptly(child, pids, 'after its last result');
      return pids;
    }),
  );

  test('a script that starts a warm pool (minWorkers) and never uses it or shuts it down exits', T, () =>
    runFixture('forgets-warm-pool.mjs', async (child, line) => {
      const { pids } = JSON.parse(line) as { pids: number[] };
      assert.equal(pids.length, 2);
      await exitsPromptly(child, pids, 'with nothing to do');
      return pids;
    }),
  );

  // On Linux with util-linux's setpriv the kernel kills the workers (no thread runs in them then,
  // so only it can stop the one in a synchronous loop); elsewhere, or when forced, the thread does.
  for (const [how, env, expected] of [
    ['by default', {}, parentDeath()],
    ['with the watchdog thread forced', { RXPOOL_WATCHDOG: 'thread' }, 'thread'],
  ] as const) {
    test(
      `SIGKILL of the parent (${how}: ${expected}): idle, async-busy and sync-busy workers all exit within about 2 s`,
      POSIX,
      () =>
        runFixture(
          'killed-parent.mjs',
          async (child, line) => {
            const { pids, parentDeath: used } = JSON.parse(line) as { pids: number[]; parentDeath: string };
            assert.equal(used, expected);
            assert.equal(pids.length, 2);
            assert.ok(pids.every(isAlive));
            child.kill('SIGKILL');
            await once(child, 'exit');
            for (const pid of pids) await waitForExit(pid, 2500);
            return pids;
          },
          env,
        ),
    );
  }

  test(
    'Node 22.7–23 workers keep AsyncLocalStorage in async context frames (cheap awaits); the user’s flags win',
    T,
    () => {
      const FRAMES = '--experimental-async-context-frame';
      assert.deepEqual(workerFlags(['--a'], 'node', '22.7.0'), [FRAMES, '--a']);
      assert.deepEqual(workerFlags([], 'node', '23.11.1'), [FRAMES]);
      for (const version of ['20.20.2', '22.6.0', '24.0.0', '26.12.1']) {
        assert.deepEqual(workerFlags(['--a'], 'node', version), ['--a'], version);
      }
      assert.deepEqual(workerFlags(['--a'], 'bun', '22.7.0'), ['--a']);
      assert.deepEqual(workerFlags(['--no-experimental-async-context-frame'], 'node', '22.7.0'), [
        '--no-experimental-async-context-frame',
      ]);
    },
  );

  test('a worker whose parent is already gone when it starts ends before it runs anything', T, async () => {
    const boot = fileURLToPath(new URL('../dist/worker/boot.js', import.meta.url));
    // The parent's pid says who started the worker; a worker whose parent died while it started
    // finds another parent (here: told of one that is not its parent, as if it had been re-parented).
    const start = (parentPid: number) =>
      fork(boot, [], {
        env: { ...process.env, RXPOOL_PARENT_DEATH: 'thread', RXPOOL_PARENT_PID: String(parentPid) },
        execArgv: [],
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      });
    const orphan = start(process.pid === 1 ? 2 : 1);
    const messages: unknown[] = [];
    orphan.on('message', (message) => messages.push(message));
    const [code] = (await once(orphan, 'exit')) as [number | null];
    if (process.platform === 'win32') return; // no re-parenting there: the check is POSIX only
    assert.equal(code, 0);
    // It may say it is up (its first act; Deno drops a message sent just before an exit), never ready.
    const said = (messages as unknown[][][]).map((batch) => batch[0]?.[0]);
    assert.ok(
      said.every((tag) => tag === FromWorker.Up),
      `it never said it was ready: ${said}`,
    );
    const child = start(process.pid);
    const started: unknown[][][] = [];
    child.on('message', (message: unknown[][]) => started.push(message));
    await once(child, 'message');
    if (started.length < 2) await once(child, 'message');
    assert.deepEqual(
      started.map((batch) => batch[0]?.[0]),
      [FromWorker.Up, FromWorker.Ready],
      'with its real parent it starts',
    );
    child.kill('SIGKILL');
    await once(child, 'exit');
  });

  test('startedBy: the parent passed in the environment, and whether it is gone', T, () => {
    const posix = process.platform !== 'win32';
    const env: NodeJS.ProcessEnv = { RXPOOL_PARENT_PID: String(process.ppid) };
    assert.deepEqual(startedBy(env), { parent: process.ppid, gone: false });
    assert.equal(env.RXPOOL_PARENT_PID, undefined, 'the variable is not passed on to what a task starts');
    assert.deepEqual(startedBy({ RXPOOL_PARENT_PID: String(process.pid) }), { parent: process.pid, gone: posix });
    assert.deepEqual(startedBy({ RXPOOL_PARENT_PID: String(process.pid), RXPOOL_PARENT_DEATH: 'none' }), {
      parent: process.pid,
      gone: false,
    });
    assert.deepEqual(startedBy({}), { parent: process.ppid, gone: false });
    assert.deepEqual(startedBy({ RXPOOL_PARENT_PID: 'x' }), { parent: process.ppid, gone: false });
  });

  test('parent-death: setpriv where it can set the signal; the thread otherwise; a worker knows which', T, () => {
    assert.equal(parentDeath({ RXPOOL_WATCHDOG: 'thread' }), 'thread');
    assert.equal(parentDeath({ RXPOOL_WATCHDOG: '0' }), 'none');
    const how = parentDeath({});
    const setprivHere =
      process.platform === 'linux' &&
      runtime === 'node' &&
      existsSync('/usr/bin/setpriv') &&
      readFileSync('/usr/bin/setpriv').includes('--pdeathsig');
    if (setprivHere) assert.equal(how, 'kernel', 'this machine has setpriv: the kernel does it');
    const launch = workerLaunch('/path/to/node', ['--flag'], {});
    assert.equal(launch.how, how);
    if (how === 'kernel') {
      assert.match(launch.execPath, /setpriv$/);
      assert.deepEqual(launch.execArgv, ['--pdeathsig', 'KILL', '--', '/path/to/node', '--flag']);
    } else {
      assert.deepEqual(launch, { execPath: '/path/to/node', execArgv: ['--flag'], how });
    }
    assert.deepEqual(workerLaunch('/path/to/node', [], { RXPOOL_WATCHDOG: 'thread' }), {
      execPath: '/path/to/node',
      execArgv: [],
      how: 'thread',
    });
    // A worker told that the kernel watches its parent starts no thread, unless its exec was a
    // secure one (this test process's was not: it reads AT_SECURE = 0 from /proc/self/auxv).
    const posix = process.platform !== 'win32';
    assert.equal(needsWatchdog({ RXPOOL_PARENT_DEATH: 'kernel' }), posix && process.platform !== 'linux');
    assert.equal(needsWatchdog({ RXPOOL_PARENT_DEATH: 'thread' }), posix);
    assert.equal(needsWatchdog({ RXPOOL_PARENT_DEATH: 'none' }), false);
  });

  test('a parent that dies of an uncaught exception takes its busy workers with it', T, () =>
    runFixture('crashing-parent.mjs', async (child, line) => {
      const { pids } = JSON.parse(line) as { pids: number[] };
      const [code] = await once(child, 'exit');
      assert.equal(code, 1);
      for (const pid of pids) await waitForExit(pid, 1000);
      return pids;
    }),
  );
});

/**
 * Runs a fixture script, hands its first stdout line to `body`, and whatever happens kills the
 * script and the worker pids `body` reported, so a failing test leaves nothing running.
 */
async function runFixture(
  name: string,
  body: (child: ChildProcess, line: string) => Promise<number[]>,
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  const child = spawn(process.execPath, scriptArgs(fixture(name)), {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, ...env },
  });
  let pids: number[] = [];
  try {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const [line] = (await once(lines, 'line')) as [string];
    // Orphaned workers would inherit this pipe: stop reading so it cannot hold this process open.
    lines.close();
    child.stdout?.destroy();
    pids = (JSON.parse(line) as { pids: number[] }).pids;
    await body(child, line);
  } finally {
    for (const pid of [child.pid, ...pids]) {
      try {
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
  }
}

/** The fixture `child`, which just printed its line, exits with 0 within a second, and so do `pids`. */
async function exitsPromptly(child: ChildProcess, pids: number[], when: string): Promise<void> {
  const printedAt = performance.now();
  const [code] = await once(child, 'exit');
  const lingered = performance.now() - printedAt;
  assert.equal(code, 0);
  assert.ok(lingered < 1000, `the script lingered ${lingered.toFixed(0)} ms ${when}`);
  for (const pid of pids) await waitForExit(pid, 1000);
}

/** Pids of `sleep` processes whose parent is one of `parents` (read from /proc). */
async function sleepProcessesOf(parents: Set<number>): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const found: number[] = [];
  for (let attempt = 0; attempt < 100 && found.length < parents.size; attempt++) {
    found.length = 0;
    for (const entry of await readdir('/proc')) {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      const match = /^\d+ \(sleep\) \S (\d+)/.exec(stat);
      if (match && parents.has(Number(match[1]))) found.push(Number(entry));
    }
    if (found.length < parents.size) await sleep(20);
  }
  return found;
}
