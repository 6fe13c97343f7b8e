import { Worker } from 'node:worker_threads';
import { WATCHDOG_RESOURCE_LIMITS } from '../platform/runtime.js';

/** How often the watchdog looks for its parent. */
const INTERVAL_MS = 500;

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
  const thread = new Worker(source, {
    eval: true,
    stdout: false,
    stderr: false,
    resourceLimits: WATCHDOG_RESOURCE_LIMITS,
  });
  thread.unref();
  // A watchdog that fails to start must not take the worker down with it.
  thread.on('error', () => {});
}
