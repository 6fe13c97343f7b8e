/**
 * Story: no main guard.
 *
 * Python's process pools re-import the main script in every worker, so the script must hide its
 * work behind `if __name__ == "__main__":`. rxpool ships functions by their source instead: a
 * worker is rxpool's own small program and never loads this file. So this script is plain top-level
 * code, with nothing around it: no guard, no worker file, not even a shutdown() (idle workers do
 * not keep the process alive, and they exit with it).
 */
import assert from 'node:assert/strict';
import { getReusableExecutor } from 'rxpool';

console.log(`Top-level code of this script, pid ${process.pid}: it runs once, here only.`);

const executor = getReusableExecutor({ maxWorkers: 2 });
const seen = await Promise.all(
  [1, 2, 3, 4].map((n) =>
    executor.submit((x: number) => ({ x2: x * 2, pid: process.pid, program: process.argv[1] ?? '' }), n),
  ),
);

for (const { x2, pid, program } of seen) console.log(`  ${x2} computed by pid ${pid}, running ${program}`);
assert.deepEqual(
  seen.map(({ x2 }) => x2),
  [2, 4, 6, 8],
);
assert.ok(
  seen.every(({ pid }) => pid !== process.pid),
  'the work ran in other processes',
);
assert.ok(
  seen.every(({ program }) => /worker[\\/]boot\.js$/.test(program)),
  "workers run rxpool's worker, not this script",
);
console.log('\nThe script ends here; its workers exit with it.');
