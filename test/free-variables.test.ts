import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import serialize from 'serialize-javascript';
import { inlinesConstants, requireDist, runtime, scriptArgs, underTsx } from './support/pool.js';

const T = { timeout: 10_000 };
const { analyzeFunction, parsedAnalysis, freeVariableError, lexicalContextError, usesThisError } =
  requireDist<typeof import('../dist/shipping/free-variables.js')>('shipping/free-variables.js');
const { plainlyClosed } = requireDist<typeof import('../dist/shipping/quick-scan.js')>('shipping/quick-scan.js');
const { BABEL_HELPERS, TSLIB_HELPERS, WORKER_HELPERS } =
  requireDist<typeof import('../dist/shipping/helper-names.js')>('shipping/helper-names.js');
const { CORE_LANGUAGE_GLOBALS, workerGlobals } =
  requireDist<typeof import('../dist/shipping/worker-globals.js')>('shipping/worker-globals.js');
const { installHelpers } = requireDist<typeof import('../dist/worker/helpers.js')>('worker/helpers.js');
const root = join(import.meta.dirname, '..');
const tslib = createRequire(import.meta.url)('tslib') as Record<string, unknown>;

/** The free variables of a source, or of a function's source exactly as it will be shipped. */
function free(fn: string | ((...args: never[]) => unknown)): readonly string[] {
  return analyzeFunction(typeof fn === 'string' ? fn : serialize(fn, { unsafe: true })).free;
}

/**
 * Checked by code and name: this ES module test and the CommonJS build may each load their own copy
 * of errors.js, so `instanceof` could compare two different classes. (The modules under test come
 * from dist/, as CommonJS, on every runtime: Deno would run src/*.ts as ES modules, without `require`.)
 */
function assertSerializationError(
  error: unknown,
): asserts error is Error & { stage: string; path: string; functionName: string | undefined } {
  assert.ok(error instanceof Error);
  assert.equal(error.name, 'SerializationError');
  assert.equal((error as { code?: unknown }).code, 'ERR_RXPOOL_SERIALIZATION');
}

