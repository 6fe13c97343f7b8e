import { readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';

/**
 * How many CPUs this process may really use: the default of the executor's `maxWorkers`.
 *
 * Platform differences live in this module only:
 *
 * - **Linux** reads, besides `os.cpus()` (the machine's online logical CPUs):
 *   - the affinity mask, from `Cpus_allowed_list` in `/proc/self/status` (what `taskset` / `sched_setaffinity` and
 *     cpuset cgroups set). When that file cannot be read, `os.availableParallelism()` stands in for it: libuv
 *     implements it on Linux as `sched_getaffinity()` (falling back to the online count), and libuv >= 1.49 (newer
 *     Node 22+ releases; Node 20 bundles 1.46) also lowers it to the cgroup quota rounded *down*. That is why the
 *     `/proc` value is preferred: a quota of 1.5 CPU gives 2 here, as in loky.
 *   - the cgroup CPU quota, rounded up. Cgroup v2: `cpu.max` in the process's own cgroup (the `0::/path` line of
 *     `/proc/self/cgroup`) under `/sys/fs/cgroup` or `/sys/fs/cgroup/unified` (hybrid hosts), and in every parent
 *     up to the root, taking the least (loky reads only the root: loky#634). Cgroup v1: `cpu.cfs_quota_us` /
 *     `cpu.cfs_period_us` under `/sys/fs/cgroup/{cpu,cpu\,cpuacct,cpuacct\,cpu}`, from the process's own `cpu`
 *     path up to the root. When the own directory does not exist (a container without a cgroup namespace sees the
 *     host path but has its own cgroup mounted as the root) the walk reaches the root, which is the container's.
 *     A missing, empty or malformed file, `max`, or a quota <= 0 means "no limit". Mount points are assumed to be
 *     the usual ones (`/proc/self/mountinfo` is not parsed).
 *   - for `onlyPhysicalCores`, the unique (physical id, core id) pairs of `/proc/cpuinfo`, else the unique
 *     (`physical_package_id`, `core_id`) pairs of `/sys/devices/system/cpu/cpu<N>/topology`.
 * - **macOS, Windows and others** use the logical count and `os.availableParallelism()` (the active CPU count on
 *   macOS; on Windows the processor count, or the process affinity mask in newer libuv) plus the environment
 *   override. Job-object CPU rate limits on Windows are not read. Physical cores are not read there either, so
 *   `onlyPhysicalCores` returns the same as without it.
 *
 * `RXPOOL_MAX_CPU_COUNT`, an integer >= 1, can only lower the result. An empty value counts as unset; any other
 * invalid value is ignored with one `process.emitWarning` (code `RXPOOL_INVALID_MAX_CPU_COUNT`) per distinct value
 * per process, since silently ignoring a setting the user made on purpose would hide their mistake.
 *
 * When the physical cores cannot be read, `onlyPhysicalCores` silently falls back to the logical count (no
 * warning: it is a best-effort hint, and unreadable topology is normal in sandboxes and on non-Linux systems).
 */

/**
 * Each of `workers` processes' share of the CPUs this process may use, at least 1: what a worker's
 * native thread pools are sized to. cpuCount() is never more than the logical CPUs, so when the
 * workers are more than half of those the share is 1 whatever the limits say, and the files
 * cpuCount() reads (2 ms at its first call, on the way to the first worker's start) are not read.
 */
export function cpuShare(workers: number): number {
  const logical = os.cpus().length;
  if (logical > 0 && 2 * workers > logical) return 1;
  return Math.max(1, Math.floor(cpuCount() / workers));
}

/** Options of cpuCount(). */
export interface CpuCountOptions {
  /**
   * Count physical cores instead of logical CPUs (hyper-threads). Ignored when an affinity mask, cgroup quota or
   * `RXPOOL_MAX_CPU_COUNT` already limits the process below the logical count: that limit is returned as it is.
   */
  readonly onlyPhysicalCores?: boolean;
}

/** The name of the environment variable that can lower cpuCount(). */
export const MAX_CPU_COUNT_ENV = 'RXPOOL_MAX_CPU_COUNT';

/** Where cpuCount() looks on Linux. */
export const LINUX_ROOTS = {
  procRoot: '/proc',
  cgroupRoot: '/sys/fs/cgroup',
  cpuSysRoot: '/sys/devices/system/cpu',
} as const;

/**
 * The number of CPUs this process may really use: the least of the logical CPUs, the CPU affinity mask, the cgroup
 * CPU quota (rounded up: 0.5 CPU counts as 1, 1.5 as 2) and `RXPOOL_MAX_CPU_COUNT`, and at least 1. With
 * `onlyPhysicalCores`, physical cores are counted where they can be read (Linux) unless one of those limits is
 * already below the logical count. What is read on each platform is documented at the top of this module.
 *
 * Cheap enough to call per executor: a few small files are read each time (affinity and quotas can change), the
 * physical-core count is read once per process.
 */
export function cpuCount(options: CpuCountOptions = {}): number {
  const runtimeCount = os.availableParallelism();
  const online = os.cpus().length;
  return computeCpuCount({
    platform: process.platform,
    logical: online > 0 ? online : runtimeCount,
    affinity: runtimeCount,
    ...(process.platform === 'linux' ? LINUX_ROOTS : {}),
    env: process.env,
    onlyPhysicalCores: options.onlyPhysicalCores === true,
    physicalCores: cachedPhysicalCores,
    warn: warnOncePerValue,
  });
}

/** Everything computeCpuCount() looks at; exported for tests. A root left out means "do not read it". */
export interface CpuCountEnvironment {
  /** Only `'linux'` reads `procRoot`, `cgroupRoot` and `cpuSysRoot`. */
  readonly platform: NodeJS.Platform;
  /** The machine's logical CPUs, before any per-process restriction (`os.cpus().length`). */
  readonly logical: number;
  /**
   * The affinity as the runtime reports it (`os.availableParallelism()`): used on Linux only when
   * `<procRoot>/self/status` cannot be read, and as is on other platforms.
   */
  readonly affinity?: number;
  /** Holds `self/status`, `self/cgroup` and `cpuinfo` (normally `/proc`). */
  readonly procRoot?: string;
  /** The cgroup mount root (normally `/sys/fs/cgroup`). */
  readonly cgroupRoot?: string;
  /** Holds `cpu<N>/topology/{core_id,physical_package_id}` (normally `/sys/devices/system/cpu`). */
  readonly cpuSysRoot?: string;
  /** Where `RXPOOL_MAX_CPU_COUNT` is looked up. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly onlyPhysicalCores?: boolean;
  /** Counts physical cores; by default reads `procRoot` / `cpuSysRoot` on Linux, uncached. `null`: unknown. */
  readonly physicalCores?: () => number | null;
  /** Told about an invalid `RXPOOL_MAX_CPU_COUNT`. */
  readonly warn?: (message: string, value: string) => void;
}

/** cpuCount() with every input injectable: the pure core of it, for tests. */
export function computeCpuCount(input: CpuCountEnvironment): number {
  const logical = positiveInteger(input.logical) ?? 1;
  const runtimeAffinity = positiveInteger(input.affinity);
  const linux = input.platform === 'linux';
  const limits = [logical];
  const push = (value: number | null | undefined) => {
    if (value !== null && value !== undefined) limits.push(value);
  };
  if (linux) {
    push((input.procRoot === undefined ? null : readAffinity(input.procRoot)) ?? runtimeAffinity);
    if (input.cgroupRoot !== undefined) push(readCgroupCpuLimit(input.cgroupRoot, input.procRoot));
  } else {
    push(runtimeAffinity);
  }
  push(readMaxCpuCountEnv(input.env ?? {}, input.warn));
  const limit = Math.max(1, Math.min(...limits));
  if (input.onlyPhysicalCores !== true || limit < logical) return limit;

  const countPhysical =
    input.physicalCores ??
    (() => (linux ? readPhysicalCores({ procRoot: input.procRoot, cpuSysRoot: input.cpuSysRoot }) : null));
  const physical = positiveInteger(countPhysical());
  return physical === null ? limit : Math.min(physical, limit);
}

/** `RXPOOL_MAX_CPU_COUNT` as a limit, or null when unset, empty or invalid (then `warn` is told). */
export function readMaxCpuCountEnv(
  env: Readonly<Record<string, string | undefined>>,
  warn?: (message: string, value: string) => void,
): number | null {
  const raw = env[MAX_CPU_COUNT_ENV];
  if (raw === undefined || raw.trim() === '') return null;
  const text = raw.trim();
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (value >= 1) return value;
  warn?.(
    `${MAX_CPU_COUNT_ENV}=${JSON.stringify(raw)} is not an integer >= 1 and is ignored; the CPU count is computed ` +
      'from the affinity mask and cgroup quota only.',
    raw,
  );
  return null;
}

/** The number of CPUs in `Cpus_allowed_list` of `<procRoot>/self/status`, or null when unreadable. */
export function readAffinity(procRoot: string): number | null {
  const status = readText(join(procRoot, 'self', 'status'));
  const line = status?.split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
  return line === undefined ? null : countCpuList(line.slice('Cpus_allowed_list:'.length));
}

/** Counts a kernel CPU list such as `0-3,8,10-11` (→ 7); null when malformed or empty. */
export function countCpuList(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  const cpus = new Set<number>();
  for (const part of trimmed.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) return null;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first || last - first > 65_536) return null;
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return cpus.size;
}

