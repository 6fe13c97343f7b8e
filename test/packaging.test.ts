/**
 * The published shape, checked rather than assumed: the package is packed as `npm publish` would,
 * installed into a fresh project outside this repository, and used there the three ways a user
 * would: `import` from an .mjs file, `require` from a .cjs file, and type-checked under
 * node16, nodenext and bundler module resolution. Are The Types Wrong (attw) checks the exports
 * map. Needs `npm run build` first (the `test` script does it).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const attw = join(repo, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
const onWindows = process.platform === 'win32';
/** Deno needs `run -A` to run a script with the permissions a process pool needs. */
const runScript = process.versions.deno ? ['run', '-A'] : [];

const T = { timeout: 60_000 };

interface PackedFile {
  readonly path: string;
}

let work = '';
let consumer = '';
let tarball = '';
let packed: string[] = [];

function npm(args: string[], cwd: string) {
  return run('npm', args, { cwd, shell: onWindows, maxBuffer: 64 * 1024 * 1024 });
}

/** `npm install` of the tarball, from the local cache when it can (it does after `npm ci`). */
async function install(): Promise<void> {
  const args = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball];
  try {
    await npm(['--offline', ...args], consumer);
  } catch {
    await npm(['--prefer-offline', ...args], consumer);
  }
}

