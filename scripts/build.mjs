// Builds the package: the library as one CommonJS bundle, dist/index.js (one copy of the library,
// so one reusable executor per process), a thin ES module wrapper that re-exports it by name, the
// type declarations, and the worker's two files. tsc also leaves every module in dist/<folder>/
// (the tests load some of them one by one); the library itself does not use them.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], {
  stdio: 'inherit',
});
writeFileSync(`${dist}/package.json`, `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
const { buildSync } = createRequire(import.meta.url)('esbuild');
/** What every bundle made from the sources shares. */
const fromSources = {
  tsconfig: `${root}tsconfig.build.json`,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'error',
};

// One file loads faster than the sixty-odd modules it is made of: `require('rxpool')` took 87 ms
// as modules against 65 ms as a bundle (median of 6; RxJS is about half of what is left), and the
// first task's calls run less not-yet-compiled code. Not minified, so stacks stay readable.
// Packages stay outside (RxJS must be the user's own copy).
buildSync({
  ...fromSources,
  entryPoints: [`${root}src/index.ts`],
  outfile: `${dist}/rxpool.js`,
  packages: 'external',
  define: { RXPOOL_BUNDLE: 'true' },
});

// The CommonJS entry loads the bundle compiled from V8's code cache (src/entry.ts), bundled with
// the loader like the worker's boot.js. Not `module.exports = require(...)`: from an ES module
// import, Node would then scan the whole bundle for export names (cjs-module-lexer, some 10 ms of a
// 30 ms scan on this machine). index.mjs takes the names from the object instead.
buildSync({
  ...fromSources,
  entryPoints: [`${root}src/entry.ts`],
  outfile: `${dist}/index.js`,
  sourcemap: false,
});
rmSync(`${dist}/index.js.map`, { force: true });
rmSync(`${dist}/entry.js`, { force: true });
rmSync(`${dist}/entry.js.map`, { force: true });
rmSync(`${dist}/entry.d.ts`, { force: true });
if (callsImport(readFileSync(`${dist}/rxpool.js`, 'utf8'))) {
  throw new Error('dist/rxpool.js calls import(): compiled from the code cache, it could not (see src/entry.ts)');
}

const names = Object.keys(createRequire(import.meta.url)(`${dist}/index.js`)).filter((name) => name !== '__esModule');
writeFileSync(
  `${dist}/index.mjs`,
  `// ES module entry: re-exports the CommonJS build, so ESM and CJS users share one library instance.\nimport lib from './index.js';\n\nexport const { ${names.join(', ')} } = lib;\n`,
);
writeFileSync(`${dist}/index.d.mts`, "export * from './index.js';\n");

// The worker entry point as one file: every worker loads it at start, and one file compiles in
// about half the time of the twenty-odd modules it is made of (measured: 12 ms against 23 ms).
// It is built from the sources, not from tsc's output, and without whitespace: no tslib helpers or
// CommonJS interop wrappers, 48 KB instead of 96 KB (about 2 ms less at every worker's start).
// Names are kept, so stacks stay readable.
// boot.js, the file workers start, is bundled the same way: it compiles main.js from V8's code
// cache (platform/code-cache.ts), so it must not need the modules it would load.
buildSync({
  ...fromSources,
  entryPoints: { main: `${root}src/worker/main.ts`, boot: `${root}src/worker/boot.ts` },
  outdir: `${dist}/worker`,
  // Loaded from the package, and only by a function compiled with TypeScript's helpers (see
  // worker/helpers.ts): bundled, its 15 KB were a quarter of what every worker reads and compiles.
  external: ['tslib'],
  minifyWhitespace: true,
  minifySyntax: true,
});

// acorn, minified, for the parent's closure check: it loads on the first submit, on the path to the
// first worker's start, and its 246 KB take 17 ms to load there; 122 KB minified take 8.5 ms.
// platform/layout.ts names this copy; from the sources (the tests' own imports), acorn's own loads.
const require = createRequire(import.meta.url);
const { version: acornVersion } = require('acorn/package.json');
buildSync({
  entryPoints: [require.resolve('acorn')],
  outfile: `${dist}/shipping/acorn.js`,
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  banner: {
    js: `/* acorn ${acornVersion}, minified. MIT license, (c) Marijn Haverbeke and others: https://github.com/acornjs/acorn */`,
  },
  logLevel: 'error',
});

/** Whether `source` has an `import()` expression anywhere (acorn's tree, walked whole). */
function callsImport(source) {
  const { parse } = createRequire(import.meta.url)('acorn');
  const walk = (node) => {
    if (Array.isArray(node)) return node.some(walk);
    if (!node || typeof node.type !== 'string') return false;
    if (node.type === 'ImportExpression') return true;
    return Object.values(node).some((value) => typeof value === 'object' && walk(value));
  };
  return walk(parse(source, { ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true }));
}
