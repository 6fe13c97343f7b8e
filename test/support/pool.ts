/**
 * Test support: executors whose every worker pid is recorded, so each test can assert that no
 * worker process outlives the executor.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { filter, lastValueFrom, take, throwError, timeout, toArray } from 'rxjs';
import { type ExecutorOptions, ProcessPoolExecutor, type WorkerEvent } from 'rxpool';

const require = createRequire(import.meta.url);

/**
 * A module of dist/ (CommonJS), loaded with require: Deno's CommonJS detection takes some of these
 * files for ES modules when a test imports them (then `exports is not defined`).
 */
export function requireDist<T>(path: string): T {
  return require(`../../dist/${path}`) as T;
}

/** The runtime running this suite, and so its workers (they run on `process.execPath`). */
export const runtime =
  requireDist<typeof import('../../dist/platform/runtime.js')>('platform/runtime.js').currentRuntime();

/**
 * Bun's transpiler, which compiles the test files (there is no tsx under `bun test`), inlines a
 * `const` bound to a literal into the functions that use it: `const factor = 3; (x) => x * factor`
 * becomes `(x) => x * 3`, so the function's source names no outer variable and nothing is refused.
 */
export const inlinesConstants = runtime === 'bun';

/** Test files run under tsx on Node only: Bun and Deno compile them themselves (no `__name` calls). */
export const underTsx = runtime === 'node';

/** The arguments that make `process.execPath` run a script file (Deno needs `run -A`). */
export function scriptArgs(file: string, ...args: string[]): string[] {
  return runtime === 'deno' ? ['run', '-A', file, ...args] : [file, ...args];
}

/**
 * True while a process with this pid runs. A zombie (dead, not yet reaped by whoever adopted it)
 * counts as gone: it runs no code and holds no memory.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** Resolves once `pid` is gone; rejects after `ms`. Polls: a foreign process offers no event. */
export async function waitForExit(pid: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface Recorded {
  readonly executor: ProcessPoolExecutor;
  /** Every event seen so far. */
  readonly events: WorkerEvent[];
  /** Every worker pid ever spawned. */
  readonly pids: Set<number>;
}

/**
 * Runs `body` with a fresh executor (execArgv [] unless given: workers start faster without the
 * test runner's loader), then shuts it down and checks that every worker process it spawned is gone.
 */
export function withExecutor<T>(options: ExecutorOptions, body: (recorded: Recorded) => Promise<T>): Promise<T> {
  return withRecorded(new ProcessPoolExecutor({ execArgv: [], ...options }), body);
}

/** {@link withExecutor} for an executor made by the caller (in this tick: its first spawns are seen). */
export async function withRecorded<T>(
  executor: ProcessPoolExecutor,
  body: (recorded: Recorded) => Promise<T>,
): Promise<T> {
  const events: WorkerEvent[] = [];
  const pids = new Set<number>();
  executor.events$.subscribe((event) => {
    events.push(event);
    if (event.type === 'spawned' && event.pid !== undefined) pids.add(event.pid);
  });
  try {
    return await body({ executor, events, pids });
  } finally {
    await executor.shutdown({ killWorkers: true });
    for (const pid of pids) assert.equal(isAlive(pid), false, `worker ${pid} outlived its executor`);
  }
}

/**
 * Asserts that no task reached a worker. The first submit starts a worker while its function is
 * checked, so a refused function may leave that one worker (spawned, maybe ready), and nothing else.
 */
export function assertNothingSent(events: readonly WorkerEvent[]): void {
  const types = events.map((event) => event.type);
  assert.ok(types.filter((type) => type === 'spawned').length <= 1, `workers spawned: ${types}`);
  assert.deepEqual(
    types.filter((type) => type !== 'spawned' && type !== 'ready'),
    [],
    'no task was sent',
  );
}

/** 0, 1, ..., n - 1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * How long `until` and `untilCount` wait for their events. Below the tests' own timeouts, so that a
 * missing event fails its test, and lets go of the event loop, rather than keep the file running.
 */
const EVENT_DEADLINE_MS = 20_000;

/** Resolves with the first event (already recorded, or still to come) that matches `predicate`. */
export function until<E extends WorkerEvent>(
  recorded: Recorded,
  predicate: (event: WorkerEvent) => event is E,
): Promise<E>;
export function until(recorded: Recorded, predicate: (event: WorkerEvent) => boolean): Promise<WorkerEvent>;
export async function until(recorded: Recorded, predicate: (event: WorkerEvent) => boolean): Promise<WorkerEvent> {
  const [event] = await untilCount(recorded, predicate as (event: WorkerEvent) => event is WorkerEvent, 1);
  return event as WorkerEvent;
}

/** Resolves with the first `count` events (already recorded, or still to come) that match `predicate`. */
export async function untilCount<E extends WorkerEvent>(
  recorded: Recorded,
  predicate: (event: WorkerEvent) => event is E,
  count: number,
): Promise<E[]> {
  const already = recorded.events.filter(predicate);
  if (already.length >= count) return already.slice(0, count);
  // An idle pool does not hold the event loop open (by design): the waiting test must.
  const hold = setInterval(() => {}, 1000);
  try {
    const more = await lastValueFrom(
      recorded.executor.events$.pipe(
        filter(predicate),
        take(count - already.length),
        toArray(),
        timeout({
          first: EVENT_DEADLINE_MS,
          with: () =>
            throwError(
              () => new Error(`${already.length} of ${count} awaited events came in ${EVENT_DEADLINE_MS / 1000} s`),
            ),
        }),
      ),
    );
    return [...already, ...more];
  } finally {
    clearInterval(hold);
  }
}

/** One turn of the event loop: lets pending rejections surface as 'unhandledRejection'. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A full garbage collection in this process, now (Bun has its own call; Node and Deno expose V8's). */
export function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun) {
    bun.gc(true);
    return;
  }
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Pids of running rxpool workers started from this checkout's dist/ (Linux: read from /proc). */
export function rxpoolWorkerPids(): number[] {
  const bootstrap = fileURLToPath(new URL('../../dist/worker/boot.js', import.meta.url));
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(bootstrap) && isAlive(Number(entry))) {
        pids.push(Number(entry));
      }
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/**
 * Pids of the processes this one started (and theirs), as the engine finds them to kill a tree:
 * a process just forked may not show its new command line yet (Bun), but it has its parent.
 */
export function childPids(): number[] {
  return requireDist<typeof import('../../dist/platform/process-tree.js')>('platform/process-tree.js').descendantsOf(
    process.pid,
  );
}

/** What `fn` throws; fails the test if it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return assert.fail('should throw');
}

/** Gives `target` an enumerable property whose getter throws `new Error(message)`; returns `target`. */
export function withThrowingGetter<T extends object>(target: T, key: string, message: string): T {
  return Object.defineProperty(target, key, {
    enumerable: true,
    get() {
      throw new Error(message);
    },
  });
}