/**
 * The cgroup CPU quota in whole CPUs, rounded up, or null for "no limit": the least over cgroup v2 `cpu.max` and
 * v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, in the process's own cgroup (read from `<procRoot>/self/cgroup`;
 * the root only when that is unknown) and each of its parents up to `cgroupRoot`.
 */
export function readCgroupCpuLimit(cgroupRoot: string, procRoot?: string): number | null {
  const own = procRoot === undefined ? { v2: [], v1: [] } : readOwnCgroups(procRoot);
  let least: number | null = null;
  const consider = (value: number | null) => {
    if (value !== null && (least === null || value < least)) least = value;
  };
  for (const base of [cgroupRoot, join(cgroupRoot, 'unified')]) {
    for (const dir of selfAndAncestors(base, own.v2)) consider(parseCpuMax(readText(join(dir, 'cpu.max'))));
  }
  for (const name of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']) {
    for (const dir of selfAndAncestors(join(cgroupRoot, name), own.v1)) {
      consider(parseCfsQuota(readText(join(dir, 'cpu.cfs_quota_us')), readText(join(dir, 'cpu.cfs_period_us'))));
    }
  }
  return least;
}

/** Cgroup v2 `cpu.max` ("quota period" or "max period") in whole CPUs rounded up; null for "no limit". */
export function parseCpuMax(text: string | null): number | null {
  const match = text === null ? null : /^(\d+)\s+(\d+)$/.exec(text.trim());
  return match ? quotaToCpus(Number(match[1]), Number(match[2])) : null;
}

/** Cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` in whole CPUs rounded up; null for "no limit" (-1). */
export function parseCfsQuota(quota: string | null, period: string | null): number | null {
  if (quota === null || period === null) return null;
  const q = quota.trim();
  const p = period.trim();
  return /^-?\d+$/.test(q) && /^\d+$/.test(p) ? quotaToCpus(Number(q), Number(p)) : null;
}

function quotaToCpus(quota: number, period: number): number | null {
  return quota > 0 && period > 0 && Number.isFinite(quota / period) ? Math.max(1, Math.ceil(quota / period)) : null;
}

/** Path segments of this process's v2 cgroup and of its v1 `cpu` cgroup, from `<procRoot>/self/cgroup`. */
function readOwnCgroups(procRoot: string): { v2: string[]; v1: string[] } {
  const own = { v2: [] as string[], v1: [] as string[] };
  for (const line of readText(join(procRoot, 'self', 'cgroup'))?.split('\n') ?? []) {
    // hierarchy-ID:controller-list:cgroup-path; the path itself may hold colons.
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim();
    if (line.slice(0, first) === '0' && controllers === '') own.v2 = pathSegments(path);
    else if (controllers.split(',').includes('cpu')) own.v1 = pathSegments(path);
  }
  return own;
}

/** `/a/b` → ['a', 'b']; anything that could leave the cgroup root (relative, `..`) → [] (the root only). */
function pathSegments(path: string): string[] {
  if (!path.startsWith('/')) return [];
  const segments = path.split('/').filter((s) => s !== '');
  return segments.some((s) => s === '.' || s === '..') ? [] : segments;
}

