/**
 * Story: idle workers leave, and come back when there is work.
 *
 * With `idleTimeout`, a worker with no task for that long exits: a timer stream on its lifecycle
 * events decides it. The next task spawns workers again, transparently.
 */
import assert from 'node:assert/strict';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { getReusableExecutor } from 'rxpool';

const executor = getReusableExecutor({ maxWorkers: 2, idleTimeout: 500 });
executor.events$.subscribe((event) => {
  if (event.type === 'spawned') console.log(`  + worker ${event.workerId} (pid ${event.pid}) spawned`);
  if (event.type === 'exit') console.log(`  - worker ${event.workerId} (pid ${event.pid}) exited: ${event.reason}`);
});

const work = () =>
  Promise.all(
    [1, 2].map(() => executor.submit(() => new Promise<number>((r) => setTimeout(() => r(process.pid), 100)))),
  );

console.log('Two tasks: two workers start.');
const idleExits = firstValueFrom(
  executor.events$.pipe(
    filter((e) => e.type === 'exit'),
    take(2),
    toArray(),
  ),
);
const first = await work();
console.log('Nothing to do for 500 ms: both leave.');
// An idle pool never keeps a script alive, so this script holds itself open to watch them go.
const hold = setInterval(() => {}, 1000);
const exits = await idleExits;
clearInterval(hold);
assert.ok(exits.every((e) => e.type === 'exit' && e.reason === 'idle'));

console.log('Two more tasks: workers come back, new processes.');
const second = await work();
assert.ok(second.every((pid) => !first.includes(pid)));
console.log(`First pids ${first.join(', ')}; now ${second.join(', ')}.`);
await executor.shutdown();
