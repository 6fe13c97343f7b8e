/**
 * A static check, run in the parent before a function is sent: a worker rebuilds the function from
 * its source at its top level, so the function sees Node's globals and nothing of the scope it was
 * written in. This finds what it would miss there, and says how to fix it.
 * @module
 */

import { existsSync } from 'node:fs';
import type { Expression, Options, Program } from 'acorn';
import { SerializationError } from '../errors.js';
import { codeCacheDirectory, requireWithCodeCache } from '../platform/code-cache.js';
import { MINIFIED_ACORN } from '../platform/layout.js';
import { storeAnalysis, storedAnalysis } from './check-store.js';
import { WORKER_HELPERS } from './helper-names.js';
import { plainlyClosed } from './quick-scan.js';
import { analyzeScopes } from './scope-analysis.js';
import { commonWorkerGlobals, workerGlobals } from './worker-globals.js';

/** What a function's source relies on beyond its own declarations. Depends only on the source. */
export interface FunctionAnalysis {
  /**
   * Identifiers the function reads or writes that it does not declare itself and that are not
   * globals of a Node worker (nor names the worker provides: `require`, compiler helpers), in order
   * of first use. A name tested with `typeof` anywhere in the function is not listed.
   */
  readonly free: readonly string[];
  /** `this` is used in the function's own body (not inside nested non-arrow functions or classes). */
  readonly usesThis: boolean;
  /** `super` is used in the function's own body: a method shorthand cut from its object. */
  readonly usesSuper: boolean;
  /** The function is an arrow that reads `arguments`, which belonged to the function around it. */
  readonly usesArguments: boolean;
  /** `import.meta` is used: it only exists in modules. */
  readonly usesImportMeta: boolean;
  /** Private names (`this.#x`) used outside of any class in the source: a method cut from its class. */
  readonly privateNames: readonly string[];
  /** The compiler helpers it uses that workers define (`__name`, `__awaiter`, `_interopRequireDefault`...). */
  readonly helpers: readonly string[];
  /** Why the source cannot be rebuilt as a function at all, or `undefined` when it can. */
  readonly syntaxError: string | undefined;
  /** Offsets in the source of the `import` keyword of each dynamic `import(...)`, in order. */
  readonly dynamicImports: readonly number[];
}

const PARSE_OPTIONS: Options = {
  ecmaVersion: 'latest',
  // Like the worker, which compiles the source inside a `new Function` body: `new.target` is allowed.
  sourceType: 'commonjs',
  // Accept what the worker would reject, to say precisely why rather than "Unexpected token".
  allowImportExportEverywhere: true,
  allowSuperOutsideMethod: true,
  checkPrivateFields: false,
};

type Acorn = typeof import('acorn');
let acorn: Acorn | undefined;

/**
 * acorn is loaded by the first check rather than when rxpool is imported: its minified copy takes
 * some 17 ms to compile, 5 from V8's code cache.
 */
function parse(text: string): Program {
  acorn ??= requireWithCodeCache(
    existsSync(MINIFIED_ACORN) ? MINIFIED_ACORN : require.resolve('acorn'),
    codeCacheDirectory(),
  ) as Acorn;
  return acorn.parse(text, PARSE_OPTIONS);
}

let analyses = 0;

/** How many sources {@link analyzeFunction} has parsed in this process: lets tests prove the verdict is cached. */
export function analysisCount(): number {
  return analyses;
}

const SHIPPABLE = new Set(['ArrowFunctionExpression', 'FunctionExpression', 'ClassExpression']);
const HELPERS = new Set(WORKER_HELPERS);

/**
 * Finds what a function's source uses but does not declare. `source` is what
 * `serialize(fn, { unsafe: true })` returns: an arrow, a `function` (async, generator, named or not,
 * a method shorthand turned into `function(...)`) or a class. Pure: cache the result by source.
 */
export function analyzeFunction(source: string): FunctionAnalysis {
  analyses++;
  // The scan trusts the source to be valid JavaScript; V8 checks that in microseconds.
  if (plainlyClosed(source, commonWorkerGlobals(), HELPERS) && v8SyntaxError(source) === undefined) return NOTHING;
  return storedAnalysis(source) ?? storeAnalysis(source, parsedAnalysis(source));
}

