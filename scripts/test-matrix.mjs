#!/usr/bin/env node
// The runtime matrix: runs rxpool's test suite, stories and smoke test on Node.js 20, 22, 24 and 26,
// on Bun and on Deno, each with its own binary (workers use process.execPath, so they run on it
// too), then prints a results table and rewrites the matrix section of README.md.
//
//   npm run test:matrix                         # everything
//   npm run test:matrix -- --only=node@22,bun   # a subset (README.md is left alone)
//   npm run test:matrix -- --no-readme          # do not touch README.md
//   npm run test:matrix -- --skip-suite         # smoke and stories only (README.md is left alone)
//
// The runtimes come from the npm registry only: `node-<os>-<cpu>@<major>` ships the node binary,
// `@oven/bun-<os>-<cpu>` and `@deno/<os>-<cpu>` ship bun and deno (the platform packages that the
// `bun` and `deno` packages install as optional dependencies; their postinstall scripts, which
// would need approval and may download, are never run). Each is fetched with `npm pack` and
// unpacked with `tar` into a cache outside the repository:
// $RXPOOL_MATRIX_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/rxpool-matrix. Logs go to its logs/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cache =
  process.env.RXPOOL_MATRIX_CACHE ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'rxpool-matrix');
const logs = join(cache, 'logs');
const onWindows = process.platform === 'win32';
const SUITE_TIMEOUT_MS = 15 * 60_000;
const STORY_TIMEOUT_MS = 2 * 60_000;
const SMOKE_TIMEOUT_MS = 2 * 60_000;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences are what it matches
const ANSI = /\u001b\[[0-9;]*m/g;

const args = process.argv.slice(2);
const only = args
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const skipSuite = args.includes('--skip-suite');
const writeReadme = !args.includes('--no-readme') && !only && !skipSuite;

// ---- where each runtime comes from ----

const os = { linux: 'linux', darwin: 'darwin', win32: 'win' }[process.platform] ?? process.platform;
const cpu = process.arch;
const exe = onWindows ? '.exe' : '';

/** The runtimes of the matrix: which package ships the binary, and where it sits inside. */
const RUNTIMES = [
  ...[20, 22, 24, 26].map((major) => ({
    id: `node@${major}`,
    runtime: 'node',
    spec: `node-${os}-${cpu}@${major}`,
    binary: onWindows ? 'bin/node.exe' : 'bin/node',
  })),
  {
    id: 'bun',
    runtime: 'bun',
    spec: `@oven/bun-${os === 'win' ? 'windows' : os}-${cpu === 'arm64' ? 'aarch64' : cpu}@${process.env.RXPOOL_MATRIX_BUN ?? 'latest'}`,
    binary: `bin/bun${exe}`,
  },
  {
    id: 'deno',
    runtime: 'deno',
    spec: `@deno/${{ linux: `linux-${cpu}-glibc`, darwin: `darwin-${cpu}`, win: `win32-${cpu}` }[os]}@${process.env.RXPOOL_MATRIX_DENO ?? 'latest'}`,
    binary: `deno${exe}`,
  },
].filter((entry) => !only || only.includes(entry.id) || only.includes(entry.runtime));

// ---- small helpers ----

/** Runs a command to completion; never throws. Kills the whole process group on timeout. */
function exec(command, commandArgs, { cwd = root, env = process.env, timeout = 0, log } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, commandArgs, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: !onWindows,
      shell: onWindows && !command.includes('/') && !command.includes('\\'),
    });
    let output = '';
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      output += chunk;
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      output += chunk;
    });
    let timedOut = false;
    const timer =
      timeout > 0
        ? setTimeout(() => {
            timedOut = true;
            try {
              if (onWindows) child.kill('SIGKILL');
              else process.kill(-child.pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }, timeout)
        : undefined;
    const done = (code, signal, error) => {
      clearTimeout(timer);
      if (error) output += `\n${error.stack ?? error}`;
      if (timedOut) output += `\n[test-matrix] killed after ${timeout} ms`;
      // Some runners color their output whatever NO_COLOR says.
      output = output.replace(ANSI, '');
      stdout = stdout.replace(ANSI, '');
      if (log) writeFileSync(log, `$ ${[command, ...commandArgs].join(' ')}\n\n${output}`);
      resolve({ code: timedOut ? null : code, signal, output, stdout, timedOut, ms: Date.now() - started });
    };
    child.on('error', (error) => done(null, null, error));
    child.on('close', (code, signal) => done(code, signal));
  });
}

