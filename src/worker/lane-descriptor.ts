/**
 * Where a worker finds its byte lane: read first thing, as boot.ts tells the parent in its first
 * message whether the lane is there.
 * @module
 */
import { fstatSync } from 'node:fs';
import { LANE_FD_VARIABLE } from '../protocol/byte-lane.js';

/**
 * The descriptor of the byte lane the parent passed (see protocol/byte-lane.ts), or `undefined` when
 * there is none or it is not a pipe. The variable is removed: whatever a task starts has no lane.
 */
export function laneDescriptor(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const fd = Number(env[LANE_FD_VARIABLE]);
  delete env[LANE_FD_VARIABLE];
  if (!Number.isInteger(fd) || fd <= 0) return undefined;
  try {
    const stats = fstatSync(fd);
    return stats.isFIFO() || stats.isSocket() ? fd : undefined;
  } catch {
    return undefined;
  }
}