describe('analyzeFunction: scoping', T, () => {
  test('arrow functions: parameters are bound, outer names are free', T, () => {
    assert.deepEqual(free('(x) => x * factor'), ['factor']);
    assert.deepEqual(free('x => x + 1'), []);
    assert.deepEqual(free('async (x) => { const y = await x; return y + z; }'), ['z']);
    assert.deepEqual(free('() => ({})'), []);
  });

  test('function expressions, async functions, generators and async generators', T, () => {
    assert.deepEqual(free('function (a) { return a + b; }'), ['b']);
    assert.deepEqual(free('function named(n) { return n ? named(n - 1) : 0; }'), []);
    assert.deepEqual(free('async function (x) { return await load(x); }'), ['load']);
    assert.deepEqual(free('function* () { yield* items; }'), ['items']);
    assert.deepEqual(free('async function*() { for await (const chunk of stream) yield chunk; }'), ['stream']);
  });

  test('parameters: defaults see earlier parameters but not the body, destructuring, rest', T, () => {
    assert.deepEqual(free('(a, b = a * 2) => a + b'), []);
    assert.deepEqual(free('(a = fallback) => a'), ['fallback']);
    assert.deepEqual(free('function (a = c) { var c = 1; return a; }'), ['c']);
    assert.deepEqual(
      free('({ a, b: { c }, [key]: d = dflt, ...rest }, [e, , f = e, ...g]) => [a, c, d, rest, e, f, g]'),
      ['key', 'dflt'],
    );
    assert.deepEqual(free('(...args) => args.length'), []);
  });

  test('method shorthand turned into a function by serialize-javascript', T, () => {
    const object = {
      scale(x: number) {
        return x * 2;
      },
      async load(x: number) {
        return await Promise.resolve(x);
      },
      *ids() {
        yield 1;
      },
    };
    assert.equal(serialize(object.scale, { unsafe: true }).startsWith('function'), true);
    assert.deepEqual(free(object.scale), []);
    assert.deepEqual(free(object.load), []);
    assert.deepEqual(free(object.ids), []);
  });

  test('class expressions: static methods and fields, private members, computed keys, extends', T, () => {
    const source = `class Counter {
      static #created = 0;
      static zero = new Counter(0);
      count;
      constructor(start) { this.count = start; Counter.#created++; }
      static make(n) { return new Counter(n + offset); }
      increment = () => ++this.count;
      static { this.ready = true; }
      [Symbol.iterator]() { return [this.count][Symbol.iterator](); }
    }`;
    assert.deepEqual(free(source), ['offset']);
    assert.equal(analyzeFunction(source).usesThis, false);
    // `name` is a global of Deno (the window's name), so of its workers too.
    assert.deepEqual(
      free('class extends Base { [name]() { return super.x; } }'),
      runtime === 'deno' ? ['Base'] : ['Base', 'name'],
    );
    assert.deepEqual(analyzeFunction('class A { m() { return this.#p; } #p = 1; }').privateNames, []);
  });

  test('nested closures may use their outer function locals', T, () => {
    assert.deepEqual(
      free('(xs) => { const k = 2; return xs.map((x) => x * k).filter(function (y) { return y > k; }); }'),
      [],
    );
    assert.deepEqual(free('() => { const make = () => () => deep; return make; }'), ['deep']);
  });

  test('shadowing: an inner declaration hides nothing outside its scope', T, () => {
    assert.deepEqual(free('(x) => { { let y = 1; } return y; }'), ['y']);
    assert.deepEqual(free('(x) => { { const x = 1; } return x; }'), []);
    assert.deepEqual(free('() => { for (let i = 0; i < 3; i++) {} return i; }'), ['i']);
    assert.deepEqual(free('() => { for (var i = 0; i < 3; i++) {} return i; }'), []);
    assert.deepEqual(free('(items) => { for (const [k, v] of items) use(k, v); }'), ['use']);
    assert.deepEqual(free('(o) => { for (const k in o) o[k]; }'), []);
    assert.deepEqual(free('() => { switch (1) { case 1: let s = 1; } return s; }'), ['s']);
  });

  test('hoisting: var and function declarations are visible before their line', T, () => {
    assert.deepEqual(free('() => { later(); v = 1; var v; function later() { return v; } }'), []);
    assert.deepEqual(free('() => { if (true) { function inBlock() {} } return inBlock(); }'), []);
    assert.deepEqual(free('() => { const f = () => g; const g = 1; return f(); }'), []);
    assert.deepEqual(free('() => new Local(); class Local {}'), []);
  });

  test('catch parameters, labels, with', T, () => {
    assert.deepEqual(free('() => { try { risky(); } catch (error) { return error; } }'), ['risky']);
    assert.deepEqual(free('() => { try {} catch ({ message, code = fallback }) { return message + code; } }'), [
      'fallback',
    ]);
    assert.deepEqual(free('() => { try {} catch { } }'), []);
    assert.deepEqual(free('() => { outer: for (;;) { inner: while (true) { continue outer; break inner; } } }'), []);
    assert.deepEqual(free('function (o) { with (o) { return a + b; } }'), []);
  });

  test('object keys and member properties are not references; shorthand properties are', T, () => {
    assert.deepEqual(free('(o) => ({ a: o.b, "c": o["d"], e() {}, get f() { return 1; } })'), []);
    assert.deepEqual(free('(o) => ({ width, [height]: 1, ...extra })'), ['width', 'height', 'extra']);
    assert.deepEqual(free('(o) => o?.a?.[k]?.()'), ['k']);
  });

  test('typeof of an undeclared name is feature detection, not a reference', T, () => {
    assert.deepEqual(free("() => typeof Deno === 'undefined'"), []);
    assert.deepEqual(free("() => typeof window !== 'undefined' ? window.location : null"), []);
    assert.deepEqual(free('() => typeof x.y'), ['x']);
  });

  test('assignments to undeclared names are reported: sloppy code would create a global', T, () => {
    assert.deepEqual(free('() => { total = 1; counter++; [a, b] = [1, 2]; ({ c } = {}); }'), [
      'total',
      'counter',
      'a',
      'b',
      'c',
    ]);
    assert.deepEqual(free('() => { for (item of list) {} }'), ['item', 'list']);
  });

  test('template literals, tagged templates, new.target, import()', T, () => {
    assert.deepEqual(free(`(x) => \`\${x} \${unit}\``), ['unit']);
    assert.deepEqual(free(`() => tag\`a\${b}\``), ['tag', 'b']);
    assert.deepEqual(free('function () { return new.target; }'), []);
    assert.deepEqual(free("async () => (await import('node:os')).EOL"), []);
  });

  test('Node globals and require pass', T, () => {
    const fn = async () => {
      const os = require('node:os');
      const data = structuredClone({ n: Math.max(1, 2), at: JSON.stringify(new Date()) });
      await new Promise((resolve) => setTimeout(resolve, 1));
      queueMicrotask(() => {});
      return [
        os.EOL,
        data,
        Buffer.from('x'),
        process.pid,
        typeof fetch,
        new URL('file:///'),
        new TextEncoder(),
        new AbortController(),
        performance.now(),
        crypto.randomUUID(),
        globalThis,
      ];
    };
    assert.deepEqual(free(fn), []);
    assert.deepEqual(free('() => [WebAssembly, Intl, globalThis, global, navigator, AbortSignal.timeout(1)]'), []);
  });

  test('a global of this process that workers do not have is reported', T, () => {
    assert.deepEqual(free('() => describe'), ['describe']);
    assert.deepEqual(free('() => [module, exports, __filename, __dirname]'), [
      'module',
      'exports',
      '__filename',
      '__dirname',
    ]);
  });
});

