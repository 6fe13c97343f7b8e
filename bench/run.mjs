// rxpool benchmark: every case, every pool, side by side in one run, each measurement in a fresh
// process, medians of several runs, ratios against rxpool and against the bare-fork floor, and the
// targets of issue 7 (met / missed).
//
//   npm run bench                         # full run (~25 min on a loaded 2-core box), writes bench/results/latest.{md,json}
//   npm run bench -- --markdown           # the same, then rewrites README.md's Performance section
//   npm run bench -- --quick              # a few minutes, small sizes, writes bench/results/quick.{md,json}
//   npm run bench -- --cases tiny-burst,payload --runs 3 --pools rxpool,jest-worker   # writes bench/results/partial.{md,json}
//
// Options: --quick, --cases a,b, --pools a,b (row or pool ids; floors, and floor rows like the memory case's bare fork, are always run), --runs N
// (default 5, 1 with --quick; a row over its case's time budget gets fewer, marked ◦; --runs N
// turns the budgets off), --param case.key=value (override a case parameter, e.g. payload.n=2000),
// --no-floor, --out path/without-extension, --render results.json (rewrite
// the .md of an earlier run from its raw numbers; nothing is run), --markdown (also rewrite the
// README section between <!-- bench:start --> and <!-- bench:end --> from this run or --render's).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CASES, median } from './lib/cases.mjs';
import { POOLS, tasks } from './lib/pools.mjs';
import { readmeSection, targetsTable } from './lib/targets.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const CASE_SCRIPT = join(BENCH, 'case.mjs');
const FLOOR_SCRIPT = process.env.RXPOOL_FLOOR ?? join(ROOT, '..', 'shared', 'floor', 'raw-floor.mjs');
const FLOOR_REF = 'floor-advanced';

const opts = parseArgs(process.argv.slice(2));
if (opts.render) {
  // Re-renders the tables of an earlier run from its JSON (after a change to the output format).
  const { meta, cases } = JSON.parse(readFileSync(opts.render, 'utf8'));
  const base = opts.render.replace(/\.json$/, '');
  writeFileSync(`${base}.md`, render(meta, cases));
  formatWithBiome([`${base}.md`]);
  process.stdout.write(readFileSync(`${base}.md`, 'utf8'));
  if (opts.markdown) updateReadme(meta, cases, `${base}.md`);
  process.exit(0);
}
const caseIds = opts.cases ?? Object.keys(CASES);
for (const id of caseIds) if (!CASES[id]) fail(`unknown case "${id}"; cases: ${Object.keys(CASES).join(', ')}`);
/** Runs per row: --runs, else the case's own default, else 5 (1 with --quick). */
const runsFor = (spec) => opts.runs ?? (opts.quick ? 1 : (spec.runs ?? 5));
// Only a full run replaces the saved results (latest, what the README's table is made from).
const partial = opts.cases !== undefined || opts.pools !== undefined;
const outBase = opts.out ?? join(BENCH, 'results', opts.quick ? 'quick' : partial ? 'partial' : 'latest');
const useFloor = opts.floor && existsSync(FLOOR_SCRIPT);
if (opts.floor && !useFloor) log(`floor script not found at ${FLOOR_SCRIPT}: floor rows skipped (set RXPOOL_FLOOR)`);

/** The process currently measured, killed with its whole process group on Ctrl-C. */
let current;
process.on('SIGINT', () => {
  if (current) killGroup(current);
  process.exit(130);
});

// Cases run without NODE_EXTRA_CA_CERTS. With it, every Node process parses that file when it
// starts (40–80 ms for a system bundle here: nodejs/node#40524), and the cold-start case would
// measure that rather than the pools, and flatter tinypool, whose process workers get an empty
// environment and so skip it.
const REMOVED_ENV = ['NODE_EXTRA_CA_CERTS'].filter((name) => process.env[name] !== undefined);
const CASE_ENV = { ...process.env };
for (const name of REMOVED_ENV) delete CASE_ENV[name];

