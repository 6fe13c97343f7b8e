/**
 * Story: large typed arrays, moved as raw bytes.
 *
 * A typed array, DataView or Buffer of 1 MiB or more (an argument, a result, or an element of
 * either) crosses a pipe of its own beside the IPC channel: no serializer copies it on the way, and
 * the receiver gets it in memory of its own, exactly its size. Here a 32 MB recording is cut into
 * eight 4 MB blocks; workers smooth each block and send it back.
 */
import assert from 'node:assert/strict';
import { ProcessPoolExecutor } from 'rxpool';

await using executor = new ProcessPoolExecutor({ maxWorkers: 2, minWorkers: 2 });
await Promise.all([executor.submit(() => 'up'), executor.submit(() => 'up')]);

const SAMPLES = 4 * 1024 * 1024; // 32 MB of doubles
const recording = new Float64Array(SAMPLES);
for (let i = 0; i < SAMPLES; i++) recording[i] = Math.sin(i / 50) + (i % 7 === 0 ? 0.5 : 0);
const blocks = Array.from({ length: 8 }, (_, b) => recording.subarray((b * SAMPLES) / 8, ((b + 1) * SAMPLES) / 8));
console.log(
  `A recording of ${SAMPLES.toLocaleString('en-US')} samples (32 MB), cut into ${blocks.length} blocks of 4 MB.`,
);

// Runs in a worker: a 3-sample moving average (the ends keep their value). Only the block's own
// bytes travel, not the whole recording it is a view of.
const smooth = (block: Float64Array): Float64Array => {
  const out = block.slice();
  for (let i = 1; i < block.length - 1; i++)
    out[i] = ((block[i - 1] as number) + (block[i] as number) + (block[i + 1] as number)) / 3;
  return out;
};

const t0 = performance.now();
const smoothed = await Promise.all(blocks.map((block) => executor.submit(smooth, block)));
console.log(`Smoothed by 2 workers in ${(performance.now() - t0).toFixed(0)} ms, 64 MB there and back included.`);

for (const [b, block] of smoothed.entries()) {
  assert.ok(block instanceof Float64Array);
  assert.equal(block.length, SAMPLES / 8);
  const i = 1000;
  const source = blocks[b] as Float64Array;
  assert.equal(block[i], ((source[i - 1] as number) + (source[i] as number) + (source[i + 1] as number)) / 3);
}
console.log('Every block came back smoothed, each a Float64Array of its own.');
