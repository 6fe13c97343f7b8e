import { PROGRESS_KEY } from '../worker/progress.js';

/**
 * Reports progress from inside a task: `reportProgress({ done: 3, of: 10 })`. The value crosses to
 * the parent like a result (structured clone) and shows on the task's Future (`progress$`), on its
 * stream, and on `executor.events$` as a `task-progress` event. Shipped functions can also call the
 * global `reportProgress` directly. Outside a worker this does nothing.
 */
export function reportProgress(value: unknown): void {
  const report = (globalThis as unknown as Record<symbol, unknown>)[PROGRESS_KEY];
  if (typeof report === 'function') report(value);
}
