/**
 * Story: hello from the shared pool.
 *
 * Most code never builds a pool: it asks for the shared one. getReusableExecutor() returns the same
 * executor on every call while it lives, and its workers exit by themselves after `idleTimeout` ms
 * without work. Nothing to clean up: idle workers never keep this script alive. (`npm start`)
 */
import assert from 'node:assert/strict';
import { getReusableExecutor } from 'rxpool';

function sayHello(k: number) {
  console.log(`Hello from ${process.pid} with arg ${k}`);
  return process.pid;
}

const executor = getReusableExecutor({ maxWorkers: 4, idleTimeout: 2000 });
const res = executor.submit(sayHello, 1);
console.log('Got results:', await res);

const pids = new Set<number>();
for await (const pid of executor.map(
  sayHello,
  Array.from({ length: 50 }, (_, k) => k),
))
  pids.add(pid);
console.log('Number of used processes:', pids.size);
assert.equal(pids.size, 4);
assert.equal(getReusableExecutor({ maxWorkers: 4, idleTimeout: 2000 }), executor, 'asking again gives the same pool');
