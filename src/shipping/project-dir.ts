import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The environment variable through which workers learn the project directory. */
export const PROJECT_DIR_VARIABLE = 'RXPOOL_PROJECT_DIR';

let cached: string | undefined;

/**
 * Where `require()` and `import()` inside shipped functions resolve from: the directory of this
 * process's main module (`process.argv[1]`, symlinks resolved as Node does for the main module), or
 * the working directory when there is none (a REPL, `node -e`). A value inherited from a parent
 * rxpool process (a pool inside a worker) wins, since the main module then is rxpool's own worker.
 */
export function projectDir(): string {
  cached ??= process.env[PROJECT_DIR_VARIABLE] || mainModuleDir() || process.cwd();
  return cached;
}

function mainModuleDir(): string | undefined {
  const main = process.argv[1];
  if (!main) return undefined;
  const path = resolve(main);
  try {
    return dirname(realpathSync(path));
  } catch {
    return dirname(path); // `node script` for script.js: the directory is right all the same
  }
}
