/**
 * What `require('rxpool')` runs (built as `dist/index.js`): the library, one bundle (`rxpool.js`),
 * compiled from V8's code cache in rxpool's cache directory (see platform/code-cache.ts) once a
 * first run has written it: 1.5 ms instead of 6.5–9 ms to compile its 220 KB, and the functions the
 * first run called come compiled too. The bundle must not call `import()` (see requireWithCodeCache).
 * @module
 */
import { join } from 'node:path';
import { codeCacheDirectory, requireWithCodeCache } from './platform/code-cache.js';

export = requireWithCodeCache(join(__dirname, 'rxpool.js'), codeCacheDirectory()) as typeof import('./index.js');
