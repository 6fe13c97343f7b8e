// Builds the package: TypeScript to CommonJS in dist/ (one copy of the library, so one reusable
// executor per process), plus a thin ES module wrapper that re-exports it by name.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], {
  stdio: 'inherit',
});
writeFileSync(`${dist}/package.json`, `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

const names = Object.keys(createRequire(import.meta.url)(`${dist}/index.js`)).filter((name) => name !== '__esModule');
writeFileSync(
  `${dist}/index.mjs`,
  `// ES module entry: re-exports the CommonJS build, so ESM and CJS users share one library instance.\nimport lib from './index.js';\n\nexport const { ${names.join(', ')} } = lib;\n`,
);
writeFileSync(`${dist}/index.d.mts`, "export * from './index.js';\n");

// The worker entry point as one file: every worker loads it at start, and one file compiles in
// about half the time of the twenty-odd modules it is made of (measured: 12 ms against 23 ms).
// The modules stay in dist/ for the parent's use.
const { buildSync } = createRequire(import.meta.url)('esbuild');
buildSync({
  entryPoints: [`${dist}/worker/main.js`],
  outfile: `${dist}/worker/main.js`,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'error',
});
