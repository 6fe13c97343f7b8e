/**
 * parallelMap: the RxJS face of the pool, with real workers.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { from, interval, lastValueFrom, map, range as rxRange, Subject, take, tap, toArray } from 'rxjs';
import {
  getReusableExecutor,
  type ParallelMapProgress,
  parallelMap,
  reportProgress,
  TerminatedWorkerError,
  type WorkerEvent,
} from 'rxpool';
import { range, untilCount, withExecutor } from './support/pool.js';

const T = { timeout: 60_000 };
const SUITE = { timeout: 300_000 };
const sleepEcho = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms));

/** The most tasks that were running at once, from task-start / task-end events. */
function peakRunning(events: WorkerEvent[]): number {
  let running = 0;
  let peak = 0;
  for (const event of events) {
    if (event.type === 'task-start') peak = Math.max(peak, ++running);
    if (event.type === 'task-end') running--;
  }
  return peak;
}

describe('parallelMap', SUITE, () => {
  test('ordered (default): results in source order even when later items finish first', T, () =>
    withExecutor({ maxWorkers: 3 }, async ({ executor }) => {
      const delays = [150, 20, 90, 0, 60, 10, 120, 5];
      const out = await lastValueFrom(from(delays).pipe(parallelMap(sleepEcho, { executor }), toArray()));
      assert.deepEqual(out, delays);
    }),
  );

  test('unordered: each result as soon as it is ready', T, () =>
    withExecutor({ maxWorkers: 4 }, async ({ executor }) => {
      await Promise.all(range(4).map(() => executor.submit(() => null))); // four warm workers
      const out = await lastValueFrom(
        from([400, 10, 200, 50]).pipe(parallelMap(sleepEcho, { executor, ordered: false }), toArray()),
      );
      assert.deepEqual(out, [10, 50, 200, 400]);
    }),
  );

  test('never has more than `concurrency` tasks in flight', T, () =>
    withExecutor({ maxWorkers: 4 }, async ({ executor, events }) => {
      const out = await lastValueFrom(
        from(range(20)).pipe(
          parallelMap((x: number) => new Promise((r) => setTimeout(() => r(x), 20)), { executor, concurrency: 2 }),
          toArray(),
        ),
      );
      assert.deepEqual(out, range(20));
      assert.equal(peakRunning(events), 2);
      assert.ok(events.filter((e) => e.type === 'spawned').length <= 2, 'no more workers than tasks in flight');
    }),
  );

  test('take(n) stops dispatching: the pool does no more than what was already running', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor, events }) => {
      let endedAt = -1;
      const out = await lastValueFrom(
        from(range(100)).pipe(
          parallelMap((x: number) => new Promise((resolve) => setTimeout(() => resolve(x), 30)), { executor }),
          take(3),
          tap({ complete: () => (endedAt = events.length) }),
          toArray(),
        ),
      );
      assert.deepEqual(out, [0, 1, 2]);
      await executor.shutdown();
      // Before the end, later items may run while a slow head-of-line item holds the output back;
      // after it, at most what was in flight (concurrency 3: tasks already handed to a worker).
      const startedAfter = events.slice(endedAt).filter((e) => e.type === 'task-start').length;
      assert.ok(startedAfter <= 3, `${startedAfter} tasks started after the subscription ended (concurrency 3)`);
      assert.ok(events.filter((e) => e.type === 'task-start').length < 100, 'the items after the end never ran');
    }),
  );

  test('an error mid-stream errors the output and cancels the rest; the pool stays healthy', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor, events }) => {
      await assert.rejects(
        lastValueFrom(
          from(range(50)).pipe(
            parallelMap(
              (x: number) => {
                if (x === 5) throw new RangeError(`item ${x} is bad`);
                return new Promise((r) => setTimeout(() => r(x), 20));
              },
              { executor },
            ),
          ),
        ),
        /item 5 is bad/,
      );
      const startedBefore = events.filter((e) => e.type === 'task-start').length;
      assert.ok(startedBefore < 20, `${startedBefore} tasks started: the rest were dropped`);
      assert.equal(await executor.submit(() => 'healthy'), 'healthy');
    }),
  );

  test('an AbortSignal errors the stream with an AbortError and cancels its tasks', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor, events }) => {
      const controller = new AbortController();
      const done = lastValueFrom(
        from(range(40)).pipe(
          parallelMap(() => new Promise((resolve) => setTimeout(resolve, 50)), { executor, signal: controller.signal }),
        ),
      );
      setTimeout(() => controller.abort(), 120);
      await assert.rejects(done, (e: unknown) => e instanceof Error && e.name === 'AbortError');
      await executor.shutdown();
      assert.ok(events.filter((e) => e.type === 'task-start').length < 15);
    }),
  );

  test('retries: a task whose worker died runs again; thrown errors are not retried', T, () =>
    withExecutor({ maxWorkers: 2 }, async (recorded) => {
      const { executor, events } = recorded;
      const dir = mkdtempSync(join(tmpdir(), 'rxpool-retry-'));
      try {
        // The first attempt at each item kills its worker; the second finds the marker and succeeds.
        const flaky = async (args: [number, string]) => {
          const [x, marker] = args;
          const fs = await import('node:fs');
          const file = `${marker}/${x}`;
          if (!fs.existsSync(file)) {
            fs.writeFileSync(file, '');
            process.exit(1);
          }
          return x * 10;
        };
        const out = await lastValueFrom(
          from(range(3).map((x) => [x, dir] as [number, string])).pipe(
            parallelMap(flaky, { executor, retries: 1 }),
            toArray(),
          ),
        );
        assert.deepEqual(out, [0, 10, 20]);
        // A task fails as soon as its worker announces process.exit: the retry may be done before
        // the process is gone.
        const crash = (e: WorkerEvent): e is WorkerEvent => e.type === 'exit' && e.reason === 'crashed';
        await untilCount(recorded, crash, 3);
        assert.equal(events.filter(crash).length, 3, 'one crash per item, no more');

        let attempts = 0;
        executor.events$.subscribe((e) => {
          if (e.type === 'task-start') attempts++;
        });
        await assert.rejects(
          lastValueFrom(from([1]).pipe(parallelMap(() => process.exit(3), { executor, retries: 2 }))),
          (e: unknown) => e instanceof TerminatedWorkerError && e.exitCode === 3,
        );
        assert.equal(attempts, 3, 'one try and two retries');

        attempts = 0;
        await assert.rejects(
          lastValueFrom(
            from([1]).pipe(
              parallelMap(
                () => {
                  throw new Error('deterministic');
                },
                { executor, retries: 5 },
              ),
            ),
          ),
          /deterministic/,
        );
        assert.equal(attempts, 1, 'a thrown error is not retried');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );

  test('two pipelines at once share the pool fairly', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const finished: string[] = [];
      const long = lastValueFrom(
        from(range(60)).pipe(
          parallelMap(() => new Promise((resolve) => setTimeout(resolve, 20)), { executor, concurrency: 30 }),
          toArray(),
        ),
      ).then(() => finished.push('long'));
      await sleepEcho(50);
      const short = lastValueFrom(
        from(range(5)).pipe(
          parallelMap(() => new Promise((resolve) => setTimeout(resolve, 20)), { executor, concurrency: 30 }),
          toArray(),
        ),
      ).then(() => finished.push('short'));
      await Promise.all([long, short]);
      assert.deepEqual(finished, ['short', 'long'], 'the short pipeline did not wait behind the long one');
    }),
  );

  test('100,000 tiny items with chunksize complete correctly', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor, events }) => {
      for (const chunksize of [500, 'auto'] as const) {
        const out = await lastValueFrom(
          rxRange(0, 100_000).pipe(
            parallelMap((x: number) => x * 2, { executor, chunksize }),
            toArray(),
          ),
        );
        assert.equal(out.length, 100_000);
        assert.ok(out.every((value, i) => value === i * 2));
      }
      assert.ok(events.filter((e) => e.type === 'task-end').length < 5_000, 'items travelled in chunks');
    }),
  );

  test(
    'chunks of streaming items: items that yield none, one or several values keep their order; a failing item ends it after the items before it',
    T,
    () =>
      withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
        // x % 3: 0 yields nothing, 1 yields x, 2 yields x and -x; a multiple of 10 yields a string.
        const spread = function* (x: number): Generator<number | string> {
          if (x % 10 === 0) {
            yield `ten ${x}`;
            return;
          }
          for (let i = 0; i < x % 3; i++) yield i === 0 ? x : -x;
        };
        const expected = range(40).flatMap(
          (x): Array<number | string> => (x % 10 === 0 ? [`ten ${x}`] : x % 3 === 0 ? [] : x % 3 === 1 ? [x] : [x, -x]),
        );
        for (const chunksize of [1, 4, 7] as const) {
          const ordered = await lastValueFrom(
            from(range(40)).pipe(parallelMap(spread, { executor, chunksize }), toArray()),
          );
          assert.deepEqual(ordered, expected, `chunksize ${chunksize}`);
          const unordered = await lastValueFrom(
            from(range(40)).pipe(parallelMap(spread, { executor, chunksize, ordered: false }), toArray()),
          );
          assert.deepEqual(
            [...unordered].sort((a, b) => String(a).localeCompare(String(b))),
            [...expected].sort((a, b) => String(a).localeCompare(String(b))),
          );
        }
        // One worker, chunks of 4: the chunk [4..7] fails at 6, after 4 and 5 yielded theirs.
        const failing = function* (x: number) {
          if (x === 6) throw new Error('six');
          yield x;
          if (x % 2 === 1) yield -x;
        };
        const seen: unknown[] = [];
        await assert.rejects(
          lastValueFrom(
            from(range(12)).pipe(
              parallelMap(failing, { executor, chunksize: 4 }),
              tap((v) => seen.push(v)),
            ),
          ),
          /six/,
        );
        assert.deepEqual(seen, [0, 1, -1, 2, 3, -3, 4, 5, -5]);
      }),
  );

  test('any source RxJS accepts: async iterables, Subjects, intervals', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      async function* numbers() {
        for (let i = 0; i < 5; i++) yield i;
      }
      const double = (x: number) => x * 2;
      assert.deepEqual(
        await lastValueFrom(from(numbers()).pipe(parallelMap(double, { executor }), toArray())),
        [0, 2, 4, 6, 8],
      );
      assert.deepEqual(
        await lastValueFrom(interval(5).pipe(take(4), parallelMap(double, { executor }), toArray())),
        [0, 2, 4, 6],
      );
      const subject = new Subject<number>();
      const out = lastValueFrom(subject.pipe(parallelMap(double, { executor }), toArray()));
      for (const x of [3, 1, 2]) subject.next(x);
      subject.complete();
      assert.deepEqual(await out, [6, 2, 4]);
    }),
  );

  test('with ordered, the reorder buffer is capped: a slow head holds dispatch at maxBuffer', T, () =>
    withExecutor({ maxWorkers: 3 }, async ({ executor, events }) => {
      const out = await lastValueFrom(
        from([600, ...range(20).map(() => 1)]).pipe(
          parallelMap(sleepEcho, { executor, concurrency: 3, maxBuffer: 4 }),
          map((x, i) => [i, x]),
          toArray(),
        ),
      );
      assert.equal(out.length, 21);
      // While item 0 (600 ms) ran, at most items 1..3 could be dispatched behind it.
      const firstEnd = events.find((e) => e.type === 'task-end' && e.taskId === firstTaskId(events));
      const startedBefore = events.filter((e) => e.type === 'task-start' && firstEnd && e.time < firstEnd.time).length;
      assert.ok(startedBefore <= 4, `${startedBefore} tasks started while the head ran`);
    }),
  );

  test('progress: counts as the stream goes, then a final report', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const reports: ParallelMapProgress[] = [];
      await lastValueFrom(
        from(range(30)).pipe(
          parallelMap(() => new Promise((resolve) => setTimeout(resolve, 15)), {
            executor,
            progress: (p) => reports.push(p),
          }),
          toArray(),
        ),
      );
      const last = reports.at(-1) as ParallelMapProgress;
      assert.equal(last.finished, true);
      assert.equal(last.done, 30);
      assert.equal(last.received, 30);
      assert.equal(last.queued, 0);
      assert.ok(last.throughput > 0);
      assert.ok(reports.length >= 2, 'intermediate reports too');
      assert.ok(reports.some((p) => p.running > 0 && p.done < 30));
    }),
  );

  test('without an executor, the shared one is used and grown to `workers`', T, async () => {
    const shared = getReusableExecutor({ maxWorkers: 1, execArgv: [] });
    try {
      const pids = await lastValueFrom(
        from(range(6)).pipe(
          parallelMap(() => new Promise((resolve) => setTimeout(() => resolve(process.pid), 100)), { workers: 3 }),
          toArray(),
        ),
      );
      assert.equal(shared.maxWorkers, 3);
      assert.equal(new Set(pids).size, 3);
    } finally {
      await shared.shutdown({ killWorkers: true });
    }
  });
});

