import { BABEL_HELPERS, type BabelHelper, TSLIB_HELPERS } from '../shipping/helper-names.js';

type Tslib = typeof import('tslib');

let tslib: Tslib | undefined;
/** tslib is loaded on first use of one of its helpers: most workers never need it. */
const loadTslib = (): Tslib => {
  tslib ??= require('tslib') as Tslib;
  return tslib;
};

/**
 * Helpers that compilers inject into functions and that a shipped function may therefore carry,
 * defined on the worker's global object when absent:
 * - esbuild (tsx, vite) wraps named functions in `__name(fn, "name")` when it keeps names;
 * - TypeScript, when it down-levels (`__awaiter`, `__generator`, `__rest`, `__spreadArray`...):
 *   every tslib helper, loaded from tslib on first use;
 * - Babel: the few helpers with a short equivalent (`_interopRequireDefault`, `_defineProperty`...).
 *
 * The free-variable check (`src/shipping/free-variables.ts`) accepts exactly these names.
 */
export function installHelpers(target: typeof globalThis): void {
  const globals = target as unknown as Record<string, unknown>;
  globals.__name ??= <T extends object>(fn: T, name: string): T =>
    Object.defineProperty(fn, 'name', { value: name, configurable: true });
  for (const name of TSLIB_HELPERS) defineLazy(globals, name, () => loadTslib()[name]);
  for (const name of BABEL_HELPERS) defineLazy(globals, name, babelHelpers[name]);
}

/** A global that is computed on first read, then kept as a plain writable value. */
function defineLazy(target: Record<string, unknown>, name: string, load: () => unknown): void {
  if (name in target) return;
  const settle = (value: unknown) =>
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(target, name, {
    configurable: true,
    enumerable: false,
    get() {
      const value = load();
      settle(value);
      return value;
    },
    set: settle,
  });
}

const babelHelpers: Record<BabelHelper, () => unknown> = {
  _interopRequireDefault: () => loadTslib().__importDefault,
  _interopRequireWildcard: () => loadTslib().__importStar,
  _extends: () => Object.assign,
  _defineProperty: () => defineProperty,
  _objectSpread2: () => objectSpread,
  _objectWithoutProperties: () => loadTslib().__rest,
  _asyncToGenerator: () => asyncToGenerator,
};

function defineProperty<T extends object>(target: T, key: PropertyKey, value: unknown): T {
  return Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

/** Babel's `_objectSpread2(target, ...sources)`: own enumerable keys, symbols included, defined on target. */
function objectSpread(target: object, ...sources: unknown[]): object {
  for (const source of sources) {
    if (source == null) continue;
    const from = Object(source) as Record<PropertyKey, unknown>;
    for (const key of Reflect.ownKeys(from)) {
      if (Object.prototype.propertyIsEnumerable.call(from, key)) defineProperty(target, key, from[key]);
    }
  }
  return target;
}

/** Babel's `_asyncToGenerator(function* () {...})`: a function that runs the generator as an async function. */
function asyncToGenerator(generator: (...args: unknown[]) => Generator) {
  return function (this: unknown, ...args: unknown[]): Promise<unknown> {
    return loadTslib().__awaiter(this, args, Promise, generator);
  };
}
