/**
 * Story: a pool of worker processes, from a plain script.
 *
 * Submit one task, then map 50 over 4 workers. Each result says which process computed it: four
 * pids, none of them this script's. No worker file, no "is this the main module" guard: the
 * functions travel by source. Run it with `npm start`.
 */
import assert from 'node:assert/strict';
import { ProcessPoolExecutor } from 'rxpool';

const sayHello = (k: number) => {
  console.log(`  Hello from ${process.pid} with arg ${k}`);
  return process.pid;
};

console.log(`This script is pid ${process.pid}. Starting a pool of 4 worker processes.`);
await using executor = new ProcessPoolExecutor({ maxWorkers: 4 });

console.log('\nsubmit(sayHello, 1) returns a Future; awaiting it gives the worker pid:');
const first = await executor.submit(sayHello, 1);
console.log(`Got result: ${first}`);
assert.notEqual(first, process.pid, 'the task ran in another process');

console.log('\nmap(sayHello, 0..49) yields the results in input order:');
const pids: number[] = [];
for await (const pid of executor.map(
  sayHello,
  Array.from({ length: 50 }, (_, k) => k),
))
  pids.push(pid);

const used = new Set(pids);
console.log(`\n50 tasks ran on ${used.size} processes: ${[...used].join(', ')}`);
assert.equal(used.size, 4, 'all four workers took part');
console.log('Leaving the `await using` block shuts the pool down; no worker outlives it.');