describe('streaming from workers', SUITE, () => {
  test('an async generator streams its values; ordered keeps per-item order', T, () =>
    withExecutor({ maxWorkers: 3 }, async ({ executor }) => {
      const out = await lastValueFrom(
        from([3, 1, 2]).pipe(
          parallelMap(
            async function* (n: number) {
              for (let i = 0; i < n; i++) {
                await new Promise((r) => setTimeout(r, 10 * (4 - n)));
                yield `${n}.${i}`;
              }
            },
            { executor },
          ),
          toArray(),
        ),
      );
      assert.deepEqual(out, ['3.0', '3.1', '3.2', '1.0', '2.0', '2.1']);
    }),
  );

  test('executor.stream(): values as they come; unsubscribing runs the generator’s finally in the worker', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const dir = mkdtempSync(join(tmpdir(), 'rxpool-stream-'));
      try {
        const marker = join(dir, 'finally-ran');
        const values = await lastValueFrom(
          executor
            .stream(async function* (file: string) {
              try {
                for (let i = 0; ; i++) {
                  yield i;
                  await new Promise((r) => setTimeout(r, 5));
                }
              } finally {
                (await import('node:fs')).writeFileSync(file, 'yes');
              }
            }, marker)
            .pipe(take(5), toArray()),
        );
        assert.deepEqual(values, [0, 1, 2, 3, 4]);
        // The worker answers once the generator has returned: the next task runs after its finally.
        await executor.submit(() => null);
        assert.equal(existsSync(marker), true);
        const plain = await lastValueFrom(executor.stream((x: number) => x + 1, 41).pipe(toArray()));
        assert.deepEqual(plain, [42]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );

  test('a generator that never awaits can still be stopped; the worker takes the next task', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const endlessAsync = await lastValueFrom(
        executor
          .stream(async function* () {
            for (let i = 0; ; i++) yield i;
          })
          .pipe(take(3), toArray()),
      );
      assert.deepEqual(endlessAsync, [0, 1, 2]);
      const endlessSync = await lastValueFrom(
        executor
          .stream(function* () {
            for (let i = 0; ; i++) yield i;
          })
          .pipe(take(3), toArray()),
      );
      assert.deepEqual(endlessSync, [0, 1, 2]);
      assert.equal(await executor.submit(() => 'next'), 'next');
    }),
  );

  test('reportProgress(value) inside a task reaches the Future and events$', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const future = executor.submit(async (steps: number) => {
        for (let i = 1; i <= steps; i++) {
          reportProgress({ step: i, of: steps }); // a global in workers (and an export of rxpool)
          await new Promise((r) => setTimeout(r, 5));
        }
        return 'done';
      }, 3);
      const seen = lastValueFrom(future.progress$.pipe(toArray()));
      assert.equal(await future, 'done');
      assert.deepEqual(
        await seen,
        [1, 2, 3].map((step) => ({ step, of: 3 })),
      );
      const onEvents = events.filter((e) => e.type === 'task-progress');
      assert.equal(onEvents.length, 3);
      // Once settled, progress$ completes at once.
      assert.deepEqual(await lastValueFrom(future.progress$.pipe(toArray())), []);
    }),
  );
});

