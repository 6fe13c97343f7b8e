import type { ChildProcess, Serializable } from 'node:child_process';
import { serialize } from 'node:v8';

/**
 * Every difference between the JavaScript runtimes and operating systems that rxpool runs on is
 * decided here, and nowhere else: the engine asks this module, it never tests `process.versions`
 * or `process.platform` itself (except `process-tree.ts`, which is the per-OS kill and documented
 * below).
 *
 * ## Runtimes (measured by `scripts/runtime-smoke.mjs`, run by `npm run test:matrix`)
 *
 * | | Node.js ≥ 20 | Bun | Deno (`deno run -A`) |
 * | --- | --- | --- | --- |
 * | `fork()` + `serialization: 'advanced'` | yes | yes | yes |
 * | worker binary (`process.execPath`) | the parent's `node` | the parent's `bun` | the parent's `deno`; Deno's `fork` itself adds `run -A --unstable-bare-node-builtins --unstable-detect-cjs` |
 * | `process.execArgv` inherited by workers | the parent's Node flags, filtered (see `executor/options.ts`) | Bun's own flags (`--smol`, `--bun`...), passed back to `bun` | always `[]`; Deno's `fork` translates a few Node flags itself (`--max-old-space-size` → `--v8-flags=`, `--no-warnings` → `--quiet`) and drops the rest, `--import` included |
 * | worker permissions | — | — | always `-A`, whatever the parent was granted; the parent needs `--allow-run --allow-read --allow-env` at least |
 * | `child.channel.unref()` | yes | **missing** (`child.channel` has no `unref`): {@link unrefChannel} skips it; `child.unref()` alone already lets an idle parent exit | yes |
 * | `process.on('disconnect')` in the worker | yes | yes | yes |
 * | `send()` of a value that cannot be cloned (a function, a symbol) | throws at once | throws at once | **returns**, reports the error to its callback later, and leaves the other side's IPC read loop broken ("Failed to read value"): the task would hang. {@link sendChecked} serializes the message first on Deno (twice the serialization cost there) |
 * | `process.ppid`, `process.kill(pid, 0)` | yes | yes | yes |
 * | exit by SIGKILL / SIGTERM / SIGABRT reported as `signal` | yes | yes | yes |
 * | exit by SIGSEGV / SIGBUS reported as `signal` | yes | yes (Bun prints a crash banner on stderr first) | **no**: Deno's own handler swallows a *sent* SIGSEGV or SIGBUS and the process lives on; rxpool never sends either (it kills with SIGKILL), so only a task's own `process.kill(process.pid, 'SIGSEGV')` differs |
 * | V8 heap exhaustion | SIGABRT + "Reached heap limit" on stderr | cannot happen: JavaScriptCore has no heap limit; `--max-old-space-size` is accepted and **ignored**, so a runaway task grows until the kernel's OOM killer ends it (SIGKILL) | SIGTRAP + "Reached heap limit" (the exit diagnosis reads stderr, not the signal) |
 * | an unknown flag in `execArgv` | the worker exits 9 ("bad option"): the executor is broken | **ignored**: the worker starts (only e.g. a missing `--preload` makes it fail) | — |
 * | globals beyond Node's | — | `Bun`, `HTMLRewriter`, `self`, `postMessage`... | `Deno`, `self`, `name`, `location`, WebGPU... |
 * | the free-variable check accepts | Node's globals | Node's and Bun's: workers run on Bun (`RUNTIME_GLOBALS` in `shipping/worker-globals.ts`) | Node's and Deno's, likewise |
 * | `fn.toString()` of a closure over `const x = <literal>` | names `x`: refused at submit | Bun's transpiler **inlines** many such consts (`x * factor` → `x * 3`), in `.ts` and `.js` alike: nothing outer is left, the function is accepted and works. Heuristic: a function that still names the variable is refused as on Node | names `x`: refused |
 * | resident memory of a worker (pidusage) | real RSS (`/proc` or `ps`); a sample racing the worker's exit (a zombie: 0 bytes) is left out | same (Bun workers exit fastest: the race is most frequent there) | same |
 * | a busy worker dies with its parent by | the kernel's parent-death signal on Linux with util-linux's `setpriv` (see `parent-death.ts`), else the watchdog thread | the watchdog thread (`fork` there runs the runtime's own binary) | the watchdog thread, likewise |
 * | watchdog thread (`worker_threads`, `eval: true`) | yes | yes | yes; it runs without `resourceLimits`: a thread over its limits dies silently on Node (an earlier 4 MB cap killed it at start) and aborts the **whole process** on Deno |
 * | `AsyncLocalStorage` in a worker (it tells which task left a timer or rejection behind) | Node 20: promise hooks on every promise, each `await` in a task 3–5× slower than in the parent; Node 22.7–23: workers get `--experimental-async-context-frame` ({@link workerFlags}), no cost; Node ≥ 24: that is the default | no measurable cost | no measurable cost |
 * | `performance.timeOrigin` | epoch ms | epoch ms | epoch ms |
 * | a typed array that views part of a larger `ArrayBuffer`, sent to or from a worker | only the view's bytes travel (Node's serializer writes views as host objects) | the **whole** buffer travels, as structured clone has it, and the view arrives at its offset in a copy of it: a small view of a big buffer costs the big buffer | only the view's bytes, like Node |
 * | a second pipe to the worker (`stdio[4]`, opened there with `new net.Socket({ fd: 4 })`) for large typed arrays ({@link hasByteLane}) | yes | not used: the IPC channel carries them | not used, likewise |
 *
 * ## Operating systems
 *
 * - **Linux**: process-tree kill reads `/proc/<pid>/stat` (falls back to `ps` if `/proc` is not
 *   mounted); signals are real; Node workers get the kernel's parent-death signal through `setpriv`
 *   when util-linux provides it; otherwise an orphaned worker is re-parented (to init or a
 *   subreaper), which is what the watchdog detects through `process.ppid`.
 * - **macOS** and other POSIX systems: no `/proc`; the process tree comes from
 *   `ps -A -o pid= -o ppid=`. Signals and re-parenting behave as on Linux, so the watchdog works.
 * - **Windows**: no signals: `process.kill()` and `child.kill()` always terminate (TerminateProcess)
 *   and exits report a code, never a signal (so `TerminatedWorkerError.signal` is `null`); the tree
 *   is killed by `taskkill /T /F`. A process whose parent dies is **not** re-parented and keeps its
 *   old `ppid`, so the watchdog could never fire: {@link supportsWatchdog} is false there, and a
 *   worker busy in a synchronous loop when its parent is killed lives until that task ends (an idle
 *   worker still exits at once on `disconnect`). There is no byte lane ({@link hasByteLane}): a
 *   worker could not open a pipe by file descriptor; large typed arrays go through IPC. Paths:
 *   rxpool only builds paths with `node:path` (`join(__dirname, ...)`), so drive letters and
 *   backslashes need nothing special.
 *
 * Tests that only make sense on one OS say so with `skip` and a reason.
 */