/** {@link analyzeFunction} by a full parse, whatever the source. */
export function parsedAnalysis(source: string): FunctionAnalysis {
  let expression: Expression;
  try {
    const program = parse(`(${source}\n)`);
    const [statement, ...rest] = program.body;
    if (statement?.type !== 'ExpressionStatement' || rest.length > 0 || !SHIPPABLE.has(statement.expression.type)) {
      return unbuildable('its source is not a single function or class');
    }
    expression = statement.expression;
  } catch (error) {
    return unparsed(source, error);
  }
  const facts = analyzeScopes(expression);
  if (facts.moduleSyntax) return unbuildable('it holds an import or export declaration');
  const globals = workerGlobals();
  return {
    free: facts.unresolved.filter((name) => !globals.has(name)),
    usesThis: facts.usesThis,
    usesSuper: facts.usesSuper,
    usesArguments: facts.usesArguments,
    usesImportMeta: facts.usesImportMeta,
    privateNames: facts.privateNames,
    helpers: facts.unresolved.filter((name) => HELPERS.has(name)),
    syntaxError: undefined,
    // The parsed text is `(${source}\n)`: one character before the source.
    dynamicImports: facts.dynamicImports.map((offset) => offset - 1),
  };
}

const NOTHING: FunctionAnalysis = {
  free: [],
  usesThis: false,
  usesSuper: false,
  usesArguments: false,
  usesImportMeta: false,
  privateNames: [],
  helpers: [],
  syntaxError: undefined,
  dynamicImports: [],
};

function unbuildable(syntaxError: string): FunctionAnalysis {
  return { ...NOTHING, syntaxError };
}

/**
 * acorn rejected the source. If V8 compiles it the way the worker will, the syntax is merely newer
 * than acorn: nothing can be said, and the worker will do. Otherwise the worker would fail too.
 */
function unparsed(source: string, parseError: unknown): FunctionAnalysis {
  const error = v8SyntaxError(source);
  return error === undefined ? NOTHING : unbuildable(error.message || String(parseError));
}

/**
 * How V8 rejects the source compiled the way the worker will compile it (without running it), or
 * `undefined` when it does not (or cannot tell: e.g. --disallow-code-generation-from-strings).
 */
function v8SyntaxError(source: string): SyntaxError | undefined {
  try {
    new Function(`return (${source}\n);`);
    return undefined;
  } catch (error) {
    return error instanceof SyntaxError ? error : undefined;
  }
}

/** Why a free name is missing in a worker, and what to do about it. */
type FreeKind =
  | 'self'
  | 'scope'
  | 'commonjs'
  | 'coverage'
  | 'vite'
  | 'tslib'
  | 'import'
  | 'require'
  | 'this'
  | 'helper'
  | 'parentGlobal';

const COMMONJS = new Set(['module', 'exports', '__filename', '__dirname']);

/** Babel helpers that workers do not define (see `BABEL_HELPERS` for those they do). */
const OTHER_BABEL_HELPERS = new Set([
  '_classCallCheck',
  '_createClass',
  '_defineProperties',
  '_inherits',
  '_createSuper',
  '_callSuper',
  '_possibleConstructorReturn',
  '_assertThisInitialized',
  '_getPrototypeOf',
  '_setPrototypeOf',
  '_isNativeReflectConstruct',
  '_wrapNativeSuper',
  '_construct',
  '_get',
  '_set',
  '_superPropGet',
  '_superPropBase',
  '_typeof',
  '_toPropertyKey',
  '_toPrimitive',
  '_objectSpread',
  '_objectWithoutPropertiesLoose',
  '_objectDestructuringEmpty',
  '_slicedToArray',
  '_toArray',
  '_toConsumableArray',
  '_arrayWithHoles',
  '_arrayWithoutHoles',
  '_iterableToArray',
  '_iterableToArrayLimit',
  '_unsupportedIterableToArray',
  '_arrayLikeToArray',
  '_nonIterableRest',
  '_nonIterableSpread',
  '_createForOfIteratorHelper',
  '_createForOfIteratorHelperLoose',
  '_taggedTemplateLiteral',
  '_asyncIterator',
  '_awaitAsyncGenerator',
  '_wrapAsyncGenerator',
  '_asyncGeneratorDelegate',
  '_regeneratorRuntime',
  '_regenerator',
  'regeneratorRuntime',
  '_classPrivateFieldGet',
  '_classPrivateFieldSet',
  '_classPrivateFieldInitSpec',
  '_classPrivateMethodInitSpec',
  '_classPrivateFieldLooseBase',
  '_classPrivateFieldLooseKey',
  '_checkPrivateRedeclaration',
  '_assertClassBrand',
  '_readOnlyError',
  '_newArrowCheck',
  '_decorate',
  '_applyDecs',
  '_using',
  '_usingCtx',
]);

