import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

type Pidusage = typeof import('pidusage');

/** Loaded at the first sample where /proc is missing: importing rxpool need not pay for it. */
let pidusage: Pidusage | undefined;
/** Whether /proc/<pid>/status can be read (Linux with /proc mounted); decided at the first sample. */
let procfs: boolean | undefined;

/**
 * Reads the resident memory of worker processes from outside, so it sees native allocations and
 * buffers that a worker's own `heapUsed` misses. A pid that vanished meanwhile is simply left out.
 *
 * Linux: VmRSS from /proc/<pid>/status, a small file read per worker. Elsewhere, pidusage (`ps`);
 * its first call also spawns `getconf` twice, 20–30 ms of the main thread right when the first task
 * ends, which is why Linux does without it.
 */
export async function sampleMemory(pids: readonly number[]): Promise<Map<number, number>> {
  procfs ??= process.platform === 'linux' && existsSync('/proc/self/status');
  if (pids.length === 0) return new Map();
  return procfs ? fromProcfs(pids) : fromPidusage(pids);
}

async function fromProcfs(pids: readonly number[]): Promise<Map<number, number>> {
  const rss = new Map<number, number>();
  await Promise.all(
    pids.map(async (pid) => {
      try {
        // A zombie has a status file but no VmRSS line: gone, like a vanished pid.
        const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
        if (match) rss.set(pid, Number(match[1]) * 1024);
      } catch {
        // gone
      }
    }),
  );
  return rss;
}

async function fromPidusage(pids: readonly number[]): Promise<Map<number, number>> {
  const rss = new Map<number, number>();
  pidusage ??= require('pidusage') as Pidusage;
  const usage = pidusage;
  try {
    const stats = await usage([...pids]);
    for (const [pid, stat] of Object.entries(stats)) if (stat) rss.set(Number(pid), stat.memory);
  } catch {
    // One exited process fails the whole batch: ask for each alone.
    await Promise.all(
      pids.map(async (pid) => {
        try {
          rss.set(pid, (await usage(pid)).memory);
        } catch {
          // gone
        }
      }),
    );
  }
  return rss;
}
