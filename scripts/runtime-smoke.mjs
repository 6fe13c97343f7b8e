// A smoke test of the built package (dist/) that runs unchanged on Node.js, Bun and Deno:
//
//   node scripts/runtime-smoke.mjs        bun scripts/runtime-smoke.mjs        deno run -A scripts/runtime-smoke.mjs
//
// It checks what a user of ProcessPoolExecutor relies on (submit, map on 4 workers, errors that keep
// their name/message/code, a worker that calls process.exit, a worker killed by a signal, shutdown
// that leaves no process behind, a script that forgets shutdown, a parent killed while its worker
// is busy), then measures a few runtime facts that rxpool depends on (see src/platform/runtime.ts).
// Plain JavaScript on purpose: no loader, no TypeScript, nothing but the runtime and dist/.
//
// Prints one line per check, a closing 'smoke: N passed, N failed' line, and one machine-readable
// line starting with 'SMOKE_RESULT ' for scripts/test-matrix.mjs. Exits 1 when a check failed.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const lib = await import(new URL('../dist/index.mjs', import.meta.url).href);
const { ProcessPoolExecutor, TerminatedWorkerError } = lib;

const runtime = process.versions.bun ? 'bun' : process.versions.deno ? 'deno' : 'node';
const runtimeVersion = process.versions.bun ?? process.versions.deno ?? process.versions.node;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Alive and not a zombie (a zombie answers kill(pid, 0) but is gone for every purpose here). */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** How a worker was really started (Linux only): its binary, the flags the runtime added, its script. */
function commandLine(pid) {
  if (process.platform !== 'linux') return undefined;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return argv.map((arg) =>
      arg === process.execPath ? basename(arg) : arg.endsWith('boot.js') ? '<rxpool>/dist/worker/boot.js' : arg,
    );
  } catch {
    return undefined;
  }
}

