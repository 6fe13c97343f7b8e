/**
 * Node's module class (what `node:module` exports), taken from this file's own module object so
 * that `node:module` need not load: its public wrapper loads the ES module loader too, 0.5 ms of a
 * worker's start. Undefined when another module system loaded this file (Jest runs modules with
 * module objects of its own; other runtimes' may lack the class's statics).
 * @module
 */
const candidate = module.constructor as Partial<typeof import('node:module')>;

export const nodeModuleClass: typeof import('node:module') | undefined =
  typeof candidate.createRequire === 'function' ? (candidate as typeof import('node:module')) : undefined;
