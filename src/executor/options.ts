import { cpuCount } from '../platform/cpu-count.js';
import type { Class, SerializerRegistration } from '../shipping/serializers.js';

/** How to build a {@link ProcessPoolExecutor}. Every option is optional. */
export interface ExecutorOptions {
  /** The most worker processes alive at once. Default: {@link cpuCount}(), the CPUs this process may use. */
  readonly maxWorkers?: number;
  /**
   * Workers started with the executor (forked in its constructor, so they boot while the program
   * goes on) and kept alive while it runs, even idle: `idleTimeout` and
   * shrinking never take the pool below it (nor above `maxWorkers`), and one that exits is
   * replaced. A warm pool answers its first task without waiting for a process to boot. Default: 0,
   * workers start when tasks need them.
   */
  readonly minWorkers?: number;
  /**
   * Node.js flags for worker processes. Default: this process's own flags (so loaders such as
   * `--import tsx` and limits such as `--max-old-space-size` carry over), minus those that make no
   * sense in a worker: `--inspect*`, `--test*`, `--watch*`, `-e`/`-p`, profilers.
   */
  readonly execArgv?: readonly string[];
  /** Environment variables set in workers on top of `process.env`; `undefined` removes one. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Working directory of worker processes. Default: `process.cwd()` at spawn time. */
  readonly cwd?: string;
  /**
   * A function run once in each worker before its first task (load a model, open a file...): it
   * travels by source like a task. If it throws, the tasks sent to that worker fail with
   * InitializerError; if no worker ever initializes, the executor breaks instead of respawning.
   */
  // biome-ignore lint/suspicious/noExplicitAny: any function, its arguments come from initArgs
  readonly initializer?: (...args: any[]) => unknown;
  /** Arguments for `initializer`. */
  readonly initArgs?: readonly unknown[];
  /** A worker without a task for this many milliseconds exits; the next task spawns one again. Default: never. */
  readonly idleTimeout?: number;
  /** A worker retires after this many tasks and is replaced. Default: never. */
  readonly maxTasksPerWorker?: number;
  /** A worker whose resident memory exceeds this many bytes after a task is retired and replaced. */
  readonly memoryLimit?: number;
  /**
   * Leak detection: a worker whose resident memory grew by more than this many bytes since its
   * first task is retired and replaced. Default: 300 MB (as loky). `Infinity` turns it off.
   */
  readonly memoryGrowthLimit?: number;
  /** The most tasks that may wait for a worker; `submit()` beyond it throws QueueFullError. Default: no bound. */
  readonly maxQueue?: number;
  /**
   * Names that exist in workers although Node does not define them: globals that your `initializer`
   * or a preloaded module (`execArgv: ['--import', './setup.js']`) installs. Shipped functions may
   * use them: the check that refuses functions using variables they do not have accepts these.
   */
  readonly globals?: readonly string[];
  /**
   * Custom serializers for this executor's tasks, on top of those of `registerSerializer` (these win
   * for the same class): `[{ type: Point, serialize, deserialize }]`, or a class alone when it
   * implements `[serializeSymbol]()` and `static [deserializeSymbol](data)`.
   */
  readonly serializers?: readonly (Class | SerializerRegistration)[];
}

/** Options after validation, with defaults filled in. */
export interface ResolvedOptions {
  readonly maxWorkers: number;
  readonly minWorkers: number;
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string | undefined;
  readonly initializer: ((...args: unknown[]) => unknown) | undefined;
  readonly initArgs: readonly unknown[];
  readonly idleTimeout: number | undefined;
  readonly maxTasksPerWorker: number | undefined;
  readonly memoryLimit: number | undefined;
  readonly memoryGrowthLimit: number | undefined;
  readonly maxQueue: number | undefined;
  readonly globals: readonly string[];
  readonly serializers: readonly (Class | SerializerRegistration)[];
}

/** loky's `_MAX_MEMORY_LEAK_SIZE`. */
const DEFAULT_MEMORY_GROWTH_LIMIT = 300e6;

