import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { nodeModuleClass } from '../platform/module-class.js';

/** Node's module class, without loading `node:module` where this file's own module object has it. */
const Module: typeof import('node:module') = nodeModuleClass ?? require('node:module');

/** The conditions `import()` matches in a package's `exports`, as Node does. */
const IMPORT_CONDITIONS = new Set(['node', 'import', 'default']);

/**
 * Resolves what `import(specifier)` would load if it were written in a module of `fromDir`, as a
 * URL that `import()` can load from anywhere. Relative specifiers resolve against `fromDir`; a
 * package is looked for in the `node_modules` of `fromDir` and its parents, and its `exports` are
 * matched with the `import` conditions, so an ESM-only package (only an `import` condition) resolves
 * too. A package without `exports` (or anything else) is resolved as `require.resolve` would from there.
 */
export function resolveImport(specifier: string, fromDir: string): string {
  if (isAbsolute(specifier)) return pathToFileURL(specifier).href;
  if (/^[a-zA-Z][a-zA-Z\d+.-]*:/.test(specifier) || Module.isBuiltin(specifier)) return specifier;
  if (specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../')) {
    return pathToFileURL(resolve(fromDir, specifier)).href;
  }
  return pathToFileURL(resolvePackage(specifier, fromDir)).href;
}

/** A `require` whose relative and package specifiers resolve from `fromDir`. */
export function requireFrom(fromDir: string): NodeJS.Require {
  // A file that need not exist: require resolves from its directory, and error messages name it.
  return Module.createRequire(join(fromDir, '[rxpool shipped function]'));
}

function resolvePackage(specifier: string, fromDir: string): string {
  const [name, subpath] = splitPackage(specifier);
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const packageDir = join(dir, 'node_modules', name);
    const manifest = readManifest(join(packageDir, 'package.json'));
    if (manifest?.exports != null) {
      const target = exportTarget(manifest.exports, subpath);
      if (typeof target !== 'string') {
        throw Object.assign(
          new Error(`Package subpath '${subpath}' is not exported for import by ${join(packageDir, 'package.json')}`),
          { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' },
        );
      }
      return join(packageDir, target);
    }
    if (manifest || dirname(dir) === dir) break;
  }
  // No `exports`: main, index.js and extension search, NODE_PATH, self-reference... as CommonJS does.
  try {
    return requireFrom(fromDir).resolve(specifier);
  } catch (error) {
    throw Object.assign(
      new Error(
        `Cannot find package '${specifier}' from the project directory ${fromDir} (where require() and import() in shipped functions resolve from)`,
        { cause: error },
      ),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
  }
}

/** `@scope/name/sub/path` → ['@scope/name', './sub/path']; `name` → ['name', '.']. */
function splitPackage(specifier: string): [name: string, subpath: string] {
  const parts = specifier.split('/');
  const length = specifier.startsWith('@') ? 2 : 1;
  const rest = parts.slice(length).join('/');
  return [parts.slice(0, length).join('/'), rest ? `./${rest}` : '.'];
}

function readManifest(path: string): { exports?: unknown } | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { exports?: unknown };
  } catch {
    return undefined;
  }
}

/** The file (`./dist/index.js`) that `exports` maps `subpath` to under the import conditions; `undefined` or `null` if none. */
function exportTarget(exports: unknown, subpath: string): string | null | undefined {
  const isSubpathMap =
    typeof exports === 'object' &&
    exports !== null &&
    !Array.isArray(exports) &&
    Object.keys(exports).some((key) => key.startsWith('.'));
  const map = (isSubpathMap ? exports : { '.': exports }) as Record<string, unknown>;
  if (Object.hasOwn(map, subpath) && !subpath.includes('*')) return conditionalTarget(map[subpath], '');
  // Subpath patterns ("./features/*.js"): the longest matching prefix wins.
  let best: { key: string; match: string } | undefined;
  for (const key of Object.keys(map)) {
    const star = key.indexOf('*');
    if (star === -1) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (subpath.length >= key.length && subpath.startsWith(prefix) && subpath.endsWith(suffix)) {
      if (!best || prefix.length > best.key.indexOf('*')) {
        best = { key, match: subpath.slice(prefix.length, subpath.length - suffix.length) };
      }
    }
  }
  return best ? conditionalTarget(map[best.key], best.match) : undefined;
}

function conditionalTarget(target: unknown, match: string): string | null | undefined {
  if (typeof target === 'string') return target.replaceAll('*', match);
  if (Array.isArray(target)) {
    for (const item of target) {
      const resolved = conditionalTarget(item, match);
      if (typeof resolved === 'string') return resolved;
    }
    return undefined;
  }
  if (target === null) return null;
  if (typeof target === 'object') {
    for (const [condition, value] of Object.entries(target)) {
      if (!IMPORT_CONDITIONS.has(condition)) continue;
      const resolved = conditionalTarget(value, match);
      if (resolved !== undefined) return resolved;
    }
  }
  return undefined;
}
