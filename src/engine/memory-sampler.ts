import { readFile } from 'node:fs/promises';

type Pidusage = typeof import('pidusage');

/** Loaded at the first sample where `/proc` is missing: importing rxpool need not pay for it. */
let pidusage: Pidusage | undefined;

/** Linux (and WSL) have `/proc/<pid>/status`; elsewhere pidusage asks `ps` or `wmic`. */
const HAS_PROC_STATUS = process.platform === 'linux';

/**
 * Reads the resident memory of worker processes from outside, so it sees native allocations and
 * buffers that a worker's own `heapUsed` misses. A pid that vanished meanwhile is simply left out,
 * and so is one that holds no memory: a zombie (a worker that has exited, not yet reaped) has no
 * resident pages, and a sample races a worker's exit whenever a pool shuts down right after a task
 * (on Bun, whose workers exit fastest, most times).
 *
 * On Linux it reads `VmRSS` from `/proc/<pid>/status` itself. pidusage reads the same counter, but
 * its first call spawns `getconf` twice (page size, clock ticks): two forks of the parent, tens of
 * milliseconds that, at a pool's start, delayed the second worker's first result by 25–70 ms.
 */
export async function sampleMemory(pids: readonly number[]): Promise<Map<number, number>> {
  const rss = new Map<number, number>();
  if (pids.length === 0) return rss;
  if (HAS_PROC_STATUS) {
    const read = await Promise.all(pids.map(procRss));
    pids.forEach((pid, i) => {
      const bytes = read[i];
      if (bytes !== undefined && bytes > 0) rss.set(pid, bytes);
    });
    return rss;
  }
  pidusage ??= require('pidusage') as Pidusage;
  const usage = pidusage;
  try {
    const stats = await usage([...pids]);
    for (const [pid, stat] of Object.entries(stats)) if (stat && stat.memory > 0) rss.set(Number(pid), stat.memory);
  } catch {
    // One exited process fails the whole batch: ask for each alone.
    await Promise.all(
      pids.map(async (pid) => {
        try {
          const { memory } = await usage(pid);
          if (memory > 0) rss.set(pid, memory);
        } catch {
          // gone
        }
      }),
    );
  }
  return rss;
}

/** `VmRSS` in bytes; undefined for a process that is gone, or a zombie (its status has no VmRSS line). */
async function procRss(pid: number): Promise<number | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s*(\d+)\s*kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}
