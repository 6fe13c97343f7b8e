import { IMPORT_FUNCTION } from '../shipping/import-rewrite.js';
import { PROJECT_DIR_VARIABLE } from '../shipping/project-dir.js';
import type { Bindings } from './compile.js';
import { requireFrom, resolveImport } from './resolve-import.js';

/** The user's project, as the parent saw it: where `require()` and `import()` in shipped functions resolve from. */
const projectDir = process.env[PROJECT_DIR_VARIABLE] || process.cwd();

let bindings: Bindings | undefined;

/**
 * What every shipped function is rebuilt with: a `require` and an import function (the parent
 * rewrote `import(` to call it) that resolve from the user's project, not from rxpool's own
 * directory, so a package installed in the project only is found.
 */
export function projectBindings(): Bindings {
  bindings ??= { names: ['require', IMPORT_FUNCTION], values: [requireFrom(projectDir), importFromProject] };
  return bindings;
}

/** `import()`, as a function. */
export type ImportFunction = (specifier: string, options?: ImportCallOptions) => Promise<unknown>;

let importModule: ImportFunction = (specifier, options) => import(specifier, options);

/** Sets the `import()` that {@link importFromProject} calls (see main.ts's `startWorker`). */
export function useImport(importer: ImportFunction): void {
  importModule = importer;
}

/** `import(specifier)` as if written in a module of the project directory. */
export function importFromProject(specifier: unknown, options?: ImportCallOptions): Promise<unknown> {
  try {
    return importModule(resolveImport(String(specifier), projectDir), options);
  } catch (error) {
    return Promise.reject(error);
  }
}