const started = performance.now();
const meta = {
  date: new Date().toISOString(),
  command: `node ${relative(ROOT, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim(),
  node: process.version,
  nproc: nproc(),
  cpu: cpus()[0]?.model ?? 'unknown',
  loadavgBefore: loadavg().map((x) => Number(x.toFixed(2))),
  runs: opts.runs ?? (opts.quick ? 1 : 'default (5; fewer for a row over its case time budget, marked ◦)'),
  quick: opts.quick,
  versions: versions(),
  commit: commit(),
  envRemoved: REMOVED_ENV,
};
const spin = caseIds.includes('cpu-bound')
  ? calibrateSpin((opts.quick ? CASES['cpu-bound'].params.quick : CASES['cpu-bound'].params.full).targetMs)
  : undefined;
if (spin) meta.spinCalibration = spin;

const results = {};
for (const caseId of caseIds) results[caseId] = await runCase(caseId);
meta.loadavgAfter = loadavg().map((x) => Number(x.toFixed(2)));
meta.wallSeconds = Math.round((performance.now() - started) / 1000);

mkdirSync(dirname(outBase), { recursive: true });
writeFileSync(`${outBase}.md`, render(meta, results));
writeFileSync(`${outBase}.json`, `${JSON.stringify({ meta, cases: results }, null, 2)}\n`);
formatWithBiome([`${outBase}.md`, `${outBase}.json`]);
process.stdout.write(`\n${readFileSync(`${outBase}.md`, 'utf8')}`);
log(`wrote ${relative(process.cwd(), `${outBase}.md`)} and .json (${meta.wallSeconds} s)`);
if (opts.markdown) updateReadme(meta, results, `${outBase}.md`);

// ---------------------------------------------------------------------------------------------

async function runCase(caseId) {
  const spec = CASES[caseId];
  const params = { ...(opts.quick ? spec.params.quick : spec.params.full), ...opts.params[caseId] };
  if (caseId === 'cpu-bound') {
    params.spinIterations = spin.iterations;
    params.spinMs = spin.ms;
  }
  const rows = spec.rows
    .filter((row) =>
      opts.pools
        ? POOLS[row.pool]?.floor || opts.pools.includes(row.id) || (!row.optional && opts.pools.includes(row.pool))
        : !row.optional,
    )
    .map((row) => ({
      id: row.id,
      label: row.label ?? POOLS[row.pool].label,
      kind: POOLS[row.pool].kind,
      runs: [],
      stopped: false,
    }));
  if (useFloor) {
    for (const floor of spec.floors ?? []) {
      rows.push({ id: floor.id, label: floor.label, kind: 'floor', floor, runs: [], stopped: false });
    }
  }
  const runs = runsFor(spec);
  for (const row of rows) row.maxRuns = runs;
  log(`\n## ${spec.title}  (${rows.length} rows × ${runs} runs)`);
  for (let r = 0; r < runs; r++) {
    // Rotate the order each run, so no row always runs first (or right after the heaviest one).
    const order = rows.map((_, i) => rows[(i + r) % rows.length]);
    for (const row of order) {
      if (row.stopped || row.runs.length >= row.maxRuns) continue;
      const t0 = performance.now();
      const result = row.floor ? await measureFloor(row.floor, params) : await measureRow(caseId, row.id, params);
      row.runs.push(result);
      log(
        `[${caseId}] run ${r + 1}/${runs} ${row.id}: ${describe(spec, result)} (${fmtSeconds(performance.now() - t0)})`,
      );
      // A pool that hangs or breaks does so every time: measure it once, not five times.
      if (spec.stopOnFailure && (result.failed || !result.ok)) row.stopped = true;
      // Time budget: a row other than rxpool's main one gets at most `rowBudgetSeconds` in this
      // case; after its first run, its run count is lowered to fit (at least 1). Not with --runs.
      const budget = spec.rowBudgetSeconds;
      if (budget && !opts.runs && r === 0 && row.id !== 'rxpool' && !row.stopped) {
        const seconds = (performance.now() - t0) / 1000;
        const fit = Math.max(1, Math.min(runs, Math.floor(budget / seconds)));
        if (fit < runs) {
          row.maxRuns = fit;
          row.reduced = `${fit} run${fit > 1 ? 's' : ''} instead of ${runs}: one run took ${seconds.toFixed(1)} s, the budget is ${budget} s per row`;
          log(`[${caseId}] ${row.id}: ${row.reduced}`);
        }
      }
    }
    if (r === 0 && !opts.runs) restoreContenders(spec, rows, runs, caseId);
  }
  for (const row of rows) {
    row.summary = summarize(spec, row.runs);
    delete row.floor;
    delete row.stopped;
    delete row.maxRuns;
  }
  addRatios(spec, rows);
  return { title: spec.title, measures: spec.measures, params, runs, rows };
}

