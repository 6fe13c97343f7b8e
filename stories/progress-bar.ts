/**
 * Story: a live progress bar over a CPU-heavy pipeline.
 *
 * 200 items of real CPU work (counting primes by trial division, about 5 to 20 ms each) run on all
 * the CPUs this process may use. parallelMap's `progress` option reports the pipeline's counts as
 * they change (at most every 100 ms, and once at the end): queued, running, done, failed, and
 * throughput. A cli-progress bar draws them.
 *
 * In a terminal the bar redraws in place. Where stdout is not a terminal (CI, a pipe, a log file)
 * cli-progress would print nothing at all by default; with `noTTYOutput` it prints the bar as a
 * plain line every `notTTYSchedule` ms instead: a handful of tidy lines, not thousands.
 */
import assert from 'node:assert/strict';
import { SingleBar } from 'cli-progress';
import { from, lastValueFrom, toArray } from 'rxjs';
import { cpuCount, type ParallelMapProgress, ProcessPoolExecutor, parallelMap } from 'rxpool';

/** How many primes there are below `limit`, the slow way: plain CPU work, no I/O. */
const countPrimes = (limit: number): number => {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
};

const limits = Array.from({ length: 200 }, (_, i) => 100_000 + 500 * i);
const workers = cpuCount();
const tty = process.stdout.isTTY === true;
console.log(
  `Counting primes below ${limits.length} limits on ${workers} workers (stdout is ${tty ? '' : 'not '}a TTY).`,
);

const bar = new SingleBar({
  stream: process.stdout, // cli-progress writes to stderr by default
  format: '{bar} {percentage}% | {value}/{total} done | {running} running | {queued} queued | {throughput} items/s',
  barsize: 30,
  hideCursor: tty,
  noTTYOutput: true, // without a terminal: print the bar as a line...
  notTTYSchedule: 400, // ...every 400 ms
  clearOnComplete: !tty, // (without a terminal this just skips a blank line at the end)
});
const payload = (p: ParallelMapProgress) => ({
  running: p.running,
  queued: p.queued,
  throughput: Math.round(p.throughput),
});

// execArgv: [] starts workers without this script's tsx loader: shipped functions arrive compiled.
await using executor = new ProcessPoolExecutor({ maxWorkers: workers, execArgv: [] });
await Promise.all(Array.from({ length: workers }, () => executor.submit(() => null))); // warm workers: the bar times work, not start-up
const reports: ParallelMapProgress[] = [];
bar.start(limits.length, 0, { running: 0, queued: limits.length, throughput: 0 });
const counts = await lastValueFrom(
  from(limits).pipe(
    parallelMap(countPrimes, {
      executor,
      progress: (p) => {
        reports.push(p);
        bar.update(p.done, payload(p));
      },
    }),
    toArray(),
  ),
);
bar.stop();

const last = reports.at(-1);
assert.ok(last, 'progress was reported');
console.log(
  `Done: ${last.done} items in ${(last.elapsed / 1000).toFixed(2)} s, ${Math.round(last.throughput)} items/s, from ${reports.length} progress reports.`,
);
assert.equal(last.finished, true, 'the last report says the stream has ended');
assert.equal(last.done, limits.length);
assert.equal(last.failed, 0);
assert.equal(last.running, 0);
assert.equal(last.queued, 0);
assert.ok(reports.length >= 2, 'reports as it went, then the final one');
assert.ok(
  reports.every((p, i) => i === 0 || p.done >= (reports[i - 1] as ParallelMapProgress).done),
  'done only grows',
);
assert.equal(counts.length, limits.length);
assert.equal(counts[0], 9592, 'there are 9,592 primes below 100,000');
assert.equal(counts.at(-1), countPrimes(limits.at(-1) as number), 'the workers computed what this process computes');
