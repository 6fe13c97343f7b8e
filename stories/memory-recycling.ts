/**
 * Story: a leaking task, and the pool that shrugs it off.
 *
 * The parent samples each worker's resident memory from outside (pidusage), at most once a second.
 * A worker that grows by more than `memoryGrowthLimit` since its first task is retired between
 * tasks and replaced; every result is intact.
 */
import assert from 'node:assert/strict';
import { ProcessPoolExecutor } from 'rxpool';

const MB = 1024 * 1024;
await using executor = new ProcessPoolExecutor({ maxWorkers: 1, memoryGrowthLimit: 120 * MB });
executor.events$.subscribe((event) => {
  if (event.type === 'memory') console.log(`  pid ${event.pid} uses ${(event.rss / MB).toFixed(0)} MB`);
  if (event.type === 'recycle') console.log(`  pid ${event.pid} will be recycled: ${event.reason}`);
  if (event.type === 'exit') console.log(`  pid ${event.pid} exited (${event.reason})`);
  if (event.type === 'spawned') console.log(`  pid ${event.pid} spawned`);
});

// Each call keeps 30 MB in a global: a leak.
const leaky = async (i: number) => {
  const state = globalThis as { kept?: Buffer[] };
  state.kept ??= [];
  state.kept.push(Buffer.alloc(30 * 1024 * 1024, 1));
  await new Promise((resolve) => setTimeout(resolve, 150));
  return { i, pid: process.pid };
};

const results = [];
for (let i = 0; i < 16; i++) results.push(await executor.submit(leaky, i));
const pids = new Set(results.map((r) => r.pid));
console.log(`16 results, in order, from ${pids.size} processes.`);
assert.deepEqual(
  results.map((r) => r.i),
  Array.from({ length: 16 }, (_, i) => i),
);
assert.ok(pids.size >= 2, 'the leaking worker was replaced');
