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
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runInThisContext } from 'node:vm';
import { isAlive, requireDist, runtime, scriptArgs } from './support/pool.js';

const { MAX_STORED_CHECKS, storeAnalysis, storedAnalysis } =
  requireDist<typeof import('../dist/shipping/check-store.js')>('shipping/check-store.js');
const { parsedAnalysis } =
  requireDist<typeof import('../dist/shipping/free-variables.js')>('shipping/free-variables.js');
const FIXTURE = fileURLToPath(new URL('./fixtures/code-cache.mjs', import.meta.url));
const T = { timeout: 60_000 };
const NODE_ONLY = { ...T, skip: runtime === 'node' ? false : 'Node only: other runtimes use no cache' };
const POSIX = { ...T, skip: process.platform === 'win32' ? 'POSIX permissions' : false };
const work = mkdtempSync(join(tmpdir(), 'rxpool-code-cache-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs the fixture with `env`; checks that its workers are gone; returns its answer or submit's error. */
async function runFixture(env: NodeJS.ProcessEnv): Promise<{ result?: string; error?: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, scriptArgs(FIXTURE), {
    env: { ...process.env, NODE_COMPILE_CACHE: undefined, NODE_DISABLE_COMPILE_CACHE: undefined, ...env },
    timeout: 30_000,
  });
  const answer = JSON.parse(stdout) as { result?: string; error?: string; pids: number[] };
  assert.ok(answer.pids.length > 0);
  for (const pid of answer.pids) assert.equal(isAlive(pid), false, `worker ${pid} outlived its script`);
  const { pids: _, ...rest } = answer;
  return rest;
}

/** Runs the fixture with `env` and checks that its task worked. */
async function runTask(env: NodeJS.ProcessEnv): Promise<void> {
  assert.deepEqual(await runFixture(env), { result: 'file.txt' });
}

/** The cache files in `dir`, by script name: size, inode and modification time. */
function cacheFiles(dir: string): Map<string, { name: string; ino: number; mtimeMs: number; mode: number }> {
  const files = new Map<string, { name: string; ino: number; mtimeMs: number; mode: number }>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    if (name === 'checks') continue; // the closure checks' verdicts (see below)
    const { ino, mtimeMs, mode } = statSync(join(dir, name));
    files.set(name.split('-')[0] as string, { name, ino, mtimeMs, mode });
  }
  return files;
}

describe('code cache', () => {
  test(
    'the first run writes the cache of the library, the worker code and the parser; the next one uses it as it is',
    T,
    async () => {
      const root = join(work, 'fresh');
      const dir = join(root, 'rxpool');
      await runTask({ NODE_COMPILE_CACHE: root });
      const first = cacheFiles(dir);
      if (runtime !== 'node') {
        // Bun and Deno load the files the usual way.
        assert.equal(existsSync(dir), false);
        return;
      }
      assert.deepEqual([...first.keys()].sort(), ['acorn.js', 'main.js', 'rxpool.js']);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      for (const file of first.values()) assert.equal(file.mode & 0o777, 0o600, file.name);
      await runTask({ NODE_COMPILE_CACHE: root });
      // A cache V8 rejected, or none found, is written again (a new file renamed over the old one).
      assert.deepEqual(cacheFiles(dir), first);
    },
  );

  test('a damaged cache file is rejected by V8 and written again', NODE_ONLY, async () => {
    const root = join(work, 'damaged');
    const dir = join(root, 'rxpool');
    await runTask({ NODE_COMPILE_CACHE: root });
    const garbage = Buffer.alloc(4096, 7);
    for (const { name } of cacheFiles(dir).values()) writeFileSync(join(dir, name), garbage);
    rmSync(join(dir, 'checks'), { recursive: true }); // so that the check loads the parser again
    await runTask({ NODE_COMPILE_CACHE: root });
    const files = cacheFiles(dir);
    assert.equal(files.size, 3);
    for (const { name } of files.values()) assert.notDeepEqual(readFileSync(join(dir, name)), garbage, name);
  });

  test("a new file removes the files of the same script's earlier builds, and no one else's", NODE_ONLY, async () => {
    const root = join(work, 'builds');
    const dir = join(root, 'rxpool');
    await runTask({ NODE_COMPILE_CACHE: root });
    const { name } = cacheFiles(dir).get('main.js') as { name: string };
    // main.js-<path hash>-<size>-<mtime>-<node version>-<arch>-<flags hash>.bin
    const [script, path, size, mtime, version, arch, flags] = name.split('-') as string[];
    const earlier = [script, path, '1', '1', version, arch, flags].join('-');
    const otherFlags = [script, path, size, mtime, version, arch, 'f1a95.bin'].join('-');
    const otherCopy = [script, 'c0de', size, mtime, version, arch, flags].join('-');
    for (const other of [earlier, otherFlags, otherCopy]) writeFileSync(join(dir, other), 'x');
    rmSync(join(dir, name)); // so that the next run compiles from source and writes it again
    await runTask({ NODE_COMPILE_CACHE: root });
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
    await runTask({ NODE_COMPILE_CACHE: root });
    assert.deepEqual(readdirSync(dir), []);
  });

  test("loaded by a module system other than Node's (as Jest has), the library loads the usual way", () => {
    // What such a system does: the file's source, in its own wrapper, with its own module object.
    const file = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const wrapper = runInThisContext(`(function (exports, require, module, __filename, __dirname) {
${readFileSync(file, 'utf8')}
})`) as (...args: unknown[]) => void;
    const loaded: { exports: Record<string, unknown> } = { exports: {} };
    wrapper(loaded.exports, createRequire(file), loaded, file, dirname(file));
    assert.equal(typeof loaded.exports.ProcessPoolExecutor, 'function');
    assert.equal(typeof loaded.exports.parallelMap, 'function');
  });

  test('NODE_DISABLE_COMPILE_CACHE=1 turns it off', T, async () => {
    const root = join(work, 'disabled');
    await runTask({ NODE_COMPILE_CACHE: root, NODE_DISABLE_COMPILE_CACHE: '1' });
    assert.equal(existsSync(root), false);
  });
});