function kindOf(name: string, fnName: string): FreeKind {
  if (name === fnName) return 'self';
  if (/^cov_[0-9a-z]+$/i.test(name)) return 'coverage';
  if (name.startsWith('__vite_ssr_') || name.startsWith('__vi_')) return 'vite';
  if (COMMONJS.has(name)) return 'commonjs';
  if (/^tslib_\d+$/.test(name)) return 'tslib';
  if (/^require\d+$/.test(name)) return 'require';
  // TypeScript compiles `import fs from 'node:fs'` to `node_fs_1`, esbuild to `import_node_fs`.
  if (/^[A-Za-z$][\w$]*_\d+$/.test(name) || /^import_[\w$]+$/.test(name)) return 'import';
  if (/^_this\d*$/.test(name)) return 'this';
  if (/^__[A-Za-z]/.test(name) || OTHER_BABEL_HELPERS.has(name)) return 'helper';
  if (name in globalThis) return 'parentGlobal';
  return 'scope';
}

const HINTS: Record<FreeKind, (names: readonly string[]) => string> = {
  self: ([name]) =>
    `calls itself through \`${name}\`, the variable it is stored in, which does not travel with it: write it as a named function (\`function ${name}(...) { ... }\`), whose name is its own.`,
  scope: (names) =>
    `uses ${list(names)} from its enclosing scope, which cannot be sent to a worker: pass ${
      names.length === 1 ? 'it as an argument' : 'them as arguments'
    }, or with withScope({ ${names.join(', ')} }).`,
  commonjs: (names) =>
    `uses ${list(names)}, ${plural(names, 'a variable', 'variables')} of the CommonJS module it was written in, which a worker does not have: pass the ${plural(names, 'value as an argument', 'values as arguments')}.`,
  coverage: (names) =>
    `calls ${list(names)}, ${plural(names, 'a coverage counter', 'coverage counters')} that istanbul/nyc inserted into its source: instrumented functions refer to counters that exist only in this process, so they cannot run in a worker. Measure coverage with V8 instead, which leaves function source untouched: c8, \`node --experimental-test-coverage\`, or @vitest/coverage-v8.`,
  vite: (names) =>
    `uses ${list(names)}, which vite or vitest put in place of the imports of the module it was written in: the imported values stay in this process. Pass the value as an argument, or ship the function from its module by reference.`,
  tslib: (names) =>
    `uses ${list(names)}, the tslib that TypeScript imports into its module under \`importHelpers\`, which does not travel with the function. Compile this code without \`importHelpers\` (workers define tslib's helpers as globals), or for a target that needs no helpers (ES2022).`,
  import: (names) =>
    `uses ${list(names)}, which ${plural(names, 'looks like an import', 'look like imports')} of the module it was written in, as TypeScript or esbuild compile them to CommonJS: modules do not travel with the function. Call \`require()\` or \`await import()\` inside the function, or pass the value as an argument.`,
  require: (names) =>
    `uses ${list(names)}, which is how esbuild (tsx, vite) renames \`require\` in a module that declares its own \`require\` (such as \`const require = createRequire(import.meta.url)\`). Give that one another name, so that the function uses the \`require\` that workers provide.`,
  this: (names) =>
    `uses ${list(names)}, which is how a compiler rewrote \`this\` inside an arrow function: \`this\` does not travel with the function: pass what it needs as arguments.`,
  helper: (names) =>
    `uses ${list(names)}, ${plural(names, 'a helper', 'helpers')} that a compiler (TypeScript, Babel, esbuild) inserted and defined in the module the function comes from, not in workers. Compile for a newer target (ES2022) so the code needs no helpers, or ship the function from its module by reference.`,
  parentGlobal: (names) =>
    `uses ${list(names)}, ${plural(names, 'a global', 'globals')} of this process that workers do not have (set by a test runner, a preloaded module or the application): pass ${plural(names, 'it as an argument', 'them as arguments')}, or with withScope({ ${names.join(', ')} }).`,
};

