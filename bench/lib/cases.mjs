// The benchmark cases: what each measures, its sizes (full and --quick), its rows, its floor runs,
// and the code that measures one row once (run by bench/case.mjs in a fresh process).
import { performance } from 'node:perf_hooks';
import { POOLS, tasks } from './pools.mjs';

const now = () => performance.now();
const WORKERS = 2;
const PEERS = Object.keys(POOLS).filter((id) => id !== 'rxpool');

/**
 * @typedef {{ key: string, label: string, better: 'higher' | 'lower', ratio?: boolean, digits?: number }} Metric
 * @typedef {{ id: string, pool: string, variant?: string, label?: string }} Row
 * @typedef {{ id: string, label: string, args: (p: any) => string[][], metrics: (results: any[]) => Record<string, number> }} Floor
 * @typedef {{
 *   title: string, measures: string, params: { full: any, quick: any }, metrics: Metric[],
 *   rows: Row[], floors?: Floor[], floorNote?: string, timeoutMs: (p: any) => number,
 *   stopOnFailure?: boolean, run: (pool: any, p: any, row: Row) => Promise<any>
 * }} Case
 */

/** Rows for every pool in its default mode, rxpool first. */
const everyPool = (extra = []) => [
  { id: 'rxpool', pool: 'rxpool' },
  ...extra,
  ...PEERS.map((id) => ({ id, pool: id })),
];

