type Pidusage = typeof import('pidusage');

/** Loaded at the first sample, after a pool's first task: importing rxpool need not pay for it. */
let pidusage: Pidusage | undefined;

/**
 * Reads the resident memory of worker processes from outside with pidusage (`/proc` on Linux, `ps`
 * elsewhere), so it sees native allocations and buffers that a worker's own `heapUsed` misses. A
 * pid that vanished meanwhile is simply left out, and so is one that reads 0 bytes: a zombie (a
 * worker that has exited, not yet reaped) has no resident pages, and a sample races a worker's exit
 * whenever a pool shuts down right after a task (on Bun, whose workers exit fastest, most times).
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
