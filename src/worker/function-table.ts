import { SerializationError } from '../errors.js';
import type { FunctionSource } from '../protocol/messages.js';
import { SCOPE_SITE } from '../shipping/codec.js';
import { type Bindings, compileShipped } from './compile.js';
import { importFromProject, projectBindings } from './project.js';
import type { SerializerTable } from './serializer-table.js';

/** A rebuilt function. */
export type Shipped = (...args: unknown[]) => unknown;

/**
 * The worker's shipped functions by id. A task brings its function's source the first time this
 * worker sees the id; it is kept at once (so a task dropped before it runs does not take the source
 * with it) and rebuilt on first use: compiled with its scope, or imported from its module (then the
 * function is a Promise until the module has loaded).
 */
export class FunctionTable {
  readonly #serializers: SerializerTable;
  readonly #pending = new Map<number, FunctionSource>();
  readonly #ready = new Map<number, Shipped | Promise<Shipped>>();

  constructor(serializers: SerializerTable) {
    this.#serializers = serializers;
  }

  /** Keeps the source a task brought along. */
  accept(fnId: number, source: FunctionSource | undefined): void {
    if (source && !this.#ready.has(fnId)) this.#pending.set(fnId, source);
  }

  /**
   * The function with this id, rebuilt once. A failure is not kept: the next task tries again.
   * @throws SerializationError when it cannot be rebuilt (the Promise rejects with one for a module).
   */
  get(fnId: number): Shipped | Promise<Shipped> {
    const ready = this.#ready.get(fnId);
    if (ready) return ready;
    const source = this.#pending.get(fnId);
    if (!source) {
      throw new SerializationError(`The function #${fnId} was never sent to this worker.`, { stage: 'function' });
    }
    const built = this.build(source);
    this.#pending.delete(fnId);
    this.#ready.set(fnId, built);
    if (built instanceof Promise) {
      built.catch(() => {
        this.#ready.delete(fnId);
        this.#pending.set(fnId, source);
      });
    }
    return built;
  }

  /** Rebuilds a function from what the parent sent, without keeping it (the initializer). */
  build(source: FunctionSource): Shipped | Promise<Shipped> {
    if (source.module) return this.#load(source);
    let fn: Shipped;
    try {
      fn = compileShipped(source, this.#bindings(source));
    } catch (error) {
      if (error instanceof SerializationError) throw error;
      throw new SerializationError(
        `The function \`${source.name || 'anonymous'}\` could not be rebuilt in the worker: ${String(error)}`,
        { stage: 'function', functionName: source.name },
        { cause: error },
      );
    }
    return fn;
  }

  /** The project's `require` and `import`, the classes with a serializer, then the scope's names (which win). */
  #bindings({ scope }: FunctionSource): Bindings {
    const classes = this.#serializers.classBindings();
    const project = projectBindings();
    const base = classes
      ? { names: [...project.names, ...classes.names], values: [...project.values, ...classes.values] }
      : project;
    if (!scope) return base;
    const values = (
      scope.records ? this.#serializers.decode(scope.values, scope.records, SCOPE_SITE) : scope.values
    ) as Record<string, unknown>;
    const names = Object.keys(values);
    const kept = base.names.flatMap((name, i) =>
      Object.hasOwn(values, name) ? [] : [[name, base.values[i]] as const],
    );
    return {
      names: [...kept.map(([name]) => name), ...names],
      values: [...kept.map(([, value]) => value), ...names.map((name) => values[name])],
    };
  }

  async #load({ name, module }: FunctionSource): Promise<Shipped> {
    const { specifier, exportName } = module as NonNullable<FunctionSource['module']>;
    const details = { stage: 'function' as const, path: exportName, functionName: name };
    let namespace: Record<string, unknown>;
    try {
      namespace = (await importFromProject(specifier)) as Record<string, unknown>;
    } catch (error) {
      throw new SerializationError(
        `Could not load \`${exportName}\` from ${specifier} in the worker: importing the module failed: ${String(error)}`,
        details,
        { cause: error },
      );
    }
    const fn = exportOf(namespace, exportName);
    if (typeof fn !== 'function') {
      const exports = Object.keys(namespace).map((key) => `\`${key}\``);
      throw new SerializationError(
        fn === undefined
          ? `Could not load \`${exportName}\` from ${specifier} in the worker: the module has no export \`${exportName}\` (it exports ${exports.join(', ') || 'nothing'}).`
          : `Could not load \`${exportName}\` from ${specifier} in the worker: the export is ${fn === null ? 'null' : `a ${typeof fn}`}, not a function.`,
        details,
      );
    }
    return fn as Shipped;
  }
}

/** An export by name; a CommonJS module's named exports that Node could not detect are read from its default. */
function exportOf(namespace: Record<string, unknown>, name: string): unknown {
  if (name in namespace || name === 'default') return namespace[name];
  const fallback = namespace.default;
  return (typeof fallback === 'object' || typeof fallback === 'function') && fallback !== null
    ? (fallback as Record<string, unknown>)[name]
    : undefined;
}