/**
 * A target met or missed against one run of its best peer would rest on that run's noise. After
 * the first round, a row the budget cut gets all its runs back (as many as rxpool's) when it is of
 * a kind the case's targets compare with and its first run came within 20% of rxpool's on some
 * measure: they come in the next rounds, interleaved with rxpool's, so that both medians rest on as
 * many runs taken in the same minutes. The others stay cut.
 */
function restoreContenders(spec, rows, runs, caseId) {
  const rx = rows.find((row) => row.id === 'rxpool');
  const first = (row, metric) => (row.runs[0]?.ok ? row.runs[0][metric.key] : undefined);
  for (const row of rows) {
    if (!row.reduced || row.stopped || !(spec.targetKinds ?? ['process']).includes(row.kind)) continue;
    const close = (metric) => metric.ratio && (speed(metric, first(row, metric), rx && first(rx, metric)) ?? 0) >= 0.8;
    if (row.maxRuns >= runs || !spec.metrics.some(close)) continue;
    row.maxRuns = runs;
    row.reduced += `; then all ${runs}, as its first came within 20% of rxpool's`;
    log(`[${caseId}] ${row.id}: ${runs} runs, as its first came within 20% of rxpool's`);
  }
}

function measureRow(caseId, rowId, params) {
  const spec = CASES[caseId];
  const args = [...(spec.nodeArgs ?? []), CASE_SCRIPT, caseId, rowId, JSON.stringify(params)];
  return runChild(args, spec.timeoutMs(params)).then(({ result, error }) => result ?? { ok: false, error });
}

async function measureFloor(floor, params) {
  const raw = [];
  for (const args of floor.args(params)) {
    const { result, error } = await runChild([FLOOR_SCRIPT, ...args], 150_000);
    if (!result || result.error) return { ok: false, error: error ?? result.error };
    raw.push(result);
  }
  return { ok: true, ...floor.metrics(raw), raw };
}

/** Runs `node ...args` in its own process group; resolves with its RESULT line's JSON. */
function runChild(args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: CASE_ENV,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const timer = setTimeout(() => {
      stderr += `\n[bench] killed after ${timeoutMs} ms`;
      killGroup(child);
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup(child); // whatever the pool left behind (workers of a pool that could not close)
      current = undefined;
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) return resolve({ result: JSON.parse(line.slice(7)) });
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      resolve({ error: `no result (exit ${code ?? signal}): ${tail}`.slice(0, 300) });
    });
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is gone already
  }
}

// --- statistics --------------------------------------------------------------------------------

function summarize(spec, runResults) {
  const summary = {};
  for (const metric of spec.metrics) {
    const values = runResults
      .filter((r) => r.ok && typeof r[metric.key] === 'number')
      .map((r) => r[metric.key])
      .sort((a, b) => a - b);
    if (values.length === 0) continue;
    summary[metric.key] = { median: median(values), min: values[0], max: values[values.length - 1], values };
  }
  return summary;
}

