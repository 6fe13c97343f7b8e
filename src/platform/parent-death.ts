import { readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { currentRuntime } from './runtime.js';

/**
 * How a worker dies with its parent even while it is stuck in a synchronous task (an idle worker
 * hears the IPC channel close and exits by itself):
 * - `kernel`: Linux's parent-death signal (`prctl(PR_SET_PDEATHSIG)`). The worker is started as
 *   `setpriv --pdeathsig KILL -- node ...`: setpriv (util-linux 2.33 or later) sets the flag and
 *   execs node in the same process, and the kernel sends SIGKILL the moment the parent is gone.
 *   Nothing runs in the worker for it.
 * - `thread`: a watchdog thread in the worker polls its parent pid (see worker/watchdog.ts). It
 *   costs each worker a Node thread: ~10 MB of memory, and tens of milliseconds of CPU at boot.
 *
 * Setting `RXPOOL_WATCHDOG=thread` in the parent's environment forces the thread (tests use it);
 * `RXPOOL_WATCHDOG=0` turns both off, for debugging only.
 */
export type ParentDeath = 'kernel' | 'thread' | 'none';

/** The environment variable that tells a worker which of the two it relies on. */
export const PARENT_DEATH_VARIABLE = 'RXPOOL_PARENT_DEATH';
/**
 * The parent's pid, passed to each worker: a worker whose parent died while it was starting (before
 * the kernel's signal was armed, or before its watchdog ran) finds another parent than this one.
 */
export const PARENT_PID_VARIABLE = 'RXPOOL_PARENT_PID';

const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/usr/local/bin/setpriv'];

/** Found once per process: whether this machine has a setpriv that knows `--pdeathsig`. */
let setpriv: string | null | undefined;

/**
 * The setpriv binary that can set a parent-death signal, or null. util-linux's setpriv before 2.33
 * (2018) has no `--pdeathsig`, and BusyBox's applet has none either: the binary is read (not run,
 * which would cost a fork of this process) and must be util-linux's and name the option.
 */
function findSetpriv(): string | null {
  for (const candidate of SETPRIV_CANDIDATES) {
    try {
      const real = realpathSync(candidate);
      if (basename(real) !== 'setpriv') continue;
      if (readFileSync(real).includes('pdeathsig')) return real;
    } catch {
      // not there
    }
  }
  return null;
}

/**
 * How to start a worker (`execPath execArgv...`) so that it dies with this process, and which way
 * it will: through setpriv for `kernel`, as it is otherwise. The worker learns the way from
 * PARENT_DEATH_VARIABLE in its environment.
 */
export function workerLaunch(
  execPath: string,
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { execPath: string; execArgv: string[]; how: ParentDeath } {
  const wanted = env.RXPOOL_WATCHDOG;
  if (wanted === '0') return { execPath, execArgv: [...execArgv], how: 'none' };
  if (wanted !== 'thread' && process.platform === 'linux' && currentRuntime() === 'node') {
    if (setpriv === undefined) setpriv = findSetpriv();
    if (setpriv) {
      return { execPath: setpriv, execArgv: ['--pdeathsig', 'KILL', '--', execPath, ...execArgv], how: 'kernel' };
    }
  }
  return { execPath, execArgv: [...execArgv], how: 'thread' };
}
