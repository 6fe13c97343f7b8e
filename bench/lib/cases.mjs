// The benchmark cases: what each measures, its sizes (full and --quick), its rows, its floor runs,
// and the code that measures one row once (run by bench/case.mjs in a fresh process).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PEERS, POOLS, tasks } from './pools.mjs';

const now = () => performance.now();
/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
const epoch = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const WORKERS = 2;
/** How long `whoami` tasks sleep (cold-start, crash-recovery, cpu-bound): so no worker can take them all. */
const WHOAMI_SLEEP_MS = 20;

/**
 * @typedef {{ key: string, label: string, better: 'higher' | 'lower', ratio?: boolean, digits?: number }} Metric
 * @typedef {{ id: string, pool: string, variant?: string, label?: string, optional?: boolean }} Row
 * @typedef {{ id: string, label: string, args: (p: any) => string[][], metrics: (results: any[]) => Record<string, number> }} Floor
 * @typedef {{
 *   title: string, measures: string, params: { full: any, quick: any }, metrics: Metric[],
 *   rows: Row[], floors?: Floor[], timeoutMs: (p: any) => number, runs?: number,
 *   rowBudgetSeconds?: number, targetKinds?: string[], nodeArgs?: string[], outcomes?: boolean,
 *   stopOnFailure?: boolean, run: (pool: any, p: any, row: Row) => Promise<any>
 * }} Case
 */

/** Rows for every pool in its default mode, rxpool first (then rxpool's extra rows, if any). */
const everyPool = (extra = []) => [
  { id: 'rxpool', pool: 'rxpool' },
  ...extra,
  ...PEERS.map((id) => ({ id, pool: id })),
];

