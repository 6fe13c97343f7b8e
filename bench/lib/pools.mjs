// One adapter per pool (and mode), all with the same shape, so a case is written once:
//   const pool = await createPool(id, workers)
//   await pool.call('inc', 1)            -> 2
//   await pool.close()
// `call(name, arg)` runs fixtures/tasks.cjs's export `name` on `arg` in a worker. rxpool ships the
// very same function objects by source; the peers load the file.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const TASKS = fileURLToPath(new URL('../fixtures/tasks.cjs', import.meta.url));
const fixture = (name) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const WORKERPOOL_WORKER = fixture('workerpool-worker.cjs');
const WORKER_FARM_WORKER = fixture('worker-farm-worker.cjs');
const POOLIFIER_THREAD_WORKER = fixture('poolifier-thread-worker.cjs');
const POOLIFIER_CLUSTER_WORKER = fixture('poolifier-cluster-worker.cjs');
const BARE_FORK_WORKER = fixture('bare-fork-worker.cjs');
const tasks = require(TASKS);
const NAMES = Object.keys(tasks);

/**
 * `load()` imports the library and returns a synchronous factory, so construction can be timed
 * apart from module loading (see the cold-start case); `create()` does both.
 * @typedef {{ call(name: string, arg?: unknown): PromiseLike<unknown>, close(): Promise<unknown>, executor?: any }} Pool
 * @typedef {{ label: string, kind: 'process' | 'thread', load(): Promise<(workers: number) => Pool> }} PoolSpec
 */

/** @type {Record<string, PoolSpec>} */
export const POOLS = {
  rxpool: {
    label: 'rxpool',
    kind: 'process',
    async load() {
      const { ProcessPoolExecutor } = await import('rxpool');
      // Started with the pool, as the peers that have a minimum are configured (minThreads, minWorkers).
      return (workers, options = {}) => {
        const executor = new ProcessPoolExecutor({
          maxWorkers: workers,
          minWorkers: workers,
          execArgv: [],
          ...options,
        });
        return {
          executor,
          call: (name, arg) => executor.submit(tasks[name], arg),
          close: () => executor.shutdown(),
        };
      };
    },
  },
  piscina: {
    label: 'piscina',
    kind: 'thread',
    async load() {
      const { Piscina } = await import('piscina');
      return (workers) => {
        const pool = new Piscina({ filename: TASKS, minThreads: workers, maxThreads: workers });
        return { call: (name, arg) => pool.run(arg, { name }), close: () => pool.destroy() };
      };
    },
  },
  tinypool: {
    label: 'tinypool (threads)',
    kind: 'thread',
    load: () => tinypool('worker_threads'),
  },
  // Not a peer: the memory case's floor (`floor: true` keeps it out of every other case and target).
  'bare-fork': {
    label: "bare fork, `'advanced'`, one message per task (no library)",
    kind: 'floor',
    floor: true,
    async load() {
      const { fork } = await import('node:child_process');
      return (workers) => {
        const children = Array.from({ length: workers }, () =>
          fork(BARE_FORK_WORKER, [], { serialization: 'advanced' }),
        );
        const pending = new Map();
        let next = 0;
        for (const child of children) {
          child.on('message', ([id, value]) => {
            const resolve = pending.get(id);
            pending.delete(id);
            resolve(value);
          });
        }
        return {
          call: (name, arg) =>
            new Promise((resolve) => {
              const id = next++;
              pending.set(id, resolve);
              children[id % workers].send([id, name, arg]);
            }),
          close: () =>
            Promise.all(
              children.map((child) => {
                const exited = new Promise((resolve) => child.once('exit', resolve));
                child.kill();
                return exited;
              }),
            ),
        };
      };
    },
  },
  'tinypool-process': {
    label: "tinypool `runtime: 'child_process'`",
    kind: 'process',
    load: () => tinypool('child_process'),
  },
  'workerpool-process': {
    label: "workerpool `workerType: 'process'`",
    kind: 'process',
    load: () => workerpool('process'),
  },
  'workerpool-thread': {
    label: "workerpool `workerType: 'thread'`",
    kind: 'thread',
    load: () => workerpool('thread'),
  },
  'jest-worker': {
    label: 'jest-worker (child processes)',
    kind: 'process',
    load: () => jestWorker(false),
  },
  'jest-worker-threads': {
    label: 'jest-worker `enableWorkerThreads`',
    kind: 'thread',
    load: () => jestWorker(true),
  },
  'worker-farm': {
    label: 'worker-farm',
    kind: 'process',
    async load() {
      const { default: workerFarm } = await import('worker-farm');
      return (workers) => {
        // Default options but the worker count; its defaults retry a call whose worker died forever.
        const farm = workerFarm({ maxConcurrentWorkers: workers }, WORKER_FARM_WORKER, NAMES);
        return {
          call: (name, arg) =>
            new Promise((resolve, reject) => {
              farm[name](arg ?? null, (error, value) => (error ? reject(error) : resolve(value)));
            }),
          close: () => new Promise((resolve) => workerFarm.end(farm, resolve)),
        };
      };
    },
  },
  'poolifier-cluster': {
    label: 'poolifier `FixedClusterPool`',
    kind: 'process',
    load: () => poolifier('cluster'),
  },
  'poolifier-thread': {
    label: 'poolifier `FixedThreadPool`',
    kind: 'thread',
    load: () => poolifier('thread'),
  },
};

/** The pools rxpool is compared with: every adapter but rxpool and the floor rows. */
export const PEERS = Object.keys(POOLS).filter((id) => id !== 'rxpool' && !POOLS[id].floor);

/** Imports pool `id` and starts it with `workers` workers. */
export async function createPool(id, workers) {
  const make = await POOLS[id].load();
  return make(workers);
}

async function tinypool(runtime) {
  const { Tinypool } = await import('tinypool');
  return (workers) => {
    const pool = new Tinypool({ filename: TASKS, minThreads: workers, maxThreads: workers, runtime });
    return { call: (name, arg) => pool.run(arg, { name }), close: () => pool.destroy() };
  };
}

async function workerpool(workerType) {
  const { default: wp } = await import('workerpool');
  return (workers) => {
    const pool = wp.pool(WORKERPOOL_WORKER, { minWorkers: workers, maxWorkers: workers, workerType });
    return { call: (name, arg) => pool.exec(name, arg === undefined ? [] : [arg]), close: () => pool.terminate() };
  };
}

async function jestWorker(enableWorkerThreads) {
  const jw = await import('jest-worker');
  const Worker = jw.Worker ?? jw.default.Worker;
  return (workers) => {
    const worker = new Worker(TASKS, { numWorkers: workers, exposedMethods: NAMES, enableWorkerThreads });
    return { call: (name, arg) => worker[name](arg), close: () => worker.end() };
  };
}

async function poolifier(type) {
  const { FixedClusterPool, FixedThreadPool } = await import('poolifier');
  return (workers) => {
    const pool =
      type === 'cluster'
        ? new FixedClusterPool(workers, POOLIFIER_CLUSTER_WORKER)
        : new FixedThreadPool(workers, POOLIFIER_THREAD_WORKER);
    return { call: (name, arg) => pool.execute(arg, name), close: () => pool.destroy() };
  };
}

export { tasks };
