import { Fifo } from './fifo.js';
import type { Task } from './task.js';

/** How many emptied lanes may wait for their group's next task before they are dropped. */
const SPARE_LANES = 16;

/**
 * Tasks waiting for a worker. Each group (a `map()` call, a `parallelMap` subscription, plain
 * submits) has its own first-in first-out lane, and lanes take turns, so one long stream cannot
 * starve another. Tasks put back after a worker died go first. Cancelled tasks are skipped when
 * they reach the front rather than searched for, so cancelling many stays cheap.
 */
export class TaskQueue {
  #urgent: Task[] = [];
  /**
   * One first-in first-out lane per group. An emptied lane stays for its group's next task: a
   * shallow queue empties and refills its lane at every task, and a Map delete and set each time
   * cost more than the rest of the queue. Past {@link SPARE_LANES} empty ones, they all go, so the
   * groups that have ended leave nothing behind.
   */
  readonly #lanes = new Map<number, Fifo<Task>>();
  #emptyLanes = 0;
  /** Groups with tasks, in turn order; `#turn` points at the next to serve. */
  #order: number[] = [];
  #turn = 0;
  #size = 0;

  /** Tasks still waiting (cancelled ones excluded). */
  get size(): number {
    return this.#size;
  }

  push(task: Task): void {
    let lane = this.#lanes.get(task.group);
    if (!lane) {
      lane = new Fifo();
      this.#lanes.set(task.group, lane);
      this.#order.push(task.group);
    } else if (lane.length === 0) {
      this.#order.push(task.group);
      this.#emptyLanes--;
    }
    lane.push(task);
    task.queued = true;
    this.#size++;
  }

  /** Puts tasks back at the very front, keeping their order: they were due before everything queued. */
  requeue(tasks: Task[]): void {
    for (const task of tasks) task.queued = true;
    this.#urgent = [...tasks, ...this.#urgent];
    this.#size += tasks.length;
  }

  /** The next task that is still pending, or undefined. */
  shift(): Task | undefined {
    for (let task = this.#urgent.shift(); task; task = this.#urgent.shift()) {
      if (task.state === 'pending') return this.#taken(task);
    }
    while (this.#order.length > 0) {
      if (this.#turn >= this.#order.length) this.#turn = 0;
      const group = this.#order[this.#turn] as number;
      const lane = this.#lanes.get(group) as Fifo<Task>;
      const task = lane.shift();
      if (lane.length === 0) {
        this.#order.splice(this.#turn, 1);
        if (++this.#emptyLanes > SPARE_LANES) this.#dropEmptyLanes();
      } else {
        this.#turn++;
      }
      if (task?.state === 'pending') return this.#taken(task);
    }
    return undefined;
  }

  /** Notes that a task was cancelled; if it is queued, it stays in place until it reaches the front. */
  cancelled(task: Task): void {
    if (task.queued) this.#size--;
    task.queued = false;
  }

  /** Removes and returns every task still waiting. */
  drain(): Task[] {
    const tasks = [...this.#urgent];
    for (const group of this.#order) {
      for (const task of (this.#lanes.get(group) as Fifo<Task>).drain()) tasks.push(task);
    }
    this.#urgent = [];
    this.#lanes.clear();
    this.#emptyLanes = 0;
    this.#order = [];
    this.#turn = 0;
    this.#size = 0;
    for (const task of tasks) task.queued = false;
    return tasks.filter((task) => task.state === 'pending');
  }

  #dropEmptyLanes(): void {
    for (const [group, lane] of this.#lanes) if (lane.length === 0) this.#lanes.delete(group);
    this.#emptyLanes = 0;
  }

  #taken(task: Task): Task {
    this.#size--;
    task.queued = false;
    return task;
  }
}
