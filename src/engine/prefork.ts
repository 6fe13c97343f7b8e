import type { ChildProcess } from 'node:child_process';
import { killOnExit } from './exit-hook.js';

/**
 * Worker processes forked before the scheduler asks for them. A new executor with `minWorkers`
 * starts them first thing, so that they boot (40 ms and more) while the constructor, and the first
 * submit's check of its function, go on in this process; the scheduler then takes them over,
 * within the same tick, as it spawns its first workers (before any of their events can arrive).
 * Those it does not take (the pool was shut down or resized at once) are killed.
 */
export class Prefork {
  readonly #waiting = new Map<number, { child: ChildProcess; forget: () => void }>();
  /** The exits of those killed so far. */
  readonly #exits: Promise<void>[] = [];

  /** Forks one process per id with `launch`. One that fails to fork is left for the scheduler to retry and report. */
  constructor(launch: (workerId: number) => ChildProcess, workerIds: readonly number[]) {
    for (const workerId of workerIds) {
      let child: ChildProcess;
      try {
        child = launch(workerId);
      } catch {
        continue;
      }
      // A spawn error is emitted in a later tick: it must not throw for want of a listener.
      child.on('error', () => {});
      if (child.pid === undefined) continue;
      this.#waiting.set(workerId, { child, forget: killOnExit(child) });
    }
  }

  /** The process forked for `workerId`, now the caller's; undefined when there is none. */
  take(workerId: number): ChildProcess | undefined {
    const waiting = this.#waiting.get(workerId);
    if (!waiting) return undefined;
    this.#waiting.delete(workerId);
    waiting.forget();
    return waiting.child;
  }

  /** Kills the processes no one took; resolves once they, and those of any earlier call, have exited. */
  discard(): Promise<void> {
    for (const { child, forget } of this.#waiting.values()) {
      this.#exits.push(
        new Promise<void>((resolve) => {
          const gone = () => {
            forget();
            resolve();
          };
          if (child.exitCode !== null || child.signalCode !== null) return gone();
          child.once('exit', gone);
          child.kill('SIGKILL');
        }),
      );
    }
    this.#waiting.clear();
    return Promise.all(this.#exits).then(() => undefined);
  }
}