/** @type {Record<string, Case>} */
export const CASES = {
  'tiny-burst': {
    title: 'tiny-burst: 100k tiny tasks (x => x + 1) submitted at once',
    measures:
      'Throughput of the whole task path (submit, dispatch, IPC both ways, settle) when the queue is deep. Tasks/s; higher is better.',
    params: { full: { n: 100_000, warm: 20_000 }, quick: { n: 10_000, warm: 2_000 } },
    // 100k tasks take ~20 s in the slowest process pools: 3 runs keep the default run near 10 minutes.
    runs: 3,
    metrics: [{ key: 'perSec', label: 'tasks/s', better: 'higher', ratio: true, digits: 0 }],
    rows: everyPool([
      // opt-in (--pools rxpool-inline): `submit((x) => x + 1, i)`, a new function object per call
      {
        id: 'rxpool-inline',
        pool: 'rxpool',
        variant: 'inline',
        label: 'rxpool, new inline arrow per call',
        optional: true,
      },
    ]),
    floors: [
      floorRow('floor-advanced', "bare fork, `serialization: 'advanced'`, 1 message per task", (p) => [
        ['fork', 'advanced', '2', 'pipe', String(p.n)],
      ]),
      floorRow('floor-json', 'bare fork, JSON IPC, 1 message per task', (p) => [
        ['fork', 'json', '2', 'pipe', String(p.n)],
      ]),
      floorRow('floor-thread', 'bare worker_threads, 1 message per task', (p) => [
        ['thread', '-', '2', 'pipe', String(p.n)],
      ]),
    ],
    timeoutMs: (p) => 30_000 + p.n * 1,
    async run(pool, p, row) {
      const submit =
        row.variant === 'inline' ? (i) => pool.executor.submit((x) => x + 1, i) : (i) => pool.call('inc', i);
      await burst(submit, p.warm);
      const t0 = now();
      const sum = await burst(submit, p.n);
      const dt = now() - t0;
      expectEqual('sum of results', sum, (p.n * (p.n + 1)) / 2);
      return { perSec: p.n / (dt / 1000) };
    },
  },

  'tiny-sequential': {
    title: 'tiny-sequential: 2k tiny tasks, each awaited before the next is submitted',
    measures:
      'Round-trip latency of one task on an idle pool (submit to result, µs; lower is better). The floor is a bare fork ping-pong with one child; it reports only a mean.',
    params: { full: { n: 2_000, warm: 500 }, quick: { n: 500, warm: 200 } },
    metrics: [
      { key: 'p50Us', label: 'p50 µs', better: 'lower', ratio: true, digits: 0 },
      { key: 'p99Us', label: 'p99 µs', better: 'lower', digits: 0 },
      { key: 'meanUs', label: 'mean µs', better: 'lower', ratio: true, digits: 0 },
    ],
    rows: everyPool(),
    floors: [
      {
        id: 'floor-advanced',
        label: "bare fork, `'advanced'`, ping-pong, 1 child",
        args: (p) => [['fork', 'advanced', '1', 'strict', String(p.n)]],
        metrics: ([r]) => ({ meanUs: (r.wallMs * 1000) / r.N }),
      },
      {
        id: 'floor-json',
        label: 'bare fork, JSON, ping-pong, 1 child',
        args: (p) => [['fork', 'json', '1', 'strict', String(p.n)]],
        metrics: ([r]) => ({ meanUs: (r.wallMs * 1000) / r.N }),
      },
    ],
    timeoutMs: (p) => 30_000 + p.n * 5,
    async run(pool, p) {
      for (let i = 0; i < p.warm; i++) await pool.call('inc', i);
      const latencies = new Float64Array(p.n);
      let sum = 0;
      for (let i = 0; i < p.n; i++) {
        const t0 = now();
        sum += /** @type {number} */ (await pool.call('inc', i));
        latencies[i] = (now() - t0) * 1000;
      }
      expectEqual('sum of results', sum, (p.n * (p.n + 1)) / 2);
      latencies.sort();
      const mean = latencies.reduce((a, b) => a + b, 0) / p.n;
      return { p50Us: quantile(latencies, 0.5), p99Us: quantile(latencies, 0.99), meanUs: mean };
    },
  },

  'map-chunked': {
    title: 'map-chunked: 100k tiny items, 64 per message',
    measures:
      'Throughput when items are batched: rxpool `map(fn, items, { chunksize: 64 })` (results in order, as an async iterator) vs. every pool given arrays of 64 items per call (`incBatch`), all calls at once. Items/s; higher is better.',
    // The warm-up is a full pass: with less, the measured pass is mostly JIT warm-up (up to 4× slower).
    params: { full: { n: 100_000, chunk: 64, warm: 100_000 }, quick: { n: 20_000, chunk: 64, warm: 20_000 } },
    metrics: [{ key: 'perSec', label: 'items/s', better: 'higher', ratio: true, digits: 0 }],
    rows: everyPool([
      { id: 'rxpool-submit64', pool: 'rxpool', variant: 'manual', label: 'rxpool, submit 64 items per call' },
    ]),
    floors: [
      floorRow('floor-advanced', "bare fork, `'advanced'`, 64 items per message", (p) => [
        ['fork', 'advanced', '2', 'batch64', String(p.n)],
      ]),
      floorRow('floor-json', 'bare fork, JSON, 64 items per message', (p) => [
        ['fork', 'json', '2', 'batch64', String(p.n)],
      ]),
    ],
    timeoutMs: () => 60_000,
    async run(pool, p, row) {
      const useMap = row.pool === 'rxpool' && row.variant !== 'manual';
      const once = async (n) => {
        const items = Array.from({ length: n }, (_, i) => i);
        let sum = 0;
        let count = 0;
        if (useMap) {
          let expected = 1;
          for await (const y of pool.executor.map(tasks.inc, items, { chunksize: p.chunk })) {
            if (y !== expected++) throw new Error(`map yielded ${y} where ${expected - 1} was expected (order)`);
            sum += y;
            count++;
          }
        } else {
          const calls = [];
          for (let i = 0; i < n; i += p.chunk) calls.push(pool.call('incBatch', items.slice(i, i + p.chunk)));
          for (const out of await Promise.all(calls)) {
            for (const y of /** @type {number[]} */ (out)) sum += y;
            count += /** @type {number[]} */ (out).length;
          }
        }
        expectEqual('number of results', count, n);
        expectEqual('sum of results', sum, (n * (n + 1)) / 2);
      };
      await once(p.warm);
      const t0 = now();
      await once(p.n);
      return { perSec: p.n / ((now() - t0) / 1000) };
    },
  },

  'parallel-map-chunks': {
    title: 'parallel-map-chunks: rxpool parallelMap over 20k tiny items, by chunksize',
    measures:
      'What `chunksize` buys the RxJS operator on tiny items: `range(n).pipe(parallelMap(inc, { chunksize }))`, ordered, one task per item vs. 64 items per task vs. sizes picked from measured task time. rxpool only; items/s, higher is better.',
    params: { full: { n: 20_000, warm: 5_000 }, quick: { n: 5_000, warm: 2_000 } },
    metrics: [{ key: 'perSec', label: 'items/s', better: 'higher', ratio: true, digits: 0 }],
    rows: [
      { id: 'rxpool', pool: 'rxpool', variant: '1', label: 'rxpool parallelMap, chunksize 1 (default)' },
      { id: 'rxpool-chunk64', pool: 'rxpool', variant: '64', label: 'rxpool parallelMap, chunksize 64' },
      { id: 'rxpool-auto', pool: 'rxpool', variant: 'auto', label: "rxpool parallelMap, chunksize 'auto'" },
    ],
    timeoutMs: () => 120_000,
    async run(pool, p, row) {
      const { lastValueFrom, range, reduce } = await import('rxjs');
      const { parallelMap } = await import('rxpool');
      const chunksize = row.variant === 'auto' ? 'auto' : Number(row.variant);
      const once = async (n) => {
        const sum = await lastValueFrom(
          range(0, n).pipe(
            parallelMap(tasks.inc, { executor: pool.executor, chunksize }),
            reduce((total, y) => total + y, 0),
          ),
        );
        expectEqual('sum of results', sum, (n * (n + 1)) / 2);
      };
      await once(p.warm);
      const t0 = now();
      await once(p.n);
      return { perSec: p.n / ((now() - t0) / 1000) };
    },
  },

  'cpu-bound': {
    title: 'cpu-bound: 200 tasks of ~5 ms of CPU each, submitted at once',
    measures:
      "Wall time for real work (lower is better). Every pool runs the same fixed loop (`spin(n)`, n calibrated once per bench run, in the bench's own process, to ~5 ms). `ideal` = tasks × that calibrated time / 2 workers, the same for every row; efficiency = ideal / wall. On a loaded machine the calibration is rough, so compare the rows' wall times with each other.",
    params: { full: { n: 200, warm: 4, targetMs: 5 }, quick: { n: 60, warm: 4, targetMs: 5 } },
    metrics: [
      { key: 'wallMs', label: 'wall ms', better: 'lower', ratio: true, digits: 0 },
      { key: 'efficiency', label: 'efficiency %', better: 'higher', digits: 1 },
    ],
    rows: everyPool(),
    timeoutMs: () => 60_000,
    async run(pool, p) {
      const iterations = p.spinIterations;
      const expected = tasks.spin(iterations);
      await Promise.all(Array.from({ length: p.warm }, () => pool.call('spin', iterations)));
      // Let whatever a pool still starts in the background (threads, lazy workers) finish first.
      await new Promise((resolve) => setTimeout(resolve, 250));
      const t0 = now();
      const results = await Promise.all(Array.from({ length: p.n }, () => pool.call('spin', iterations)));
      const wallMs = now() - t0;
      expectEqual('results equal to a local run', results.filter((r) => r === expected).length, p.n);
      const idealMs = (p.n * p.spinMs) / WORKERS;
      return { wallMs, idealMs, efficiency: (100 * idealMs) / wallMs };
    },
  },

  payload: {
    title: 'payload: echo of a 100 KB string and of a Float64Array(12800), all at once',
    measures:
      'Bandwidth for large arguments and results: MB/s counting both directions (N × 2 × 102,400 bytes / wall time); higher is better.',
    params: { full: { n: 1_000, warm: 100 }, quick: { n: 200, warm: 50 } },
    metrics: [
      { key: 'stringMBps', label: 'string MB/s', better: 'higher', ratio: true, digits: 0 },
      { key: 'f64MBps', label: 'Float64Array MB/s', better: 'higher', ratio: true, digits: 0 },
    ],
    rows: everyPool(),
    floors: [
      {
        id: 'floor-advanced',
        label: "bare fork, `'advanced'`",
        args: (p) => [
          ['fork-payload', 'advanced', '2', 'string', String(p.n)],
          ['fork-payload', 'advanced', '2', 'f64', String(p.n)],
        ],
        metrics: ([s, f]) => ({ stringMBps: s.MBps, f64MBps: f.MBps }),
      },
      {
        id: 'floor-thread',
        label: 'bare worker_threads',
        args: (p) => [
          ['thread-payload', '-', '2', 'string', String(p.n)],
          ['thread-payload', '-', '2', 'f64', String(p.n)],
        ],
        metrics: ([s, f]) => ({ stringMBps: s.MBps, f64MBps: f.MBps }),
      },
    ],
    timeoutMs: () => 60_000,
    async run(pool, p) {
      const out = {};
      const errors = [];
      for (const [key, make] of [
        ['stringMBps', makeString],
        ['f64MBps', makeFloat64],
      ]) {
        try {
          // A distinct value per task: V8's serializer sends an object that occurs twice in one
          // message only once, so echoing one shared Float64Array would flatter batching pools.
          const once = async (n) => {
            const values = Array.from({ length: n }, make);
            const t0 = now();
            const echoes = await Promise.all(values.map((value) => pool.call('echo', value)));
            const dt = now() - t0;
            for (let i = 0; i < n; i++) checkEcho(echoes[i], values[i]);
            return dt;
          };
          await once(p.warm);
          out[key] = (p.n * 2 * 102_400) / 1e6 / ((await once(p.n)) / 1000);
        } catch (error) {
          errors.push(`${key === 'f64MBps' ? 'Float64Array' : 'string'}: ${firstLine(error)}`);
        }
      }
      return errors.length > 0 ? { ...out, errors } : out;
    },
  },

  'cold-start': {
    title: 'cold-start: import, constructor to first result, then shutdown',
    measures:
      "`import` = loading the library (`await import(...)`, not counted in the next figure); `first result` = from the constructor to the first task's value; `shutdown` = the pool's own close/shutdown/destroy/terminate/end, awaited. Lower is better. The floor's figure is 2 bare forks plus one round trip each.",
    params: { full: {}, quick: {} },
    metrics: [
      { key: 'importMs', label: 'import ms', better: 'lower', digits: 1 },
      { key: 'firstMs', label: 'first result ms', better: 'lower', ratio: true, digits: 1 },
      { key: 'shutdownMs', label: 'shutdown ms', better: 'lower', ratio: true, digits: 1 },
    ],
    rows: everyPool(),
    floors: [
      {
        id: 'floor-advanced',
        label: "bare fork ×2, `'advanced'`, spawn + 1 round trip",
        args: () => [['fork', 'advanced', '2', 'strict', '2']],
        metrics: ([r]) => ({ firstMs: r.spawnMs }),
      },
    ],
    timeoutMs: () => 30_000,
    async run(spec) {
      // `spec` is the pool's adapter here: loading and construction are what is measured
      const t0 = now();
      const make = await spec.load();
      const importMs = now() - t0;
      const t1 = now();
      const pool = make(WORKERS);
      expectEqual('first result', await pool.call('inc', 41), 42);
      const firstMs = now() - t1;
      const t2 = now();
      await withTimeout(pool.close(), 10_000, 'shutdown');
      return { importMs, firstMs, shutdownMs: now() - t2 };
    },
  },

  'crash-recovery': {
    title: 'crash-recovery: a task calls process.exit(1); then one more task',
    measures:
      'Time until the crashing task settles (it should reject), then time to the next task’s result. A pool that does not settle within 5 s "hangs" (it is measured once, not repeated).',
    params: { full: { timeoutMs: 5_000 }, quick: { timeoutMs: 5_000 } },
    metrics: [
      { key: 'errorMs', label: 'crash → error ms', better: 'lower', ratio: true, digits: 1 },
      { key: 'nextMs', label: 'next result ms', better: 'lower', ratio: true, digits: 1 },
    ],
    outcomes: true,
    rows: everyPool(),
    stopOnFailure: true,
    timeoutMs: () => 40_000,
    async run(pool, p) {
      await Promise.all([pool.call('inc', 1), pool.call('inc', 2)]);
      const t0 = now();
      const crash = await settleWithin(pool.call('die'), p.timeoutMs);
      const errorMs = now() - t0;
      const t1 = now();
      const next = await settleWithin(pool.call('inc', 41), p.timeoutMs);
      const nextMs = now() - t1;
      const crashOutcome =
        crash.state === 'rejected'
          ? 'rejects'
          : crash.state === 'fulfilled'
            ? `resolves to ${String(crash.value)}`
            : 'hangs';
      const nextOutcome =
        next.state === 'fulfilled' ? (next.value === 42 ? 'ok' : `wrong: ${String(next.value)}`) : next.state;
      return {
        ...(crash.state === 'rejected' ? { errorMs } : {}),
        ...(next.state === 'fulfilled' && next.value === 42 ? { nextMs } : {}),
        outcome: {
          crash: crashOutcome,
          next: nextOutcome,
          error: crash.state === 'rejected' ? firstLine(crash.value) : '',
        },
        failed: crash.state !== 'rejected' || nextOutcome !== 'ok',
      };
    },
  },
};