/**
 * Relative speed against rxpool and against the floor: > 1 means this row is faster. For
 * throughputs that is value / reference; for times it is reference / value.
 */
function addRatios(spec, rows) {
  const rx = rows.find((r) => r.id === 'rxpool');
  const floor = rows.find((r) => r.id === FLOOR_REF);
  for (const row of rows) {
    row.ratios = {};
    for (const metric of spec.metrics.filter((m) => m.ratio)) {
      const value = row.summary[metric.key]?.median;
      row.ratios[metric.key] = {
        vsRxpool: speed(metric, value, rx?.summary[metric.key]?.median),
        vsFloor: speed(metric, value, floor?.summary[metric.key]?.median),
      };
    }
  }
}

function speed(metric, value, reference) {
  if (value === undefined || reference === undefined || value <= 0 || reference <= 0) return undefined;
  return metric.better === 'higher' ? value / reference : reference / value;
}

// --- output ------------------------------------------------------------------------------------

function render(meta, cases) {
  const out = [];
  out.push('# rxpool benchmark results', '');
  out.push(`- date: ${meta.date}`);
  out.push(`- command: \`${meta.command}\``);
  out.push(`- node ${meta.node}, nproc ${meta.nproc}, ${meta.cpu}`);
  out.push(`- load average before / after: ${meta.loadavgBefore.join(' ')} / ${meta.loadavgAfter.join(' ')}`);
  if (meta.envRemoved?.length) {
    out.push(
      `- removed from the environment of the cases: ${meta.envRemoved.map((name) => `\`${name}\``).join(', ')} (Node parses the extra CA file at every process start, nodejs/node#40524; tinypool's process workers get an empty environment and alone would skip it)`,
    );
  }
  out.push(
    `- rxpool ${meta.commit}; ${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  out.push(
    `- every pool has 2 workers; each figure is the median of several runs (count per case below), each in a fresh process, after a warm-up (min–max in brackets); total ${meta.wallSeconds} s`,
  );
  out.push(
    "- **vs rxpool** / **vs floor**: relative speed, > 1 = this row is faster (for times: reference time / this time). The floor is a bare `child_process.fork` with `serialization: 'advanced'` (rxpool's transport), no library. Thread pools are not like-for-like with process pools.",
    '- runs: `5/5` = good runs / runs; ◦ = fewer runs than the default, because the row went over its time budget in that case (see the note under the table).',
    '',
    '## Targets',
    '',
    targetsTable(cases),
    '',
  );
  for (const [caseId, c] of Object.entries(cases)) {
    const spec = CASES[caseId];
    out.push(`## ${c.title}`, '', `${c.measures} Median of ${c.runs} run(s).`, '');
    const floorMetrics = new Set(c.rows.filter((r) => r.id === FLOOR_REF).flatMap((r) => Object.keys(r.summary)));
    /** [header, right-aligned] */
    const head = [
      ['pool', false],
      ['kind', false],
    ];
    for (const m of spec.metrics) {
      head.push([`${m.label} median (min–max)`, true]);
      if (m.ratio) head.push(['vs rxpool', true]);
      if (m.ratio && floorMetrics.has(m.key)) head.push(['vs floor', true]);
    }
    if (spec.outcomes) head.push(['crash task', false], ['next task', false], ['error message', false]);
    head.push(['runs', true]);
    out.push(
      `| ${head.map(([h]) => h).join(' | ')} |`,
      `|${head.map(([, right]) => (right ? '---:' : '---')).join('|')}|`,
    );
    const notes = [];
    for (const row of c.rows) {
      const cells = [row.id.startsWith('rxpool') ? `**${row.label}**` : row.label, row.kind];
      for (const m of spec.metrics) {
        const s = row.summary[m.key];
        cells.push(s ? `${fmt(s.median, m.digits)} (${fmt(s.min, m.digits)}–${fmt(s.max, m.digits)})` : '–');
        if (m.ratio) cells.push(fmtRatio(row.ratios[m.key]?.vsRxpool));
        if (m.ratio && floorMetrics.has(m.key)) cells.push(fmtRatio(row.ratios[m.key]?.vsFloor));
      }
      if (spec.outcomes) {
        const uniq = (f) => [...new Set(row.runs.map(f).filter(Boolean))].join(' / ') || '–';
        cells.push(
          uniq((r) => (r.ok ? r.outcome.crash : 'bench error')),
          uniq((r) => (r.outcome?.crash === 'rejects' ? r.outcome.next : 'not tried')),
          uniq((r) => shorten(r.outcome?.error?.replace(/pid \d+/g, 'pid …').replace(/\|/g, '\\|'), 110)),
        );
      }
      const good = row.runs.filter((r) => r.ok).length;
      // A row stopped after a failure (stopOnFailure) ran once for that reason, not for its budget.
      const reduced = row.reduced && !(spec.stopOnFailure && row.runs.some((r) => r.failed || !r.ok));
      // A contender that got all its runs back is not short of runs: the note only says why it was cut first.
      const short = reduced && row.runs.length < c.runs;
      cells.push(`${good}/${row.runs.length}${short ? ' ◦' : ''}`);
      out.push(`| ${cells.join(' | ')} |`);
      if (reduced) notes.push({ label: row.label, run: 1, text: short ? `◦ ${row.reduced}` : row.reduced });
      row.runs.forEach((r, i) => {
        const note = (text) => notes.push({ label: row.label, run: i + 1, text });
        if (!r.ok) note(`✗ ${r.error}`);
        for (const e of r.errors ?? []) note(`✗ ${e}`);
        for (const e of r.remarks ?? []) note(`≠ ${e}`);
        if (r.closeError) note(r.closeError);
      });
    }
    if (notes.length > 0) out.push('', ...dedupe(notes));
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** Notes that differ only in the run number are listed once. */
function dedupe(notes) {
  const byText = new Map();
  for (const { label, run, text } of notes) {
    const key = `${label}\0${text}`;
    byText.set(key, [...(byText.get(key) ?? []), run]);
  }
  return [...byText].map(([key, list]) => {
    const [label, text] = key.split('\0');
    return `- ${label} (run ${list.join(', ')}): ${text}`;
  });
}

function describe(spec, result) {
  if (!result.ok) return `✗ ${result.error}`;
  const parts = spec.metrics
    .filter((m) => typeof result[m.key] === 'number')
    .map((m) => `${fmt(result[m.key], m.digits)} ${m.label}`);
  if (result.outcome) parts.push(`crash ${result.outcome.crash}, next ${result.outcome.next}`);
  for (const e of result.errors ?? []) parts.push(`✗ ${e}`);
  for (const e of result.remarks ?? []) parts.push(`≠ ${e}`);
  return parts.join(', ');
}

function shorten(text, max) {
  if (!text || text.length <= max) return text;
  return `${text.slice(0, text.lastIndexOf(' ', max - 1))} …`;
}

function fmt(value, digits = 0) {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtRatio(ratio) {
  if (ratio === undefined) return '–';
  return `${ratio.toFixed(ratio >= 10 ? 1 : 2)}×`;
}

function fmtSeconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

// --- setup -------------------------------------------------------------------------------------

/**
 * Iterations of `spin` that take about `targetMs` on this machine, now: a short probe gives a first
 * count, then the median of a few full-length runs corrects it twice (the short probe is off by up
 * to 50% on a loaded machine).
 */
function calibrateSpin(targetMs) {
  const timeOf = (n, tries) => {
    const times = [];
    for (let i = 0; i < tries; i++) {
      const t0 = performance.now();
      tasks.spin(n);
      times.push(performance.now() - t0);
    }
    return median(times.sort((a, b) => a - b));
  };
  const probe = 200_000;
  timeOf(probe, 20); // JIT warm-up
  let iterations = Math.round((probe * targetMs) / timeOf(probe, 15));
  for (let i = 0; i < 2; i++) iterations = Math.round((iterations * targetMs) / timeOf(iterations, 5));
  const ms = Number(timeOf(iterations, 5).toFixed(3));
  log(`calibrated spin: ${iterations} iterations, ${ms} ms`);
  return { iterations, ms };
}

/** Pads the tables as the project's formatter would, so the results pass `biome check` as written. */
function formatWithBiome(files) {
  const biome = join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'biome.cmd' : 'biome');
  try {
    execFileSync(biome, ['format', '--write', '--vcs-use-ignore-file=false', ...files], { cwd: ROOT, stdio: 'ignore' });
  } catch {
    // no biome here (or it refused): the files stay as written, just less tidy
  }
}

function versions() {
  const out = {};
  for (const name of ['piscina', 'tinypool', 'workerpool', 'jest-worker', 'worker-farm', 'poolifier']) {
    try {
      out[name] = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      out[name] = 'missing';
    }
  }
  return out;
}

function nproc() {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return availableParallelism();
  }
}

