/**
 * The failure semantics: each failure fails only its own task, says what happened, and never hangs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  BrokenExecutorError,
  ProcessPoolExecutor,
  SerializationError,
  TerminatedWorkerError,
  type WorkerErrorEvent,
} from 'rxpool';
import {
  assertNothingSent,
  inlinesConstants,
  isAlive,
  range,
  requireDist,
  runtime,
  thrownBy,
  until,
  withExecutor,
} from './support/pool.js';

const T = { timeout: 30_000 };

/** A global that workers are said to have (the executor's `globals` option), for the safety-net test. */
declare const model: { run(x: number): number };

describe('a function that throws', T, () => {
  test('rejects with the original name, message, code, properties, cause and worker stack', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const pid = await executor.submit(() => process.pid);
      const error = await executor
        .submit(function validate(input: string) {
          class ValidationError extends Error {
            code = 'E_INVALID';
            field = 'email';
            details = { min: 3, seen: new Map([['length', 1]]) };
            constructor(message: string, options?: ErrorOptions) {
              super(message, options);
              this.name = 'ValidationError';
            }
          }
          const cause = Object.assign(new TypeError('not a string'), { code: 'E_TYPE' });
          throw new ValidationError(`bad input ${input}`, { cause });
        }, 'x')
        .then(
          () => assert.fail('should reject'),
          (e: unknown) => e as Error & Record<string, unknown>,
        );
      assert.ok(error instanceof Error);
      assert.equal(error.name, 'ValidationError');
      assert.equal(error.message, 'bad input x');
      assert.equal(error.code, 'E_INVALID');
      assert.equal(error.field, 'email');
      assert.deepEqual(error.details, { min: 3, seen: new Map([['length', 1]]) });
      assert.ok(error.cause instanceof TypeError);
      assert.equal((error.cause as Error & { code: string }).code, 'E_TYPE');
      assert.match(String(error.stack), /ValidationError: bad input x/);
      assert.match(String(error.stack), /rxpool-fn:\/\/validate/, 'the stack shows the worker-side frame');
      assert.equal(await executor.submit(() => process.pid), pid, 'the worker stays alive');
      assert.ok(!events.some((e) => e.type === 'exit'));
    }),
  );

  test('async rejections, built-in classes, AggregateError and non-Error values survive', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      await assert.rejects(
        executor.submit(async () => {
          await null;
          throw new RangeError('too far');
        }),
        (e: unknown) => e instanceof RangeError && e.message === 'too far',
      );
      await assert.rejects(
        executor.submit(() => {
          throw new AggregateError([new Error('a'), new SyntaxError('b')], 'many');
        }),
        (e: unknown) =>
          e instanceof AggregateError &&
          e.errors.length === 2 &&
          e.errors[1] instanceof SyntaxError &&
          e.errors[1].message === 'b',
      );
      await assert.rejects(
        executor.submit(() => {
          throw 'a plain string';
        }),
        (e: unknown) => e === 'a plain string',
      );
      await assert.rejects(
        executor.submit(() => Promise.reject({ status: 404 })),
        (e: unknown) => (e as { status: number }).status === 404,
      );
    }),
  );

  test('an error property that cannot be cloned is described instead of failing the error', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const error = await executor
        .submit(() => {
          throw Object.assign(new Error('with a callback'), { retry: () => 1, code: 'E_CB' });
        })
        .then(
          () => assert.fail('should reject'),
          (e: unknown) => e as Error & Record<string, unknown>,
        );
      assert.equal(error.message, 'with a callback');
      assert.equal(error.code, 'E_CB');
      assert.match(String(error.retry), /function retry/);
    }),
  );
});

