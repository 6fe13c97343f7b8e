/**
 * V8's code cache for rxpool's own large files: the library bundle (loaded by the package entry,
 * src/entry.ts), the worker's code (every worker compiles it at start) and the parser the parent
 * loads for its first closure check. Compiled from the cache instead of from source, a worker's own
 * code took 6–8 ms at start instead of 10–13 ms, the parser's first load 5 ms instead of 17, and
 * the library 1.5 ms instead of 6.5–9 (Node 20, 2 cores).
 *
 * The cache lives in a directory of this user's only (`rxpool-code-cache-<uid>` in the temporary
 * directory, or `rxpool/` under `NODE_COMPILE_CACHE` when that is set), as Node's own module
 * compile cache does (a `NODE_COMPILE_CACHE` directory must be one only this user can change);
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off, as it does Node's. A file is
 * named after the script's path, size and modification time, the Node version, architecture and
 * flags, and V8 checks it again (version, flags, source length) before it uses it; writing one
 * removes those of earlier builds of the same script. Anything that goes wrong (no directory, a
 * rejected or unreadable file) only means compiling from source. Other runtimes (Bun, Deno) load
 * the files the usual way.
 * @module
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { nodeModuleClass } from './module-class.js';

/** The variable that hands the parent's cache directory to its workers. */
export const CODE_CACHE_VARIABLE = 'RXPOOL_CODE_CACHE';

/** When a script that was compiled from source writes its cache, if it is still running. */
const SAVE_AFTER_MS = 500;

let directory: string | null | undefined;

/**
 * The cache directory, created if need be: `null` when the cache is off, on another runtime than
 * Node, or when the directory is not this user's alone (anyone else who could write there could
 * hand V8 code to run). Looked up once per process.
 */
export function codeCacheDirectory(): string | null {
  if (directory !== undefined) return directory;
  directory = null;
  const { env } = process;
  if (env.NODE_DISABLE_COMPILE_CACHE || process.versions.bun || process.versions.deno) return null;
  const uid = process.getuid?.();
  const dir = env.NODE_COMPILE_CACHE
    ? join(env.NODE_COMPILE_CACHE, 'rxpool')
    : join(tmpdir(), `rxpool-code-cache${uid === undefined ? '' : `-${uid}`}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stats = lstatSync(dir);
    const own = uid === undefined || (stats.uid === uid && (stats.mode & 0o077) === 0);
    if (stats.isDirectory() && own) directory = dir;
  } catch {
    // no cache
  }
  return directory;
}

/**
 * Loads the CommonJS file `file` as `require` does, compiled with the code cache in `dir`. After
 * compiling from source, the cache is written once the script has run for a while, so that it
 * holds the functions its first work compiled too, or when the process exits, whichever is first.
 * The script must not call `import()`: Node cannot resolve it in a script compiled this way.
 */
export function requireWithCodeCache(file: string, dir: string | null): unknown {
  // A module system other than Node's (Jest runs modules in its own, in a context of its own)
  // loads the file its usual way.
  const Module = nodeModuleClass;
  if (dir === null || !Module) return require(file);
  // <script>-<path hash>-<size>-<mtime>-<Node version>-<arch>-<flags hash>.bin
  const prefix = `${basename(file)}-${fnv(file)}-`;
  const suffix = `-${process.version}-${process.arch}-${fnv(runtimeFlags())}.bin`;
  let name: string;
  let source: string;
  try {
    const { size, mtimeMs } = statSync(file);
    name = join(dir, `${prefix}${size}-${Math.floor(mtimeMs)}${suffix}`);
    source = readFileSync(file, 'utf8');
  } catch {
    return require(file);
  }
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(name);
  } catch {
    // not cached yet
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n});`, {
    filename: file,
    cachedData,
  });
  if (cachedData === undefined || script.cachedDataRejected) saveLater(script, name, prefix, suffix);
  const loaded = new Module(file, module);
  loaded.filename = file;
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(loaded.exports, loaded.exports, Module.createRequire(file), loaded, file, dirname(file));
  loaded.loaded = true;
  return loaded.exports;
}

/**
 * Writes the cache of `script` as `name`, then removes the files it replaces: those of earlier
 * builds of the same script (same path, another size or modification time) for the same Node
 * version and flags. Files for other flags or other copies of rxpool may still be in use.
 */
function saveLater(script: Script, name: string, prefix: string, suffix: string): void {
  let saved = false;
  const save = () => {
    if (saved) return;
    saved = true;
    process.off('exit', save);
    try {
      writePrivately(name, script.createCachedData());
      const dir = dirname(name);
      const file = basename(name);
      for (const other of readdirSync(dir)) {
        if (other !== file && other.startsWith(prefix) && other.endsWith(suffix))
          rmSync(join(dir, other), { force: true });
      }
    } catch {
      // a cache is a nicety
    }
  };
  setTimeout(save, SAVE_AFTER_MS).unref();
  process.once('exit', save);
}

/**
 * Writes `file` readable by this user only, whole or not at all: a reader in another process
 * never sees it half written. Throws as `writeFileSync` does.
 */
export function writePrivately(file: string, data: string | NodeJS.ArrayBufferView): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { mode: 0o600 });
  renameSync(temporary, file);
}

/** The flags this process runs with (V8's compiled code depends on them). */
export function runtimeFlags(): string {
  return `${process.execArgv.join(' ')}|${process.env.NODE_OPTIONS ?? ''}`;
}

/** FNV-1a, in hex: a short, stable name for a string (what it stands for is checked again when read). */
export function fnv(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16);
}
