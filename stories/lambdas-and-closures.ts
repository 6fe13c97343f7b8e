/**
 * Story: lambdas and closures, the way you would type them at a REPL.
 *
 * Inline functions ship to worker processes by their source: arrows, async functions, generators.
 * A function that closes over a variable of this script would find nothing in a worker, so rxpool
 * refuses it at submit, before anything is sent, and says how to fix it. withScope ships the
 * values along with the function, once per worker.
 */
import assert from 'node:assert/strict';
import { ProcessPoolExecutor, SerializationError, withScope } from 'rxpool';

const show = (code: string, value: unknown) => console.log(`> ${code}\n${JSON.stringify(value)}\n`);

await using executor = new ProcessPoolExecutor({ maxWorkers: 2 });

const squared = await executor.submit((x: number) => x * x, 7);
show('await executor.submit((x) => x * x, 7)', squared);
assert.equal(squared, 49);

const host = await executor.submit(async (url: string) => {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return `${new URL(url).hostname} (pid ${process.pid})`;
}, 'https://nodejs.org/en');
show("await executor.submit(async (url) => new URL(url).hostname + pid, 'https://nodejs.org/en')", host);
assert.match(host, /^nodejs\.org \(pid \d+\)$/);

const evens = await executor.submit(function* (n: number) {
  for (let i = 0; i < n; i += 2) yield i;
}, 9);
show('await executor.submit(function* (n) { for (let i = 0; i < n; i += 2) yield i; }, 9)', evens);
assert.deepEqual(evens, [0, 2, 4, 6, 8], "a generator's values come back as an array");

// A closure: `vat` lives in this script, not in the worker.
const vat = 0.2;
console.log('> const vat = 0.2');
console.log('> executor.submit((price) => price * (1 + vat), 100)');
try {
  executor.submit((price: number) => price * (1 + vat), 100);
  assert.fail('a closure over `vat` must not be sent');
} catch (error) {
  assert.ok(error instanceof SerializationError);
  console.log(`${error.name}: ${error.message}\n`);
  assert.match(error.message, /uses `vat` from its enclosing scope.* or with withScope\(\{ vat \}\)/);
}

// Fixed: the value travels with the function.
const withVat = withScope({ vat }, (price: number) => Math.round(price * (1 + vat) * 100) / 100);
const gross = await executor.submit(withVat, 100);
show('await executor.submit(withScope({ vat }, (price) => price * (1 + vat)), 100)', gross);
assert.equal(gross, 120);

// map() takes the scope as an option; the values are sent once to each worker, not with each item.
const prices: number[] = [];
for await (const price of executor.map((net: number) => net * (1 + vat), [10, 20, 30], { scope: { vat } })) {
  prices.push(Math.round(price * 100) / 100);
}
show('for await (const p of executor.map((net) => net * (1 + vat), [10, 20, 30], { scope: { vat } }))', prices);
assert.deepEqual(prices, [12, 24, 36]);
