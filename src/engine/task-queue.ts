import type { Task } from './task.js';

/**
 * First-in first-out queue of tasks waiting for a worker. Cancelled tasks are skipped when they
 * reach the front rather than searched for, so cancelling many queued tasks stays cheap.
 */
export class TaskQueue {
  #items: Array<Task | undefined> = [];
  #head = 0;
  #cancelled = 0;

  /** Tasks still waiting (cancelled ones excluded). */
  get size(): number {
    return this.#items.length - this.#head - this.#cancelled;
  }

  push(task: Task): void {
    this.#items.push(task);
  }

  /** Puts tasks back at the front, keeping their order: they were due before everything queued. */
  requeue(tasks: Task[]): void {
    if (tasks.length === 0) return;
    this.#items = [...tasks, ...this.#items.slice(this.#head)];
    this.#head = 0;
  }

  /** The next task that is still pending, or undefined. */
  shift(): Task | undefined {
    while (this.#head < this.#items.length) {
      const task = this.#items[this.#head];
      this.#items[this.#head++] = undefined;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      if (task && task.state === 'pending') return task;
      if (task) this.#cancelled--;
    }
    return undefined;
  }

  /** Notes that a queued task was cancelled; it stays in place until it reaches the front. */
  cancelled(): void {
    this.#cancelled++;
  }

  /** Removes and returns every task still waiting. */
  drain(): Task[] {
    const tasks = this.#items
      .slice(this.#head)
      .filter((task): task is Task => task !== undefined && task.state === 'pending');
    this.#items = [];
    this.#head = 0;
    this.#cancelled = 0;
    return tasks;
  }
}
