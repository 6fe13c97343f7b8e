/**
 * The worker: it speaks the protocol over the IPC channel that `child_process.fork` opens, runs
 * tasks with {@link Runner}, and exits as soon as the channel closes, so a worker never outlives its
 * parent. `boot.ts`, the file workers start, loads this module and calls {@link startWorker}.
 * @module
 */

import { sendChecked } from '../platform/runtime.js';
import { withoutPadding } from '../protocol/align.js';
import type { ParentMessage, WorkerMessage } from '../protocol/messages.js';
import { FromWorker } from '../protocol/messages.js';
import { installHelpers } from './helpers.js';
import { Inbox, WorkerLane } from './lane.js';
import { Outbox } from './outbox.js';
import { installProgress } from './progress.js';
import { type ImportFunction, useImport } from './project.js';
import { Runner } from './runner.js';
import { needsWatchdog, startedBy, watchParent } from './watchdog.js';

/**
 * Starts the worker in this process. `importModule` is `import()` compiled in the file that calls
 * this one: this module may be compiled from V8's code cache, where `import()` would fail.
 * `laneFd` is the byte lane's descriptor, found by the caller (see lane-descriptor.ts).
 */
export function startWorker(importModule: ImportFunction, laneFd: number | undefined): void {
  const { parent, gone } = startedBy();
  if (gone) process.exit(0);
  useImport(importModule);
  const lane = WorkerLane.on(laneFd);
  const outbox = new Outbox((batch: WorkerMessage[]) => {
    if (process.connected) sendChecked(process, batch);
  }, lane);
  const runner = new Runner(outbox);
  // Tasks whose large arguments follow on the byte lane wait for them, and what came after them too.
  const inbox = new Inbox((batch) => runner.receive(batch), lane);

  process.on('disconnect', () => process.exit(0));
  // process.exit() ends in reallyExit, after every 'exit' listener ran: tell the parent the code then,
  // with the results still batched, so it can fail the task at once rather than after the teardown.
  const host = process as NodeJS.Process & { reallyExit?: (code?: number) => void };
  const reallyExit = host.reallyExit;
  if (typeof reallyExit === 'function') {
    host.reallyExit = (code?: number) => {
      if (process.connected) {
        outbox.push([FromWorker.Exiting, code ?? 0]);
        outbox.flush();
      }
      reallyExit.call(process, code);
    };
  }
  process.on('message', (batch: Array<ParentMessage | string>) => inbox.batch(withoutPadding(batch)));
  const onLeftover = (error: unknown) => {
    if (!process.connected) process.exit(0);
    runner.leftover(error);
  };
  process.on('uncaughtException', onLeftover);
  process.on('unhandledRejection', onLeftover);

  installHelpers(globalThis);
  installProgress(globalThis, (value) => runner.progress(value));
  outbox.push(lane ? [FromWorker.Ready, 1] : [FromWorker.Ready]);
  outbox.flush();
  if (needsWatchdog()) watchParent(parent);
}