/**
 * The error for a function whose free variables would be undefined in a worker, or `undefined`
 * when there are none. `scopeNames`: the names the caller sends along with the function (withScope).
 * The message names every variable and gives a hint for coverage counters, vite imports, compiler
 * helpers and CommonJS module variables; `path` lists the names.
 */
export function freeVariableError(
  fnName: string,
  analysis: FunctionAnalysis,
  scopeNames: readonly string[] = [],
): SerializationError | undefined {
  const provided = new Set(scopeNames);
  const names = analysis.free.filter((name) => !provided.has(name));
  if (names.length === 0) return undefined;
  const byKind = new Map<FreeKind, string[]>();
  for (const name of names) {
    const kind = kindOf(name, fnName);
    const group = byKind.get(kind);
    if (group) group.push(name);
    else byKind.set(kind, [name]);
  }
  const sentences = [...byKind].map(([kind, group]) => HINTS[kind](group));
  return new SerializationError(`${subject(fnName)} ${sentences.join(' It also ')}`, {
    stage: 'function',
    path: names.join(', '),
    functionName: fnName || undefined,
  });
}

/** The error for a function that uses `this` ({@link FunctionAnalysis.usesThis}): the caller decides when it applies. */
export function usesThisError(fnName: string): SerializationError {
  return new SerializationError(
    `${subject(fnName)} uses \`this\`, which does not travel with the function: pass what it needs as arguments.`,
    { stage: 'function', path: 'this', functionName: fnName || undefined },
  );
}

/**
 * The error for a function that a worker cannot rebuild or that would fail on every call because
 * it depends on where it was written: a syntax error, `super` or a private field out of its class,
 * `import.meta`, an arrow's `arguments`. `undefined` when none applies.
 */
export function lexicalContextError(fnName: string, analysis: FunctionAnalysis): SerializationError | undefined {
  const problems: [path: string, sentence: string][] = [];
  if (analysis.syntaxError !== undefined) {
    problems.push([
      'source',
      `cannot be rebuilt from its source in a worker: ${analysis.syntaxError}. Ship a plain function or arrow function.`,
    ]);
  }
  if (analysis.usesSuper) {
    problems.push([
      'super',
      'uses `super`, which only works inside the object or class it was written in: ship an arrow function that calls what it needs, with the values as arguments.',
    ]);
  }
  if (analysis.privateNames.length > 0) {
    const names = analysis.privateNames.map((name) => `#${name}`);
    problems.push([
      names.join(', '),
      `uses the private ${plural(names, 'field', 'fields')} ${list(names)}, which only ${plural(names, 'exists', 'exist')} inside ${plural(names, 'its', 'their')} class: pass the values it needs as arguments.`,
    ]);
  }
  if (analysis.usesImportMeta) {
    problems.push([
      'import.meta',
      'uses `import.meta`, which belongs to the module it was written in and does not exist in a worker: pass what it needs (e.g. import.meta.url) as an argument.',
    ]);
  }
  if (analysis.usesArguments) {
    problems.push([
      'arguments',
      'uses `arguments` in an arrow function, where it belongs to the function around it and does not travel: use rest parameters (...args).',
    ]);
  }
  if (problems.length === 0) return undefined;
  return new SerializationError(`${subject(fnName)} ${problems.map(([, sentence]) => sentence).join(' It also ')}`, {
    stage: 'function',
    path: problems.map(([path]) => path).join(', '),
    functionName: fnName || undefined,
  });
}

function subject(fnName: string): string {
  return `The function \`${fnName || 'anonymous'}\``;
}

/** "`a`", "`a` and `b`", "`a`, `b` and `c`", "`a`, `b`, `c`, `d`, `e` and 2 more". */
function list(names: readonly string[], shown = 5): string {
  const quoted = names.slice(0, shown).map((name) => `\`${name}\``);
  const more = names.length - quoted.length;
  if (more > 0) return `${quoted.join(', ')} and ${more} more`;
  return quoted.length === 1 ? (quoted[0] as string) : `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`;
}

function plural(names: readonly string[], one: string, many: string): string {
  return names.length === 1 ? one : many;
}
