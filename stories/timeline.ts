/**
 * Story: a timeline you can look at, with a crash in it.
 *
 * Twelve items of CPU work (busy loops of 120 to 320 ms) go through `parallelMap` on three workers. Item 7 kills its own worker
 * (SIGKILL) the first time it runs; with `retries: 1` it runs again on a live worker and the
 * pipeline completes with every result. Workers also retire after 4 tasks (`maxTasksPerWorker`).
 *
 * `executor.events$` is collected twice: `traceEvents()` folds it into a Trace Event Format file
 * (open it in https://ui.perfetto.dev or chrome://tracing: one track per worker, a slice per task,
 * markers for spawn, ready and exit, `exit: crashed (SIGKILL)` among them), and `renderTimelineSvg`
 * draws the same timeline as a standalone SVG picture. Each task reports its item with
 * `reportProgress`, so both views name the bars `item 0`, `item 1`... Both are written to a temporary directory; with `RXPOOL_WRITE_DOCS=1`
 * they go to docs/timeline.json and docs/timeline.svg, the picture the README shows.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom, toArray } from 'rxjs';
import {
  type ParallelMapProgress,
  ProcessPoolExecutor,
  parallelMap,
  renderTimelineSvg,
  reportProgress,
  traceEvents,
  type WorkerEvent,
} from 'rxpool';

const writeDocs = process.env.RXPOOL_WRITE_DOCS === '1';
const outDir = writeDocs
  ? fileURLToPath(new URL('../docs/', import.meta.url))
  : mkdtempSync(join(tmpdir(), 'rxpool-timeline-'));
mkdirSync(outDir, { recursive: true });
// The marker that makes item 7 crash only once lives in a scratch directory of its own.
const scratch = mkdtempSync(join(tmpdir(), 'rxpool-crash-once-'));

interface Item {
  readonly id: number;
  /** Milliseconds of busy CPU work. */
  readonly ms: number;
  /** A file path: crash (SIGKILL) unless it exists, and create it first. */
  readonly crashOnce?: string;
}
const items: Item[] = Array.from({ length: 12 }, (_, id) => ({
  id,
  ms: 120 + ((id * 37) % 5) * 50, // 120 to 320 ms
  ...(id === 7 ? { crashOnce: join(scratch, 'item-7-crashed') } : {}),
}));

const work = async (item: Item) => {
  reportProgress(item.id); // tells the timeline which item this task is
  if (item.crashOnce) {
    const fs = require('node:fs') as typeof import('node:fs');
    if (!fs.existsSync(item.crashOnce)) {
      fs.writeFileSync(item.crashOnce, '');
      await new Promise((resolve) => setTimeout(resolve, item.ms / 2)); // half the work, then...
      process.kill(process.pid, 'SIGKILL');
    }
  }
  const end = Date.now() + item.ms;
  while (Date.now() < end); // busy: real CPU time
  return item.id;
};

// execArgv: [] starts workers without this script's tsx loader: shipped functions arrive compiled.
const executor = new ProcessPoolExecutor({ maxWorkers: 3, maxTasksPerWorker: 4, execArgv: [] });
// Each task reports its item first thing (task-progress): name the timeline's bars after them.
const itemOf = new Map<number, unknown>();
executor.events$.subscribe((event) => {
  if (event.type === 'task-progress') itemOf.set(event.taskId, event.value);
});
const taskName = (taskId: number) => (itemOf.has(taskId) ? `item ${itemOf.get(taskId)}` : undefined);
// Both complete when the executor has shut down and its last worker has exited.
const trace = lastValueFrom(executor.events$.pipe(traceEvents({ taskName, processName: 'rxpool story: timeline' })));
const events = lastValueFrom(executor.events$.pipe(toArray()));

console.log(`${items.length} items on 3 workers; item 7 crashes its worker once; retries: 1.`);
let progress: ParallelMapProgress | undefined;
const results = await lastValueFrom(
  from(items).pipe(parallelMap(work, { executor, retries: 1, progress: (p) => (progress = p) }), toArray()),
);
await executor.shutdown();
rmSync(scratch, { recursive: true, force: true });

console.log(`All ${results.length} results, in order; ${progress?.retried} task retried after its worker died.`);
assert.deepEqual(
  results,
  items.map((item) => item.id),
);
assert.equal(progress?.retried, 1);

const seen: WorkerEvent[] = await events;
const crash = seen.find((event) => event.type === 'exit' && event.reason === 'crashed');
assert.ok(crash?.type === 'exit', 'a worker crashed');
console.log(`Worker ${crash.workerId} (pid ${crash.pid}) crashed: signal ${crash.signal}.`);
assert.equal(crash.signal, 'SIGKILL');
const recycled = seen.filter((event) => event.type === 'recycle').length;
console.log(`${recycled} worker(s) retired after 4 tasks.`);
// 13 tasks, at most 4 per worker: without a recycle, 3 workers and 1 replacement could run only 12.
assert.ok(recycled >= 1);

const file = await trace;
const jsonPath = join(outDir, 'timeline.json');
writeFileSync(jsonPath, `${JSON.stringify(file)}\n`);
console.log(
  `\nTrace: ${file.metadata.workers} workers, ${file.metadata.tasks} task slices (${file.metadata.failedTasks} failed), ${file.traceEvents.length} trace events.`,
);
console.log(`  written to ${jsonPath}: open it in https://ui.perfetto.dev or chrome://tracing`);
assert.equal(file.metadata.tasks, items.length + 1, 'every item, plus the attempt that crashed');
assert.equal(file.metadata.failedTasks, 1);
const threads = file.traceEvents.filter((event) => event.name === 'thread_name');
assert.equal(threads.length, file.metadata.workers, 'one track per worker');
assert.ok(
  file.traceEvents.some((event) => event.ph === 'i' && event.name.startsWith('exit: crashed')),
  'a crash marker',
);

const svg = renderTimelineSvg(seen, {
  title: `${items.length} items on 3 workers: item 7 crashes its worker and is retried`,
  width: 960,
  taskName,
});
const svgPath = join(outDir, 'timeline.svg');
writeFileSync(svgPath, svg);
console.log(`SVG: ${(svg.length / 1024).toFixed(1)} KB, written to ${svgPath}`);
assert.match(svg, /^<svg /);
assert.match(svg, /crashed \(SIGKILL\)/);
assert.ok(existsSync(svgPath));
if (!writeDocs) console.log('(RXPOOL_WRITE_DOCS=1 writes them to docs/ instead.)');
