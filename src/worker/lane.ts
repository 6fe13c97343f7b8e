/**
 * The worker's end of the byte lane (see protocol/byte-lane.ts): opening the pipe the parent passed,
 * and an inbox that hands the runner each batch once the large arguments it waits for have come.
 * @module
 */
import { Socket } from 'node:net';
import { FrameReader, joinLane, LANE_FD_VARIABLE, LaneJoin } from '../protocol/byte-lane.js';
import { type ParentMessage, type TaskExtras, type TaskMessage, ToWorker } from '../protocol/messages.js';

/** The byte lane the parent opened, or `undefined` when there is none or it cannot be opened. */
export function openLane(env: NodeJS.ProcessEnv = process.env): Socket | undefined {
  const fd = Number(env[LANE_FD_VARIABLE]);
  // The variable is for this process: whatever a task starts does not have the pipe.
  delete env[LANE_FD_VARIABLE];
  if (!Number.isInteger(fd) || fd <= 0) return undefined;
  try {
    const socket = new Socket({ fd, readable: true, writable: true });
    // A parent that is gone breaks the pipe; the IPC channel's disconnect ends the worker.
    socket.on('error', () => {});
    // The IPC channel decides when the worker ends: the lane never keeps it alive.
    socket.unref();
    return socket;
  } catch {
    return undefined;
  }
}

/**
 * Batches from the parent, handed to `receive` in order: as they come while no task waits for lane
 * values, else once the values have arrived (with everything received after them).
 */
export class Inbox {
  readonly #receive: (batch: ParentMessage[]) => void;
  readonly #join: LaneJoin<ParentMessage>;

  constructor(receive: (batch: ParentMessage[]) => void, lane: Socket | undefined) {
    this.#receive = receive;
    this.#join = new LaneJoin(laneNeeds, fillLane, receive);
    if (!lane) return;
    const reader = new FrameReader((view) => this.#join.value(view));
    lane.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        // A frame this build cannot read: the lane is out of step for good, and every task with it.
        process.stderr.write(`rxpool: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      }
    });
  }

  /** A batch from the IPC channel. */
  batch(batch: ParentMessage[]): void {
    if (this.#join.idle && !batch.some(waitsForLane)) this.#receive(batch);
    else this.#join.messages(batch);
  }
}

function waitsForLane(message: ParentMessage): boolean {
  return laneNeeds(message) > 0;
}

function laneNeeds(message: ParentMessage): number {
  return message[0] === ToWorker.Task ? (message[6]?.lane?.length ?? 0) : 0;
}

/** A task with its lane values put back into its arguments. */
function fillLane(message: ParentMessage, views: ArrayBufferView[]): ParentMessage {
  const task = message as TaskMessage;
  const { lane: positions, ...extras } = task[6] as TaskExtras;
  task[3] = joinLane(task[3], positions as number[], views) as unknown[];
  task[6] = extras;
  return message;
}
