/**
 * The file every worker process starts. It tells the parent it is up, loads the worker (`main.js`,
 * next to it), compiled from V8's code cache in the directory the parent passed (see
 * platform/code-cache.ts), and starts it.
 * @module
 */
import { join } from 'node:path';
import { CODE_CACHE_VARIABLE, requireWithCodeCache } from '../platform/code-cache.js';
import { FromWorker, type UpMessage } from '../protocol/messages.js';
import { laneDescriptor } from './lane-descriptor.js';

if (!process.send) {
  process.stderr.write('rxpool: this file is the worker entry point; rxpool starts it itself.\n');
  process.exit(1);
}
// First thing: the parent sends the first tasks (their large arrays on the lane, if there is one)
// while this process loads the worker: a few ms that were followed by a round trip after Ready.
const laneFd = laneDescriptor();
const up: UpMessage = laneFd === undefined ? [FromWorker.Up] : [FromWorker.Up, 1];
if (process.connected) process.send([up]);

const dir = process.env[CODE_CACHE_VARIABLE] || null;
// The variable is for this process: whatever a task starts finds the cache by itself, or not.
delete process.env[CODE_CACHE_VARIABLE];
const { startWorker } = requireWithCodeCache(join(__dirname, 'main.js'), dir) as typeof import('./main.js');
// import() is compiled here, in a file Node loads: in a script compiled from V8's code cache, Node
// (20 at least) no longer finds the callback that import() needs.
startWorker((specifier, options) => import(specifier, options), laneFd);
