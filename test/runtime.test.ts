/**
 * Workers run on the parent's own runtime, and the runtime differences rxpool handles
 * (src/platform/runtime.ts) behave as documented. Runs on Node.js, and under `bun test` and
 * `deno test` through `npm run test:matrix`.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { currentRuntime, supportsWatchdog, unrefChannel } from '../src/platform/runtime.js';
import { isAlive, withExecutor } from './support/pool.js';

/**
 * Resolves once `pid` is dead. An orphan's zombie is reaped by init, which may take its time (a
 * second or more in some sandboxes): on Linux, a zombie already counts as dead here.
 */
async function waitForDeath(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (isAlive(pid) && !isZombie(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function isZombie(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

const T = { timeout: 30_000 };

describe('runtime', T, () => {
  test("a worker runs on the parent's binary: same process.execPath and process.version", T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const worker = await executor.submit(() => ({
        execPath: process.execPath,
        version: process.version,
        versions: { bun: process.versions.bun, deno: process.versions.deno },
      }));
      assert.equal(worker.execPath, process.execPath);
      assert.equal(worker.version, process.version);
      assert.deepEqual(worker.versions, { bun: process.versions.bun, deno: process.versions.deno });
    }),
  );

  test('currentRuntime() tells Node.js, Bun and Deno apart (both of which also report a node version)', T, () => {
    assert.equal(currentRuntime({ node: '22.0.0' }), 'node');
    assert.equal(currentRuntime({ node: '24.0.0', bun: '1.2.0' }), 'bun');
    assert.equal(currentRuntime({ node: '24.0.0', deno: '2.1.0' }), 'deno');
    const expected = process.versions.bun ? 'bun' : process.versions.deno ? 'deno' : 'node';
    assert.equal(currentRuntime(), expected);
  });

  test("unrefChannel() works with Bun's channel, which has no unref()", T, () => {
    let unrefs = 0;
    unrefChannel({ channel: { unref: () => unrefs++ } } as unknown as ChildProcess);
    unrefChannel({ channel: {} } as unknown as ChildProcess);
    unrefChannel({ channel: undefined } as unknown as ChildProcess);
    unrefChannel({ channel: null } as unknown as ChildProcess);
    assert.equal(unrefs, 1);
  });

  test('the watchdog runs on POSIX systems only, where an orphan is re-parented', T, () => {
    assert.equal(supportsWatchdog('linux'), true);
    assert.equal(supportsWatchdog('darwin'), true);
    assert.equal(supportsWatchdog('win32'), false);
  });

  test('a worker stuck in a synchronous loop dies soon after its parent is SIGKILLed (watchdog)', {
    ...T,
    skip: process.platform === 'win32' ? 'Windows does not re-parent orphans, so there is no watchdog' : false,
  }, async () => {
    const parent = fork(fileURLToPath(new URL('./fixtures/orphaning-parent.mjs', import.meta.url)), [], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const worker = await new Promise<number>((resolve, reject) => {
      parent.once('message', (pid) => resolve(pid as number));
      parent.once('exit', (code, signal) => reject(new Error(`parent exited early: ${code ?? signal}`)));
    });
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    parent.send('die');
    await exited;
    assert.equal(parent.signalCode, 'SIGKILL');
    try {
      // The watchdog polls every 500 ms.
      await waitForDeath(worker, 5000);
    } finally {
      if (isAlive(worker) && !isZombie(worker)) process.kill(worker, 'SIGKILL');
    }
  });
});
