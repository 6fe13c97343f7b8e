type Pidusage = typeof import('pidusage');

/** Loaded at the first sample, after a pool's first task: importing rxpool need not pay for it. */
let pidusage: Pidusage | undefined;

/**
 * Reads the resident memory of worker processes from outside with pidusage (`/proc` on Linux, `ps`
 * elsewhere), so it sees native allocations and buffers that a worker's own `heapUsed` misses. A
 * pid that vanished meanwhile is simply left out.
 *
 * pidusage's first call spawns `getconf` twice (page size, clock ticks): tens of milliseconds of
 * this thread. The scheduler therefore samples a turn of the event loop after the task that
 * prompted it has delivered its result, never in its way.
 */
export async function sampleMemory(pids: readonly number[]): Promise<Map<number, number>> {
  const rss = new Map<number, number>();
  if (pids.length === 0) return rss;
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
