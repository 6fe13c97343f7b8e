/**
 * The full closure check's verdicts, kept between runs: a script that runs again checks its
 * functions without loading the parser. The parser's load, its first parse and the worker globals'
 * list cost the parent's first `submit` 12–23 ms of CPU (Node 20, 2 cores), taken from the workers
 * that boot at the same moment.
 *
 * Verdicts live in `checks/` of the code cache's directory (see platform/code-cache.ts: this user's
 * alone, off with `NODE_DISABLE_COMPILE_CACHE`, Node only), one small JSON file per function source,
 * named by a hash of the source and of what else decides the verdict: rxpool's build (the bundle's
 * size and modification time), the Node version (its globals and syntax) and the flags. A file
 * holds the source itself, compared in full before its verdict is used; a file that does not parse
 * or does not hold a verdict's shape is ignored, and anything that fails here only means parsing.
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { codeCacheDirectory, fnv, runtimeFlags, writePrivately } from '../platform/code-cache.js';
import { LIBRARY_BUNDLE } from '../platform/layout.js';
import type { FunctionAnalysis } from './free-variables.js';

/** Files kept at most: past it, the older half goes (a program that generates functions must not fill the disk). */
export const MAX_STORED_CHECKS = 500;
/** Longer sources are parsed every time, so that the store stays within a few tens of megabytes. */
const MAX_STORED_SOURCE = 64 * 1024;

interface Place {
  readonly dir: string;
  /** What, besides the source, the verdict depends on (hashed): part of every file name. */
  readonly build: string;
}

let place: Place | null | undefined;

/** The store's directory, created if need be, and this build's name part; null when there is none. */
function storePlace(): Place | null {
  if (place !== undefined) return place;
  place = null;
  const root = codeCacheDirectory();
  if (root === null) return null;
  try {
    const { size, mtimeMs } = statSync(LIBRARY_BUNDLE);
    const dir = join(root, 'checks');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    place = { dir, build: fnv(`${size}|${Math.floor(mtimeMs)}|${process.version}|${runtimeFlags()}`) };
  } catch {
    // no store
  }
  return place;
}

/** Where the verdict for `source` is kept, or null (no store, or a source too long to keep). */
function fileFor(source: string): string | null {
  const at = source.length > MAX_STORED_SOURCE ? null : storePlace();
  return at && join(at.dir, `${fnv(source)}-${source.length.toString(36)}-${at.build}.json`);
}

/** The verdict stored for `source`, or undefined (none, another source under the same name, damaged). */
export function storedAnalysis(source: string): FunctionAnalysis | undefined {
  const file = fileFor(source);
  if (file === null) return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(entry) || entry.source !== source) return undefined;
  return asAnalysis(entry.analysis, source.length);
}

/** Keeps `analysis` as the verdict for `source`; returns it. */
export function storeAnalysis(source: string, analysis: FunctionAnalysis): FunctionAnalysis {
  const file = fileFor(source);
  if (file === null) return analysis;
  try {
    const { syntaxError, ...rest } = analysis;
    writePrivately(file, JSON.stringify({ source, analysis: { ...rest, syntaxError: syntaxError ?? null } }));
    prune(dirname(file));
  } catch {
    // a store is a nicety
  }
  return analysis;
}

function prune(dir: string): void {
  const names = readdirSync(dir);
  if (names.length <= MAX_STORED_CHECKS) return;
  const byAge = names
    .map((name) => ({ name, mtimeMs: statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => a.mtimeMs - b.mtimeMs);
  for (const { name } of byAge.slice(0, byAge.length - (MAX_STORED_CHECKS >> 1))) {
    rmSync(join(dir, name), { force: true });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** `value` if it has a verdict's shape (offsets inside a source of `length`), else undefined. */
function asAnalysis(value: unknown, length: number): FunctionAnalysis | undefined {
  if (!isRecord(value)) return undefined;
  const {
    free,
    usesThis,
    usesSuper,
    usesArguments,
    usesImportMeta,
    privateNames,
    helpers,
    syntaxError,
    dynamicImports,
  } = value;
  const flags = [usesThis, usesSuper, usesArguments, usesImportMeta];
  if (!isStrings(free) || !isStrings(privateNames) || !isStrings(helpers)) return undefined;
  if (!flags.every((flag) => typeof flag === 'boolean')) return undefined;
  if (syntaxError !== null && typeof syntaxError !== 'string') return undefined;
  if (
    !Array.isArray(dynamicImports) ||
    !dynamicImports.every((offset) => Number.isInteger(offset) && offset >= 0 && offset < length)
  ) {
    return undefined;
  }
  return {
    free,
    usesThis: usesThis as boolean,
    usesSuper: usesSuper as boolean,
    usesArguments: usesArguments as boolean,
    usesImportMeta: usesImportMeta as boolean,
    privateNames,
    helpers,
    syntaxError: syntaxError ?? undefined,
    dynamicImports: dynamicImports as number[],
  };
}
