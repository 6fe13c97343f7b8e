/**
 * Where rxpool's own files are. The library runs as one bundle, `dist/rxpool.js`, in which the
 * build sets RXPOOL_BUNDLE. The modules tsc emits beside it (`dist/<folder>/<module>.js`, which
 * tests load one by one) are one folder further down.
 * @module
 */
import { join } from 'node:path';

declare const RXPOOL_BUNDLE: boolean | undefined;

const DIST_DIR = typeof RXPOOL_BUNDLE === 'boolean' ? __dirname : join(__dirname, '..');

/** The file every worker process starts. */
export const WORKER_BOOT = join(DIST_DIR, 'worker', 'boot.js');

/** acorn, minified by the build (absent when running from the sources). */
export const MINIFIED_ACORN = join(DIST_DIR, 'shipping', 'acorn.js');

/** The library's bundle: what a build of rxpool is known by (its size and modification time). */
export const LIBRARY_BUNDLE = join(DIST_DIR, 'rxpool.js');
