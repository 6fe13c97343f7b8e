import { readFileSync } from 'node:fs';
import { PARENT_DEATH_VARIABLE, PARENT_PID_VARIABLE } from '../platform/parent-death.js';
import { supportsWatchdog } from '../platform/runtime.js';

/** How often the watchdog looks for its parent. */
const INTERVAL_MS = 500;
/** The auxiliary vector's entry that says the kernel ran this program as a "secure" exec. */
const AT_SECURE = 23;

/**
 * The process that started this worker (its pid, passed by the parent; else the parent now), and
 * whether it is already gone. A parent that dies while its worker starts leaves it no way to learn
 * of it later: the kernel's signal was not armed yet, a watchdog started now would watch the new
 * parent, and a first task stuck in a synchronous loop (already waiting in the channel) never
 * hears the channel close. Such a worker must end before it runs anything.
 */
export function startedBy(env: NodeJS.ProcessEnv = process.env): { parent: number; gone: boolean } {
  const passed = Number(env[PARENT_PID_VARIABLE]);
  // The variable is for this process: whatever a task starts has another parent.
  delete env[PARENT_PID_VARIABLE];
  if (!Number.isInteger(passed) || passed <= 0) return { parent: process.ppid, gone: false };
  const watched = env[PARENT_DEATH_VARIABLE] !== 'none' && supportsWatchdog();
  return { parent: passed, gone: watched && process.ppid !== passed };
}

/**
 * Whether this worker needs its watchdog thread: not when the kernel sends it SIGKILL at its
 * parent's death (the parent started it through setpriv, see platform/parent-death.ts), unless the
 * exec of node was a secure one (a set-user-id binary, or one with file capabilities), which
 * clears that signal.
 */
export function needsWatchdog(env: NodeJS.ProcessEnv = process.env): boolean {
  const how = env[PARENT_DEATH_VARIABLE];
  if (how === 'none' || !supportsWatchdog()) return false;
  return how !== 'kernel' || secureExec();
}

/** AT_SECURE from /proc/self/auxv; true when it cannot be read (then the thread runs, to be safe). */
function secureExec(): boolean {
  try {
    const auxv = readFileSync('/proc/self/auxv');
    // The vector is (type, value) pairs of native words.
    const word = process.arch === 'arm' || process.arch === 'ia32' ? 4 : 8;
    // The byte order, without loading node:os for it (every worker runs this at start).
    const little = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
    const read = (offset: number): number => {
      if (word === 4) return little ? auxv.readUInt32LE(offset) : auxv.readUInt32BE(offset);
      return Number(little ? auxv.readBigUInt64LE(offset) : auxv.readBigUInt64BE(offset));
    };
    for (let at = 0; at + 2 * word <= auxv.length; at += 2 * word) {
      const type = read(at);
      if (type === 0) return true; // AT_NULL before AT_SECURE: not the vector we know
      if (type === AT_SECURE) return read(at + word) !== 0;
    }
  } catch {
    // no /proc
  }
  return true;
}

/**
 * Kills this worker when its parent process is gone, even while the main thread is stuck in a long
 * synchronous task. The IPC `disconnect` event covers an idle worker; a busy one cannot hear it, so
 * a tiny thread polls the parent pid (it changes when the parent dies and the worker is re-parented)
 * and sends SIGKILL to its own process. The thread is unref'd: it never keeps the worker alive.
 */
export function watchParent(parentPid: number): void {
  const source = `
    const parent = ${parentPid};
    setInterval(() => {
      if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
    }, ${INTERVAL_MS});
  `;
  // Loaded here, not at the top: most workers never need it, and every worker would pay ~1.5 ms.
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const thread = new Worker(source, { eval: true, stdout: false, stderr: false });
  thread.unref();
  // A watchdog that fails to start must not take the worker down with it.
  thread.on('error', () => {});
}
