import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type CpuCountEnvironment,
  computeCpuCount,
  countCpuList,
  cpuCount,
  parseCfsQuota,
  parseCpuMax,
  readAffinity,
  readCgroupCpuLimit,
  readMaxCpuCountEnv,
  readPhysicalCores,
} from '../src/platform/cpu-count.js';
import { scriptArgs } from './support/pool.js';

const T = { timeout: 10_000 };
const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
// The CommonJS build, so that a plain script can require it on Node, Bun and Deno alike.
const modulePath = join(repoRoot, 'dist', 'platform', 'cpu-count.js');

/** Builds a directory tree of `files` (relative path → content) in a temp dir removed after the test. */
function tree(t: TestContext, files: Record<string, string>): string {
  const root = mkdtempSync(join(os.tmpdir(), 'rxpool-cpu-count-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** A Linux machine with 8 logical CPUs, nothing else limiting, reading only the fixture `root`. */
function linux8(root: string, extra: Partial<CpuCountEnvironment> = {}): number {
  return computeCpuCount({
    platform: 'linux',
    logical: 8,
    affinity: 8,
    procRoot: join(root, 'proc'),
    cgroupRoot: join(root, 'cgroup'),
    cpuSysRoot: join(root, 'sys-cpu'),
    env: {},
    ...extra,
  });
}

const ROOT_V2 = { 'proc/self/cgroup': '0::/\n' };

describe('cpuCount on this machine', T, () => {
  test('is an integer >= 1 and at most the logical CPUs', T, () => {
    const count = cpuCount();
    assert.ok(Number.isInteger(count) && count >= 1, `cpuCount() = ${count}`);
    assert.ok(count <= Math.max(os.cpus().length, os.availableParallelism()));
  });

  test('physical cores: an integer >= 1 and at most the logical count', T, () => {
    const physical = cpuCount({ onlyPhysicalCores: true });
    assert.ok(Number.isInteger(physical) && physical >= 1, `physical = ${physical}`);
    assert.ok(physical <= cpuCount());
    assert.equal(cpuCount({ onlyPhysicalCores: true }), physical, 'stable across calls');
  });

  test('on Linux, the real /proc and /sys physical-core count is at most the online CPUs', T, (t) => {
    if (process.platform !== 'linux') return t.skip('Linux only');
    const physical = readPhysicalCores({ procRoot: '/proc', cpuSysRoot: '/sys/devices/system/cpu' });
    if (physical === null) return t.skip('no readable CPU topology here');
    assert.ok(physical >= 1 && physical <= os.cpus().length, `physical = ${physical}`);
  });

  test('RXPOOL_MAX_CPU_COUNT=1 in process.env gives 1', T, (t) => {
    const saved = process.env.RXPOOL_MAX_CPU_COUNT;
    t.after(() => {
      if (saved === undefined) delete process.env.RXPOOL_MAX_CPU_COUNT;
      else process.env.RXPOOL_MAX_CPU_COUNT = saved;
    });
    process.env.RXPOOL_MAX_CPU_COUNT = '1';
    assert.equal(cpuCount(), 1);
    assert.equal(cpuCount({ onlyPhysicalCores: true }), 1);
  });

  test('taskset -c <one cpu> makes a fresh process report 1', { timeout: 30_000 }, (t) => {
    if (process.platform !== 'linux') return t.skip('Linux only');
    try {
      execFileSync('which', ['taskset'], { stdio: 'ignore' });
    } catch {
      return t.skip('taskset not installed');
    }
    // Pin to a CPU we are allowed on (CPU 0 may be outside our own mask).
    const status = readFileSync('/proc/self/status', 'utf8');
    const allowed = /^Cpus_allowed_list:\s*(\d+)/m.exec(status)?.[1];
    assert.ok(allowed !== undefined, 'Cpus_allowed_list in /proc/self/status');
    const env = { ...process.env };
    // Empty rather than deleted: Deno's child_process keeps a variable of this process that the `env`
    // option leaves out (so an RXPOOL_MAX_CPU_COUNT set by another test could leak in). Empty means unset.
    env.RXPOOL_MAX_CPU_COUNT = '';
    const script = join(mkdtempSync(join(os.tmpdir(), 'rxpool-cpu-count-')), 'count.cjs');
    t.after(() => rmSync(dirname(script), { recursive: true, force: true }));
    writeFileSync(
      script,
      `const { cpuCount } = require(${JSON.stringify(modulePath)});\n` +
        'console.log(JSON.stringify([cpuCount(), cpuCount({ onlyPhysicalCores: true })]));\n',
    );
    const run = (prefix: string[]) =>
      JSON.parse(
        execFileSync(prefix[0] ?? process.execPath, [...prefix.slice(1), ...scriptArgs(script)], {
          cwd: repoRoot,
          env,
          encoding: 'utf8',
        }),
      ) as [number, number];

    const unpinned = run([process.execPath]);
    assert.equal(unpinned[0], computeCpuCountForChildEnv(), 'the child computes what we compute without taskset');
    assert.deepEqual(run(['taskset', '-c', allowed, process.execPath]), [1, 1]);
  });
});

/** cpuCount() as a child without RXPOOL_MAX_CPU_COUNT would compute it. */
function computeCpuCountForChildEnv(): number {
  const saved = process.env.RXPOOL_MAX_CPU_COUNT;
  delete process.env.RXPOOL_MAX_CPU_COUNT;
  try {
    return cpuCount();
  } finally {
    if (saved !== undefined) process.env.RXPOOL_MAX_CPU_COUNT = saved;
  }
}

describe('affinity', T, () => {
  test('counts CPU lists', T, () => {
    assert.equal(countCpuList('0-1'), 2);
    assert.equal(countCpuList('0-3,8,10-11\n'), 7);
    assert.equal(countCpuList('5'), 1);
    assert.equal(countCpuList(''), null);
    assert.equal(countCpuList('3-1'), null);
    assert.equal(countCpuList('0-x'), null);
  });

  test('Cpus_allowed_list of a fixture status file limits the count', T, (t) => {
    const root = tree(t, {
      'proc/self/status': 'Name:\tnode\nCpus_allowed:\t0f\nCpus_allowed_list:\t0-1,4\nMems_allowed:\t1\n',
    });
    assert.equal(readAffinity(join(root, 'proc')), 3);
    assert.equal(linux8(root), 3);
    assert.equal(linux8(root, { affinity: 2 }), 3, 'the /proc value wins over the runtime one');
  });

  test('an unreadable or malformed status falls back to the runtime affinity', T, (t) => {
    const missing = tree(t, {});
    assert.equal(readAffinity(join(missing, 'proc')), null);
    assert.equal(linux8(missing, { affinity: 5 }), 5);
    assert.equal(linux8(missing, { affinity: undefined }), 8);
    const malformed = tree(t, { 'proc/self/status': 'Cpus_allowed_list:\tnonsense\n' });
    assert.equal(linux8(malformed, { affinity: 6 }), 6);
  });
});

describe('cgroup v2', T, () => {
  const cases: Array<[string, string, number]> = [
    ['50000 100000 (0.5 CPU)', '50000 100000\n', 1],
    ['150000 100000 (1.5 CPU)', '150000 100000\n', 2],
    ['200000 100000 (2 CPU)', '200000 100000\n', 2],
    ['max 100000', 'max 100000\n', 8],
    ['an empty file', '', 8],
    ['garbage', 'fifty thousand\n', 8],
    ['a quota without a period', '50000\n', 8],
    ['a negative quota', '-1 100000\n', 8],
    ['a zero quota', '0 100000\n', 8],
  ];
  for (const [name, content, expected] of cases) {
    test(`root cpu.max of ${name} gives ${expected} of 8`, T, (t) => {
      const root = tree(t, { ...ROOT_V2, 'cgroup/cpu.max': content });
      assert.equal(linux8(root), expected);
    });
  }

  test('parses cpu.max', T, () => {
    assert.equal(parseCpuMax('50000 100000'), 1);
    assert.equal(parseCpuMax('250000 100000'), 3);
    assert.equal(parseCpuMax('max 100000'), null);
    assert.equal(parseCpuMax(null), null);
  });

  test('no cgroup files at all means no limit', T, (t) => {
    const root = tree(t, ROOT_V2);
    assert.equal(readCgroupCpuLimit(join(root, 'cgroup'), join(root, 'proc')), null);
    assert.equal(linux8(root), 8);
  });

  test("reads the process's own cgroup, not only the root (loky#634)", T, (t) => {
    const root = tree(t, {
      'proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      'cgroup/kubepods/pod1/ctr/cpu.max': '300000 100000\n',
    });
    assert.equal(linux8(root), 3);
  });

  test('a parent with a lower quota than the own cgroup wins', T, (t) => {
    const root = tree(t, {
      'proc/self/cgroup': '0::/a/b/c\n',
      'cgroup/cpu.max': 'max 100000\n',
      'cgroup/a/cpu.max': '150000 100000\n',
      'cgroup/a/b/cpu.max': 'max 100000\n',
      'cgroup/a/b/c/cpu.max': '400000 100000\n',
    });
    assert.equal(linux8(root), 2);
  });

  test('a missing own directory (no cgroup namespace) falls back to the root', T, (t) => {
    const root = tree(t, {
      'proc/self/cgroup': '0::/system.slice/docker-abc.scope\n',
      'cgroup/cpu.max': '100000 100000\n',
    });
    assert.equal(linux8(root), 1);
  });

  test('a path escaping the root is not followed', T, (t) => {
    const root = tree(t, {
      'proc/self/cgroup': '0::/../outside\n',
      'outside/cpu.max': '100000 100000\n',
      'cgroup/cpu.max': '300000 100000\n',
    });
    assert.equal(linux8(root), 3);
  });

  test('hybrid hosts: the unified hierarchy under <root>/unified', T, (t) => {
    const root = tree(t, { 'proc/self/cgroup': '0::/x\n', 'cgroup/unified/x/cpu.max': '200000 100000\n' });
    assert.equal(linux8(root), 2);
  });
});

describe('cgroup v1', T, () => {
  const v1 = (quota: string, period = '100000\n', dir = 'cpu') => ({
    'proc/self/cgroup': '2:cpuacct:/\n1:cpu:/\n0::/\n',
    [`cgroup/${dir}/cpu.cfs_quota_us`]: quota,
    [`cgroup/${dir}/cpu.cfs_period_us`]: period,
  });

  test('quota -1 means no limit', T, (t) => {
    assert.equal(linux8(tree(t, v1('-1\n'))), 8);
  });

  test('200000/100000 gives 2, 50000/100000 gives 1', T, (t) => {
    assert.equal(linux8(tree(t, v1('200000\n'))), 2);
    assert.equal(linux8(tree(t, v1('50000\n'))), 1);
  });

  test('the cpu,cpuacct mount is read too', T, (t) => {
    assert.equal(linux8(tree(t, v1('300000\n', '100000\n', 'cpu,cpuacct'))), 3);
  });

  test('a missing or malformed period means no limit', T, (t) => {
    const root = tree(t, { 'proc/self/cgroup': '1:cpu:/\n', 'cgroup/cpu/cpu.cfs_quota_us': '50000\n' });
    assert.equal(linux8(root), 8);
    assert.equal(parseCfsQuota('50000', 'soon'), null);
    assert.equal(parseCfsQuota('', '100000'), null);
  });

  test("the process's own v1 path and its parents are read", T, (t) => {
    const root = tree(t, {
      'proc/self/cgroup': '4:cpu,cpuacct:/docker/abc\n0::/\n',
      'cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '-1\n',
      'cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
      'cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us': '400000\n',
      'cgroup/cpu,cpuacct/docker/cpu.cfs_period_us': '100000\n',
    });
    assert.equal(linux8(root), 4);
  });

  test('with both v1 and v2 limits the lower one wins', T, (t) => {
    const root = tree(t, { ...v1('300000\n'), 'cgroup/cpu.max': '200000 100000\n' });
    assert.equal(linux8(root), 2);
  });
});

describe('RXPOOL_MAX_CPU_COUNT', T, () => {
  test('lowers the count', T, (t) => {
    assert.equal(linux8(tree(t, {}), { env: { RXPOOL_MAX_CPU_COUNT: '3' } }), 3);
    assert.equal(linux8(tree(t, {}), { env: { RXPOOL_MAX_CPU_COUNT: ' 1 ' } }), 1);
  });

  test('does not raise it', T, (t) => {
    assert.equal(linux8(tree(t, {}), { env: { RXPOOL_MAX_CPU_COUNT: '64' } }), 8);
    const limited = tree(t, { ...ROOT_V2, 'cgroup/cpu.max': '200000 100000\n' });
    assert.equal(linux8(limited, { env: { RXPOOL_MAX_CPU_COUNT: '4' } }), 2);
  });

  test('invalid values are ignored with a warning, empty ones silently', T, (t) => {
    const root = tree(t, {});
    for (const bad of ['0', '-2', '1.5', 'four', '3x']) {
      const warnings: string[] = [];
      const count = linux8(root, { env: { RXPOOL_MAX_CPU_COUNT: bad }, warn: (_, value) => warnings.push(value) });
      assert.equal(count, 8, `value ${JSON.stringify(bad)}`);
      assert.deepEqual(warnings, [bad]);
    }
    const warnings: string[] = [];
    assert.equal(
      readMaxCpuCountEnv({ RXPOOL_MAX_CPU_COUNT: '' }, (m) => warnings.push(m)),
      null,
    );
    assert.equal(
      readMaxCpuCountEnv({}, (m) => warnings.push(m)),
      null,
    );
    assert.deepEqual(warnings, []);
  });

  test('applies on other platforms too', T, () => {
    const count = computeCpuCount({ platform: 'darwin', logical: 8, affinity: 8, env: { RXPOOL_MAX_CPU_COUNT: '2' } });
    assert.equal(count, 2);
  });
});

describe('other platforms', T, () => {
  test('ignore /proc and cgroup files and use the runtime affinity', T, (t) => {
    const root = tree(t, {
      'proc/self/status': 'Cpus_allowed_list:\t0\n',
      ...ROOT_V2,
      'cgroup/cpu.max': '100000 100000\n',
    });
    for (const platform of ['darwin', 'win32'] as const) {
      assert.equal(linux8(root, { platform }), 8, platform);
      assert.equal(linux8(root, { platform, affinity: 6 }), 6, platform);
      assert.equal(linux8(root, { platform, onlyPhysicalCores: true }), 8, `${platform}: no physical count`);
    }
  });

  test('the result is at least 1 even with nonsense inputs', T, () => {
    assert.equal(computeCpuCount({ platform: 'linux', logical: 0 }), 1);
    assert.equal(computeCpuCount({ platform: 'darwin', logical: Number.NaN, affinity: -3 }), 1);
  });
});

describe('onlyPhysicalCores', T, () => {
  const cpuinfo = (cores: Array<[physical: number, core: number]>) =>
    `${cores
      .map(([physical, core], processor) =>
        [
          `processor\t: ${processor}`,
          'model name\t: Test CPU',
          `physical id\t: ${physical}`,
          `core id\t\t: ${core}`,
        ].join('\n'),
      )
      .join('\n\n')}\n\n`;
  // 8 logical CPUs: 2 sockets x 2 cores x 2 hyper-threads.
  const smt = cpuinfo([
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ]);

  test('counts unique (physical id, core id) pairs of /proc/cpuinfo', T, (t) => {
    const root = tree(t, { 'proc/cpuinfo': smt });
    assert.equal(readPhysicalCores({ procRoot: join(root, 'proc') }), 4);
    assert.equal(linux8(root, { onlyPhysicalCores: true }), 4);
    assert.equal(linux8(root), 8, 'logical without the option');
  });

  test('falls back to sysfs topology when cpuinfo has no core id (ARM)', T, (t) => {
    const files: Record<string, string> = { 'proc/cpuinfo': 'processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\n' };
    for (let cpu = 0; cpu < 8; cpu++) {
      files[`sys-cpu/cpu${cpu}/topology/core_id`] = `${cpu % 3}\n`;
      files[`sys-cpu/cpu${cpu}/topology/physical_package_id`] = '0\n';
    }
    files['sys-cpu/cpu7/online'] = '0\n'; // offline: not counted
    files['sys-cpu/cpufreq/ignored'] = '';
    const root = tree(t, files);
    assert.equal(linux8(root, { onlyPhysicalCores: true }), 3);
  });

  test('unreadable topology falls back to the logical count', T, (t) => {
    const root = tree(t, {});
    assert.equal(readPhysicalCores({ procRoot: join(root, 'proc'), cpuSysRoot: join(root, 'sys-cpu') }), null);
    assert.equal(linux8(root, { onlyPhysicalCores: true }), 8);
    assert.equal(linux8(root, { onlyPhysicalCores: true, physicalCores: () => 0 }), 8);
  });

  test('a limit below the logical count is returned as it is, without counting cores', T, (t) => {
    const root = tree(t, { 'proc/cpuinfo': smt, ...ROOT_V2, 'cgroup/cpu.max': '600000 100000\n' });
    let asked = false;
    const physicalCores = () => {
      asked = true;
      return 4;
    };
    assert.equal(linux8(root, { onlyPhysicalCores: true, physicalCores }), 6);
    assert.equal(asked, false);
    const unlimited = tree(t, { 'proc/cpuinfo': smt });
    assert.equal(linux8(unlimited, { onlyPhysicalCores: true, env: { RXPOOL_MAX_CPU_COUNT: '7' } }), 7);
  });

  test('never exceeds the limits, even if the logical count passed in is already restricted', T, () => {
    // e.g. logical = os.availableParallelism() under taskset: the physical count must still be capped.
    assert.equal(
      computeCpuCount({ platform: 'linux', logical: 1, onlyPhysicalCores: true, physicalCores: () => 2 }),
      1,
    );
  });
});
