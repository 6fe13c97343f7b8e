/**
 * Holds the event loop open while there is work in flight, and only then. Worker processes and
 * their IPC channels are unref'd, so an idle pool never keeps a script from exiting; this one timer
 * is what keeps `await future` from ending the process early.
 */
export class KeepAlive {
  #timer: NodeJS.Timeout | undefined;

  set held(held: boolean) {
    if (held && !this.#timer) this.#timer = setInterval(() => {}, 1 << 30);
    else if (!held && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  get held(): boolean {
    return this.#timer !== undefined;
  }
}
