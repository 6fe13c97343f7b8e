/**
 * Story: one pool, resized in place.
 *
 * Asking for the shared executor with another `maxWorkers` resizes it: growing spawns workers as
 * tasks need them; shrinking retires surplus workers as soon as they are idle, never killing a
 * running task. The narration comes from `events$`: pids appear and leave.
 */
import assert from 'node:assert/strict';
import { filter, firstValueFrom } from 'rxjs';
import { getReusableExecutor } from 'rxpool';

const nap = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), ms));
const alive = new Set<number>();

let executor = getReusableExecutor({ maxWorkers: 2 });
executor.events$.subscribe((event) => {
  if (event.type === 'spawned' && event.pid) alive.add(event.pid);
  if (event.type === 'exit' && event.pid) alive.delete(event.pid);
  if (event.type === 'spawned' || event.type === 'exit') {
    const what = event.type === 'exit' ? `left (${event.reason})` : 'joined';
    console.log(`  worker ${event.workerId} · pid ${event.pid} ${what} → ${alive.size} alive`);
  }
});

console.log('Two workers, four tasks of 200 ms: they take turns.');
await Promise.all([1, 2, 3, 4].map(() => executor.submit(nap, 200)));
assert.equal(alive.size, 2);

console.log('Grow to 4: the same executor, two more workers as soon as tasks need them.');
assert.equal(getReusableExecutor({ maxWorkers: 4 }), executor);
await Promise.all([1, 2, 3, 4].map(() => executor.submit(nap, 200)));
assert.equal(alive.size, 4);

console.log('Shrink to 1 while four tasks run: each surplus worker leaves when its task is done.');
const running = [1, 2, 3, 4].map(() => executor.submit(nap, 300));
executor = getReusableExecutor({ maxWorkers: 1 });
const finished = await Promise.all(running);
console.log(`  all ${finished.length} running tasks finished: none was killed`);
await firstValueFrom(executor.events$.pipe(filter(() => alive.size === 1)));
console.log(`One worker is left: pid ${[...alive][0]}.`);
await executor.shutdown();