const npm = (npmArgs, options) => exec('npm', npmArgs, options);

const byVersion = (a, b) => a.localeCompare(b, 'en', { numeric: true });

/** The exact version that `spec` (name@range) stands for, asked of the registry; else the newest cached one. */
async function resolveVersion(name, range) {
  const { code, output, stdout } = await npm(['view', `${name}@${range}`, 'version', '--json']);
  if (code === 0) {
    // Not always in version order: sort them (x.y.z, numerically), newest last.
    const versions = [JSON.parse(stdout)].flat().sort(byVersion);
    const last = versions.at(-1);
    if (typeof last === 'string') return last;
  }
  const prefix = `${name.replace('/', '+')}@`;
  const cached = existsSync(cache)
    ? readdirSync(cache)
        .filter((entry) => entry.startsWith(prefix))
        .map((entry) => entry.slice(prefix.length))
        .filter((version) => !/^\d+$/.test(range) || version.split('.')[0] === range)
        .sort(byVersion)
    : [];
  if (cached.length > 0) return cached.at(-1);
  throw new Error(`cannot resolve ${name}@${range}:\n${output}`);
}

/** Downloads and unpacks the package once; returns the binary's absolute path. */
async function install(entry) {
  const at = entry.spec.lastIndexOf('@');
  const name = entry.spec.slice(0, at);
  const version = await resolveVersion(name, entry.spec.slice(at + 1));
  const dir = join(cache, `${name.replace('/', '+')}@${version}`);
  const binary = join(dir, 'package', entry.binary);
  if (existsSync(binary)) return { binary, version, dir };
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  console.log(`[test-matrix] downloading ${name}@${version} into ${cache}`);
  const packed = await npm(['pack', `${name}@${version}`, '--json', '--pack-destination', staging], { cwd: staging });
  if (packed.code !== 0) throw new Error(`npm pack ${name}@${version} failed:\n${packed.output}`);
  const tarball = join(staging, JSON.parse(packed.stdout)[0].filename);
  const untar = await exec('tar', ['-xzf', tarball, '-C', staging]);
  if (untar.code !== 0) throw new Error(`tar failed:\n${untar.output}`);
  rmSync(tarball);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  if (!existsSync(binary)) throw new Error(`${name}@${version} has no ${entry.binary}`);
  return { binary, version, dir };
}

// ---- what runs on each runtime ----

const testFiles = readdirSync(join(root, 'test'))
  .filter((file) => file.endsWith('.test.ts'))
  .sort()
  .map((file) => `test/${file}`);
const stories = existsSync(join(root, 'stories'))
  ? readdirSync(join(root, 'stories'))
      .filter((file) => file.endsWith('.ts'))
      .sort()
      .map((file) => `stories/${file}`)
  : [];

/**
 * How each runtime runs the suite, a story and a plain script, and how to read its runner's totals.
 * Node: its own test runner, TypeScript through tsx. Bun: `bun test` runs node:test files natively.
 * Deno: `deno test` runs node:test files (each top-level describe becomes a test, its tests steps);
 * --sloppy-imports so `./support/pool.js` finds `pool.ts` as tsc and tsx do, and --no-check
 * because tsc already type-checks the suite (Deno's checker applies this repository's tsconfig
 * `lib`, which leaves it without `import.meta.url`).
 */
