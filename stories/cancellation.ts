/**
 * Story: stopping a pipeline early.
 *
 * 1. `take(3)` on a pipeline of 1,000 items: once the third result is out, the subscription ends
 *    and the operator drops everything it had not started. Counting `task-start` and `task-end`
 *    events on `executor.events$` shows that after the end the pool ran only what was in flight at
 *    that moment (at most `concurrency` tasks), not 1,000. (With `ordered`, a few more tasks than
 *    three may have finished by then: results that ran ahead of a slower one wait for it.)
 * 2. An AbortSignal: aborting errors the stream with an AbortError and cancels its tasks, as
 *    unsubscribing does.
 * 3. What happens to the tasks that were already running when a subscription ends: `onCancel:
 *    'finish'` (the default) lets them run to their end, their results dropped; `onCancel: 'kill'`
 *    kills their workers at once, and the pool replaces them. `task-end` events tell which.
 */
import assert from 'node:assert/strict';
import { filter, from, last, lastValueFrom, take, takeUntil, tap, toArray } from 'rxjs';
import { ProcessPoolExecutor, parallelMap, type WorkerEvent } from 'rxpool';

const items = Array.from({ length: 1000 }, (_, i) => i);
const slowly = (x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), 50));

/** A fresh two-worker pool, warmed up, and a function that counts its task-starts from now on. */
async function pool() {
  // execArgv: [] starts workers without this script's tsx loader: shipped functions arrive compiled.
  const executor = new ProcessPoolExecutor({ maxWorkers: 2, execArgv: [] });
  await Promise.all([1, 2].map(() => executor.submit(() => null)));
  const events: WorkerEvent[] = [];
  executor.events$.subscribe((event) => events.push(event));
  const count = (type: WorkerEvent['type']) => events.filter((event) => event.type === type).length;
  return { executor, events, count };
}

console.log('1. take(3) on 1,000 items, 2 workers, 50 ms each, concurrency 3');
{
  const { executor, count } = await pool();
  const firstThree = await lastValueFrom(
    from(items).pipe(parallelMap(slowly, { executor, concurrency: 3 }), take(3), toArray()),
  );
  const finishedThen = count('task-end');
  const startedThen = count('task-start');
  console.log(`   take(3) gave ${firstThree.join(', ')}; the subscription ended there.`);
  console.log(`   by then the pool had finished ${finishedThen} tasks; ${startedThen - finishedThen} still running`);
  // shutdown() lets what still runs finish: after it, nothing of the pipeline can start any more.
  await executor.shutdown();
  const started = count('task-start');
  console.log(`   tasks the pool started in all: ${started} of 1,000, ${started - startedThen} of them after the end`);
  assert.deepEqual(firstThree, [0, 1, 2]);
  // Only what was in flight at the end (at most `concurrency` tasks) could still start.
  assert.ok(started <= finishedThen + 3, `${started} started, ${finishedThen} had finished`);
}

console.log('\n2. An AbortSignal, aborted as soon as the first result is out');
{
  const { executor, count } = await pool();
  const controller = new AbortController();
  let finishedThen = 0;
  const outcome = lastValueFrom(
    from(items).pipe(
      parallelMap(slowly, { executor, signal: controller.signal }),
      tap(() => {
        finishedThen = count('task-end');
        controller.abort();
      }),
    ),
  );
  await assert.rejects(outcome, (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'AbortError');
    console.log(`   the stream errored: ${error.name}: ${error.message}`);
    return true;
  });
  await executor.shutdown();
  const started = count('task-start');
  console.log(`   tasks the pool started in all: ${started} of 1,000`);
  // The default concurrency for 2 workers is 3: 2, plus one prefetched.
  assert.ok(started <= finishedThen + 3, `${started} started, ${finishedThen} had finished`);
}

console.log("\n3. onCancel: 'finish' vs 'kill', unsubscribing while two 800 ms tasks run");
for (const onCancel of ['finish', 'kill'] as const) {
  const { executor, events, count } = await pool();
  const sleepy = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms));
  // The subscription ends as soon as both tasks have started.
  const bothStarted = executor.events$.pipe(
    filter((event) => event.type === 'task-start'),
    take(2),
    last(),
  );
  const out = await lastValueFrom(
    from([800, 800]).pipe(parallelMap(sleepy, { executor, onCancel }), takeUntil(bothStarted), toArray()),
  );
  assert.deepEqual(out, [], 'no result: the subscription ended first');
  assert.equal(await executor.submit(() => 'healthy'), 'healthy', 'the pool takes new work');
  await executor.shutdown(); // waits for whatever still runs
  const ends = events.filter((event) => event.type === 'task-end');
  const ranToEnd = ends.filter((event) => event.ok).length - 1; // minus the health check
  const longest = Math.round(Math.max(...ends.map((event) => event.duration)));
  const killed = events.filter((event) => event.type === 'exit' && event.reason === 'killed').length;
  console.log(`   '${onCancel}': ${ranToEnd} ran to their end (longest ${longest} ms), ${killed} worker(s) killed`);
  assert.equal(count('task-start'), 3, 'the two tasks, then the health check');
  if (onCancel === 'finish') {
    assert.equal(ranToEnd, 2, 'both running tasks ran to their end, their results dropped');
    assert.equal(killed, 0);
    assert.ok(longest >= 790);
  } else {
    assert.equal(ranToEnd, 0, 'both running tasks were cut short');
    assert.equal(killed, 2, 'their workers were killed (the pool replaces them when work needs them)');
    assert.ok(longest < 790);
  }
}
console.log('\nEither way no task of the ended pipeline is left queued, and the pool stays healthy.');