describe('analyzeFunction: this, super, arguments, import.meta', T, () => {
  test('this in the own body of a function or an arrow', T, () => {
    assert.equal(analyzeFunction('function () { return this.x; }').usesThis, true);
    assert.equal(analyzeFunction('() => this').usesThis, true);
    assert.equal(analyzeFunction('function () { return () => this.x; }').usesThis, true);
    assert.equal(analyzeFunction('function () { return function () { return this; }; }').usesThis, false);
    assert.equal(analyzeFunction('() => ({ m() { return this; } })').usesThis, false);
    assert.equal(analyzeFunction('() => class { x = this; m() { return this; } }').usesThis, false);
    assert.equal(analyzeFunction('class A { m() { return this; } }').usesThis, false);
  });

  test('super, private names and import.meta out of their context', T, () => {
    const method = analyzeFunction('function() { return super.toString() + this.#secret; }');
    assert.equal(method.usesSuper, true);
    assert.deepEqual(method.privateNames, ['secret']);
    assert.equal(analyzeFunction('() => import.meta.url').usesImportMeta, true);
    const error = lexicalContextError('method', method);
    assertSerializationError(error);
    assert.match(error.message, /uses `super`/);
    assert.match(error.message, /private field `#secret`/);
    assert.equal(error.path, 'super, #secret');
  });

  test('arguments: an arrow root borrows it, a function owns it', T, () => {
    assert.equal(analyzeFunction('() => arguments[0]').usesArguments, true);
    assert.deepEqual(free('() => arguments[0]'), []);
    assert.equal(analyzeFunction('function () { return arguments[0]; }').usesArguments, false);
    assert.equal(analyzeFunction('() => function () { return arguments; }').usesArguments, false);
    assert.match(lexicalContextError('f', analyzeFunction('() => arguments'))?.message ?? '', /rest parameters/);
  });

  test('a source that is not one function is a syntax error, found before sending', T, () => {
    assert.equal(analyzeFunction('x) + (y').syntaxError, 'its source is not a single function or class');
    assert.match(analyzeFunction('function () { return 1 +; }').syntaxError ?? '', /Unexpected token/);
    assert.equal(analyzeFunction('(x) => x').syntaxError, undefined);
    assert.equal(lexicalContextError('f', analyzeFunction('(x) => x')), undefined);
  });
});