/** Checks every option with a precise message, so a mistake fails at construction, not in a worker. */
export function resolveOptions(options: ExecutorOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const { maxWorkers = cpuCount(), execArgv, env = {}, cwd, initializer, initArgs = [] } = options;
  if (initializer !== undefined && typeof initializer !== 'function') {
    throw new TypeError(`initializer must be a function, got ${typeof initializer}`);
  }
  const growth = options.memoryGrowthLimit ?? DEFAULT_MEMORY_GROWTH_LIMIT;
  const max = checkMaxWorkers(maxWorkers);
  const minWorkers = checkCount('minWorkers', options.minWorkers, 0) ?? 0;
  if (minWorkers > max) {
    throw new RangeError(`minWorkers (${minWorkers}) must not exceed maxWorkers (${max})`);
  }
  return {
    maxWorkers: max,
    minWorkers,
    execArgv: execArgv === undefined ? inheritedExecArgv(process.execArgv) : checkStrings('execArgv', execArgv),
    env: checkEnv(env),
    cwd: cwd === undefined ? undefined : checkString('cwd', cwd),
    initializer,
    initArgs: Array.isArray(initArgs) ? [...initArgs] : throwType('initArgs must be an array'),
    idleTimeout: checkPositive('idleTimeout', options.idleTimeout),
    maxTasksPerWorker: checkCount('maxTasksPerWorker', options.maxTasksPerWorker),
    memoryLimit: checkPositive('memoryLimit', options.memoryLimit),
    memoryGrowthLimit: growth === Number.POSITIVE_INFINITY ? undefined : checkPositive('memoryGrowthLimit', growth),
    maxQueue: checkCount('maxQueue', options.maxQueue, 0),
    globals: options.globals === undefined ? [] : checkStrings('globals', options.globals),
    serializers: options.serializers === undefined ? [] : checkArray('serializers', options.serializers),
  };
}

function throwType(message: string): never {
  throw new TypeError(message);
}

/** A finite number > 0, or undefined. */
export function checkPositive(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a positive finite number, got ${String(value)}`);
  }
  return value;
}

/** An integer >= `min`, or undefined. */
function checkCount(name: string, value: unknown, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer of at least ${min}, got ${String(value)}`);
  }
  return value;
}

export function checkMaxWorkers(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`maxWorkers must be an integer greater than 0, got ${String(value)}`);
  }
  return value;
}

export function checkTimeout(value: unknown): number | undefined {
  return checkPositive('timeout', value);
}

/** Flags (and the values that follow them) that a worker must not inherit. */
const NOT_FOR_WORKERS = /^(--inspect|--debug|--test|--watch|--experimental-test|--cpu-prof|--heap-prof|--prof)/;
/** Dropped with exactly one value, which may start with a dash (`-e "-1"`). */
const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
const STANDALONE = new Set(['-i', '--interactive', '-c', '--check', '-']);

/** This process's flags, minus the ones that would break or confuse a worker. */
export function inheritedExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] as string;
    if (WITH_VALUE.has(flag)) {
      i++;
      continue;
    }
    if (STANDALONE.has(flag) || /^-[ep]./.test(flag)) continue;
    if (NOT_FOR_WORKERS.test(flag)) {
      // Its value, if given apart (`--cpu-prof-dir out`), goes with it: only flags and their values
      // are in execArgv, so whatever does not start with a dash is a value.
      while (i + 1 < execArgv.length && !(execArgv[i + 1] as string).startsWith('-')) i++;
      continue;
    }
    kept.push(flag);
  }
  return kept;
}

function checkStrings(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TypeError(`${name} must be an array of strings`);
  }
  return [...value];
}

function checkArray<T>(name: string, value: readonly T[]): readonly T[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array`);
  return [...value];
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

function checkEnv(value: unknown): Record<string, string | undefined> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError('env must be an object of strings');
  }
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined && typeof item !== 'string') {
      throw new TypeError(`env.${key} must be a string or undefined, got ${typeof item}`);
    }
  }
  return { ...(value as Record<string, string | undefined>) };
}