/** The JavaScript runtime this process runs on. */
export type Runtime = 'node' | 'bun' | 'deno';

/** Which runtime runs this process: Bun and Deno both also report a `process.versions.node`. */
export function currentRuntime(versions: Readonly<Record<string, string | undefined>> = process.versions): Runtime {
  if (typeof versions.bun === 'string') return 'bun';
  if (typeof versions.deno === 'string') return 'deno';
  return 'node';
}

/**
 * Lets the IPC channel stop holding this process's event loop open. Node and Deno have
 * `child.channel.unref()`; Bun's `child.channel` has no `unref` (and `child.unref()` already
 * covers the channel there).
 */
export function unrefChannel(child: ChildProcess): void {
  const channel = child.channel as { unref?: () => void } | null | undefined;
  if (typeof channel?.unref === 'function') channel.unref();
}

/**
 * Whether a worker should start its parent-death watchdog. It detects an orphan by its changed
 * `process.ppid`, which happens on POSIX systems (Node, Bun and Deno alike) but never on Windows.
 */
export function supportsWatchdog(platform: NodeJS.Platform = process.platform): boolean {
  return platform !== 'win32';
}

/**
 * Sends `message` over an IPC channel (`child.send` in the parent, `process.send` in a worker),
 * throwing at once when it holds a value that cannot be cloned: rxpool relies on that to fail only
 * the task at fault. Node's and Bun's `send()` throw by themselves; Deno's returns, and its failed
 * write breaks the receiving side's channel, so there the message is serialized once beforehand.
 */
export function sendChecked(
  target: { send?: ((message: Serializable) => unknown) | undefined },
  message: Serializable,
  runtime: Runtime = CURRENT,
): void {
  if (runtime === 'deno') serialize(message);
  target.send?.(message);
}

const CURRENT = currentRuntime();

/**
 * Whether workers get the byte lane, a second pipe for large typed arrays (see
 * `protocol/byte-lane.ts`): Node on POSIX systems, where a worker opens it by file descriptor.
 * Elsewhere the IPC channel carries them, as it carries everything else.
 */
export const hasByteLane: boolean = CURRENT === 'node' && process.platform !== 'win32';

/** The flag that keeps AsyncLocalStorage in async context frames, Node 22.7–23 (the default from 24). */
const CONTEXT_FRAME = '--experimental-async-context-frame';

/**
 * The `execArgv` a Node worker starts with: the user's, behind what rxpool adds. Node 22.7–23 add
 * {@link CONTEXT_FRAME} unless the user's flags mention async context frames: without it, the
 * worker's AsyncLocalStorage runs every promise through promise hooks, and 1,000,000 `await`s in a
 * task took 140 ms instead of the parent's 55. Node 24 does this by default; Node 20 cannot.
 */
export function workerFlags(
  execArgv: readonly string[],
  runtime: Runtime = CURRENT,
  version: string = process.versions.node ?? '',
): string[] {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const framesOptIn = runtime === 'node' && ((major === 22 && minor >= 7) || major === 23);
  if (!framesOptIn || execArgv.some((flag) => flag.includes('async-context-frame'))) return [...execArgv];
  return [CONTEXT_FRAME, ...execArgv];
}
