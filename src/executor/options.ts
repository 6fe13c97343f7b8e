import { cpuCount } from '../platform/cpu-count.js';

/** How to build a {@link ProcessPoolExecutor}. Every option is optional. */
export interface ExecutorOptions {
  /** The most worker processes alive at once. Default: {@link cpuCount}(), the CPUs this process may use. */
  readonly maxWorkers?: number;
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
}

/** Options after validation, with defaults filled in. */
export interface ResolvedOptions {
  readonly maxWorkers: number;
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string | undefined;
}

/** Checks every option with a precise message, so a mistake fails at construction, not in a worker. */
export function resolveOptions(options: ExecutorOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const { maxWorkers = cpuCount(), execArgv, env = {}, cwd } = options;
  return {
    maxWorkers: checkMaxWorkers(maxWorkers),
    execArgv: execArgv === undefined ? inheritedExecArgv(process.execArgv) : checkStrings('execArgv', execArgv),
    env: checkEnv(env),
    cwd: cwd === undefined ? undefined : checkString('cwd', cwd),
  };
}

export function checkMaxWorkers(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`maxWorkers must be an integer greater than 0, got ${String(value)}`);
  }
  return value;
}

export function checkTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`timeout must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

/** Flags (and the values that follow them) that a worker must not inherit. */
const NOT_FOR_WORKERS = /^(--inspect|--debug|--test|--watch|--experimental-test|--cpu-prof|--heap-prof|--prof)/;
const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '--input-type', '--inspect-port', '--debug-port']);
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
    if (STANDALONE.has(flag) || NOT_FOR_WORKERS.test(flag) || /^-[ep]./.test(flag)) continue;
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
