import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { from, lastValueFrom, type Observable, throwError, toArray } from 'rxjs';
import type { WorkerEvent } from '../dist/engine/events.js';
import type { TraceEvent, TraceFile } from '../dist/monitor/trace-events.js';
import { requireDist } from './support/pool.js';

const T = { timeout: 10_000 };
const { escapeXml, renderTimelineSvg } =
  requireDist<typeof import('../dist/monitor/timeline-svg.js')>('monitor/timeline-svg.js');
const { toTraceFile, traceEvents } =
  requireDist<typeof import('../dist/monitor/trace-events.js')>('monitor/trace-events.js');

// Offsets are binary fractions, so epoch + offset is exact and µs values can be compared exactly.
const T0 = 1_700_000_000_000;

/** Events stamped `at` ms after T0 on a worker. */
function on(workerId: number, pid: number | undefined) {
  const base = { workerId, pid };
  return {
    spawned: (at: number): WorkerEvent => ({ type: 'spawned', ...base, time: T0 + at }),
    ready: (at: number): WorkerEvent => ({ type: 'ready', ...base, time: T0 + at }),
    start: (at: number, taskId: number): WorkerEvent => ({ type: 'task-start', ...base, time: T0 + at, taskId }),
    ok: (at: number, taskId: number, duration: number): WorkerEvent => ({
      type: 'task-end',
      ...base,
      time: T0 + at,
      taskId,
      duration,
      ok: true,
      value: 'a value the trace must not keep',
    }),
    failed: (at: number, taskId: number, duration: number, error: unknown): WorkerEvent => ({
      type: 'task-end',
      ...base,
      time: T0 + at,
      taskId,
      duration,
      ok: false,
      error,
    }),
    strayError: (at: number, taskId: number | null, error: unknown): WorkerEvent => ({
      type: 'worker-error',
      ...base,
      time: T0 + at,
      taskId,
      error,
    }),
    exit: (
      at: number,
      reason: 'crashed' | 'idle' | 'shutdown' | 'recycled' | 'timeout' | 'failed-to-start',
      fields: { code?: number | null; signal?: NodeJS.Signals | null; runningTaskId?: number; error?: Error } = {},
    ): WorkerEvent => ({
      type: 'exit',
      ...base,
      time: T0 + at,
      code: fields.code ?? null,
      signal: fields.signal ?? null,
      reason,
      stderr: '',
      error: fields.error,
      runningTaskId: fields.runningTaskId,
      unstartedTaskIds: [],
    }),
  };
}

/** An event type this version does not know, as a newer engine might send it. */
const memorySample = { type: 'memory', workerId: 1, pid: 101, time: T0 + 200, rss: 123_456 } as unknown as WorkerEvent;

/**
 * Worker 1 runs an ok task, a failing one, another ok one, then exits idle. Worker 2 crashes with
 * SIGKILL while running task 3 (whose failure the executor stamps just after the exit). Worker 3
 * replaces it and is still alive when the events stop at 100 ms.
 */
function scenario(): WorkerEvent[] {
  const w1 = on(1, 101);
  const w2 = on(2, 202);
  const w3 = on(3, 303);
  const crash = Object.assign(new Error('worker 2 (pid 202) was killed by SIGKILL'), {
    name: 'TerminatedWorkerError',
    functionName: 'crunch',
  });
  return [
    w1.spawned(0),
    w2.spawned(1),
    w1.ready(10),
    w2.ready(11.5),
    w1.start(12, 1),
    w2.start(13, 3),
    w1.ok(20.5, 1, 8.5),
    w1.start(21, 2),
    w1.failed(25.25, 2, 4.25, new RangeError('boom <x> & "y"')),
    w1.strayError(26, 2, new Error('late timer')),
    w1.start(30, 4),
    w1.ok(40, 4, 10),
    w2.exit(50, 'crashed', { signal: 'SIGKILL', runningTaskId: 3 }),
    w2.failed(50.25, 3, 37.25, crash),
    w3.spawned(50.5),
    w3.ready(60),
    w3.start(61, 5),
    w3.ok(70, 5, 9),
    w1.exit(100, 'idle', { code: 0 }),
  ];
}

