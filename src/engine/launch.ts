import { type ChildProcess, fork } from 'node:child_process';
import {
  PARENT_DEATH_VARIABLE,
  PARENT_PID_VARIABLE,
  type ParentDeath,
  workerLaunch,
} from '../platform/parent-death.js';
import { hasByteLane } from '../platform/runtime.js';
import { LANE_FD_VARIABLE } from '../protocol/byte-lane.js';
import type { ShippedFunction } from '../shipping/function-registry.js';

/** How to start a worker process. */
export interface WorkerSpec {
  /** The worker entry point (rxpool's `worker/boot.js`). */
  readonly bootstrap: string;
  readonly execPath: string;
  readonly execArgv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string | undefined;
  /** Run once in the worker before its first task. */
  readonly initializer?: { readonly fn: ShippedFunction; readonly args: readonly unknown[] } | undefined;
}

/** The byte lane is the worker's fd 4: after stdin, stdout, stderr and the IPC channel. */
export const LANE_FD = 4;

/**
 * Forks a worker process: stdout shared with this process, stderr piped (its tail explains an
 * exit), the IPC channel with V8's serialization, the byte lane where the runtime has one, and
 * whatever makes it die with this process (platform/parent-death.ts). Throws what `fork` throws.
 */
export function launchWorker(spec: WorkerSpec): ChildProcess {
  const { execPath, execArgv, how } = workerLaunch(spec.execPath, spec.execArgv);
  return fork(spec.bootstrap, [], {
    execPath,
    execArgv,
    env: hasByteLane
      ? { ...spec.env, ...parentDeath(how), [LANE_FD_VARIABLE]: String(LANE_FD) }
      : { ...spec.env, ...parentDeath(how) },
    cwd: spec.cwd,
    stdio: hasByteLane ? ['ignore', 'inherit', 'pipe', 'ipc', 'pipe'] : ['ignore', 'inherit', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
}

/** What tells a worker how it dies with its parent, and which process its parent is. */
function parentDeath(how: ParentDeath): NodeJS.ProcessEnv {
  return { [PARENT_DEATH_VARIABLE]: how, [PARENT_PID_VARIABLE]: String(process.pid) };
}