/** `base/a/b`, `base/a`, `base`. */
function selfAndAncestors(base: string, segments: readonly string[]): string[] {
  const dirs: string[] = [];
  for (let i = segments.length; i >= 0; i--) dirs.push(join(base, ...segments.slice(0, i)));
  return dirs;
}

/**
 * The machine's physical cores on Linux: unique (physical id, core id) pairs of `<procRoot>/cpuinfo`, else unique
 * (physical_package_id, core_id) pairs under `<cpuSysRoot>/cpu<N>/topology` (online CPUs only); null when neither
 * can be read (e.g. ARM's /proc/cpuinfo has no core id, so sysfs is used there).
 */
export function readPhysicalCores(roots: {
  procRoot?: string | undefined;
  cpuSysRoot?: string | undefined;
}): number | null {
  const fromCpuinfo =
    roots.procRoot === undefined ? null : physicalCoresFromCpuinfo(readText(join(roots.procRoot, 'cpuinfo')));
  if (fromCpuinfo !== null) return fromCpuinfo;
  return roots.cpuSysRoot === undefined ? null : physicalCoresFromSysfs(roots.cpuSysRoot);
}

function physicalCoresFromCpuinfo(text: string | null): number | null {
  if (text === null) return null;
  const cores = new Set<string>();
  for (const block of text.split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    if (!fields.has('processor')) continue;
    const core = fields.get('core id');
    if (core === undefined) return null; // partial information would undercount
    cores.add(`${fields.get('physical id') ?? ''}/${core}`);
  }
  return cores.size > 0 ? cores.size : null;
}

function physicalCoresFromSysfs(cpuSysRoot: string): number | null {
  let entries: string[];
  try {
    entries = readdirSync(cpuSysRoot);
  } catch {
    return null;
  }
  const cores = new Set<string>();
  for (const entry of entries) {
    if (!/^cpu\d+$/.test(entry)) continue;
    if (readText(join(cpuSysRoot, entry, 'online'))?.trim() === '0') continue;
    const core = readText(join(cpuSysRoot, entry, 'topology', 'core_id'))?.trim();
    if (!core) continue; // offline CPUs have no topology
    const pkg = readText(join(cpuSysRoot, entry, 'topology', 'physical_package_id'))?.trim() ?? '';
    cores.add(`${pkg}/${core}`);
  }
  return cores.size > 0 ? cores.size : null;
}

/** The physical-core count cannot change while the process runs: read it once (undefined: not read yet). */
let physicalCoresCache: number | null | undefined;

function cachedPhysicalCores(): number | null {
  if (physicalCoresCache === undefined) {
    physicalCoresCache = process.platform === 'linux' ? readPhysicalCores(LINUX_ROOTS) : null;
  }
  return physicalCoresCache;
}

const warnedValues = new Set<string>();

function warnOncePerValue(message: string, value: string): void {
  if (warnedValues.has(value)) return;
  warnedValues.add(value);
  process.emitWarning(message, { code: 'RXPOOL_INVALID_MAX_CPU_COUNT' });
}

function positiveInteger(value: number | null | undefined): number | null {
  return value !== null && value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
