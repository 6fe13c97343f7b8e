/**
 * Holds the event loop open while there is work in flight, and only then. Worker processes and
 * their IPC channels are unref'd, so an idle pool never keeps a script from exiting; this one timer
 * is what keeps `await future` from ending the process early.
 *
 * The timer is made once and ref'd or unref'd after: a pool going busy and idle at every task (one
 * task at a time) would otherwise create and clear a timer per task.
 */
export class KeepAlive {
  #timer: NodeJS.Timeout | undefined;

  set held(held: boolean) {
    if (held) {
      this.#timer ??= setInterval(() => {}, 1 << 30);
      this.#timer.ref();
    } else {
      this.#timer?.unref();
    }
  }

  get held(): boolean {
    return this.#timer?.hasRef() ?? false;
  }

  /** Lets go of the loop for good and clears the timer. */
  release(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
