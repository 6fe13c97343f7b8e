/**
 * Functions by reference (fromModule), and require/import inside shipped functions resolving from
 * the user's project. The fixture project (test/fixtures/project) has its own node_modules with
 * tiny packages that rxpool itself cannot see.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { defineTask, fromModule, SerializationError, TaskTimeoutError } from 'rxpool';
import { requireDist, withExecutor } from './support/pool.js';

const T = { timeout: 30_000 };
const { resolveImport } = requireDist<typeof import('../dist/worker/resolve-import.js')>('worker/resolve-import.js');
const project = new URL('./fixtures/project/', import.meta.url);
const projectDir = fileURLToPath(project);
const tasks = new URL('tasks.mjs', project);
const requireHere = createRequire(import.meta.url);

describe('fromModule: functions by reference', T, () => {
  test('ESM: named and default exports, with their imports and module state', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      assert.equal(await executor.submit(fromModule<(n: number) => number>(tasks.href, 'fib'), 20), 6765);
      assert.equal(await executor.submit(fromModule<(n: number) => number>(tasks), 7), 49, 'the default export');
      const pairs = fromModule<(items: number[]) => number[][]>(fileURLToPath(tasks), 'pairs');
      assert.deepEqual(await executor.submit(pairs, [1, 2, 3]), [[1, 2], [3]], 'the module keeps its own imports');
      const count = fromModule<() => number>(tasks, 'count');
      assert.deepEqual(
        [await executor.submit(count), await executor.submit(count)],
        [1, 2],
        'imported once per worker',
      );
    }),
  );

  test('CommonJS: module.exports = fn is the default export; named exports too', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const triples = fromModule<(items: number[]) => number[][]>(requireHere.resolve('./fixtures/project/tasks.cjs'));
      assert.deepEqual(await executor.submit(triples, [1, 2, 3, 4]), [[1, 2, 3], [4]]);
      const named = new URL('named.cjs', project);
      assert.equal(await executor.submit(fromModule<(x: number) => number>(named, 'double'), 4), 8);
      const results: number[] = [];
      for await (const y of executor.map(fromModule<(x: number) => number>(named, 'half'), [2, 4], { chunksize: 2 })) {
        results.push(y);
      }
      assert.deepEqual(results, [1, 2]);
    }),
  );

  test('an initializer can come from a module too, sharing its state with the tasks', T, () =>
    withExecutor({ maxWorkers: 1, initializer: fromModule(tasks, 'warmUp'), initArgs: [100] }, async ({ executor }) => {
      assert.equal(await executor.submit(fromModule<() => number>(tasks, 'count')), 101);
    }),
  );

  test('composes with defineTask; called here, it says it is a reference for workers', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const fib = fromModule<(n: number) => number>(tasks, 'fib');
      assert.equal(await executor.submit(defineTask(fib, { timeout: 5_000 }), 10), 55);
      await assert.rejects(executor.submit(defineTask(fib, { timeout: 200 }), 45), TaskTimeoutError);
      assert.throws(() => fib(1), /`fib` of .*tasks\.mjs is a reference for workers \(fromModule\)/);
    }),
  );

  test('a failing import, a missing export or one that is no function fail the task, naming module and export', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const pid = await executor.submit(() => process.pid);
      const cases: [URL, string, RegExp][] = [
        [
          new URL('broken.mjs', project),
          'default',
          /Could not load `default` from .*broken\.mjs.*: importing the module failed: Error: broken on purpose/,
        ],
        [
          tasks,
          'nope',
          /Could not load `nope` from .*tasks\.mjs.*: the module has no export `nope` \(it exports `count`, `default`, `fib`/,
        ],
        [
          tasks,
          'notAFunction',
          /Could not load `notAFunction` from .*tasks\.mjs.*: the export is a number, not a function/,
        ],
      ];
      for (const [module, name, message] of cases) {
        const error = await executor.submit(fromModule(module, name)).then(
          () => assert.fail('should reject'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof SerializationError);
        assert.equal(error.stage, 'function');
        assert.equal(error.path, name);
        assert.match(error.message, message);
      }
      assert.equal(await executor.submit(() => process.pid), pid, 'the worker lives on');
      assert.ok(!events.some((event) => event.type === 'exit'));
    }),
  );

  test('a missing file or a relative path is refused at once', T, () => {
    assert.throws(
      () => fromModule(new URL('missing.mjs', project)),
      /fromModule: the module .*missing\.mjs does not exist/,
    );
    assert.throws(() => fromModule('./tasks.mjs'), /a relative path is ambiguous in a worker; pass import\.meta\.url/);
    assert.throws(() => fromModule(tasks, ''), /export name must be a non-empty string/);
  });
});

describe('require and import inside shipped functions resolve from the project', T, () => {
  test("a script's inline functions use packages installed only in its project", T, async () => {
    // Run from another directory: resolution follows the main module, not the working directory.
    const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(new URL('main.mjs', project))], {
      cwd: tmpdir(),
      timeout: 20_000,
    });
    assert.deepEqual(JSON.parse(stdout), {
      require: [[1, 2], [3]],
      import: [[1, 2], [3]],
      subpath: 6,
      relativeRequire: 'hello rxpool',
      relativeImport: 'HI!',
      builtin: 'a/b',
    });
  });

  test('the project directory can be set; a package missing from it fails with where it was looked for', T, () =>
    withExecutor({ maxWorkers: 1, env: { RXPOOL_PROJECT_DIR: projectDir } }, async ({ executor }) => {
      assert.equal(await executor.submit(() => require('fake-lodash').flavor), 'cjs');
      assert.equal(await executor.submit(async (name: string) => (await import(name)).flavor, 'fake-lodash-es'), 'esm');
      const chunk = fromModule<(items: number[], size: number) => number[][]>('fake-lodash-es', 'chunk');
      assert.deepEqual(await executor.submit(chunk, [1, 2, 3], 3), [[1, 2, 3]], 'a package name for fromModule');
      await assert.rejects(
        executor.submit(async (name: string) => import(name), 'not-installed-anywhere'),
        /Cannot find package 'not-installed-anywhere' from the project directory .*fixtures\/project/,
      );
      await assert.rejects(
        executor.submit(() => require('not-installed-anywhere')),
        /Cannot find module 'not-installed-anywhere'/,
      );
    }),
  );

  test('import resolution: exports conditions, subpath patterns, packages without exports', T, () => {
    const esm = `${pathToFileURL(projectDir).href}node_modules/fake-lodash-es/`;
    assert.equal(resolveImport('fake-lodash-es', projectDir), `${esm}index.js`);
    assert.equal(resolveImport('fake-lodash-es/fp/sum', projectDir), `${esm}fp/sum.js`);
    assert.equal(resolveImport('fake-lodash-es/package.json', projectDir), `${esm}package.json`);
    assert.throws(() => resolveImport('fake-lodash-es/index.js', projectDir), {
      code: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
    assert.equal(
      resolveImport('fake-lodash', `${projectDir}lib`),
      `${pathToFileURL(projectDir).href}node_modules/fake-lodash/index.js`,
      'found in a parent directory; no exports: main',
    );
    assert.equal(resolveImport('./lib/local.mjs', projectDir), `${pathToFileURL(projectDir).href}lib/local.mjs`);
    assert.equal(resolveImport('node:fs', projectDir), 'node:fs');
    assert.equal(resolveImport('fs', projectDir), 'fs');
    assert.equal(
      resolveImport('data:text/javascript,export default 1', projectDir),
      'data:text/javascript,export default 1',
    );
    assert.throws(() => resolveImport('fake-lodash-es', tmpdir()), { code: 'ERR_MODULE_NOT_FOUND' });
  });
});
