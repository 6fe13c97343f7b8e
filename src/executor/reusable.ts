import { isDeepStrictEqual } from 'node:util';
import { holdUntil, type InternalOptions, ProcessPoolExecutor } from './executor.js';
import type { ExecutorOptions } from './options.js';

/** Options of {@link getReusableExecutor}. */
export interface ReusableExecutorOptions extends ExecutorOptions {
  /**
   * Whether to reuse the live shared executor. `'auto'` (default): reuse it when the options that
   * workers are started with (`execArgv`, `env`, `cwd`, `initializer`, `idleTimeout`...) are the same,
   * else replace it. `true`: reuse it whatever they are. `false`: always replace it. `maxWorkers`
   * never forces a replacement: the executor is resized in place.
   */
  readonly reuse?: 'auto' | boolean;
  /**
   * When the shared executor is replaced: kill its workers at once (its unfinished tasks reject with
   * ShutdownExecutorError) instead of letting its tasks finish first (default false).
   */
  readonly killWorkers?: boolean;
}

/** Workers of the shared executor exit after this long without a task, unless told otherwise. */
export const DEFAULT_IDLE_TIMEOUT = 10_000;

/**
 * The one executor this process shares: the library's everyday entry point.
 *
 * The first call creates it; later calls return the same executor while it is alive, resized in
 * place when `maxWorkers` differs. When other options differ, `reuse` decides (see
 * {@link ReusableExecutorOptions}); a replaced executor first lets its tasks finish (its successor's
 * workers start after that) unless `killWorkers` is set. After `shutdown()`, or once broken, the
 * next call builds a fresh one.
 *
 * Its workers exit after `idleTimeout` ms without a task (default 10 s) and come back on the next
 * task. Idle workers never keep the process alive, and they exit with it: no cleanup call is needed.
 *
 * @example
 * ```ts
 * const executor = getReusableExecutor({ maxWorkers: 4, idleTimeout: 2000 });
 * console.log(await executor.submit((x: number) => x * 2, 21)); // 42
 * ```
 */
export function getReusableExecutor(options: ReusableExecutorOptions = {}): ProcessPoolExecutor {
  const { reuse = 'auto', killWorkers = false, ...executorOptions } = options;
  if (reuse !== 'auto' && typeof reuse !== 'boolean') {
    throw new TypeError(`reuse must be 'auto', true or false, got ${String(reuse)}`);
  }
  const current = shared?.executor.state === 'running' ? shared : undefined;
  const key = reuseKey(executorOptions);
  if (current && (reuse === true || (reuse === 'auto' && isDeepStrictEqual(current.key, key)))) {
    const { maxWorkers } = executorOptions;
    if (maxWorkers !== undefined && maxWorkers !== current.executor.maxWorkers) current.executor.resize(maxWorkers);
    return current.executor;
  }
  const defaults: ExecutorOptions = { idleTimeout: DEFAULT_IDLE_TIMEOUT, ...executorOptions };
  if (!current) {
    shared = { executor: new ProcessPoolExecutor(defaults), key };
    return shared.executor;
  }
  // Held until the one it replaces has drained, which it is told to once the new one exists (its
  // options may be refused).
  let replaced!: (drained: Promise<void>) => void;
  const held: InternalOptions = { ...defaults, [holdUntil]: new Promise<void>((resolve) => (replaced = resolve)) };
  const executor = new ProcessPoolExecutor(held);
  replaced(current.executor.shutdown({ killWorkers }));
  shared = { executor, key };
  return executor;
}

/**
 * The shared executor, created with defaults if there is none, and grown to at least `minWorkers`:
 * for library code (such as `parallelMap`) that borrows the pool without imposing its options.
 */
export function borrowReusableExecutor(minWorkers?: number): ProcessPoolExecutor {
  const executor = getReusableExecutor({ reuse: true });
  if (minWorkers !== undefined && executor.maxWorkers < minWorkers) executor.resize(minWorkers);
  return executor;
}

// The process-wide singleton, by definition of a shared executor.
let shared: { readonly executor: ProcessPoolExecutor; readonly key: object } | undefined;

/** The options that decide whether an executor can be reused: all but `maxWorkers`, unset ones left out. */
function reuseKey(options: ExecutorOptions): object {
  const { maxWorkers: _size, ...rest } = options;
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
}