describe('onCancel', SUITE, () => {
  test("'kill' does not kill the task whose value ended the subscription", T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const out = await lastValueFrom(
        from([1, 2]).pipe(
          parallelMap((x: number) => x * 10, { executor, onCancel: 'kill' }),
          take(1),
          toArray(),
        ),
      );
      assert.deepEqual(out, [10]);
      await executor.shutdown();
      assert.ok(!events.some((e) => e.type === 'exit' && e.reason === 'killed'));
      assert.ok(!events.some((e) => e.type === 'task-end' && !e.ok));
    }),
  );

  for (const onCancel of ['finish', 'kill'] as const) {
    test(`'${onCancel}': what happens to running tasks when the subscription ends early`, T, () =>
      withExecutor({ maxWorkers: 2 }, async ({ executor, events }) => {
        await Promise.all(range(2).map(() => executor.submit(() => null))); // two warm workers
        const warmUp = events.length;
        const out = await lastValueFrom(
          from([10, 800, 800]).pipe(parallelMap(sleepEcho, { executor, onCancel, ordered: false }), take(1), toArray()),
        );
        assert.deepEqual(out, [10]);
        await executor.shutdown();
        events.splice(0, warmUp);
        const killed = events.filter((e) => e.type === 'exit' && e.reason === 'killed').length;
        const started = events
          .filter((e) => e.type === 'task-start')
          .map((e) => (e.type === 'task-start' ? e.taskId : 0));
        const finishedOk = new Set(events.map((e) => (e.type === 'task-end' && e.ok ? e.taskId : -1)));
        const cutShort = started.filter((id) => !finishedOk.has(id));
        assert.ok(started.length >= 2, 'an 800 ms task had started when the subscription ended');
        if (onCancel === 'kill') {
          assert.ok(killed >= 1, 'the running task’s worker was killed');
          assert.ok(cutShort.length >= 1);
        } else {
          assert.equal(killed, 0);
          assert.deepEqual(cutShort, [], 'every task that started ran to its end');
        }
      }),
    );
  }
});

function firstTaskId(events: WorkerEvent[]): number | undefined {
  const start = events.find((e) => e.type === 'task-start');
  return start?.type === 'task-start' ? start.taskId : undefined;
}
