/**
 * Milliseconds on a monotonic clock. Not `performance.now()`: in Node 20 the global `performance`
 * loads node:perf_hooks on first use, about 1 ms of every worker's start when the first result is
 * batched; tasks that use it still get it.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