/** @type {Record<string, Case>} */
export const CASES = {
  'cold-start': {
    title: 'cold-start: import, constructor to first result and to every worker answering, shutdown',
    measures:
      "`import` = loading the library (`await import(...)`, not counted in the next figures). Then, from the constructor on, 2 tasks at once that each sleep 20 ms and return the worker's `pid:threadId`, and one more whenever one returns, until both workers have answered: `first result` = the first answer, `all workers` = the first answer of the second worker, each minus the 20 ms the task slept (as measured in the worker). `ready (events$)`, rxpool only: constructor to the second worker's `ready` event. Then 300 ms idle, `gc()` (the case process runs with `--expose-gc`) and the idle memory: `parent RSS` (the case process, once steady after the GC, as in the memory case; for thread pools it includes the worker threads) and `worker RSS` (mean VmRSS of the case process's child processes, from `/proc`, Linux only; thread pools: –). `shutdown` = the pool's own close/shutdown/destroy/terminate/end, awaited. Lower is better. Floors: 1 bare fork + 1 round trip (`first result`), 2 bare forks + 1 round trip each (`all workers`); the same with `worker_threads`.",
    params: { full: {}, quick: {} },
    metrics: [
      { key: 'importMs', label: 'import ms', better: 'lower', digits: 1 },
      { key: 'firstMs', label: 'first result ms', better: 'lower', ratio: true, digits: 1 },
      { key: 'allMs', label: 'all workers ms', better: 'lower', ratio: true, digits: 1 },
      { key: 'readyMs', label: 'ready (events$) ms', better: 'lower', digits: 1 },
      { key: 'shutdownMs', label: 'shutdown ms', better: 'lower', ratio: true, digits: 1 },
      { key: 'parentRssMB', label: 'parent RSS MB', better: 'lower', digits: 1 },
      { key: 'workerRssMB', label: 'worker RSS MB', better: 'lower', ratio: true, digits: 1 },
    ],
    nodeArgs: ['--expose-gc'],
    rows: everyPool([
      {
        id: 'rxpool-on-demand',
        pool: 'rxpool',
        options: { minWorkers: 0 },
        label: 'rxpool, `minWorkers: 0` (the default: workers start with the first tasks)',
      },
    ]),
    floors: [
      {
        id: 'floor-advanced',
        label: "bare fork, `'advanced'`: spawn + 1 round trip (1 child / 2 children)",
        args: () => [
          ['fork', 'advanced', '1', 'strict', '2'],
          ['fork', 'advanced', '2', 'strict', '2'],
        ],
        metrics: ([one, two]) => ({ firstMs: one.spawnMs, allMs: two.spawnMs }),
      },
      {
        id: 'floor-thread',
        label: 'bare worker_threads: start + 1 round trip (1 thread / 2 threads)',
        args: () => [
          ['thread', '-', '1', 'strict', '2'],
          ['thread', '-', '2', 'strict', '2'],
        ],
        metrics: ([one, two]) => ({ firstMs: one.spawnMs, allMs: two.spawnMs }),
      },
    ],
    timeoutMs: () => 30_000,
    async run(spec, _params, row) {
      // `spec` is the pool's adapter here: loading and construction are what is measured
      const t0 = now();
      const make = await spec.load();
      const importMs = now() - t0;
      const t1 = now();
      const pool = make(WORKERS, row.options);
      const ready = pool.executor ? readyTimes(pool.executor) : undefined;
      const { firstMs, allMs } = await allAnswered(pool, t1);
      const out = { importMs, firstMs, allMs };
      if (ready) {
        // both workers answered, so both were ready
        out.readyMs = ready.times[WORKERS - 1] - (performance.timeOrigin + t1);
        ready.stop();
      }
      await sleep(300);
      Object.assign(out, await idleMemory(spec.kind));
      const t2 = now();
      await withTimeout(pool.close(), 10_000, 'shutdown');
      return { ...out, shutdownMs: now() - t2 };
    },
  },

  'tiny-burst': {
    title: 'tiny-burst: 20k and 100k tiny tasks (x => x + 1) submitted at once',
    measures:
      'Throughput of the whole task path (submit, dispatch, IPC both ways, settle) when the queue is deep: all tasks are submitted at once, then awaited. After a warm-up burst, 20k then 100k, in the same process. rxpool also runs `map(inc, items, { chunksize: 1 })` (results in order, through an async iterator) and `parallelMap(inc)` with its defaults (tasks in flight: workers × the prefetch depth the measured task time calls for, up to 256 per worker for tiny tasks) and with `concurrency: 256`. Tasks/s; higher is better.',
    params: {
      full: { sizes: [20_000, 100_000], warm: 2_000, concurrency: 256 },
      quick: { sizes: [2_000, 10_000], warm: 1_000, concurrency: 256 },
    },
    rowBudgetSeconds: 20,
    // Its targets compare rxpool with the best thread peer too.
    targetKinds: ['process', 'thread'],
    metrics: [
      { key: 'perSecSmall', label: '20k: tasks/s', better: 'higher', ratio: true, digits: 0 },
      { key: 'perSecLarge', label: '100k: tasks/s', better: 'higher', ratio: true, digits: 0 },
    ],
    rows: everyPool([
      { id: 'rxpool-map', pool: 'rxpool', variant: 'map', label: 'rxpool `map`, chunksize 1' },
      { id: 'rxpool-pm', pool: 'rxpool', variant: 'pm', label: 'rxpool `parallelMap`, defaults' },
      { id: 'rxpool-pm-conc', pool: 'rxpool', variant: 'pm-conc', label: 'rxpool `parallelMap`, concurrency 256' },
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
      floorRow('floor-advanced', "bare fork, `serialization: 'advanced'`, 1 message per task", (p) =>
        p.sizes.map((n) => ['fork', 'advanced', '2', 'pipe', String(n)]),
      ),
      floorRow('floor-json', 'bare fork, JSON IPC, 1 message per task', (p) =>
        p.sizes.map((n) => ['fork', 'json', '2', 'pipe', String(n)]),
      ),
      floorRow('floor-thread', 'bare worker_threads, 1 message per task', (p) =>
        p.sizes.map((n) => ['thread', '-', '2', 'pipe', String(n)]),
      ),
    ],
    timeoutMs: (p) => 60_000 + p.sizes[1] * 1,
    async run(pool, p, row) {
      const once = await tinyRunner(pool, row, p);
      await once(p.warm);
      const out = {};
      for (const [key, n] of [
        ['perSecSmall', p.sizes[0]],
        ['perSecLarge', p.sizes[1]],
      ]) {
        const t0 = now();
        await once(n);
        out[key] = n / ((now() - t0) / 1000);
      }
      return out;
    },
  },

  'tiny-sequential': {
    title: 'tiny-sequential: 2k tiny tasks, each awaited before the next is submitted',
    measures:
      'Round-trip latency of one task on an idle pool (submit to result, µs; lower is better). The floor is a bare fork ping-pong with one child; it reports only a mean.',
    params: { full: { n: 2_000, warm: 500 }, quick: { n: 500, warm: 200 } },
    metrics: [
      { key: 'p50Us', label: 'p50 µs', better: 'lower', ratio: true, digits: 0 },
      { key: 'p99Us', label: 'p99 µs', better: 'lower', ratio: true, digits: 0 },
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

  batched: {
    title: 'batched: 1M tiny items, in chunks',
    measures:
      "Throughput when tiny items travel in batches. rxpool: `map(inc, items, { chunksize: 'auto' })` (results in order, as an async iterator), `parallelMap(inc, { chunksize: 'auto' })` (ordered, default concurrency; the reference row of the ratios), and `submit(incBatch, 64 items)`. Every peer gets arrays of 64 items per call (`incBatch`), all calls at once (manual batching). A warm-up pass of 200k items first. Items/s; higher is better.",
    params: {
      full: { n: 1_000_000, chunk: 64, warm: 200_000 },
      quick: { n: 100_000, chunk: 64, warm: 50_000 },
    },
    rowBudgetSeconds: 12,
    metrics: [{ key: 'perSec', label: 'items/s', better: 'higher', ratio: true, digits: 0 }],
    // The `rxpool` row, the reference of the ratios, is parallelMap 'auto'.
    rows: everyPool([
      { id: 'rxpool-map', pool: 'rxpool', variant: 'map-auto', label: "rxpool `map`, chunksize 'auto'" },
      { id: 'rxpool-submit64', pool: 'rxpool', variant: 'manual', label: 'rxpool, submit 64 items per call' },
    ]).map((row) =>
      row.id === 'rxpool' ? { ...row, variant: 'pm-auto', label: "rxpool `parallelMap`, chunksize 'auto'" } : row,
    ),
    floors: [
      floorRow('floor-advanced', "bare fork, `'advanced'`, 64 items per message", (p) => [
        ['fork', 'advanced', '2', 'batch64', String(p.n)],
      ]),
      floorRow('floor-json', 'bare fork, JSON, 64 items per message', (p) => [
        ['fork', 'json', '2', 'batch64', String(p.n)],
      ]),
    ],
    timeoutMs: () => 120_000,
    async run(pool, p, row) {
      const variant = row.variant ?? 'manual';
      const once = async (n) => {
        const items = Array.from({ length: n }, (_, i) => i);
        if (variant === 'manual') {
          let sum = 0;
          let count = 0;
          const calls = [];
          for (let i = 0; i < n; i += p.chunk) calls.push(pool.call('incBatch', items.slice(i, i + p.chunk)));
          for (const out of await Promise.all(calls)) {
            for (const y of /** @type {number[]} */ (out)) sum += y;
            count += /** @type {number[]} */ (out).length;
          }
          expectEqual('number of results', count, n);
          expectEqual('sum of results', sum, (n * (n + 1)) / 2);
          return;
        }
        const [api, size] = variant.split('-');
        const chunksize = size === 'auto' ? 'auto' : Number(size);
        if (api === 'map') await checkOrdered(pool.executor.map(tasks.inc, items, { chunksize }), n);
        else await checkOrderedRx(pool.executor, items, { chunksize }, n);
      };
      await once(p.warm);
      const t0 = now();
      await once(p.n);
      return { perSec: p.n / ((now() - t0) / 1000) };
    },
  },

  payload: {
    title: 'payload: echo of 100 KB values (string, Float64Array, array of numbers, nested object), all at once',
    measures:
      "Bandwidth for large arguments and results: 1,000 tasks at once per type (`--param payload.n=2000` for more), each echoing its own 100 KB value (a 102,400-character string; a `Float64Array(12800)`; a plain `Array` of 12,800 doubles; an array of 830 small records with strings, numbers and nested arrays, ~100 KB as JSON). MB/s counting both directions (N × 2 × 102,400 bytes / wall time); higher is better. Each echo is checked (type, length, contents at both ends); a pool that returns something else is `✗ wrong result` for that type; a nested object that comes back with the same shape and the same JSON but not the same values (a `-0` as `0`: what a JSON channel does) is counted, with a `≠` note saying where. Floors: the same echo with the bare fork (`'advanced'`) and bare `worker_threads` (string, Float64Array and array only; one value shared by all messages).",
    // 1,000 per type, not the 2,000 of issue 7: at 2,000 this case alone took 14 minutes of a
    // 33-minute default run at load 5 (every peer already down to 1 run). `--param payload.n=2000`.
    params: { full: { n: 1_000, warm: 100 }, quick: { n: 200, warm: 50 } },
    rowBudgetSeconds: 30,
    metrics: [
      { key: 'stringMBps', label: 'string MB/s', better: 'higher', ratio: true, digits: 0 },
      { key: 'f64MBps', label: 'Float64Array MB/s', better: 'higher', ratio: true, digits: 0 },
      { key: 'arrayMBps', label: 'number[] MB/s', better: 'higher', ratio: true, digits: 0 },
      { key: 'objectMBps', label: 'object MB/s', better: 'higher', ratio: true, digits: 0 },
    ],
    rows: everyPool(),
    floors: [
      {
        id: 'floor-advanced',
        label: "bare fork, `'advanced'`",
        args: (p) => ['string', 'f64', 'array'].map((type) => ['fork-payload', 'advanced', '2', type, String(p.n)]),
        metrics: ([s, f, a]) => ({ stringMBps: s.MBps, f64MBps: f.MBps, arrayMBps: a.MBps }),
      },
      {
        id: 'floor-thread',
        label: 'bare worker_threads',
        args: (p) => ['string', 'f64', 'array'].map((type) => ['thread-payload', '-', '2', type, String(p.n)]),
        metrics: ([s, f, a]) => ({ stringMBps: s.MBps, f64MBps: f.MBps, arrayMBps: a.MBps }),
      },
    ],
    timeoutMs: () => 180_000,
    async run(pool, p) {
      const out = {};
      const errors = [];
      const remarks = new Set();
      for (const [key, type] of [
        ['stringMBps', 'string'],
        ['f64MBps', 'Float64Array'],
        ['arrayMBps', 'number[]'],
        ['objectMBps', 'object'],
      ]) {
        try {
          // A distinct value per task: V8's serializer sends an object that occurs twice in one
          // message only once, so echoing one shared value would flatter batching pools.
          const once = async (n) => {
            const values = Array.from({ length: n }, (_, i) => PAYLOADS[type](i));
            const t0 = now();
            const echoes = await Promise.all(values.map((value) => pool.call('echo', value)));
            const dt = now() - t0;
            for (let i = 0; i < n; i++) {
              const remark = checkEcho(type, echoes[i], values[i]);
              if (remark) remarks.add(`${type}: ${remark}`);
            }
            return dt;
          };
          await once(p.warm);
          out[key] = (p.n * 2 * 102_400) / 1e6 / ((await once(p.n)) / 1000);
        } catch (error) {
          errors.push(`${type}: ${firstLine(error)}`);
        }
      }
      if (remarks.size > 0) out.remarks = [...remarks];
      return errors.length > 0 ? { ...out, errors } : out;
    },
  },

  'large-arrays': {
    title: 'large-arrays: echo of 32 MB Float64Arrays, all at once',
    measures:
      "Bandwidth and parent cost for large typed arrays (images, audio, tensors): 8 tasks at once (`--param large-arrays.n=16` for more), each echoing its own `Float64Array` of 32 MB (`large-arrays.mb`), after one warm-up echo. `MB/s` counts both directions (n × 2 × size / wall time), higher is better; `parent CPU ms` is the case process's user + system CPU time over the same span (its helper threads included); `transient MB` is the case process's peak RSS during the echo (sampled every 5 ms) above its RSS before (once steady after a full `gc()`, as in the memory case; the case process runs with `--expose-gc`), less the results' own n × size: what the transport needed on the way (for thread pools the workers' memory is in it too), lower is better. Each echo is checked (type, length, first and last element). Rows: rxpool, the process peer that keeps a typed array a typed array (jest-worker, `serialization: 'advanced'`; the others send JSON, where it comes back as an Object) and the thread pools; the floor is a bare `child_process.fork` with `'advanced'` (the memory case's bare fork, one message per task).",
    params: { full: { n: 8, mb: 32 }, quick: { n: 4, mb: 8 } },
    rowBudgetSeconds: 20,
    metrics: [
      { key: 'MBps', label: 'MB/s', better: 'higher', ratio: true, digits: 0 },
      { key: 'parentCpuMs', label: 'parent CPU ms', better: 'lower', ratio: true, digits: 0 },
      { key: 'transientMB', label: 'transient MB', better: 'lower', digits: 0 },
    ],
    rows: [
      { id: 'rxpool', pool: 'rxpool' },
      ...['jest-worker', 'piscina', 'tinypool', 'workerpool-thread', 'jest-worker-threads', 'poolifier-thread'].map(
        (id) => ({ id, pool: id }),
      ),
      { id: 'floor-advanced', pool: 'bare-fork', label: "bare fork, `'advanced'` (no library)" },
    ],
    nodeArgs: ['--expose-gc'],
    timeoutMs: () => 120_000,
    async run(pool, p) {
      if (typeof globalThis.gc !== 'function') throw new Error('large-arrays case needs node --expose-gc');
      const elements = (p.mb * 2 ** 20) / 8;
      const make = (i) => {
        const array = new Float64Array(elements);
        for (let j = 0; j < elements; j += 1021) array[j] = i + j;
        array[elements - 1] = -i;
        return array;
      };
      const check = (echoed, i) => {
        if (
          !(echoed instanceof Float64Array) ||
          echoed.length !== elements ||
          echoed[0] !== i ||
          echoed[elements - 1] !== -i
        )
          throw new Error(`wrong result: the echo came back as ${echoed?.constructor?.name ?? typeof echoed}`);
      };
      check(await pool.call('echo', make(0)), 0);
      const values = Array.from({ length: p.n }, (_, i) => make(i));
      // What the warm-up left behind goes first, and back to the system: it must not count as savings.
      const before = await settledRss();
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      const cpu = process.cpuUsage();
      const t0 = now();
      const echoes = await Promise.all(values.map((value) => pool.call('echo', value)));
      const wallMs = now() - t0;
      const { user, system } = process.cpuUsage(cpu);
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      echoes.forEach(check);
      return {
        MBps: (p.n * 2 * p.mb * 2 ** 20) / 1e6 / (wallMs / 1000),
        parentCpuMs: (user + system) / 1000,
        transientMB: mb(peak - before) - p.n * p.mb,
      };
    },
  },

  'cpu-bound': {
    title: 'cpu-bound: 16 tasks of ~100 ms of CPU, first and second batch, vs. in-process',
    measures:
      "Real work: 16 tasks of `spin(n)` (a fixed loop, n calibrated once per bench run in the bench's own process to ~100 ms), submitted at once. The pool's workers are up (both answered a `whoami` task) but have never run `spin`: the **first batch** ships/loads and compiles it. Then a **second batch** on the same pool. `in-process` = the same 16 calls run one after the other in the case process (before the batches, workers idle), same n. Speedup = in-process ms / batch wall ms; with 2 workers the ideal is 2. Wall ms lower is better, speedup higher.",
    params: { full: { n: 16, targetMs: 100 }, quick: { n: 8, targetMs: 50 } },
    rowBudgetSeconds: 12,
    metrics: [
      { key: 'seqMs', label: 'in-process ms', better: 'lower', digits: 0 },
      { key: 'wall1Ms', label: '1st batch ms', better: 'lower', ratio: true, digits: 0 },
      { key: 'speedup1', label: '1st speedup', better: 'higher', digits: 2 },
      { key: 'wall2Ms', label: '2nd batch ms', better: 'lower', ratio: true, digits: 0 },
      { key: 'speedup2', label: '2nd speedup', better: 'higher', digits: 2 },
    ],
    rows: everyPool(),
    timeoutMs: () => 60_000,
    async run(pool, p) {
      const iterations = p.spinIterations;
      await allAnswered(pool, now());
      await sleep(100); // let whatever the pool still does after starting settle
      const t0 = now();
      const local = [];
      for (let i = 0; i < p.n; i++) local.push(tasks.spin(iterations));
      const seqMs = now() - t0;
      const expected = local[0];
      expectEqual('in-process results all equal', local.filter((r) => r === expected).length, p.n);
      const batch = async () => {
        const t = now();
        const results = await Promise.all(Array.from({ length: p.n }, () => pool.call('spin', iterations)));
        const wall = now() - t;
        expectEqual('results equal to the in-process run', results.filter((r) => r === expected).length, p.n);
        return wall;
      };
      const wall1Ms = await batch();
      const wall2Ms = await batch();
      return { seqMs, wall1Ms, speedup1: seqMs / wall1Ms, wall2Ms, speedup2: seqMs / wall2Ms };
    },
  },

  'crash-recovery': {
    title: 'crash-recovery: a task calls process.exit(1), 100 times per run',
    measures:
      "Each crash starts from an idle pool (every task of the round before has returned). A task writes the epoch time (`performance.timeOrigin + performance.now()`) and its worker id to a file, then calls `process.exit(1)`. **exit → rejection** = from that instant to the rejection handler in the parent (median of the run's crashes; `worst` = the run's maximum). **next task** = latency of one `inc` submitted on the rejection. **exit → full size** = from the exit to the first answer of a second live worker: 2 `whoami` tasks (sleep 20 ms, return `pid:threadId`) in flight, another one whenever one returns, until 2 distinct workers answered; minus that task's sleep. rxpool also from `events$`: `exit` event → rejection, `exit` event → the replacement's `ready` event. Lower is better. A pool whose crashing task does not settle within 5 s \"hangs\": it is measured once, not repeated. rxpool crashes 100 times per run; peers are capped at 20 crashes per run (column `crashes`) to keep the run short.",
    params: {
      full: { crashes: 100, peerCrashes: 20, timeoutMs: 5_000 },
      quick: { crashes: 10, peerCrashes: 5, timeoutMs: 5_000 },
    },
    rowBudgetSeconds: 15,
    metrics: [
      { key: 'exitToRejectMs', label: 'exit → rejection ms', better: 'lower', ratio: true, digits: 1 },
      { key: 'exitToRejectMaxMs', label: 'worst', better: 'lower', digits: 1 },
      { key: 'exitEventToRejectMs', label: 'exit event → rejection ms', better: 'lower', digits: 2 },
      { key: 'nextMs', label: 'next task ms', better: 'lower', ratio: true, digits: 1 },
      { key: 'exitToFullMs', label: 'exit → full size ms', better: 'lower', ratio: true, digits: 0 },
      { key: 'exitEventToReadyMs', label: 'exit event → ready ms', better: 'lower', digits: 0 },
      { key: 'crashes', label: 'crashes', better: 'higher', digits: 0 },
    ],
    outcomes: true,
    rows: everyPool(),
    stopOnFailure: true,
    timeoutMs: () => 240_000,
    async run(pool, p, row) {
      const crashes = row.pool === 'rxpool' ? p.crashes : p.peerCrashes;
      const dir = mkdtempSync(join(tmpdir(), 'rxpool-bench-crash-'));
      const events = pool.executor ? crashEvents(pool.executor) : undefined;
      try {
        await allAnswered(pool, now());
        const s = { exitToReject: [], exitEventToReject: [], next: [], exitToFull: [], exitEventToReady: [] };
        const outcome = { crash: 'rejects', next: 'ok', error: '' };
        for (let k = 0; k < crashes; k++) {
          const file = join(dir, `crash-${k}`);
          let rejectedAt = 0;
          const crash = await settleWithin(
            Promise.resolve(pool.call('die', file)).catch((error) => {
              rejectedAt = epoch();
              throw error;
            }),
            p.timeoutMs,
          );
          if (crash.state !== 'rejected') {
            outcome.crash = crash.state === 'hangs' ? 'hangs' : `resolves to ${String(crash.value)}`;
            outcome.next = 'not tried';
            break;
          }
          outcome.error ||= firstLine(crash.value);
          const [exitAt, diedId] = readFileSync(file, 'utf8').split(' ');
          s.exitToReject.push(rejectedAt - Number(exitAt));
          const t1 = now();
          const next = await settleWithin(pool.call('inc', 41), p.timeoutMs);
          if (next.state !== 'fulfilled' || next.value !== 42) {
            outcome.next = next.state === 'fulfilled' ? `wrong: ${String(next.value)}` : next.state;
            break;
          }
          s.next.push(now() - t1);
          const full = await settleWithin(allAnswered(pool, now()), p.timeoutMs);
          if (full.state !== 'fulfilled') {
            outcome.next = `not back at full size (${full.state === 'hangs' ? 'timeout' : firstLine(full.value)})`;
            break;
          }
          s.exitToFull.push(performance.timeOrigin + full.value.allAt - Number(exitAt));
          if (events) {
            const exit = events.exits.find((e) => `${e.pid}:0` === diedId);
            if (exit) {
              s.exitEventToReject.push(rejectedAt - exit.time);
              const ready = events.readies.find((t) => t > exit.time);
              if (ready !== undefined) s.exitEventToReady.push(ready - exit.time);
            }
          }
        }
        const med = (xs) => (xs.length > 0 ? median([...xs].sort((a, b) => a - b)) : undefined);
        const done = s.exitToReject.length;
        return {
          ...(done > 0 ? { exitToRejectMs: med(s.exitToReject), exitToRejectMaxMs: Math.max(...s.exitToReject) } : {}),
          ...(s.exitEventToReject.length > 0 ? { exitEventToRejectMs: med(s.exitEventToReject) } : {}),
          ...(s.next.length > 0 ? { nextMs: med(s.next) } : {}),
          ...(s.exitToFull.length > 0 ? { exitToFullMs: med(s.exitToFull) } : {}),
          ...(s.exitEventToReady.length > 0 ? { exitEventToReadyMs: med(s.exitEventToReady) } : {}),
          crashes: done,
          outcome,
          failed: outcome.crash !== 'rejects' || outcome.next !== 'ok',
        };
      } finally {
        events?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },

  memory: {
    title: 'memory: parent RSS after 100k and after 1M tiny tasks (rxpool; a bare fork floor)',
    measures:
      "rxpool, and a floor: two bare `fork` children with `serialization: 'advanced'` and no library, one message per task each way (`bench/fixtures/bare-fork-worker.cjs`), as a reference for what Node's IPC alone does to the parent's RSS. The case process runs with `--expose-gc` and calls `gc()` twice before each reading, then reads its RSS until it holds steady (three readings 50 ms apart within 0.25 MB, at most 2 s: V8 returns the pages a GC freed a moment later, from another thread). 2,000 `inc` tasks, both workers answer a `whoami`, 500 ms idle, then `parent idle` (RSS) and `worker idle` (mean VmRSS of the child processes, from `/proc`, Linux only). Then tiny tasks in waves of 20k (each wave submitted at once, then awaited) up to 100k, reading, then on to 1M, reading: RSS and `heapUsed` of the parent, and the growth from 100k to 1M (target: flat, ±10%). Every pool's idle parent and worker RSS are in the cold-start table. The peers' parent RSS after 100k is not measured: 100k tiny tasks take 5 to 15 s per peer, more than the whole rxpool row. MB = 2^20 bytes; lower is better.",
    params: {
      full: { warm: 2_000, wave: 20_000, sizes: [100_000, 1_000_000], idleMs: 500 },
      quick: { warm: 2_000, wave: 20_000, sizes: [40_000, 200_000], idleMs: 500 },
    },
    nodeArgs: ['--expose-gc'],
    metrics: [
      { key: 'parentIdleMB', label: 'parent idle MB', better: 'lower', digits: 1 },
      { key: 'workerIdleMB', label: 'worker idle MB', better: 'lower', digits: 1 },
      { key: 'rssSmallMB', label: 'RSS @100k MB', better: 'lower', digits: 1 },
      { key: 'rssLargeMB', label: 'RSS @1M MB', better: 'lower', digits: 1 },
      { key: 'rssGrowthPct', label: 'RSS growth %', better: 'lower', digits: 1 },
      { key: 'heapSmallMB', label: 'heap @100k MB', better: 'lower', digits: 1 },
      { key: 'heapLargeMB', label: 'heap @1M MB', better: 'lower', digits: 1 },
      { key: 'heapGrowthPct', label: 'heap growth %', better: 'lower', digits: 1 },
    ],
    rows: [
      { id: 'rxpool', pool: 'rxpool' },
      { id: 'bare-fork', pool: 'bare-fork' },
    ],
    timeoutMs: () => 180_000,
    async run(pool, p, row) {
      if (typeof globalThis.gc !== 'function') throw new Error('memory case needs node --expose-gc');
      const submit = (i) => pool.call('inc', i);
      expectEqual('sum of results', await burst(submit, p.warm), (p.warm * (p.warm + 1)) / 2);
      await allAnswered(pool, now());
      await sleep(p.idleMs);
      const idle = await idleMemory(POOLS[row.pool].kind);
      const out = { parentIdleMB: idle.parentRssMB, workerIdleMB: idle.workerRssMB };
      let done = 0;
      for (const [size, rssKey, heapKey] of [
        [p.sizes[0], 'rssSmallMB', 'heapSmallMB'],
        [p.sizes[1], 'rssLargeMB', 'heapLargeMB'],
      ]) {
        for (; done < size; done += p.wave) {
          expectEqual('sum of a wave', await burst(submit, p.wave), (p.wave * (p.wave + 1)) / 2);
        }
        out[rssKey] = mb(await settledRss());
        out[heapKey] = mb(process.memoryUsage().heapUsed);
      }
      out.rssGrowthPct = (100 * (out.rssLargeMB - out.rssSmallMB)) / out.rssSmallMB;
      out.heapGrowthPct = (100 * (out.heapLargeMB - out.heapSmallMB)) / out.heapSmallMB;
      return out;
    },
  },
};

/** A floor row that reports raw-floor's items/s: `perSec` for one size, `perSecSmall`/`perSecLarge` for two. */
function floorRow(id, label, args) {
  return {
    id,
    label,
    args,
    metrics: (results) =>
      results.length === 1
        ? { perSec: results[0].perSec }
        : { perSecSmall: results[0].perSec, perSecLarge: results[1].perSec },
  };
}

/** The tiny-burst measurement of one row: `once(n)` runs n tiny tasks and checks their results. */
async function tinyRunner(pool, row, p) {
  switch (row.variant) {
    case 'inline':
      return async (n) => checkSum(await burst((i) => pool.executor.submit((x) => x + 1, i), n), n);
    case 'map':
      return (n) => checkOrdered(pool.executor.map(tasks.inc, range(n), { chunksize: 1 }), n);
    case 'pm':
      return (n) => checkOrderedRx(pool.executor, range(n), {}, n);
    case 'pm-conc':
      return (n) => checkOrderedRx(pool.executor, range(n), { concurrency: p.concurrency }, n);
    default:
      return async (n) => checkSum(await burst((i) => pool.call('inc', i), n), n);
  }
}

const range = (n) => Array.from({ length: n }, (_, i) => i);
const checkSum = (sum, n) => expectEqual('sum of results', sum, (n * (n + 1)) / 2);

/** Consumes an async iterable of `inc` results over 0..n-1 and checks count, order and values. */
async function checkOrdered(results, n) {
  let expected = 1;
  for await (const y of results) {
    if (y !== expected) throw new Error(`wrong result: got ${y} where ${expected} was expected (order)`);
    expected++;
  }
  expectEqual('number of results', expected - 1, n);
}

/** `from(items).pipe(parallelMap(inc, options))`, ordered: checks count, order and values. */
async function checkOrderedRx(executor, items, options, n) {
  const { from, lastValueFrom, reduce } = await import('rxjs');
  const { parallelMap } = await import('rxpool');
  const count = await lastValueFrom(
    from(items).pipe(
      parallelMap(tasks.inc, { executor, ...options }),
      reduce((seen, y) => {
        if (y !== seen + 1) throw new Error(`wrong result: got ${y} where ${seen + 1} was expected (order)`);
        return seen + 1;
      }, 0),
    ),
  );
  expectEqual('number of results', count, n);
}

/** Submits tasks 0..n-1 at once and returns the sum of the results. */
async function burst(submit, n) {
  const pending = new Array(n);
  for (let i = 0; i < n; i++) pending[i] = submit(i);
  let sum = 0;
  for (const value of await Promise.all(pending)) sum += /** @type {number} */ (value);
  return sum;
}

/**
 * Keeps 2 `whoami` tasks in flight (one more whenever one returns) until every worker has
 * answered. Returns when the first answer and the first answer of the last worker arrived, each
 * minus the sleep the task measured, relative to `t0` (`firstMs`, `allMs`) and as
 * `performance.now()` times (`allAt`). Settles once the last task sent has returned too, so the
 * pool is idle when the caller goes on.
 */
function allAnswered(pool, t0, maxTasks = 500) {
  return new Promise((resolve, reject) => {
    const seen = new Set();
    let firstMs;
    let sent = 0;
    let inFlight = 0;
    /** @type {{ firstMs: number, allMs: number, allAt: number } | undefined} */
    let answer;
    let failed = false;
    const fail = (error) => {
      failed = true;
      reject(error);
    };
    const send = () => {
      sent++;
      inFlight++;
      Promise.resolve(pool.call('whoami', WHOAMI_SLEEP_MS)).then((r) => {
        inFlight--;
        if (failed) return;
        if (answer) {
          if (inFlight === 0) resolve(answer);
          return;
        }
        const at = now() - r?.sleptMs;
        if (typeof r?.id !== 'string' || !(r.sleptMs >= WHOAMI_SLEEP_MS - 1)) {
          fail(new Error(`wrong result: whoami returned ${JSON.stringify(r)}`));
          return;
        }
        firstMs ??= at - t0;
        seen.add(r.id);
        if (seen.size >= WORKERS) {
          answer = { firstMs, allMs: at - t0, allAt: at };
          if (inFlight === 0) resolve(answer);
        } else if (sent < maxTasks) send();
        else fail(new Error(`only ${seen.size} worker(s) answered ${sent} tasks`));
      }, fail);
    };
    for (let i = 0; i < WORKERS; i++) send();
  });
}

/** rxpool: the epoch times of `ready` events, in order. */
function readyTimes(executor) {
  const times = [];
  const sub = executor.events$.subscribe((e) => {
    if (e.type === 'ready') times.push(e.time);
  });
  return { times, stop: () => sub.unsubscribe() };
}

/** rxpool: crash `exit` events ({ pid, time }) and `ready` times. */
function crashEvents(executor) {
  const exits = [];
  const readies = [];
  const sub = executor.events$.subscribe((e) => {
    if (e.type === 'exit') exits.push({ pid: e.pid, time: e.time });
    if (e.type === 'ready') readies.push(e.time);
  });
  return { exits, readies, stop: () => sub.unsubscribe() };
}

/** After gc(): the RSS of this process and the mean RSS of its child processes (process pools, Linux). */
async function idleMemory(kind) {
  const out = { parentRssMB: mb(await settledRss()) };
  if (kind === 'process' || kind === 'floor') {
    const rss = childRss();
    if (rss.length > 0) out.workerRssMB = mb(rss.reduce((a, b) => a + b, 0) / rss.length);
    out.workerCount = rss.length;
  }
  return out;
}

async function fullGc() {
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc();
}

/**
 * A full GC, then this process's RSS once it holds steady. V8 hands the pages a GC freed back to
 * the system a moment later, from another thread: a reading taken at once still counts them (7 to
 * 17 MB more here, and a different amount each time). Steady: three readings 50 ms apart within
 * 0.25 MB of each other; at most 2 s.
 */
async function settledRss() {
  await fullGc();
  const readings = [process.memoryUsage().rss];
  for (const deadline = now() + 2_000; now() < deadline; ) {
    await sleep(50);
    readings.push(process.memoryUsage().rss);
    const last = readings.slice(-3);
    if (last.length === 3 && Math.max(...last) - Math.min(...last) < 0.25 * 2 ** 20) break;
  }
  return readings[readings.length - 1];
}

const mb = (bytes) => bytes / 2 ** 20;

/** Resident memory (bytes) of each child process of this process, from /proc (Linux); [] elsewhere. */
function childRss() {
  const pids = new Set();
  try {
    for (const task of readdirSync(`/proc/${process.pid}/task`)) {
      const children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim();
      for (const pid of children.split(/\s+/).filter(Boolean)) pids.add(pid);
    }
  } catch {
    return [];
  }
  const out = [];
  for (const pid of pids) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) out.push(Number(match[1]) * 1024);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function expectEqual(what, actual, expected) {
  if (actual !== expected) throw new Error(`wrong result: ${what} is ${actual}, expected ${expected}`);
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function median(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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

// --- payloads ------------------------------------------------------------------------------------

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_';
/** Records per nested-object payload: 101–105 KB as JSON (99–101 KB with V8's serializer). */
const RECORDS = 830;

/** Makers of the 100 KB payloads; `i` makes each value distinct. */
const PAYLOADS = {
  string(i) {
    const head = `${i}:`;
    return head + ALPHABET.repeat(Math.ceil(102_400 / ALPHABET.length)).slice(0, 102_400 - head.length);
  },
  Float64Array() {
    const a = new Float64Array(12_800);
    for (let j = 0; j < a.length; j++) a[j] = Math.random() * 1e6;
    return a;
  },
  'number[]'() {
    const a = new Array(12_800);
    for (let j = 0; j < a.length; j++) a[j] = Math.random() * 1e6;
    return a;
  },
  object(i) {
    const records = new Array(RECORDS);
    for (let j = 0; j < RECORDS; j++) {
      records[j] = {
        id: i * RECORDS + j,
        name: `record-${j}`,
        score: Math.round(Math.random() * 1e6) / 100,
        tags: ['alpha', 'beta', j % 2 ? 'odd' : 'even'],
        pos: { x: j, y: -j, z: [j % 7, j % 11] },
        ok: j % 3 === 0,
      };
    }
    return { batch: i, records };
  },
};

function checkEcho(type, echoed, value) {
  let same;
  if (type === 'string') same = echoed === value;
  else if (type === 'Float64Array' || type === 'number[]') {
    same =
      (type === 'Float64Array' ? echoed instanceof Float64Array : Array.isArray(echoed)) &&
      echoed.length === value.length &&
      echoed[0] === value[0] &&
      echoed[value.length - 1] === value[value.length - 1];
  } else {
    const last = RECORDS - 1;
    same =
      echoed?.batch === value.batch &&
      Array.isArray(echoed.records) &&
      echoed.records.length === RECORDS &&
      JSON.stringify(echoed.records[0]) === JSON.stringify(value.records[0]) &&
      JSON.stringify(echoed.records[last]) === JSON.stringify(value.records[last]);
  }
  if (!same) {
    const got = echoed?.constructor?.name ?? typeof echoed;
    throw new Error(`wrong result: the echo came back as ${got}${echoed?.length ? ` of length ${echoed.length}` : ''}`);
  }
  if (type !== 'object') return undefined;
  // Same shape and same JSON: the records at both ends are also compared value by value, so that a
  // channel that carries only what JSON can (a -0 comes back as 0) is reported, not failed.
  const last = RECORDS - 1;
  return (
    inexact(echoed.records[0], value.records[0], 'records[0]') ??
    inexact(echoed.records[last], value.records[last], `records[${last}]`)
  );
}

/** Where `echoed` first differs from `sent` by Object.is on the leaves, described; `undefined` if nowhere. */
function inexact(echoed, sent, path) {
  if (typeof sent !== 'object' || sent === null) {
    return Object.is(echoed, sent)
      ? undefined
      : `the echo is not exact: ${path} was sent as ${show(sent)}, came back as ${show(echoed)}`;
  }
  for (const key of Object.keys(sent)) {
    const found = inexact(echoed?.[key], sent[key], Array.isArray(sent) ? `${path}[${key}]` : `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

const show = (v) => (Object.is(v, -0) ? '-0' : (JSON.stringify(v) ?? String(v)));

export { PAYLOADS, WORKERS, withTimeout };