async function waitGone(pids, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = [...pids].filter(isAlive);
    if (alive.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still alive after ${ms} ms: ${alive.join(', ')}`);
    await sleep(25);
  }
}

/** Starts this file again as `mode` on the same runtime (fork: Deno turns it into `deno run -A`). */
function helper(mode, onMessage) {
  const child = fork(self, [mode], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => {
    stderr += text;
  });
  child.on('message', (message) => onMessage(message, child));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, stderr: () => stderr };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
    }),
  ]);
}

// ---- helper modes: this file run as a child of the smoke test ----

const mode = process.argv[2];
if (mode === '--forget') {
  // A script that never calls shutdown(): it must still exit, and take its workers with it.
  const executor = new ProcessPoolExecutor({ maxWorkers: 2 });
  const pids = await Promise.all([0, 1].map(() => executor.submit(() => process.pid)));
  // Sent before the script's end: Deno can end the process with the message still unwritten.
  await new Promise((resolve) => process.send(pids, resolve));
  // Nothing else: the process ends here with an idle pool.
} else if (mode === '--orphan') {
  // A parent killed while its worker is stuck in a synchronous loop: the worker must not live on.
  const executor = new ProcessPoolExecutor({ maxWorkers: 1 });
  executor.events$.subscribe((event) => {
    if (event.type === 'task-start') process.send(event.pid, () => process.kill(process.pid, 'SIGKILL'));
  });
  executor.submit(() => {
    for (;;);
  });
} else if (mode === '--segv') {
  process.send('up');
  process.kill(process.pid, 'SIGSEGV');
  setInterval(() => {}, 1000);
} else {
  await main();
}

// ---- the smoke test ----

async function main() {
  const results = [];
  const facts = { runtime, version: runtimeVersion, execPath: process.execPath, execArgv: process.execArgv };
  async function check(name, body) {
    const started = Date.now();
    try {
      await body();
      results.push({ name, ok: true });
      console.log(`ok - ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      results.push({ name, ok: false, error: String(error?.stack ?? error) });
      console.log(`not ok - ${name}: ${String(error?.message ?? error).split('\n')[0]}`);
    }
  }

  const executor = new ProcessPoolExecutor({ maxWorkers: 4 });
  const spawned = new Set();
  executor.events$.subscribe((event) => {
    if (event.type === 'spawned' && event.pid !== undefined) spawned.add(event.pid);
  });

  await check('submit runs a function in another process', async () => {
    const [sum, pid] = await executor.submit((a, b) => [a + b, process.pid], 1, 2);
    assert.equal(sum, 3);
    assert.notEqual(pid, process.pid);
  });

  await check('workers run on the same runtime binary and version as the parent', async () => {
    const worker = await executor.submit(() => ({
      pid: process.pid,
      execPath: process.execPath,
      version: process.version,
      bun: process.versions.bun,
      deno: process.versions.deno,
    }));
    assert.equal(worker.execPath, process.execPath);
    assert.equal(worker.version, process.version);
    assert.equal(worker.bun, process.versions.bun);
    assert.equal(worker.deno, process.versions.deno);
    facts.workerExecPath = worker.execPath;
    facts.workerCommand = commandLine(worker.pid);
  });

  await check('map of 50 items on 4 workers: in order, on 4 distinct processes', async () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const out = [];
    for await (const result of executor.map(async (x) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return [x * 2, process.pid];
    }, items)) {
      out.push(result);
    }
    assert.deepEqual(
      out.map(([y]) => y),
      items.map((x) => x * 2),
    );
    assert.equal(new Set(out.map(([, pid]) => pid)).size, 4);
  });

  await check('a thrown error keeps its name, message and code', async () => {
    await assert.rejects(
      executor.submit(() => {
        const error = new TypeError('bad input');
        error.code = 'E_BAD_INPUT';
        throw error;
      }),
      (error) => {
        assert.equal(error.name, 'TypeError');
        assert.equal(error.message, 'bad input');
        assert.equal(error.code, 'E_BAD_INPUT');
        return true;
      },
    );
  });

  await check('process.exit(3) in a task: TerminatedWorkerError with exitCode 3, pool goes on', async () => {
    await assert.rejects(
      executor.submit(() => process.exit(3)),
      (error) => {
        assert.ok(error instanceof TerminatedWorkerError, `got ${error?.name}: ${error?.message}`);
        assert.equal(error.exitCode, 3);
        assert.equal(error.signal, null);
        return true;
      },
    );
    assert.equal(await executor.submit(() => 'still working'), 'still working');
  });

  await check('a worker killed by SIGKILL: TerminatedWorkerError with signal SIGKILL', async () => {
    await assert.rejects(
      executor.submit(() => process.kill(process.pid, 'SIGKILL')),
      (error) => {
        assert.ok(error instanceof TerminatedWorkerError, `got ${error?.name}: ${error?.message}`);
        if (process.platform !== 'win32') assert.equal(error.signal, 'SIGKILL');
        return true;
      },
    );
  });

  await check('shutdown() leaves no worker process behind', async () => {
    await executor.shutdown();
    assert.equal(executor.state, 'shut-down');
    assert.ok(spawned.size >= 4, `expected at least 4 workers, saw ${spawned.size}`);
    await waitGone(spawned, 2000);
  });

  await check('a script that never calls shutdown() exits, and its workers with it', async () => {
    let pids = [];
    const run = helper('--forget', (message) => {
      pids = message;
    });
    const { code } = await withTimeout(run.exited, 15_000, 'the script did not exit');
    assert.equal(code, 0, run.stderr());
    assert.equal(pids.length, 2);
    await waitGone(pids, 2000);
  });

  await check(
    process.platform === 'win32'
      ? 'SKIP a busy worker dies with its parent (no re-parenting on Windows)'
      : 'a worker busy in a sync loop dies when its parent is SIGKILLed (watchdog)',
    async () => {
      if (process.platform === 'win32') return;
      let worker;
      const run = helper('--orphan', (pid) => {
        worker = pid;
      });
      await withTimeout(run.exited, 15_000, 'the parent did not die');
      assert.ok(worker, 'no worker pid received');
      const started = Date.now();
      try {
        await waitGone([worker], 3000);
      } catch (error) {
        process.kill(worker, 'SIGKILL');
        throw error;
      }
      facts.watchdogMs = Date.now() - started;
    },
  );

  // ---- facts: measured, not asserted (they feed the compatibility table) ----
  facts.timeOriginIsEpoch = Math.abs(performance.timeOrigin + performance.now() - Date.now()) < 1000;
  {
    const probe = fork(self, ['--segv'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    facts.channelUnref = typeof probe.channel?.unref === 'function';
    facts.childUnref = typeof probe.unref === 'function';
    const exit = new Promise((resolve) => probe.on('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
    facts.sigsegvExit = await Promise.race([exit, sleep(2000).then(() => 'survived')]);
    if (facts.sigsegvExit === 'survived') {
      probe.kill('SIGKILL');
      await exit;
    }
  }

  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`smoke: ${passed} passed, ${failed} failed`);
  console.log(`SMOKE_RESULT ${JSON.stringify({ passed, failed, results, facts })}`);
  process.exitCode = failed === 0 ? 0 : 1;
}
