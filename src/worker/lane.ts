/**
 * The worker's end of the byte lane (see protocol/byte-lane.ts): opening the pipe the parent passed,
 * and an inbox that hands the runner each batch once the large arguments it waits for have come.
 * @module
 */
import type { Socket } from 'node:net';
import { FrameReader, joinLane, LaneJoin, type LaneSink } from '../protocol/byte-lane.js';
import { type ParentMessage, type TaskExtras, type TaskMessage, ToWorker } from '../protocol/messages.js';

/**
 * The byte lane the parent passed, opened on first use: most workers never see a large typed
 * array, and opening a socket costs a starting worker about 2 ms (node:net's stream machinery).
 * Bytes the parent writes meanwhile wait in the pipe; the parent writes a task's lane values only
 * after its message, and the message is what opens the lane here.
 */
export class WorkerLane implements LaneSink {
  readonly #fd: number;
  #socket: Socket | undefined;
  #onData: ((chunk: Buffer) => void) | undefined;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** The lane on descriptor `fd` (see lane-descriptor.ts), or `undefined` when there is none. */
  static on(fd: number | undefined): WorkerLane | undefined {
    return fd === undefined ? undefined : new WorkerLane(fd);
  }

  /** Where the bytes that arrive go, once the lane is open. */
  onData(listener: (chunk: Buffer) => void): void {
    this.#onData = listener;
    this.#socket?.on('data', listener);
  }

  /**
   * Opens the lane if it is not open yet. A lane that cannot be opened now, though its descriptor
   * was a pipe at start, ends the worker: its tasks fail with the exit, rather than wait for values
   * that will never come.
   */
  open(): Socket {
    if (this.#socket) return this.#socket;
    // Loaded here, not at the top: see the class comment.
    const { Socket } = require('node:net') as typeof import('node:net');
    let socket: Socket;
    try {
      socket = new Socket({ fd: this.#fd, readable: true, writable: true });
    } catch (error) {
      process.stderr.write(
        `rxpool: cannot open the byte lane: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    }
    // A parent that is gone breaks the pipe; the IPC channel's disconnect ends the worker.
    socket.on('error', () => {});
    // The IPC channel decides when the worker ends: the lane never keeps it alive.
    socket.unref();
    if (this.#onData) socket.on('data', this.#onData);
    this.#socket = socket;
    return socket;
  }

  cork(): void {
    this.open().cork();
  }

  uncork(): void {
    this.open().uncork();
  }

  write(chunk: Uint8Array): boolean {
    return this.open().write(chunk);
  }
}

/**
 * Batches from the parent, handed to `receive` in order: as they come while no task waits for lane
 * values, else once the values have arrived (with everything received after them).
 */
export class Inbox {
  readonly #receive: (batch: ParentMessage[]) => void;
  readonly #join: LaneJoin<ParentMessage>;
  readonly #lane: WorkerLane | undefined;

  constructor(receive: (batch: ParentMessage[]) => void, lane: WorkerLane | undefined) {
    this.#receive = receive;
    this.#join = new LaneJoin(laneNeeds, fillLane, receive);
    this.#lane = lane;
    if (!lane) return;
    const reader = new FrameReader((view) => this.#join.value(view));
    lane.onData((chunk: Buffer) => {
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
    if (!batch.some(waitsForLane)) {
      if (this.#join.idle) this.#receive(batch);
      else this.#join.messages(batch);
      return;
    }
    this.#lane?.open();
    this.#join.messages(batch);
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
