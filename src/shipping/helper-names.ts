/**
 * The compiler helpers that workers define as globals (see `installHelpers`), so that a function
 * compiled by TypeScript, Babel or esbuild can still be rebuilt from its source. Kept apart from the
 * free-variable check so that workers can import these names without loading the parser.
 * @module
 */

/** Every helper that `tslib` exports: TypeScript references them by name when it down-levels code. */
export const TSLIB_HELPERS = [
  '__extends',
  '__assign',
  '__rest',
  '__decorate',
  '__param',
  '__esDecorate',
  '__runInitializers',
  '__propKey',
  '__setFunctionName',
  '__metadata',
  '__awaiter',
  '__generator',
  '__exportStar',
  '__createBinding',
  '__values',
  '__read',
  '__spread',
  '__spreadArrays',
  '__spreadArray',
  '__await',
  '__asyncGenerator',
  '__asyncDelegator',
  '__asyncValues',
  '__makeTemplateObject',
  '__importStar',
  '__importDefault',
  '__classPrivateFieldGet',
  '__classPrivateFieldSet',
  '__classPrivateFieldIn',
  '__addDisposableResource',
  '__disposeResources',
  '__rewriteRelativeImportExtension',
] as const;

/** The few Babel helpers that have a short equivalent (most of them through tslib). */
export const BABEL_HELPERS = [
  '_interopRequireDefault',
  '_interopRequireWildcard',
  '_extends',
  '_defineProperty',
  '_objectSpread2',
  '_objectWithoutProperties',
  '_asyncToGenerator',
] as const;

/** esbuild's `keepNames` helper (tsx, vite, vitest). */
export const ESBUILD_HELPERS = ['__name'] as const;

export type TslibHelper = (typeof TSLIB_HELPERS)[number];
export type BabelHelper = (typeof BABEL_HELPERS)[number];

/** Every helper name a worker defines. */
export const WORKER_HELPERS: readonly string[] = [...ESBUILD_HELPERS, ...TSLIB_HELPERS, ...BABEL_HELPERS];