/**
 * Replaces the README's text between `<!-- bench:start -->` and `<!-- bench:end -->` with the
 * summary of this run (targets, machine, commands). The markers must be there already.
 */
function updateReadme(meta, cases, mdFile) {
  const readme = join(ROOT, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const start = text.indexOf('<!-- bench:start -->');
  const endMarker = '<!-- bench:end -->';
  const end = text.indexOf(endMarker);
  if (start === -1 || end < start) fail('README.md has no <!-- bench:start --> ... <!-- bench:end --> markers');
  const link = relative(ROOT, mdFile);
  writeFileSync(readme, text.slice(0, start) + readmeSection(meta, cases, link) + text.slice(end + endMarker.length));
  formatWithBiome([readme]);
  log(`updated README.md (Performance section, from ${link})`);
}

/** The commit measured, `+changes` when tracked files (other than results and README) differ from it. */
function commit() {
  const hash = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results', ':!README.md']);
  return dirty && dirty !== 'unknown' ? `${hash}+changes` : hash;
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function parseArgs(argv) {
  const o = { quick: false, floor: true, params: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') o.quick = true;
    else if (arg === '--no-floor') o.floor = false;
    else if (arg === '--cases') o.cases = value().split(',').filter(Boolean);
    else if (arg === '--pools') o.pools = value().split(',').filter(Boolean);
    else if (arg === '--runs') {
      o.runs = Number(value());
      if (!Number.isInteger(o.runs) || o.runs < 1) fail('--runs must be a positive integer');
    } else if (arg === '--out') o.out = value();
    else if (arg === '--render') o.render = value();
    else if (arg === '--markdown') o.markdown = true;
    else if (arg === '--param') {
      // --param payload.n=2000: overrides one of a case's parameters (a number or JSON)
      const match = /^([\w-]+)\.(\w+)=(.+)$/.exec(value());
      if (!match || !CASES[match[1]]) fail('--param needs case.key=value, e.g. --param payload.n=2000');
      const [, caseId, key, raw] = match;
      let parsed;
      try {
        parsed = JSON.parse(raw);
      } catch {
        fail(`--param ${caseId}.${key}: ${raw} is not a number or JSON`);
      }
      o.params[caseId] = { ...o.params[caseId], [key]: parsed };
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport')[0]);
      process.exit(0);
    } else fail(`unknown option ${arg} (try --help)`);
  }
  return o;
}

function log(line) {
  process.stderr.write(`${line}\n`);
}

function fail(message) {
  log(`bench: ${message}`);
  process.exit(2);
}
