import { Observable } from '../rx/rxjs.js';

/**
 * Emits once after `ms` and completes, like RxJS's `timer(ms)`, but never keeps the process alive:
 * an idle pool's timers must not delay a script's exit.
 */
export function unrefTimer(ms: number): Observable<void> {
  return new Observable<void>((subscriber) => {
    const timeout = setTimeout(() => {
      subscriber.next();
      subscriber.complete();
    }, ms);
    timeout.unref();
    return () => clearTimeout(timeout);
  });
}