describe('packaging', { timeout: 180_000 }, () => {
  before(
    async () => {
      assert.ok(existsSync(join(repo, 'dist', 'index.js')), 'dist/ is missing: run `npm run build` first');
      work = await mkdtemp(join(tmpdir(), 'rxpool-packaging-'));
      // --ignore-scripts: dist/ is already built; `prepack` would rebuild it under the other tests.
      const { stdout } = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], repo);
      const [info] = JSON.parse(stdout) as Array<{ filename: string; files: PackedFile[] }>;
      assert.ok(info);
      tarball = join(work, info.filename);
      packed = info.files.map((file) => file.path);
      consumer = join(work, 'consumer');
      await mkdir(consumer);
      await writeFile(join(consumer, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true })}\n`);
      await install();
      await writeConsumerFiles(consumer);
    },
    { timeout: 120_000 },
  );

  after(() => rm(work, { recursive: true, force: true }), T);

  test('the tarball holds dist/, README.md, LICENSE and package.json, and nothing else', T, () => {
    const outside = packed.filter((path) => !path.startsWith('dist/'));
    assert.deepEqual(outside.sort(), ['LICENSE', 'README.md', 'package.json']);
    for (const entry of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts']) {
      assert.ok(packed.includes(entry), `${entry} is not in the tarball`);
    }
    assert.ok(packed.includes('dist/worker/boot.js'), 'the worker entry point is not in the tarball');
    assert.ok(packed.includes('dist/worker/main.js'), 'the worker code is not in the tarball');
  });

  test('an .mjs file imports it and runs a task; ESM and CJS share one library instance', T, async () => {
    const { stdout } = await run(process.execPath, [...runScript, 'esm.mjs'], { cwd: consumer });
    const out = JSON.parse(stdout) as { value: number; shared: boolean; worker: string };
    assert.equal(out.value, 42);
    assert.equal(out.shared, true, 'import and require gave two copies of the library');
    assert.equal(out.worker, join(consumer, 'node_modules', 'rxpool', 'dist', 'worker', 'boot.js'));
  });

  test('a .cjs file requires it and runs a task, without loading the whole RxJS index', T, async () => {
    const { stdout } = await run(process.execPath, [...runScript, 'cjs.cjs'], { cwd: consumer });
    const out = JSON.parse(stdout) as { value: number; worker: string; rxjsIndex: boolean };
    assert.equal(out.value, 42);
    assert.equal(out.worker, join(consumer, 'node_modules', 'rxpool', 'dist', 'worker', 'boot.js'));
    // The index loads every operator (import time x2): rxpool takes its few parts from their own modules.
    assert.equal(out.rxjsIndex, false, "require('rxpool') loaded the whole RxJS index");
  });

  for (const resolution of ['node16', 'nodenext', 'bundler'] as const) {
    test(`its declarations type-check under moduleResolution ${resolution}`, T, async () => {
      try {
        await run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], { cwd: consumer });
      } catch (error) {
        const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
        assert.fail(`tsc failed under ${resolution}:\n${stdout}${stderr}`);
      }
    });
  }

  test('Are The Types Wrong finds no problem', T, async () => {
    let stdout: string;
    try {
      ({ stdout } = await run(process.execPath, [attw, tarball, '--format', 'json', '--no-definitely-typed'], {
        cwd: work,
        maxBuffer: 64 * 1024 * 1024,
      }));
    } catch (error) {
      // attw exits 1 when it finds problems; its JSON says which.
      stdout = (error as { stdout?: string }).stdout ?? '';
      if (!stdout) throw error;
    }
    const report = JSON.parse(stdout) as { analysis: { problems: unknown[] } };
    assert.deepEqual(report.analysis.problems, []);
  });
});

/** The consumer's own files: two scripts and a type-checked TypeScript file per module flavour. */
async function writeConsumerFiles(dir: string): Promise<void> {
  const task = '(a, b) => a * b';
  const files: Record<string, string> = {
    'esm.mjs': `import { createRequire } from 'node:module';
import { ProcessPoolExecutor } from 'rxpool';

const cjs = createRequire(import.meta.url)('rxpool');
const executor = new ProcessPoolExecutor({ maxWorkers: 1 });
const value = await executor.submit(${task}, 6, 7);
const worker = await executor.submit(() => process.argv[1]);
await executor.shutdown();
console.log(JSON.stringify({ value, worker, shared: cjs.ProcessPoolExecutor === ProcessPoolExecutor }));
`,
    'cjs.cjs': `const { ProcessPoolExecutor } = require('rxpool');
const rxjsIndex = Object.keys(require.cache).some((file) => /rxjs[\\\\/]dist[\\\\/]cjs[\\\\/]index\\.js$/.test(file));

(async () => {
  const executor = new ProcessPoolExecutor({ maxWorkers: 1 });
  const value = await executor.submit(${task}, 6, 7);
  const worker = await executor.submit(() => process.argv[1]);
  await executor.shutdown();
  console.log(JSON.stringify({ value, worker, rxjsIndex }));
})();
`,
  };
  // The same code, as an ES module (.mts / .ts) and as CommonJS (.cts).
  const body = `const options: ExecutorOptions = { maxWorkers: 2, execArgv: [] };

export async function main(): Promise<number> {
  const executor = new ProcessPoolExecutor(options);
  const product: number = await executor.submit((a: number, b: number) => a * b, 6, 7);
  // @ts-expect-error: the result is a number, so the declarations are real types, not \`any\`
  const wrong: string = await executor.submit((a: number) => a, 1);
  const doubled: number[] = [];
  for await (const y of executor.map((x: number) => x * 2, [1, 2, 3], { chunksize: 2 })) doubled.push(y);
  executor.events$.subscribe((event: WorkerEvent) => {
    if (event.type === 'exit') {
      const signal: NodeJS.Signals | null = event.signal;
      void signal;
    }
  });
  try {
    await executor.submit(() => process.exit(1));
  } catch (error) {
    if (error instanceof TerminatedWorkerError) void error.exitCode;
  }
  const state: ExecutorState = executor.state;
  void [wrong, state];
  await executor.shutdown({ killWorkers: true });
  return product + doubled.length;
}
`;
  const imports =
    "import { type ExecutorOptions, type ExecutorState, ProcessPoolExecutor, TerminatedWorkerError, type WorkerEvent } from 'rxpool';\n\n";
  files['check.mts'] = imports + body;
  files['check.cts'] = imports + body;
  files['check.ts'] = imports + body;
  const compilerOptions = {
    target: 'ES2022',
    lib: ['ES2022'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(repo, 'node_modules', '@types')],
  };
  const configs = {
    node16: { module: 'node16', moduleResolution: 'node16', files: ['check.mts', 'check.cts'] },
    nodenext: { module: 'nodenext', moduleResolution: 'nodenext', files: ['check.mts', 'check.cts'] },
    // Once, rxpool's own .d.ts files are checked too (with @types/node and rxjs: the slow part).
    bundler: { module: 'esnext', moduleResolution: 'bundler', files: ['check.ts'], skipLibCheck: false },
  };
  for (const [name, { files: checked, ...options }] of Object.entries(configs)) {
    files[`tsconfig.${name}.json`] = JSON.stringify({
      compilerOptions: { ...compilerOptions, ...options },
      files: checked,
    });
  }
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}