const timed = (file: TraceFile): TraceEvent[] => file.traceEvents.filter((event) => event.ph !== 'M');
const one = (events: TraceEvent[], predicate: (event: TraceEvent) => boolean): TraceEvent => {
  const found = events.filter(predicate);
  assert.equal(found.length, 1, `expected exactly one match, found ${found.length}`);
  return found[0] as TraceEvent;
};

describe('toTraceFile', T, () => {
  test('names the process and one thread per worker, sorted by worker id', T, () => {
    const file = toTraceFile(scenario());
    const metadata = file.traceEvents.filter((event) => event.ph === 'M');
    assert.deepEqual(
      metadata.map(({ name, tid, args }) => [name, tid, args]),
      [
        ['process_name', 0, { name: 'rxpool executor' }],
        ['thread_name', 1, { name: 'worker 1 (pid 101)' }],
        ['thread_sort_index', 1, { sort_index: 1 }],
        ['thread_name', 2, { name: 'worker 2 (pid 202)' }],
        ['thread_sort_index', 2, { sort_index: 2 }],
        ['thread_name', 3, { name: 'worker 3 (pid 303)' }],
        ['thread_sort_index', 3, { sort_index: 3 }],
      ],
    );
    assert.ok(file.traceEvents.every((event) => event.pid === 1));
    assert.equal(file.displayTimeUnit, 'ms');
    assert.deepEqual(file.metadata, {
      source: 'rxpool',
      origin: T0,
      originIso: new Date(T0).toISOString(),
      workers: 3,
      tasks: 5,
      failedTasks: 2,
    });
  });

  test('one complete slice per task, in µs from the first event, failures marked', T, () => {
    const events = timed(toTraceFile(scenario()));
    const tasks = events.filter((event) => event.cat?.split(',').includes('task'));
    assert.deepEqual(
      tasks.map(({ name, cat, ph, ts, dur, tid, cname }) => ({ name, cat, ph, ts, dur, tid, cname })),
      [
        { name: 'task 1', cat: 'task', ph: 'X', ts: 12_000, dur: 8_500, tid: 1, cname: 'good' },
        {
          name: 'task 3 · crunch (failed)',
          cat: 'task,failed',
          ph: 'X',
          ts: 13_000,
          dur: 37_250,
          tid: 2,
          cname: 'terrible',
        },
        { name: 'task 2 (failed)', cat: 'task,failed', ph: 'X', ts: 21_000, dur: 4_250, tid: 1, cname: 'terrible' },
        { name: 'task 4', cat: 'task', ph: 'X', ts: 30_000, dur: 10_000, tid: 1, cname: 'good' },
        { name: 'task 5', cat: 'task', ph: 'X', ts: 61_000, dur: 9_000, tid: 3, cname: 'good' },
      ],
    );
    assert.deepEqual(one(tasks, (event) => event.name === 'task 1').args, {
      taskId: 1,
      workerId: 1,
      pid: 101,
      ok: true,
      status: 'ok',
      durationMs: 8.5,
    });
    assert.deepEqual(one(tasks, (event) => event.name === 'task 2 (failed)').args, {
      taskId: 2,
      workerId: 1,
      pid: 101,
      ok: false,
      status: 'failed',
      durationMs: 4.25,
      error: 'RangeError: boom <x> & "y"',
    });
    assert.equal(one(tasks, (event) => event.args?.taskId === 3).args?.functionName, 'crunch');
    assert.ok(!JSON.stringify(tasks).includes('a value the trace must not keep'));
  });

  test('each worker life is an enclosing slice; a respawned worker gets its own track', T, () => {
    const events = timed(toTraceFile(scenario()));
    const lives = events.filter((event) => event.cat === 'worker');
    assert.deepEqual(
      lives.map(({ name, ph, ts, dur, tid, args }) => ({
        name,
        ph,
        ts,
        dur,
        tid,
        exit: args?.exit,
        alive: args?.alive,
      })),
      [
        { name: 'worker 1 (pid 101)', ph: 'X', ts: 0, dur: 100_000, tid: 1, exit: 'idle', alive: false },
        // Ends at task 3's failure, stamped just after the exit, so the task nests inside.
        {
          name: 'worker 2 (pid 202)',
          ph: 'X',
          ts: 1_000,
          dur: 49_250,
          tid: 2,
          exit: 'crashed (SIGKILL)',
          alive: false,
        },
        // Still alive: runs to the last event, 100 ms, not to the ignored event at 200 ms.
        { name: 'worker 3 (pid 303)', ph: 'X', ts: 50_500, dur: 49_500, tid: 3, exit: null, alive: true },
      ],
    );
    const starting = events.filter((event) => event.name === 'starting');
    assert.deepEqual(
      starting.map(({ ts, dur, tid }) => [tid, ts, dur]),
      [
        [1, 0, 10_000],
        [2, 1_000, 10_500],
        [3, 50_500, 9_500],
      ],
    );
  });

  test('slices on every track nest strictly, as Perfetto requires', T, () => {
    const events = timed(toTraceFile(scenario()));
    for (const tid of [1, 2, 3]) {
      const stack: TraceEvent[] = [];
      for (const slice of events.filter((event) => event.ph === 'X' && event.tid === tid)) {
        const end = slice.ts + (slice.dur ?? 0);
        while (stack.length && slice.ts >= (stack.at(-1)?.ts ?? 0) + (stack.at(-1)?.dur ?? 0)) stack.pop();
        const parent = stack.at(-1);
        if (parent) assert.ok(end <= parent.ts + (parent.dur ?? 0), `${slice.name} overlaps ${parent.name}`);
        stack.push(slice);
      }
    }
  });

  test('instants mark spawn, ready, exits with their reason, and stray errors', T, () => {
    const events = timed(toTraceFile(scenario()));
    const instants = events.filter((event) => event.ph === 'i');
    assert.ok(instants.every((event) => event.s === 't'));
    assert.deepEqual(
      instants.map(({ name, ts, tid }) => [name, tid, ts]),
      [
        ['spawned', 1, 0],
        ['spawned', 2, 1_000],
        ['ready', 1, 10_000],
        ['ready', 2, 11_500],
        ['worker-error (task 2)', 1, 26_000],
        ['exit: crashed (SIGKILL)', 2, 50_000],
        ['spawned', 3, 50_500],
        ['ready', 3, 60_000],
        ['exit: idle', 1, 100_000],
      ],
    );
    const crash = one(instants, (event) => event.name.startsWith('exit: crashed'));
    assert.equal(crash.cname, 'terrible');
    assert.equal(crash.cat, 'lifecycle,crash');
    assert.deepEqual(crash.args, {
      reason: 'crashed',
      code: null,
      signal: 'SIGKILL',
      runningTaskId: 3,
      unstartedTaskIds: [],
    });
    assert.equal(one(instants, (event) => event.name === 'exit: idle').cname, undefined);
    assert.equal(one(instants, (event) => event.name.startsWith('worker-error')).args?.error, 'Error: late timer');
  });

  test('labels exits by reason, exit code and signal', T, () => {
    const w = (id: number) => on(id, 100 + id);
    const file = toTraceFile([
      w(1).exit(1, 'crashed', { code: 3 }),
      w(2).exit(2, 'timeout', { signal: 'SIGKILL' }),
      w(3).exit(3, 'recycled', { code: 0 }),
      w(4).exit(4, 'shutdown', { code: 0 }),
      on(5, undefined).exit(5, 'failed-to-start', {
        error: Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' }),
      }),
    ]);
    assert.deepEqual(
      file.traceEvents.filter((event) => event.ph === 'i').map((event) => event.name),
      [
        'exit: crashed (exit code 3)',
        'exit: task timeout',
        'exit: recycled',
        'exit: shutdown',
        'exit: failed to start (ENOENT)',
      ],
    );
    assert.equal(
      one(file.traceEvents.slice(), (event) => event.name === 'thread_name' && event.tid === 5).args?.name,
      'worker 5 (no pid)',
    );
  });

  test('is plain JSON, sorted by ts after the metadata', T, () => {
    const file = toTraceFile(scenario());
    assert.deepEqual(JSON.parse(JSON.stringify(file)), file);
    const firstTimed = file.traceEvents.findIndex((event) => event.ph !== 'M');
    assert.ok(file.traceEvents.slice(firstTimed).every((event) => event.ph !== 'M'));
    const ts = timed(file).map((event) => event.ts);
    assert.deepEqual(
      ts,
      [...ts].sort((a, b) => a - b),
    );
    assert.ok(ts.every((value) => Number.isFinite(value) && value >= 0));
  });

  test('ignores event types it does not know, and malformed events', T, () => {
    const events = scenario();
    const noisy = [
      memorySample,
      ...events.slice(0, 5),
      { type: 'progress', workerId: 1, pid: 101, time: T0 - 50, done: 3 } as unknown as WorkerEvent,
      { type: 'task-start', workerId: 1, pid: 101, time: Number.NaN, taskId: 9 } as WorkerEvent,
      ...events.slice(5),
    ];
    assert.deepEqual(toTraceFile(noisy), toTraceFile(events));
  });

  test('tasks seen only half-way: an end without a start, a start without an end', T, () => {
    const w = on(7, 707);
    const events = timed(toTraceFile([w.ok(10, 1, 4), w.start(12, 2), w.exit(20, 'crashed', { code: 1 })]));
    const tasks = events.filter((event) => event.cat?.startsWith('task'));
    assert.deepEqual(
      tasks.map(({ name, cat, ts, dur, args }) => [name, cat, ts, dur, args?.status]),
      [
        ['task 1', 'task', 0, 4_000, 'ok'],
        // Task 1 began at 6 ms (its end minus its duration): time zero. Task 2 runs until the exit.
        ['task 2 (unfinished)', 'task,unfinished', 6_000, 8_000, 'unfinished'],
      ],
    );
    // Without a spawned event the worker's life starts at its first sign of life.
    assert.deepEqual(
      events.filter((event) => event.cat === 'worker').map(({ ts, dur }) => [ts, dur]),
      [[0, 14_000]],
    );
  });

  test('options: task names, process name, pid and origin', T, () => {
    const names = new Map([[1, 'add']]);
    const file = toTraceFile(scenario(), {
      taskName: (id) => names.get(id),
      processName: 'my pool',
      pid: 42,
      origin: T0 - 1,
    });
    assert.ok(file.traceEvents.every((event) => event.pid === 42));
    assert.equal(file.traceEvents[0]?.args?.name, 'my pool');
    const task1 = one(timed(file), (event) => event.args?.taskId === 1 && event.cat === 'task');
    assert.equal(task1.name, 'task 1 · add');
    assert.equal(task1.ts, 13_000);
    assert.equal(file.metadata.origin, T0 - 1);
  });

  test('no events: a file with only the process name', T, () => {
    const file = toTraceFile([]);
    assert.deepEqual(file.traceEvents, [
      { name: 'process_name', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 'rxpool executor' } },
    ]);
    assert.doesNotThrow(() => JSON.stringify(file));
  });
});