describe('values that cannot cross the process boundary', T, () => {
  test('an argument holding a function fails that task with its path; the pool keeps working', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const error = await executor
        .submit((options: unknown) => options, { name: 'x', handler() {} })
        .then(
          () => assert.fail('should reject'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof SerializationError);
      assert.equal(error.stage, 'argument');
      assert.match(error.message, /argument 1 → \.handler is a function `handler`/);
      assert.equal(error.path, 'argument 1 → .handler');
      assert.equal(await executor.submit((a: number) => a * 2, 21), 42);
      assert.ok(!events.some((e) => e.type === 'exit'), 'no worker died');
    }),
  );

  test('symbols, promises, sockets and deep functions are each named', T, () =>
    withExecutor({ maxWorkers: 2 }, async ({ executor }) => {
      const { Socket } = await import('node:net');
      const cases: Array<[unknown[], RegExp]> = [
        [[1, Symbol('id')], /argument 2 is a symbol Symbol\(id\)/],
        [[Promise.resolve(1)], /argument 1 is a Promise/],
        [
          [{ list: [1, { deep: new Map([['k', () => 0]]) }] }],
          /argument 1 → \.list\[1\]\.deep\.get\("k"\) is a function/,
        ],
        [[new Socket()], /argument 1 → .* is a function|argument 1 is a Socket/],
      ];
      for (const [args, message] of cases) {
        await assert.rejects(
          executor.submit((...received: unknown[]) => received.length, ...args),
          (e: unknown) => e instanceof SerializationError && message.test(e.message),
        );
      }
    }),
  );

  test('a result that cannot be cloned fails the task; the worker stays alive', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const pid = await executor.submit(() => process.pid);
      await assert.rejects(
        executor.submit(() => ({ ok: true, callback: () => 1 })),
        (e: unknown) =>
          e instanceof SerializationError &&
          e.stage === 'result' &&
          /the result → \.callback is a function/.test(e.message),
      );
      await assert.rejects(
        executor.submit(() => Symbol('s')),
        SerializationError,
      );
      assert.equal(await executor.submit(() => process.pid), pid);
    }),
  );

  test('a function using a variable of its enclosing scope is refused at submit, before anything is sent', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      const factor = 3;
      const scale = function scale(x: number) {
        return x * factor;
      };
      if (inlinesConstants) {
        // Bun compiled `x * factor` to `x * 3`: nothing of the enclosing scope is left to refuse.
        assert.doesNotMatch(String(scale), /factor/);
        assert.equal(await executor.submit(scale, 2), 6);
        return;
      }
      const error = thrownBy(() => executor.submit(scale, 2));
      assert.ok(error instanceof SerializationError);
      assert.equal(error.stage, 'function');
      assert.equal(error.path, 'factor');
      assert.equal(error.functionName, 'scale');
      assert.match(error.message, /^The function `scale` uses `factor` from its enclosing scope/);
      assert.match(error.message, /pass it as an argument, or with withScope\(\{ factor \}\)/);
      assertNothingSent(events);
    }),
  );

  test('a name the check was told workers have (globals) but that is missing there still fails clearly', T, () =>
    withExecutor({ maxWorkers: 1, globals: ['model'] }, async ({ executor }) => {
      // The worker-side safety net: the ReferenceError becomes a SerializationError that says what to do.
      const error = await executor
        .submit(function predict(x: number) {
          return model.run(x);
        }, 2)
        .then(
          () => assert.fail('should reject'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof SerializationError);
      assert.equal(error.stage, 'function');
      assert.match(error.message, /`predict` uses `model`, which is not defined in the worker/);
      assert.match(error.message, /Pass `model` as an argument .* or with withScope\(\{ model \}\)/);
      assert.ok(error.cause instanceof ReferenceError);
    }),
  );

  test('native and bound functions are refused at submit, before anything is sent', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor, events }) => {
      assert.throws(() => executor.submit(Math.max, 1, 2), /`max` cannot be sent to a worker: it is native code/);
      const bound = ((x: number) => x).bind(null);
      assert.throws(() => executor.submit(bound, 1), /it is a bound function/);
      assertNothingSent(events);
    }),
  );

  test(
    'the first submit starts a worker while its function is checked; a refused one leaves it to the next task',
    T,
    () =>
      withExecutor({ maxWorkers: 2 }, async ({ executor, events }) => {
        assert.throws(() => executor.submit(Math.max, 1, 2), SerializationError);
        const spawned = events.filter((e) => e.type === 'spawned');
        assert.equal(spawned.length, 1, 'the first check started one worker');
        assert.equal(await executor.submit(() => process.pid), spawned[0]?.pid);
        assert.equal(events.filter((e) => e.type === 'spawned').length, 1, 'and the next task ran on it');
      }),
  );
});

