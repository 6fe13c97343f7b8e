/**
 * Where rxpool's own files are. The library runs as one bundle, `dist/index.js`; the build sets
 * RXPOOL_BUNDLE in it. The modules tsc emits next to it (`dist/<folder>/<module>.js`, which tests
 * load one by one) are one level further down.
 * @module
 */
import { join } from 'node:path';

declare const RXPOOL_BUNDLE: boolean | undefined;

const DIST_DIR = typeof RXPOOL_BUNDLE === 'boolean' ? __dirname : join(__dirname, '..');

/** The file every worker process starts. */
export const WORKER_BOOT = join(DIST_DIR, 'worker', 'boot.js');

/** acorn, minified by the build (absent when running from the sources). */
export const MINIFIED_ACORN = join(DIST_DIR, 'shipping', 'acorn.js');
