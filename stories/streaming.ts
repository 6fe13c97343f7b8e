/**
 * Story: workers that stream.
 *
 * 1. A shipped async generator streams its values back as it yields them. Through `parallelMap`,
 *    each value comes out as soon as it may: with `ordered` (the default) an item's values stay
 *    together and items keep their source order, like `concatMap` with an inner stream; unordered,
 *    values of different items interleave as they come, like `mergeMap`.
 * 2. `executor.stream(fn, ...args)` is one task's stream, as an Observable. `take(5)` on an endless
 *    generator stops it in the worker: its `finally` block runs there, and says so with
 *    `reportProgress`, which the parent sees on `executor.events$` as a `task-progress` event.
 * 3. `reportProgress(value)` from inside any task shows on its Future's `progress$`.
 */
import assert from 'node:assert/strict';
import { filter, firstValueFrom, from, lastValueFrom, take, tap, toArray } from 'rxjs';
import { ProcessPoolExecutor, parallelMap, reportProgress, type TaskProgressEvent } from 'rxpool';

// execArgv: [] starts workers without this script's tsx loader: shipped functions arrive compiled.
await using executor = new ProcessPoolExecutor({ maxWorkers: 3, execArgv: [] });
await Promise.all([1, 2, 3].map(() => executor.submit(() => null))); // three warm workers

/** Yields n values, `<n>.0`, `<n>.1`...; bigger n yield faster (every 30, 70, 110 ms), so later items run ahead. */
async function* countdown(n: number) {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 30 + 40 * (3 - n)));
    yield `${n}.${i}`;
  }
}

console.log('1. from([1, 2, 3]).pipe(parallelMap(countdown, { ordered })), three workers at once');
for (const ordered of [true, false]) {
  const start = performance.now();
  const timeline: string[] = [];
  const values = await lastValueFrom(
    from([1, 2, 3]).pipe(
      parallelMap(countdown, { executor, ordered }),
      tap((value) => timeline.push(`${value} @${Math.round(performance.now() - start)}ms`)),
      toArray(),
    ),
  );
  console.log(`   ordered: ${String(ordered).padEnd(5)} → ${timeline.join(', ')}`);
  if (ordered) {
    assert.deepEqual(
      values,
      ['1.0', '2.0', '2.1', '3.0', '3.1', '3.2'],
      "each item's values together, in source order",
    );
  } else {
    // Item 3 yields at 30, 60, 90 ms; item 2 at 70, 140 ms; item 1 once, at 110 ms: as they come, the
    // items interleave (how exactly depends on the machine's load). Each item's own order always holds.
    for (const n of ['1', '2', '3']) {
      const own = values.filter((value) => value.startsWith(`${n}.`));
      assert.deepEqual(own, [...own].sort(), `item ${n}'s values in the order it yielded them`);
    }
    assert.deepEqual([...values].sort(), ['1.0', '2.0', '2.1', '3.0', '3.1', '3.2'], 'every value, once');
  }
}

console.log('\n2. executor.stream(endless generator).pipe(take(5))');
const finallyRan = firstValueFrom(
  executor.events$.pipe(
    filter((event): event is TaskProgressEvent => event.type === 'task-progress' && event.value === 'finally ran'),
  ),
);
const ticks = await lastValueFrom(
  executor
    .stream(async function* (every: number) {
      try {
        for (let i = 0; ; i++) {
          yield i;
          await new Promise((resolve) => setTimeout(resolve, every));
        }
      } finally {
        reportProgress('finally ran'); // rxpool's export; in workers, a global
      }
    }, 10)
    .pipe(take(5), toArray()),
);
console.log(`   got ${ticks.join(', ')}; take(5) unsubscribed, and the generator was returned in its worker:`);
const event = await finallyRan;
console.log(`   events$: task-progress from task ${event.taskId} on worker pid ${event.pid}: '${event.value}'`);
assert.deepEqual(ticks, [0, 1, 2, 3, 4]);

console.log('\n3. reportProgress from inside a task, on its Future’s progress$');
const future = executor.submit(async (files: number) => {
  for (let done = 1; done <= files; done++) {
    await new Promise((resolve) => setTimeout(resolve, 20)); // "process a file"
    reportProgress({ done, of: files });
  }
  return `${files} files processed`;
}, 4);
const reports: unknown[] = [];
future.progress$.subscribe((report) => {
  reports.push(report);
  console.log(`   progress$: ${JSON.stringify(report)}`);
});
const result = await future;
console.log(`   result: ${result}`);
assert.equal(result, '4 files processed');
assert.deepEqual(
  reports,
  [1, 2, 3, 4].map((done) => ({ done, of: 4 })),
);