describe('analyzeFunction: compiled code', T, () => {
  test("real fn.toString() under tsx: esbuild's __name calls pass", T, () => {
    function outer(x: number) {
      function inner(y: number) {
        return y * 2;
      }
      const arrow = (z: number) => z;
      class Local {
        m() {
          return 1;
        }
      }
      return inner(x) + arrow(1) + new Local().m();
    }
    const source = serialize(outer, { unsafe: true });
    // Bun and Deno compile this file themselves, and keep names without __name.
    if (underTsx) assert.match(source, /__name\(/, 'tsx keeps names with __name');
    const analysis = analyzeFunction(source);
    assert.deepEqual(analysis.free, []);
    assert.equal(analysis.usesThis, false);
    assert.deepEqual(analysis.helpers, underTsx ? ['__name'] : []);
  });

  test('real fn.toString() of a function using a variable of the test file', T, () => {
    const factor = 3;
    const scale = (x: number) => x * factor;
    assert.equal(scale(1), 3);
    const error = freeVariableError(scale.name, analyzeFunction(serialize(scale, { unsafe: true })));
    if (inlinesConstants) {
      // Bun compiled `x * factor` to `x * 3`: the source the check sees uses nothing outside.
      assert.doesNotMatch(String(scale), /factor/);
      assert.equal(error, undefined);
      return;
    }
    assertSerializationError(error);
    assert.equal(
      error.message,
      'The function `scale` uses `factor` from its enclosing scope, which cannot be sent to a worker: pass it as an argument, or with withScope({ factor }).',
    );
    assert.equal(error.stage, 'function');
    assert.equal(error.path, 'factor');
    assert.equal(error.functionName, 'scale');
  });

  test('tsc down-levelled to ES2015: __awaiter(this, ...) is neither free nor a use of this', T, () => {
    const source =
      'function g(...xs) { return __awaiter(this, void 0, void 0, function* () { const _a = { a: 1, b: 2 }, { a } = _a, rest = __rest(_a, ["a"]); yield null; return [...xs, a, rest]; }); }';
    const analysis = analyzeFunction(source);
    assert.deepEqual(analysis.free, []);
    assert.equal(analysis.usesThis, false);
    assert.deepEqual(analysis.helpers, ['__awaiter', '__rest']);
    const usesThis = analyzeFunction(
      'function () { return __awaiter(this, void 0, void 0, function* () { return this.x; }); }',
    );
    assert.equal(usesThis.usesThis, true);
  });

  test('tsc down-levelled to ES5: __generator and __spreadArray', T, () => {
    const source = `function () {
    var xs = [];
    for (var _i = 0; _i < arguments.length; _i++) {
        xs[_i] = arguments[_i];
    }
    return __awaiter(this, void 0, void 0, function () { return __generator(this, function (_a) {
        switch (_a.label) {
            case 0: return [4 /*yield*/, Promise.resolve(1)];
            case 1: return [2 /*return*/, __spreadArray(__spreadArray([], xs, true), [_a.sent()], false)];
        }
    }); });
}`;
    const analysis = analyzeFunction(source);
    assert.deepEqual(analysis.free, []);
    assert.equal(analysis.usesThis, false);
    assert.deepEqual(analysis.helpers, ['__awaiter', '__generator', '__spreadArray']);
  });

  test('an ES5 arrow that captured this as _this gets a hint about this', T, () => {
    const source =
      'function () { return __awaiter(_this, void 0, void 0, function () { return __generator(this, function (_a) { return [2, _this.x]; }); }); }';
    assert.deepEqual(free(source), ['_this']);
    assert.match(freeVariableError('f', analyzeFunction(source))?.message ?? '', /rewrote `this` inside an arrow/);
  });

  test('istanbul/nyc coverage counters are reported with a hint to use V8 coverage', T, () => {
    const source = 'function (x) { cov_1x2y3z().f[0]++; cov_1x2y3z().s[0]++; return x; }';
    assert.deepEqual(free(source), ['cov_1x2y3z']);
    const error = freeVariableError('double', analyzeFunction(source));
    assert.ok(error);
    assert.match(error.message, /^The function `double` calls `cov_1x2y3z`, a coverage counter that istanbul\/nyc/);
    assert.match(error.message, /c8, `node --experimental-test-coverage`/);
    assert.equal(error.path, 'cov_1x2y3z');
  });

  test('vite/vitest SSR imports are reported with a hint about imports', T, () => {
    const source = '(x) => __vite_ssr_import_0__.format(x) + __vi_import_1__.y';
    assert.deepEqual(free(source), ['__vite_ssr_import_0__', '__vi_import_1__']);
    const message = freeVariableError('fmt', analyzeFunction(source))?.message ?? '';
    assert.match(
      message,
      /`__vite_ssr_import_0__` and `__vi_import_1__`, which vite or vitest put in place of the imports/,
    );
    assert.match(message, /pass the value as an argument, or ship the function from its module by reference/i);
  });

  test('unknown helpers, compiled imports, tslib under importHelpers, CommonJS variables', T, () => {
    const cases: [string, RegExp][] = [
      ['() => __publicField({}, "x", 1)', /a helper that a compiler/],
      ['() => _classCallCheck(this, A)', /a helper that a compiler/],
      ['() => (0, node_path_1.join)("a")', /looks like an import/],
      ['() => import_node_path.join("a")', /looks like an import/],
      ['function () { return tslib_1.__awaiter(this, void 0, void 0, function* () {}); }', /importHelpers/],
      ['() => __dirname', /CommonJS module/],
    ];
    for (const [source, hint] of cases) {
      assert.match(freeVariableError('f', analyzeFunction(source))?.message ?? '', hint, source);
    }
  });

  test('every helper the workers define is accepted', T, () => {
    const source = `() => [${WORKER_HELPERS.join(', ')}]`;
    assert.deepEqual(free(source), []);
    assert.deepEqual(analyzeFunction(source).helpers, WORKER_HELPERS);
  });
});

describe('error messages', T, () => {
  test('several names are listed, and names sent along with withScope are not', T, () => {
    const analysis = analyzeFunction('(x) => x * factor + offset');
    const error = freeVariableError('scale', analysis);
    assert.equal(
      error?.message,
      'The function `scale` uses `factor` and `offset` from its enclosing scope, which cannot be sent to a worker: pass them as arguments, or with withScope({ factor, offset }).',
    );
    assert.equal(error?.path, 'factor, offset');
    assert.match(freeVariableError('scale', analysis, ['factor'])?.message ?? '', /uses `offset` from/);
    assert.equal(freeVariableError('scale', analysis, ['factor', 'offset']), undefined);
    assert.equal(freeVariableError('scale', analyzeFunction('(x) => x')), undefined);
  });

  test('mixed causes get one sentence each; anonymous functions are named so', T, () => {
    const message = freeVariableError('', analyzeFunction('() => factor + cov_abc().s[0]++'))?.message ?? '';
    assert.match(message, /^The function `anonymous` uses `factor` from its enclosing scope.* It also calls `cov_abc`/);
  });

  test('this', T, () => {
    const error = usesThisError('area');
    assert.equal(
      error.message,
      'The function `area` uses `this`, which does not travel with the function: pass what it needs as arguments.',
    );
    assert.equal(error.stage, 'function');
    assert.equal(error.path, 'this');
  });
});

describe('worker globals and helpers', T, () => {
  test('the language globals known without reading a fresh context are globals of a fresh context', T, () => {
    // The shortcut (no vm context at the first submit) must never accept a name the engine lacks.
    const fresh = new Set(runInNewContext('Object.getOwnPropertyNames(globalThis)') as string[]);
    assert.deepEqual(
      CORE_LANGUAGE_GLOBALS.filter((name) => !fresh.has(name)),
      [],
    );
  });

  test(`every global of a plain ${runtime} process is known as a worker global`, T, () => {
    // A script file, not `node -e`: eval code also sees require, module and the builtin modules.
    // Workers run on this very runtime, so its own globals (`Bun`, `Deno`...) are theirs too.
    const dir = mkdtempSync(join(tmpdir(), 'rxpool-globals-'));
    try {
      const script = join(dir, 'globals.cjs');
      writeFileSync(script, 'process.stdout.write(JSON.stringify(Object.getOwnPropertyNames(globalThis)));\n');
      const names = JSON.parse(execFileSync(process.execPath, scriptArgs(script), { encoding: 'utf8' })) as string[];
      const known = workerGlobals();
      assert.deepEqual(
        names.filter((name) => !known.has(name)),
        [],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the helper list matches what tslib exports', T, () => {
    assert.deepEqual(new Set(TSLIB_HELPERS), new Set(Object.keys(tslib)));
  });

  test('installHelpers defines tslib helpers lazily, and the Babel ones', T, async () => {
    const target = {} as Record<string, unknown>;
    installHelpers(target as unknown as typeof globalThis);
    assert.equal(typeof Object.getOwnPropertyDescriptor(target, '__awaiter')?.get, 'function');
    assert.equal(target.__awaiter, tslib.__awaiter);
    assert.equal(Object.getOwnPropertyDescriptor(target, '__awaiter')?.value, tslib.__awaiter);
    for (const name of [...TSLIB_HELPERS, ...BABEL_HELPERS]) assert.equal(typeof target[name], 'function', name);
    target.__assign = 'replaced';
    assert.equal(target.__assign, 'replaced');
    const existing = { __awaiter: 'mine' };
    installHelpers(existing as unknown as typeof globalThis);
    assert.equal(existing.__awaiter, 'mine');
    assert.deepEqual(Object.keys(target), ['__name'], 'lazy helpers are not enumerable');
  });

  test('down-levelled functions run in a fresh process with the helpers installed', T, () => {
    // The worker's own path: installHelpers on the global object, then compileShipped.
    const sources = {
      tscES5: `function (x) { var rest = []; for (var _i = 1; _i < arguments.length; _i++) rest[_i - 1] = arguments[_i];
        return __awaiter(this, void 0, void 0, function () { var _a, a, others; return __generator(this, function (_b) {
          switch (_b.label) {
            case 0: return [4, Promise.resolve(x)];
            case 1: _a = __assign({ a: _b.sent() }, { b: 2 }), a = _a.a, others = __rest(_a, ["a"]);
              return [2, __spreadArray(__spreadArray([a], rest, true), [others], false)];
          }
        }); }); }`,
      babel: `function (x) { var _ref = _asyncToGenerator(function* (y) { return yield Promise.resolve(y); });
        const math = _interopRequireDefault(Math), esm = _interopRequireWildcard({ __esModule: true, e: 2 });
        return _ref(x).then((v) => _objectSpread2(_objectSpread2({}, _defineProperty({}, 'v', v)), {}, _objectWithoutProperties({ p: math.default.max(esm.e, 3), q: 1 }, ['q']), _extends({}, { r: 4 }))); }`,
    };
    const program = `
      const { installHelpers } = require(${JSON.stringify(join(root, 'dist/worker/helpers.js'))});
      const { compileShipped } = require(${JSON.stringify(join(root, 'dist/worker/compile.js'))});
      installHelpers(globalThis);
      const sources = ${JSON.stringify(sources)};
      Promise.all([
        compileShipped({ source: sources.tscES5, name: 'tsc' })(1, 'r1', 'r2'),
        compileShipped({ source: sources.babel, name: 'babel' })(5),
      ]).then((values) => process.stdout.write(JSON.stringify(values)));
    `;
    const dir = mkdtempSync(join(tmpdir(), 'rxpool-helpers-'));
    try {
      const script = join(dir, 'helpers.cjs');
      writeFileSync(script, program);
      const output = execFileSync(process.execPath, scriptArgs(script), { cwd: root, encoding: 'utf8' });
      assert.deepEqual(JSON.parse(output), [[1, 'r1', 'r2', { b: 2 }], { v: 5, p: 3, r: 4 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const source of Object.values(sources)) assert.deepEqual(free(source), []);
  });
});

describe('the quick scan (no parser for plainly closed functions)', T, () => {
  const globals = workerGlobals();
  const helpers = new Set(WORKER_HELPERS);
  // Sources it must answer for: only parameters, globals, literals and operators.
  const plain = [
    '(x) => x + 1',
    'x => x * 2',
    '() => process.pid',
    'async (a, b) => await Promise.all([a, b])',
    'function inc(x) { return x + 1; }',
    'function* count(n) { while (n > 0) yield n--; }',
    "(s) => s + 'it\\'s \\\\ \"fine\" // not a comment'",
    '(xs) => [...xs].map(Math.sqrt)',
    '(o) => o?.a?.b ?? null',
    '(ms) => new Promise(Boolean)',
    '(n) => typeof n === "number" ? 1e3 + 0x1f + .5 + 10n : void 0',
  ];
  // Sources it must leave to the parser: each hides something a scanner could get wrong.
  const tricky = [
    '(x) => x + k',
    '(x) => x / k',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source of a template literal
    '(x) => x + `${k}`',
    '(x) => /k/.test(x)',
    '(x) => x // k',
    '(x) => { const k = 1; return x + k; }',
    '(x) => ({ k: x })',
    'function () { return this; }',
    '() => arguments[0]',
    'function () { return new.target; }',
    '() => import("k")',
    "(x) => x <!-- it's\n + k",
    '({ a }) => a',
    '(x = k) => x',
    '(x) => x + \\u006b',
    '(x) => x + ünïcode',
    '(x) => yield',
    '(x) => await',
    'async (x) => (y) => await', // the inner arrow's `await` is an identifier
    '(x) => [...k]',
    '(x) => x.k + k',
    '(x) => __name(x)',
    'class { m() { return 1; } }',
  ];

  test('answers for plainly closed functions, and the full parse agrees with it', T, () => {
    for (const source of plain) {
      assert.equal(plainlyClosed(source, globals, helpers), true, source);
      assert.deepEqual(analyzeFunction(source), parsedAnalysis(source), source);
    }
  });

  test('leaves to the parser whatever it cannot be sure of', T, () => {
    for (const source of tricky) assert.equal(plainlyClosed(source, globals, helpers), false, source);
  });

  test('wherever it answers, the full parse finds nothing either (property)', T, () => {
    const pieces = fc.constantFrom(
      'x',
      'k',
      '.',
      '...',
      '+',
      '/',
      '(',
      ')',
      '[',
      ']',
      '{',
      '}',
      ',',
      ':',
      '?',
      "'",
      '"',
      '`',
      '\\',
      '\n',
      ' ',
      '1',
      'typeof',
      'new',
      'this',
      'await',
      'yield',
      'Math',
      '<!--',
      '-->',
      '=>',
      'return',
      '#',
    );
    fc.assert(
      fc.property(
        fc.array(pieces, { maxLength: 12 }),
        fc.constantFrom('(x) => ', 'async x => ', 'function* f(x) { '),
        (body, head) => {
          const source = head + body.join('') + (head.endsWith('{ ') ? ' }' : '');
          if (!plainlyClosed(source, globals, helpers)) return;
          let parsed: ReturnType<typeof parsedAnalysis>;
          try {
            parsed = parsedAnalysis(source);
          } catch {
            return;
          }
          // Only valid sources are ever shipped: a verdict on invalid ones does not matter.
          if (parsed.syntaxError !== undefined) return;
          assert.deepEqual(parsed.free, [], source);
          assert.equal(
            parsed.usesThis || parsed.usesArguments || parsed.usesSuper || parsed.usesImportMeta,
            false,
            source,
          );
          assert.deepEqual(parsed.helpers, [], source);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('cost', T, () => {
  test('analyzing a ten-line function takes well under a millisecond', T, () => {
    const source = serialize(
      async (items: readonly { id: number; tags: string[] }[], limit = 10) => {
        const seen = new Set<number>();
        const out: string[] = [];
        for (const { id, tags } of items) {
          if (seen.has(id)) continue;
          seen.add(id);
          out.push(...tags.filter((tag) => tag.length > 2).map((tag) => `${id}:${tag}`));
        }
        await new Promise((resolve) => setTimeout(resolve, 0));
        return out.slice(0, limit);
      },
      { unsafe: true },
    );
    for (let i = 0; i < 200; i++) analyzeFunction(source);
    const runs = 2000;
    const start = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) analyzeFunction(source);
    const micros = Number(process.hrtime.bigint() - start) / 1000 / runs;
    assert.ok(micros < 1000, `${micros.toFixed(1)} µs per analysis`);
  });
});
