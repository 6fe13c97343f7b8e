/** Where the package's `reportProgress` finds the worker's reporter, even from another copy of rxpool. */
export const PROGRESS_KEY = Symbol.for('rxpool.reportProgress');

/**
 * Lets tasks report progress: as the global `reportProgress(value)` (shipped functions see only
 * globals) and under a registered symbol that `import { reportProgress } from 'rxpool'` reaches,
 * for functions loaded from modules.
 */
export function installProgress(target: typeof globalThis, report: (value: unknown) => void): void {
  const globals = target as unknown as Record<string | symbol, unknown>;
  globals[PROGRESS_KEY] = report;
  globals.reportProgress ??= report;
}