describe('traceEvents operator', T, () => {
  test('emits exactly one TraceFile when the source completes', T, async () => {
    const files = await lastValueFrom(from([...scenario(), memorySample]).pipe(traceEvents(), toArray()));
    assert.equal(files.length, 1);
    assert.deepEqual(files[0], toTraceFile(scenario()));
  });

  test('emits one (empty) file for an empty source, and nothing before completion', T, async () => {
    assert.deepEqual(await lastValueFrom(from([] as WorkerEvent[]).pipe(traceEvents(), toArray())), [toTraceFile([])]);
  });

  test('each subscription collects on its own', T, async () => {
    const trace$ = from(scenario()).pipe(traceEvents({ pid: 9 }));
    const first = await lastValueFrom(trace$);
    const second = await lastValueFrom(trace$);
    assert.deepEqual(second, first);
    assert.equal(second.metadata.tasks, 5);
  });

  test('passes a source error on and emits no file', T, async () => {
    const failing$: Observable<WorkerEvent> = throwError(() => new Error('source broke'));
    const seen: TraceFile[] = [];
    await assert.rejects(
      lastValueFrom(failing$.pipe(traceEvents())).then((file) => seen.push(file)),
      /source broke/,
    );
    assert.equal(seen.length, 0);
  });
});

/**
 * A light XML well-formedness check: tags balance, attributes are quoted, and text holds no raw
 * `<` or stray `&`. Returns the element names in document order.
 */