const COMMANDS = {
  node: {
    suite: ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...testFiles],
    story: (file) => ['--import', 'tsx', file],
    script: (file) => [file],
    totals: (out) => ({
      passed: lastNumber(out, /^# pass (\d+)/gm),
      failed: lastNumber(out, /^# fail (\d+)/gm),
      skipped: lastNumber(out, /^# skipped (\d+)/gm),
    }),
    failures: (out) => [...out.matchAll(/^\s*not ok \d+ - (.+)$/gm)].map((m) => m[1]),
  },
  bun: {
    suite: ['test', '--timeout=60000', ...testFiles],
    story: (file) => [file],
    script: (file) => [file],
    totals: (out) => ({
      passed: lastNumber(out, /^\s*(\d+) pass$/gm),
      failed: lastNumber(out, /^\s*(\d+) fail$/gm),
      skipped: lastNumber(out, /^\s*(\d+) skip$/gm),
    }),
    failures: (out) => [...out.matchAll(/^\(fail\) (.+?)(?: \[[\d.]+m?s\])?$/gm)].map((m) => m[1]),
  },
  deno: {
    suite: ['test', '-A', '--no-check', '--sloppy-imports', ...testFiles],
    story: (file) => ['run', '-A', '--no-check', '--sloppy-imports', file],
    script: (file) => ['run', '-A', file],
    totals: (out) => {
      const line = out.match(/^(?:ok|FAILED) \| .*$/m)?.[0] ?? '';
      const count = (word) => {
        const m = line.match(new RegExp(`(\\d+) ${word}(?: \\((\\d+) steps?\\))?`));
        return m ? Number(m[2] ?? m[1]) : undefined;
      };
      // node:test's `skip` shows as "ignored" (absent from the line when nothing was).
      return { passed: count('passed'), failed: count('failed'), skipped: count('ignored') };
    },
    // A describe fails "due to N failed steps": its steps are listed already.
    failures: (out) => [...out.matchAll(/^\s*(.+?) \.\.\. FAILED(?! \(due to)/gm)].map((m) => m[1]),
  },
};

function lastNumber(text, pattern) {
  const all = [...text.matchAll(pattern)];
  return all.length > 0 ? Number(all.at(-1)[1]) : undefined;
}

async function runEntry(entry) {
  const { binary, version } = await install(entry);
  const commands = COMMANDS[entry.runtime];
  const binDir = join(binary, '..');
  const env = {
    ...process.env,
    // Anything that spawns `node`, `bun` or `deno` by name gets this runtime too.
    PATH: `${binDir}${onWindows ? ';' : ':'}${process.env.PATH ?? ''}`,
    NO_COLOR: '1',
    DENO_NO_UPDATE_CHECK: '1',
    DENO_NO_PROMPT: '1',
  };
  delete env.NODE_OPTIONS;
  const slug = entry.id.replace(/[^a-z0-9]+/gi, '-');
  const result = { entry, version, binary, suite: undefined, smoke: undefined, stories: [] };

  // Smoke first: it also proves that workers run on this very binary.
  const smoke = await exec(binary, commands.script('scripts/runtime-smoke.mjs'), {
    env,
    timeout: SMOKE_TIMEOUT_MS,
    log: join(logs, `${slug}-smoke.log`),
  });
  const line = smoke.output.split('\n').find((text) => text.startsWith('SMOKE_RESULT '));
  result.smoke = line
    ? JSON.parse(line.slice('SMOKE_RESULT '.length))
    : { passed: 0, failed: 1, results: [{ name: 'smoke script ran', ok: false }], facts: {} };
  const facts = result.smoke.facts ?? {};
  if (facts.workerExecPath !== undefined && facts.workerExecPath !== binary) {
    result.smoke.failed++;
    result.smoke.results.push({ name: `worker ran on ${facts.workerExecPath}, not ${binary}`, ok: false });
  }
  console.log(
    `[test-matrix] ${entry.id} (${version}): smoke ${result.smoke.passed} passed, ${result.smoke.failed} failed`,
  );

  const suite = skipSuite
    ? { output: '', code: 0, ms: 0 }
    : await exec(binary, commands.suite, {
        env,
        timeout: SUITE_TIMEOUT_MS,
        log: join(logs, `${slug}-suite.log`),
      });
  const totals = commands.totals(suite.output);
  result.suite = {
    passed: totals.passed ?? 0,
    failed: totals.failed ?? (suite.code === 0 ? 0 : 1),
    skipped: totals.skipped ?? 0,
    exit: suite.timedOut ? 'timeout' : suite.code,
    failures: commands.failures(suite.output),
    ms: suite.ms,
    counted: totals.passed !== undefined,
  };
  console.log(
    `[test-matrix] ${entry.id} (${version}): suite ${result.suite.passed} passed, ${result.suite.failed} failed, ${result.suite.skipped} skipped (exit ${result.suite.exit}, ${Math.round(suite.ms / 1000)} s)`,
  );

  for (const story of stories) {
    const ran = await exec(binary, commands.story(story), {
      env,
      timeout: STORY_TIMEOUT_MS,
      log: join(logs, `${slug}-${story.replace(/[^a-z0-9]+/gi, '-')}.log`),
    });
    result.stories.push({ story, ok: ran.code === 0 });
  }
  if (stories.length > 0) {
    const ok = result.stories.filter((s) => s.ok).length;
    console.log(`[test-matrix] ${entry.id} (${version}): stories ${ok} passed, ${stories.length - ok} failed`);
  }
  return result;
}

// ---- the report ----

function table(results) {
  const rows = [
    '| Runtime | Version | Test suite | Stories | Smoke (`scripts/runtime-smoke.mjs`) |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const name = { node: 'Node.js', bun: 'Bun', deno: 'Deno' }[r.entry.runtime];
    if (r.error) {
      rows.push(`| ${name} | ${r.entry.spec} | not run: ${r.error.split('\n')[0]} | | |`);
      continue;
    }
    const suite = skipSuite
      ? 'skipped'
      : `${r.suite.failed === 0 && r.suite.exit === 0 ? '✅' : '❌'} ${r.suite.passed} passed, ${r.suite.failed} failed, ${r.suite.skipped} skipped${r.suite.exit === 'timeout' ? ' (timed out)' : ''}`;
    const okStories = r.stories.filter((s) => s.ok).length;
    const storyCell =
      r.stories.length === 0
        ? 'none yet'
        : `${okStories === r.stories.length ? '✅' : '❌'} ${okStories} passed, ${r.stories.length - okStories} failed`;
    const smoke = `${r.smoke.failed === 0 ? '✅' : '❌'} ${r.smoke.passed} passed, ${r.smoke.failed} failed`;
    rows.push(`| ${name} | ${r.version} | ${suite} | ${storyCell} | ${smoke} |`);
  }
  return rows.join('\n');
}

function factsTable(results) {
  const measured = results.filter((r) => !r.error);
  const column = (r) => `${{ node: 'Node.js', bun: 'Bun', deno: 'Deno' }[r.entry.runtime]} ${r.version}`;
  const rows = [`| | ${measured.map(column).join(' | ')} |`, `| --- |${measured.map(() => ' --- |').join('')}`];
  const row = (label, cell) =>
    rows.push(`| ${label} | ${measured.map((r) => cell(r.smoke.facts ?? {}, r)).join(' | ')} |`);
  row('workers run on the parent binary (`process.execPath`)', (f, r) =>
    f.workerExecPath === undefined ? '?' : f.workerExecPath === r.binary ? 'yes' : 'no',
  );
  row('worker command line (Linux `/proc/<pid>/cmdline`)', (f) =>
    f.workerCommand ? `\`${f.workerCommand.join(' ')}\`` : 'n/a',
  );
  row('`child.channel.unref()` exists', (f) => yesNo(f.channelUnref));
  row('a sent SIGSEGV ends the process with', (f) =>
    f.sigsegvExit === 'survived' ? 'nothing: the process survives' : `\`${f.sigsegvExit ?? '?'}\``,
  );
  row('orphaned busy worker gone after (Node on Linux: parent-death signal; else: watchdog thread)', (f) =>
    f.watchdogMs === undefined ? 'n/a' : `${Math.ceil(f.watchdogMs / 100) / 10} s`,
  );
  row('`performance.timeOrigin` in epoch ms', (f) => yesNo(f.timeOriginIsEpoch));
  return rows.join('\n');
}

const yesNo = (value) => (value === undefined ? '?' : value ? 'yes' : 'no');

function failuresList(results) {
  const lines = [];
  for (const r of results) {
    if (r.error) continue;
    const failed = [
      ...(r.suite.failures ?? []).map((name) => `test: ${name}`),
      ...r.smoke.results.filter((x) => !x.ok).map((x) => `smoke: ${x.name}`),
      ...r.stories.filter((s) => !s.ok).map((s) => `story: ${s.story}`),
    ];
    if (failed.length > 0) lines.push(`- ${r.entry.id} ${r.version}: ${failed.slice(0, 12).join('; ')}`);
  }
  return lines.length > 0 ? `\nFailures:\n\n${lines.join('\n')}\n` : '';
}

function section(results) {
  const date = new Date().toISOString().slice(0, 10);
  return `<!-- matrix:start -->
<!-- Generated by \`npm run test:matrix\` (scripts/test-matrix.mjs): edits here are overwritten. -->
### Runtime matrix

Last run on ${date}, ${process.platform} ${process.arch}. Each runtime runs the whole test suite, the
stories and a smoke test with its own binary; worker processes run on that same binary.
Node.js runs \`node --import tsx --test\`, Bun runs \`bun test\`, Deno runs
\`deno test -A --no-check --sloppy-imports\` (test counts are the runner's own; Deno counts each test as a step).
A test skipped on a runtime says why in \`test/\` (\`skip: '<reason>'\`); see "Differences between runtimes" above.

${table(results)}
${failuresList(results)}
What differs between runtimes, as measured by the smoke test (how rxpool handles each difference:
\`src/platform/runtime.ts\`):

${factsTable(results)}
<!-- matrix:end -->`;
}

async function updateReadme(results) {
  const readme = join(root, 'README.md');
  const text = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
  const start = text.indexOf('<!-- matrix:start -->');
  const endMarker = '<!-- matrix:end -->';
  const end = text.indexOf(endMarker);
  const next =
    start !== -1 && end > start
      ? text.slice(0, start) + section(results) + text.slice(end + endMarker.length)
      : `${text}${text && !text.endsWith('\n\n') ? (text.endsWith('\n') ? '\n' : '\n\n') : ''}${section(results)}\n`;
  writeFileSync(readme, next);
  // Biome formats Markdown too (it pads the tables): leave README.md as `biome check` wants it.
  const biome = join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  if (existsSync(biome)) await exec(process.execPath, [biome, 'format', '--write', readme]);
  console.log(`[test-matrix] updated ${relative(process.cwd(), readme) || 'README.md'}`);
}

// ---- main ----

mkdirSync(logs, { recursive: true });
console.log(`[test-matrix] cache: ${cache}`);
const build = await exec(process.execPath, [join(root, 'scripts', 'build.mjs')], { log: join(logs, 'build.log') });
if (build.code !== 0) {
  console.error(build.output);
  process.exit(1);
}
const results = [];
for (const entry of RUNTIMES) {
  try {
    results.push(await runEntry(entry));
  } catch (error) {
    console.error(`[test-matrix] ${entry.id}: ${error.message}`);
    results.push({ entry, error: String(error.message ?? error) });
  }
}
console.log(`\n${table(results)}\n${failuresList(results)}`);
console.log(`Logs: ${logs}`);
if (writeReadme) await updateReadme(results);
const bad = results.some(
  (r) => r.error || r.suite.failed > 0 || r.suite.exit !== 0 || r.smoke.failed > 0 || r.stories.some((s) => !s.ok),
);
process.exitCode = bad ? 1 : 0;
