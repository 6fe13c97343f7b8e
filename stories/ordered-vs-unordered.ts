/**
 * Story: the same pipeline, ordered and unordered.
 *
 * Four items go through `parallelMap` on four workers; each sleeps as long as its value says, so
 * later items finish first. With `ordered: true` (the default) the results come out in source order,
 * like `concatMap`'s output but computed in parallel: nothing can come out before the slow first
 * item is done, then everything that waited behind it comes out at once. With `ordered: false` each
 * result comes out as soon as it is ready, like `mergeMap`: fastest first.
 */
import assert from 'node:assert/strict';
import { from, lastValueFrom, tap, toArray } from 'rxjs';
import { ProcessPoolExecutor, parallelMap } from 'rxpool';

const delays = [300, 100, 200, 0]; // ms each item sleeps in its worker
const sleepy = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms));

await using executor = new ProcessPoolExecutor({ maxWorkers: 4 });
// Four warm workers, so that start-up time does not blur the picture.
await Promise.all(delays.map(() => executor.submit(() => null)));

/** Runs the pipeline and prints when each result arrives. */
async function run(ordered: boolean): Promise<{ values: number[]; times: number[] }> {
  console.log(`\nfrom([${delays.join(', ')}]).pipe(parallelMap(sleepy, { executor, ordered: ${ordered} }))`);
  const start = performance.now();
  const times: number[] = [];
  const values = await lastValueFrom(
    from(delays).pipe(
      parallelMap(sleepy, { executor, ordered }),
      tap((value) => {
        const at = performance.now() - start;
        times.push(at);
        console.log(`  ${String(Math.round(at)).padStart(4)} ms  got ${value} (slept ${value} ms)`);
      }),
      toArray(),
    ),
  );
  console.log(`  arrival order: ${values.join(', ')}`);
  return { values, times };
}

const ordered = await run(true);
assert.deepEqual(ordered.values, delays, 'ordered: source order, although later items finished first');
// Nothing could come out before the 300 ms head-of-line item was done (less a little timer slack).
assert.ok((ordered.times[0] ?? 0) >= 290, 'the first result waited for the slow first item');

const unordered = await run(false);
assert.deepEqual(
  unordered.values,
  [...delays].sort((a, b) => a - b),
  'unordered: fastest first',
);
assert.ok(
  (unordered.times[0] ?? Number.POSITIVE_INFINITY) < (ordered.times[0] ?? 0),
  'unordered: the first result came out sooner',
);

console.log('\nSame work, same workers: `ordered` only decides when each result is let out.');
