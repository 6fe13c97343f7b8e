/**
 * Dynamic `import()` in a shipped function would resolve from rxpool's worker module, not from the
 * user's project. The parent rewrites each `import(` to a call of a function the worker binds
 * around every shipped function, which resolves from the project directory instead.
 * @module
 */

/** The name of the worker's project-relative import function, bound around every shipped function. */
export const IMPORT_FUNCTION = '__rxpoolImport';

/** Replaces the `import` keyword at each offset (from the function's analysis) by {@link IMPORT_FUNCTION}. */
export function rewriteImports(source: string, offsets: readonly number[]): string {
  if (offsets.length === 0) return source;
  let rewritten = '';
  let from = 0;
  for (const offset of offsets) {
    rewritten += source.slice(from, offset) + IMPORT_FUNCTION;
    from = offset + 'import'.length;
  }
  return rewritten + source.slice(from);
}
