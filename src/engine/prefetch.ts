/** Tasks queued on one worker at most, when tasks are tiny. */
const MAX_PREFETCH = 256;
/** Prefetch enough tiny tasks to keep a worker busy for about this long. */
const PREFETCH_WINDOW_MS = 2;
/** Tasks shorter than this on average get a second one queued behind them. */
const DOUBLE_BUFFER_BELOW_MS = 10;

/**
 * How many tasks one worker should hold (running plus queued behind it), given the mean task
 * duration so far, so that it does not idle while the parent hears of a result and sends more: a
 * round trip that takes a few tenths of a millisecond when the workers keep every core busy, i.e.
 * several % of a 5 ms task and far more than a tiny one. Longer tasks go one at a time, so that none
 * waits behind a long one while another worker is free. Unknown duration: 1.
 */
export function prefetchDepth(meanMs: number | undefined): number {
  if (meanMs === undefined) return 1;
  const least = meanMs < DOUBLE_BUFFER_BELOW_MS ? 2 : 1;
  return Math.max(least, Math.min(MAX_PREFETCH, Math.floor(PREFETCH_WINDOW_MS / Math.max(meanMs, 0.01))));
}

/** An exponentially weighted moving average of task durations, `undefined` until the first. */
export function nextMean(mean: number | undefined, sample: number): number {
  return mean === undefined ? sample : mean * 0.8 + sample * 0.2;
}
