import pidusage from 'pidusage';

/**
 * Reads the resident memory of worker processes from outside (pidusage: /proc on Linux, `ps`
 * elsewhere), so it sees native allocations and buffers that a worker's own `heapUsed` misses.
 * A pid that vanished meanwhile is simply left out.
 */
export async function sampleMemory(pids: readonly number[]): Promise<Map<number, number>> {
  const rss = new Map<number, number>();
  if (pids.length === 0) return rss;
  try {
    const stats = await pidusage([...pids]);
    for (const [pid, stat] of Object.entries(stats)) if (stat) rss.set(Number(pid), stat.memory);
  } catch {
    // One exited process fails the whole batch: ask for each alone.
    await Promise.all(
      pids.map(async (pid) => {
        try {
          rss.set(pid, (await pidusage(pid)).memory);
        } catch {
          // gone
        }
      }),
    );
  }
  return rss;
}
