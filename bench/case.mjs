// Measures one row of one case once, in this (fresh) process, and prints one `RESULT {json}` line.
// Started by bench/run.mjs:  node bench/case.mjs <case> <row> '<params json>'
import { CASES, firstLine, WORKERS, withTimeout } from './lib/cases.mjs';
import { createPool, POOLS } from './lib/pools.mjs';

const [, , caseId, rowId, paramsJson] = process.argv;

function report(result) {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
}

async function main() {
  const spec = CASES[caseId];
  if (!spec) throw new Error(`unknown case ${caseId}`);
  const row = spec.rows.find((r) => r.id === rowId);
  if (!row) throw new Error(`unknown row ${rowId} in ${caseId}`);
  const params = JSON.parse(paramsJson);
  if (caseId === 'cold-start') return spec.run(POOLS[row.pool], params, row);
  const pool = await createPool(row.pool, WORKERS);
  const metrics = await spec.run(pool, params, row);
  // Closing is not measured here, but a pool that cannot close is worth knowing about.
  try {
    await withTimeout(pool.close(), metrics.failed ? 3_000 : 10_000, 'close');
  } catch (error) {
    metrics.closeError = firstLine(error);
  }
  return metrics;
}

main().then(
  (metrics) => report({ ok: true, ...metrics }),
  (error) => report({ ok: false, error: firstLine(error) }),
);