describe('closure check verdicts', () => {
  /** The stored verdicts in `root`'s store, by file name. */
  const stored = (root: string) => {
    const dir = join(root, 'rxpool', 'checks');
    return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
  };

  test('a verdict that needed the parser is stored, and the next run uses it as it is', NODE_ONLY, async () => {
    const root = join(work, 'checks');
    await runTask({ NODE_COMPILE_CACHE: root });
    const [file, ...others] = stored(root);
    assert.ok(file !== undefined && others.length === 0, 'one verdict');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    assert.match(entry.source, /await import\('node:path'\)/);
    assert.deepEqual(entry.analysis.free, []);
    assert.equal(entry.analysis.dynamicImports.length, 1, 'the worker rewrites the import from its offset');
    const before = statSync(file);
    await runTask({ NODE_COMPILE_CACHE: root });
    assert.deepEqual(stored(root), [file]);
    assert.equal(statSync(file).mtimeMs, before.mtimeMs, 'not written again');
  });

  test('the check believes what is stored; a damaged verdict is parsed again and rewritten', NODE_ONLY, async () => {
    const root = join(work, 'planted');
    await runTask({ NODE_COMPILE_CACHE: root });
    const [file] = stored(root) as [string];
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    entry.analysis.free = ['plantedName'];
    writeFileSync(file, JSON.stringify(entry));
    // Proof that the stored verdict is the one used: submit refuses the function for a planted name.
    const { error } = await runFixture({ NODE_COMPILE_CACHE: root });
    assert.match(error ?? '', /plantedName/);
    for (const damage of ['{"source":', JSON.stringify({ ...entry, analysis: { ...entry.analysis, free: [1] } })]) {
      writeFileSync(file, damage);
      await runTask({ NODE_COMPILE_CACHE: root });
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).analysis.free, [], 'parsed and written again');
    }
  });

  test('a source longer than 64 KB is not stored (it is parsed every time)', NODE_ONLY, () => {
    // In this process: the store's directory is fixed by its first use, which is this one.
    process.env.NODE_COMPILE_CACHE = join(work, 'in-process');
    const short = '() => x';
    const long = `() => x${' '.repeat(64 * 1024)}`;
    const verdict = parsedAnalysis(short);
    assert.deepEqual(verdict.free, ['x']);
    storeAnalysis(short, verdict);
    storeAnalysis(long, verdict);
    assert.deepEqual(storedAnalysis(short), verdict);
    assert.equal(storedAnalysis(long), undefined);
    assert.equal(stored(join(work, 'in-process')).length, 1);
  });

  test(`the store keeps at most ${MAX_STORED_CHECKS} verdicts: past that, the older half goes`, NODE_ONLY, async () => {
    const root = join(work, 'many');
    const dir = join(root, 'rxpool', 'checks');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(join(root, 'rxpool'), 0o700);
    const old = new Date(Date.now() - 60_000);
    for (let i = 0; i < MAX_STORED_CHECKS + 10; i++) {
      writeFileSync(join(dir, `old-${i}.json`), '{}');
      utimesSync(join(dir, `old-${i}.json`), old, old);
    }
    await runTask({ NODE_COMPILE_CACHE: root });
    const left = readdirSync(dir);
    assert.equal(left.length, MAX_STORED_CHECKS / 2);
    assert.equal(left.filter((name) => !name.startsWith('old-')).length, 1, 'the new verdict stays');
  });
});