describe('a worker that dies while running a task', T, () => {
  const deaths: Array<[string, () => unknown, (e: TerminatedWorkerError) => void]> = [
    [
      'process.exit(3)',
      () => process.exit(3),
      (e) => {
        assert.equal(e.exitCode, 3);
        assert.equal(e.signal, null);
        assert.match(e.message, /exited with code 3/);
        assert.match(e.hint, /process\.exit\(3\)/);
      },
    ],
    ['process.exit(0)', () => process.exit(0), (e) => assert.equal(e.exitCode, 0)],
    [
      'SIGSEGV',
      () => process.kill(process.pid, 'SIGSEGV'),
      (e) => {
        assert.equal(e.signal, 'SIGSEGV');
        assert.match(e.hint, /segmentation fault/);
      },
    ],
    [
      'SIGKILL',
      () => process.kill(process.pid, 'SIGKILL'),
      (e) => {
        assert.equal(e.signal, 'SIGKILL');
        assert.match(e.hint, /out-of-memory killer/);
      },
    ],
    [
      'abort()',
      () => process.abort(),
      (e) => {
        assert.equal(e.signal, 'SIGABRT');
        assert.match(e.hint, /aborted/);
      },
    ],
  ];

  for (const [name, die, check] of deaths) {
    // Windows has no signals: a process "killed" by one just exits with a code.
    const options = {
      ...T,
      skip:
        process.platform === 'win32' && name.startsWith('SIG')
          ? 'POSIX signals'
          : runtime === 'deno' && name === 'SIGSEGV'
            ? 'Deno survives a SIGSEGV sent to itself (its own handler swallows it), so the task just returns'
            : false,
    };
    test(`${name}: only that task fails, with exit details; other tasks complete; the pool heals`, options, () =>
      withExecutor({ maxWorkers: 2 }, async (recorded) => {
        const { executor, pids } = recorded;
        const others = range(6).map((i) =>
          executor.submit((x: number) => new Promise((resolve) => setTimeout(() => resolve(x), 30)), i),
        );
        const doomed = executor.submit(die);
        const error = await doomed.then(
          () => assert.fail('should reject'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof TerminatedWorkerError, String(error));
        assert.equal(error.taskId, doomed.taskId);
        assert.ok(error.pid !== undefined && pids.has(error.pid));
        assert.match(error.message, new RegExp(`pid ${error.pid}`));
        check(error);
        assert.deepEqual(await Promise.all(others), range(6));
        assert.equal(await executor.submit(() => 'healed'), 'healed');
        // The task may fail a few ms before the process is gone (a worker announces process.exit).
        await until(recorded, (e) => e.type === 'exit' && e.pid === error.pid);
        assert.equal(isAlive(error.pid as number), false);
      }),
    );
  }

  test('a task reserved on a replacement that is still starting runs on a worker that goes idle first', T, () =>
    withExecutor(
      {
        maxWorkers: 2,
        // The replacement (worker 3) boots slowly here, so the survivor is idle long before it is ready.
        initializer: () => {
          if (process.env.RXPOOL_WORKER_ID === '3') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
        },
      },
      async (recorded) => {
        const { executor, events } = recorded;
        const sleep = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), ms));
        const [a, b] = await Promise.all([executor.submit(sleep, 50), executor.submit(sleep, 50)]);
        assert.notEqual(a, b, 'both workers are up');
        const survivor = executor.submit(sleep, 100);
        const error = await executor
          .submit(() => process.exit(1))
          .then(
            () => assert.fail('should reject'),
            (e: unknown) => e,
          );
        assert.ok(error instanceof TerminatedWorkerError);
        // The survivor is busy and the replacement starting: the next task is reserved on the latter...
        const next = executor.submit(() => process.pid);
        const survivorPid = await survivor;
        // ...and taken back by the survivor once its task ends, instead of waiting 3 s for the boot.
        assert.equal(await next, survivorPid);
        const replacement = events.find((e) => e.type === 'spawned' && e.workerId === 3);
        assert.ok(replacement, 'a replacement was started');
        assert.ok(
          !events.some((e) => e.type === 'ready' && e.workerId === 3),
          'it ran before the replacement was ready',
        );
      },
    ),
  );

  const noV8Heap = {
    ...T,
    skip:
      runtime === 'bun'
        ? 'Bun runs JavaScriptCore, not V8: it accepts --max-old-space-size and ignores it, so the task would allocate until the machine runs out of memory'
        : false,
  };
  test('V8 heap exhaustion is reported as such', noV8Heap, () =>
    withExecutor({ maxWorkers: 1, execArgv: ['--max-old-space-size=24'] }, async ({ executor }) => {
      const error = await executor
        .submit(() => {
          const hoard: number[][] = [];
          for (;;) hoard.push(new Array(100_000).fill(hoard.length));
        })
        .then(
          () => assert.fail('should reject'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof TerminatedWorkerError);
      assert.match(error.hint, /V8 heap ran out of memory/);
      assert.match(error.stderr, /heap out of memory|JavaScript out of memory/);
      assert.equal(await executor.submit(() => 1 + 1), 2);
    }),
  );

  test("the out-of-memory hint reads both reports: Node's fatal error and V8's own (Deno)", () => {
    const { diagnoseExit } = requireDist<typeof import('../dist/engine/exit-diagnosis.js')>('engine/exit-diagnosis.js');
    for (const stderr of [
      'FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory',
      'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      '#\n# Fatal JavaScript out of memory: Reached heap limit\n#',
      '#\n# Fatal JavaScript out of memory: Ineffective mark-compacts near heap limit\n#',
    ]) {
      assert.match(diagnoseExit(null, 'SIGTRAP', stderr), /V8 heap ran out of memory/, stderr);
    }
    assert.equal(diagnoseExit(null, 'SIGTRAP', 'something else'), 'signal SIGTRAP');
  });

  test('a real out-of-memory kill by the kernel (memory cgroup) is reported with SIGKILL', T, async (t) => {
    const group = `/sys/fs/cgroup/memory/rxpool-test-${process.pid}`;
    try {
      mkdirSync(group);
      writeFileSync(`${group}/memory.limit_in_bytes`, String(96 * 1024 * 1024));
    } catch {
      t.skip('needs a writable cgroup v1 memory controller (Linux, root)');
      return;
    }
    try {
      await withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
        const pid = await executor.submit(() => process.pid);
        writeFileSync(`${group}/cgroup.procs`, String(pid));
        const error = await executor
          .submit(() => {
            const hoard: Buffer[] = [];
            for (let i = 0; i < 1024; i++) hoard.push(Buffer.alloc(1 << 20, 1));
            return hoard.length;
          })
          .then(
            () => assert.fail('should reject'),
            (e: unknown) => e,
          );
        assert.ok(error instanceof TerminatedWorkerError);
        assert.equal(error.signal, 'SIGKILL');
        assert.equal(error.pid, pid);
        assert.notEqual(await executor.submit(() => process.pid), pid);
      });
    } finally {
      rmdirSync(group);
    }
  });
});