/** A floor row that reports raw-floor's items/s as `perSec`. */
function floorRow(id, label, args) {
  return { id, label, args, metrics: ([r]) => ({ perSec: r.perSec }) };
}

/** Submits tasks 0..n-1 at once and returns the sum of the results. */
async function burst(submit, n) {
  const pending = new Array(n);
  for (let i = 0; i < n; i++) pending[i] = submit(i);
  let sum = 0;
  for (const value of await Promise.all(pending)) sum += /** @type {number} */ (value);
  return sum;
}

function expectEqual(what, actual, expected) {
  if (actual !== expected) throw new Error(`wrong result: ${what} is ${actual}, expected ${expected}`);
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function settleWithin(promiseLike, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ state: 'hangs' }), ms);
  });
  const settled = Promise.resolve(promiseLike).then(
    (value) => ({ state: 'fulfilled', value }),
    (value) => ({ state: 'rejected', value }),
  );
  const result = await Promise.race([settled, timeout]);
  clearTimeout(timer);
  return result;
}

async function withTimeout(promiseLike, ms, what) {
  const result = await settleWithin(promiseLike, ms);
  if (result.state === 'hangs') throw new Error(`${what} did not finish within ${ms} ms`);
  if (result.state === 'rejected') throw result.value;
  return result.value;
}

export function firstLine(error) {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split('\n')[0].slice(0, 160);
}

function checkEcho(echoed, value) {
  const same =
    typeof value === 'string'
      ? echoed === value
      : echoed instanceof Float64Array &&
        echoed.length === value.length &&
        echoed[0] === value[0] &&
        echoed[12_799] === value[12_799];
  if (!same) {
    const got = echoed?.constructor?.name ?? typeof echoed;
    throw new Error(`wrong result: the echo came back as ${got}${echoed?.length ? ` of length ${echoed.length}` : ''}`);
  }
}

function makeString() {
  let s = '';
  while (s.length < 102_400) s += 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_';
  return s.slice(0, 102_400);
}

function makeFloat64() {
  const a = new Float64Array(12_800);
  for (let i = 0; i < a.length; i++) a[i] = Math.random() * 1e6;
  return a;
}

export { WORKERS, withTimeout };
