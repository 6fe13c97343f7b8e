import { existsSync } from 'node:fs';
import { basename, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModuleReference } from '../protocol/messages.js';

/** Per-task options that travel with a function wherever it is submitted. */
export interface TaskOptions {
  /** Milliseconds the task may run once started; past it, TaskTimeoutError and the worker is replaced. */
  readonly timeout?: number;
  /**
   * Values the function closes over, by name: the worker binds each name around the rebuilt function
   * (see {@link withScope}).
   */
  readonly scope?: Readonly<Record<string, unknown>>;
}

const DEFINITION = Symbol('rxpool.taskDefinition');

/** What a shipped function is, once the wrappers of defineTask, withScope and fromModule are undone. */
export interface Definition {
  readonly fn: (...args: never[]) => unknown;
  readonly options: TaskOptions;
  /** Set when the function is an export of a module, loaded by the worker (fromModule). */
  readonly module?: ModuleReference;
}

/**
 * Attaches options to a function to ship: `executor.submit(defineTask(fn, { timeout: 1000 }), x)`.
 * The result is still a plain function of the same type (calling it here calls `fn`), so it fits
 * wherever a shipped function does.
 */
export function defineTask<A extends unknown[], R>(fn: (...args: A) => R, options: TaskOptions): (...args: A) => R {
  if (typeof fn !== 'function') throw new TypeError(`defineTask expects a function, got ${typeof fn}`);
  const inner = taskDefinition(fn);
  return attach(fn, { ...inner, options: { ...inner.options, ...options } });
}

/**
 * Ships the values a function closes over along with it:
 * `submit(withScope({ k, table }, (x) => x * k + table[x]), 3)`. In the worker, each name of `scope`
 * is bound to its value around the rebuilt function. The values travel like arguments (structured
 * clone, and registered serializers), once per worker: keep the same scope object to reuse it, as a
 * new scope object is a new function to the workers. The values are read when the scope object is
 * first shipped. The same as `defineTask(fn, { scope })`.
 *
 * @example
 * ```ts
 * const k = 3;
 * const table = [10, 20, 30, 40];
 * await executor.submit(withScope({ k, table }, (x: number) => x * k + table[x]), 3); // 49
 * ```
 */
export function withScope<A extends unknown[], R>(
  scope: Readonly<Record<string, unknown>>,
  fn: (...args: A) => R,
): (...args: A) => R {
  if (scope === null || typeof scope !== 'object' || Array.isArray(scope)) {
    throw new TypeError(`withScope expects an object of values by name, got ${scope === null ? 'null' : typeof scope}`);
  }
  return defineTask(fn, { scope });
}

/**
 * A function exported by a module, shipped by reference: the worker imports the module (ESM or
 * CommonJS) and calls the export, so the function keeps its module's imports and state. `module`
 * is `import.meta.url`, a `file:` URL, an absolute path (`require.resolve('./tasks')`), or a package
 * name resolved from your project; `exportName` defaults to `'default'` (a CommonJS
 * `module.exports = fn` is the default export). Each worker imports the module once.
 *
 * The result can only run in workers: calling it here throws. Type it with the export's type:
 * `fromModule<typeof fib>(import.meta.url, 'fib')`.
 *
 * @typeParam F - the export's type, so calls through the result are typed.
 * @throws Error at once when `module` is a path to a file that does not exist; TypeError on a
 *   relative path (resolve it first) or an empty export name.
 */
// biome-ignore lint/suspicious/noExplicitAny: the default type takes any arguments, like the export it stands for
export function fromModule<F extends (...args: any[]) => unknown = (...args: any[]) => any>(
  module: string | URL,
  exportName = 'default',
): F {
  if (typeof exportName !== 'string' || exportName === '') {
    throw new TypeError('fromModule: the export name must be a non-empty string');
  }
  const specifier = moduleSpecifier(module);
  const label = exportName === 'default' ? basename(specifier) : exportName;
  const reference = (): never => {
    throw new Error(
      `\`${exportName}\` of ${specifier} is a reference for workers (fromModule): submit it to an executor, or import the module to call it here.`,
    );
  };
  Object.defineProperty(reference, 'name', { value: label });
  return attach(reference, { fn: reference, options: {}, module: { specifier, exportName } }) as unknown as F;
}

/** The function to ship and its options, unwrapping {@link defineTask}, {@link withScope} and {@link fromModule}. */
export function taskDefinition(fn: unknown): Definition {
  const definition = (fn as { [DEFINITION]?: Definition } | null | undefined)?.[DEFINITION];
  return definition ?? { fn: fn as Definition['fn'], options: {} };
}

/** A function that calls `fn` and carries `definition`. */
function attach<A extends unknown[], R>(fn: (...args: A) => R, definition: Definition): (...args: A) => R {
  const defined = (...args: A): R => fn(...args);
  Object.defineProperty(defined, 'name', { value: fn.name });
  Object.defineProperty(defined, DEFINITION, { value: definition });
  return defined;
}

/** An absolute path, a non-file URL, or a package specifier. */
function moduleSpecifier(module: string | URL): string {
  const text = module instanceof URL ? module.href : module;
  if (typeof text !== 'string' || text === '') {
    throw new TypeError('fromModule expects a module: import.meta.url, a file URL, an absolute path or a package name');
  }
  if (text.startsWith('file:')) return checkFile(fileURLToPath(text));
  if (isAbsolute(text)) return checkFile(text);
  if (text.startsWith('./') || text.startsWith('../') || text === '.' || text === '..') {
    throw new TypeError(
      `fromModule('${text}'): a relative path is ambiguous in a worker; pass import.meta.url, new URL('${text}', import.meta.url) or require.resolve('${text}').`,
    );
  }
  return text; // a URL of another scheme (data:, node:) or a package, resolved from the project in the worker
}

/** Files seen to exist: a fromModule() written inline in a loop checks its file once. */
const existing = new Set<string>();

function checkFile(path: string): string {
  if (existing.has(path)) return path;
  if (!existsSync(path)) throw new Error(`fromModule: the module ${path} does not exist`);
  existing.add(path);
  return path;
}
