import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isAlive, runtime, scriptArgs } from './support/pool.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/code-cache.mjs', import.meta.url));
const T = { timeout: 60_000 };
const NODE_ONLY = { ...T, skip: runtime === 'node' ? false : 'Node only: other runtimes use no cache' };
const POSIX = { ...T, skip: process.platform === 'win32' ? 'POSIX permissions' : false };
const work = mkdtempSync(join(tmpdir(), 'rxpool-code-cache-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs the fixture with `env`; checks its answer and that its worker is gone. */
async function runFixture(env: NodeJS.ProcessEnv): Promise<void> {
  const { stdout } = await promisify(execFile)(process.execPath, scriptArgs(FIXTURE), {
    env: { ...process.env, NODE_COMPILE_CACHE: undefined, NODE_DISABLE_COMPILE_CACHE: undefined, ...env },
    timeout: 30_000,
  });
  const { result, pid } = JSON.parse(stdout) as { result: string; pid: number };
  assert.equal(result, 'file.txt');
  assert.equal(isAlive(pid), false, `worker ${pid} outlived its script`);
}

/** The cache files in `dir`, by script name: size, inode and modification time. */
function cacheFiles(dir: string): Map<string, { name: string; ino: number; mtimeMs: number; mode: number }> {
  const files = new Map<string, { name: string; ino: number; mtimeMs: number; mode: number }>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    const { ino, mtimeMs, mode } = statSync(join(dir, name));
    files.set(name.split('-')[0] as string, { name, ino, mtimeMs, mode });
  }
  return files;
}

describe('code cache', () => {
  test(
    'the first run writes the cache of the worker code and the parser; the next one uses it as it is',
    T,
    async () => {
      const root = join(work, 'fresh');
      const dir = join(root, 'rxpool');
      await runFixture({ NODE_COMPILE_CACHE: root });
      const first = cacheFiles(dir);
      if (runtime !== 'node') {
        // Bun and Deno load the files the usual way.
        assert.equal(existsSync(dir), false);
        return;
      }
      assert.deepEqual([...first.keys()].sort(), ['acorn.js', 'main.js']);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      for (const file of first.values()) assert.equal(file.mode & 0o777, 0o600, file.name);
      await runFixture({ NODE_COMPILE_CACHE: root });
      // A cache V8 rejected, or none found, is written again (a new file renamed over the old one).
      assert.deepEqual(cacheFiles(dir), first);
    },
  );

  test('a damaged cache file is rejected by V8 and written again', NODE_ONLY, async () => {
    const root = join(work, 'damaged');
    const dir = join(root, 'rxpool');
    await runFixture({ NODE_COMPILE_CACHE: root });
    const garbage = Buffer.alloc(4096, 7);
    for (const { name } of cacheFiles(dir).values()) writeFileSync(join(dir, name), garbage);
    await runFixture({ NODE_COMPILE_CACHE: root });
    const files = cacheFiles(dir);
    assert.equal(files.size, 2);
    for (const { name } of files.values()) assert.notDeepEqual(readFileSync(join(dir, name)), garbage, name);
  });

  test("a new file removes the files of the same script's earlier builds, and no one else's", NODE_ONLY, async () => {
    const root = join(work, 'builds');
    const dir = join(root, 'rxpool');
    await runFixture({ NODE_COMPILE_CACHE: root });
    const { name } = cacheFiles(dir).get('main.js') as { name: string };
    // main.js-<path hash>-<size>-<mtime>-<node version>-<arch>-<flags hash>.bin
    const [script, path, size, mtime, version, arch, flags] = name.split('-') as string[];
    const earlier = [script, path, '1', '1', version, arch, flags].join('-');
    const otherFlags = [script, path, size, mtime, version, arch, 'f1a95.bin'].join('-');
    const otherCopy = [script, 'c0de', size, mtime, version, arch, flags].join('-');
    for (const other of [earlier, otherFlags, otherCopy]) writeFileSync(join(dir, other), 'x');
    rmSync(join(dir, name)); // so that the next run compiles from source and writes it again
    await runFixture({ NODE_COMPILE_CACHE: root });
    const after = readdirSync(dir);
    assert.ok(after.includes(name), 'the new file');
    assert.ok(!after.includes(earlier), "the earlier build's file is gone");
    assert.ok(after.includes(otherFlags), 'the file for other flags stays');
    assert.ok(after.includes(otherCopy), "another copy of rxpool's file stays");
  });

  test('a cache directory that others may write to is not used', POSIX, async () => {
    const root = join(work, 'shared');
    const dir = join(root, 'rxpool');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    await runFixture({ NODE_COMPILE_CACHE: root });
    assert.deepEqual(readdirSync(dir), []);
  });

  test('NODE_DISABLE_COMPILE_CACHE=1 turns it off', T, async () => {
    const root = join(work, 'disabled');
    await runFixture({ NODE_COMPILE_CACHE: root, NODE_DISABLE_COMPILE_CACHE: '1' });
    assert.equal(existsSync(root), false);
  });
});
