/** Per-task options that travel with a function wherever it is submitted. */
export interface TaskOptions {
  /** Milliseconds the task may run once started; past it, TaskTimeoutError and the worker is replaced. */
  readonly timeout?: number;
}

const DEFINITION = Symbol('rxpool.taskDefinition');

interface Definition {
  readonly fn: (...args: never[]) => unknown;
  readonly options: TaskOptions;
}

/**
 * Attaches options to a function to ship: `executor.submit(defineTask(fn, { timeout: 1000 }), x)`.
 * The result is still a plain function of the same type (calling it here calls `fn`), so it fits
 * wherever a shipped function does.
 */
export function defineTask<A extends unknown[], R>(fn: (...args: A) => R, options: TaskOptions): (...args: A) => R {
  if (typeof fn !== 'function') throw new TypeError(`defineTask expects a function, got ${typeof fn}`);
  const inner = taskDefinition(fn);
  const merged: Definition = { fn: inner.fn, options: { ...inner.options, ...options } };
  const defined = (...args: A): R => fn(...args);
  Object.defineProperty(defined, 'name', { value: fn.name });
  Object.defineProperty(defined, DEFINITION, { value: merged });
  return defined;
}

/** The function to ship and its options, unwrapping {@link defineTask}. */
export function taskDefinition(fn: unknown): Definition {
  const definition = (fn as { [DEFINITION]?: Definition } | null | undefined)?.[DEFINITION];
  return definition ?? { fn: fn as Definition['fn'], options: {} };
}