describe('workers that cannot start', T, () => {
  test('a bad execArgv breaks the executor with the worker stderr; no respawn loop', T, async () => {
    // Bun ignores flags it does not know, so there a preload that does not exist is what fails;
    // Deno's fork hands unknown flags to V8, which refuses them.
    const bad = {
      node: { execArgv: ['--no-such-flag'], stderr: /bad option: --no-such-flag/, exitCode: 9 },
      bun: { execArgv: ['--preload', '/no/such/preload.js'], stderr: /preload not found/, exitCode: 1 },
      deno: { execArgv: ['--no-such-flag'], stderr: /V8 did not recognize flag '--no-such-flag'/, exitCode: 1 },
    }[runtime];
    const executor = new ProcessPoolExecutor({ maxWorkers: 3, execArgv: bad.execArgv });
    let spawned = 0;
    executor.events$.subscribe((e) => {
      if (e.type === 'spawned') spawned++;
    });
    const futures = range(5).map((i) => executor.submit((x: number) => x, i));
    for (const future of futures) {
      await assert.rejects(
        future,
        (e: unknown) => e instanceof BrokenExecutorError && bad.stderr.test(e.stderr) && e.exitCode === bad.exitCode,
      );
    }
    assert.equal(executor.state, 'broken');
    assert.throws(() => executor.submit(() => 1), BrokenExecutorError);
    assert.ok(spawned <= 3, `${spawned} workers spawned`);
    await executor.shutdown();
  });

  test('a missing cwd breaks the executor with the spawn error', T, async () => {
    const executor = new ProcessPoolExecutor({ maxWorkers: 1, cwd: '/no/such/directory' });
    await assert.rejects(
      executor.submit(() => 1),
      (e: unknown) => e instanceof BrokenExecutorError && /ENOENT/.test(e.message),
    );
    await executor.shutdown();
  });
});

describe("a task's leftovers", T, () => {
  test('an unhandled rejection during a task fails that task; the worker survives', T, () =>
    withExecutor({ maxWorkers: 1 }, async ({ executor }) => {
      const pid = await executor.submit(() => process.pid);
      await assert.rejects(
        executor.submit(
          () =>
            new Promise((resolve) => {
              Promise.reject(new Error('forgotten promise'));
              setTimeout(resolve, 200);
            }),
        ),
        /forgotten promise/,
      );
      assert.equal(await executor.submit(() => process.pid), pid);
    }),
  );

  test('a timer that throws after its task ended surfaces on events$; the worker survives', T, () =>
    withExecutor({ maxWorkers: 1 }, async (recorded) => {
      const { executor } = recorded;
      const first = executor.submit(() => {
        setTimeout(() => {
          throw new Error('late timer');
        }, 50);
        return process.pid;
      });
      const pid = await first;
      const event = await until(recorded, (e): e is WorkerErrorEvent => e.type === 'worker-error');
      // Deno runs process.on('uncaughtException') outside the timer's async context: no task to blame.
      assert.equal(event.taskId, runtime === 'deno' ? null : first.taskId);
      assert.match(String(event.error), /late timer/);
      assert.equal(await executor.submit(() => process.pid), pid);
    }),
  );
});