function assertWellFormed(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let index = 0;
  while (index < xml.length) {
    token.lastIndex = index;
    const match = token.exec(xml);
    assert.ok(match, `malformed markup at ${index}: ${xml.slice(index, index + 60)}`);
    const [whole, closing, name, attrs, selfClosing, body] = match;
    if (body !== undefined) {
      assert.doesNotMatch(body, /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-f]+);)/i, `stray & in ${body}`);
    } else if (closing) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    } else {
      assert.doesNotMatch(attrs ?? '', /&(?!(?:amp|lt|gt|quot|apos);)/, `stray & in attributes of <${name}>`);
      names.push(name as string);
      if (!selfClosing) stack.push(name as string);
    }
    index += whole.length;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  return names;
}

const count = (haystack: string, pattern: RegExp): number => haystack.match(pattern)?.length ?? 0;

describe('renderTimelineSvg', T, () => {
  test('is well-formed XML with a root <svg>', T, () => {
    const svg = renderTimelineSvg(scenario());
    assert.match(
      svg,
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="1000" height="\d+" viewBox="0 0 1000 \d+"/,
    );
    const names = assertWellFormed(svg.trim());
    assert.equal(names[0], 'svg');
    assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
  });

  test('one labelled row per worker and one bar per task, failures coloured apart', T, () => {
    const svg = renderTimelineSvg(scenario());
    for (const label of ['worker 1 · pid 101', 'worker 2 · pid 202', 'worker 3 · pid 303']) {
      assert.equal(count(svg, new RegExp(`>${label}</text>`, 'g')), 1, label);
    }
    assert.equal(count(svg, /<g class="worker"/g), 3);
    assert.equal(count(svg, /<rect [^>]*class="task /g), 5);
    assert.equal(count(svg, /<rect [^>]*class="task ok"/g), 3);
    const failed = svg.match(/<rect [^>]*class="task failed"/g) ?? [];
    assert.equal(failed.length, 2);
    const okFill = /class="task ok"/.test(svg) && svg.match(/fill="(#[\da-f]+)" class="task ok"/)?.[1];
    const failedFill = svg.match(/fill="(#[\da-f]+)" class="task failed"/)?.[1];
    assert.ok(okFill && failedFill && okFill !== failedFill);
  });

  test('marks a crash with its reason, and idle exits apart from crashes', T, () => {
    const svg = renderTimelineSvg(scenario());
    assert.match(svg, /<g class="exit crashed">[\s\S]*?>crashed \(SIGKILL\)<\/text><\/g>/);
    assert.match(svg, /<g class="exit idle">[\s\S]*?>idle<\/text><\/g>/);
    assert.equal(count(svg, /<circle /g), 3 + 1, 'a spawn dot per worker, plus its legend swatch');
    assert.match(svg, />running<\/text>/, 'worker 3 is still alive');
    assert.match(svg, />0 ms<\/text>/);
    assert.match(svg, />100 ms<\/text>/);
  });

  test('escapes text: title, error tooltips', T, () => {
    const svg = renderTimelineSvg(scenario(), { title: 'load <test> & "friends"' });
    assert.match(svg, />load &lt;test&gt; &amp; &quot;friends&quot;<\/text>/);
    assert.match(svg, /RangeError: boom &lt;x&gt; &amp; &quot;y&quot;/);
    assert.ok(!svg.includes('<test>') && !svg.includes('boom <x>'));
    assertWellFormed(svg.trim());
    assert.equal(escapeXml(`a<b>&"c'\u0001`), 'a&lt;b&gt;&amp;&quot;c&apos;');
  });

  test('a very short task still gets a bar at least 1 px wide', T, () => {
    const w = on(1, 11);
    const svg = renderTimelineSvg(
      [w.spawned(0), w.start(500, 1), w.ok(500.0009765625, 1, 0.001), w.exit(1000, 'shutdown')],
      {
        width: 600,
      },
    );
    const bar = svg.match(/<rect [^>]*width="([\d.]+)"[^>]*class="task ok"/);
    assert.ok(bar, 'task bar');
    assert.ok(Number(bar[1]) >= 1, `width ${bar[1]}`);
  });

  test('ignores unknown event types; renders something for no events', T, () => {
    assert.equal(renderTimelineSvg([memorySample, ...scenario()]), renderTimelineSvg(scenario()));
    const empty = renderTimelineSvg([]);
    assertWellFormed(empty.trim());
    assert.match(empty, />no events<\/text>/);
    assert.equal(count(empty, /class="task/g), 0);
  });
});
