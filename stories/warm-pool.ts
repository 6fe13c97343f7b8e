/**
 * Story: a warm pool, booted before the work arrives.
 *
 * By default a worker starts when a task needs one, so the first task waits for a Node process to
 * boot. With `minWorkers`, that many workers start with the executor and stay, even idle: the idle
 * timeout retires only the workers above it.
 */
import assert from 'node:assert/strict';
import { filter, firstValueFrom } from 'rxjs';
import { ProcessPoolExecutor, type ReadyEvent } from 'rxpool';

await using executor = new ProcessPoolExecutor({ maxWorkers: 2, minWorkers: 1, idleTimeout: 300 });
executor.events$.subscribe((event) => {
  if (event.type === 'ready') console.log(`  + worker ${event.workerId} (pid ${event.pid}) ready`);
  if (event.type === 'exit') console.log(`  - worker ${event.workerId} (pid ${event.pid}) exited: ${event.reason}`);
});
// An idle pool never keeps a script alive, so this script holds itself open while it watches.
const hold = setInterval(() => {}, 1000);

console.log('minWorkers: 1. One worker boots with the executor, before any task:');
const warm = await firstValueFrom(executor.events$.pipe(filter((e): e is ReadyEvent => e.type === 'ready')));

const t0 = performance.now();
const pid = await executor.submit(() => process.pid);
console.log(`The first task ran on it, ${(performance.now() - t0).toFixed(1)} ms after submit: no boot to wait for.`);
assert.equal(pid, warm.pid);

console.log('Two slow tasks at once: a second worker starts for the second one.');
const firstExit = firstValueFrom(executor.events$.pipe(filter((e) => e.type === 'exit')));
const slow = () => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), 200));
const pids = await Promise.all([executor.submit(slow), executor.submit(slow)]);
assert.equal(new Set(pids).size, 2);
const bothDone = performance.now();

console.log('Idle for 300 ms: the worker above minWorkers leaves; the other stays.');
const idle = await firstExit;
assert.equal(idle.type === 'exit' && idle.reason, 'idle');
// Three idle timeouts after both tasks ended, its own idle timer has fired too, and spared it.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, bothDone + 900 - performance.now())));
const left = executor.stats().workers;
assert.equal(left.length, 1);
console.log(`Still alive after 3 idle timeouts: pid ${left[0]?.pid}.`);
clearInterval(hold);
