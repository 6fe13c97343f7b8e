// The performance targets of issue 7, checked against one run's medians, and the README summary
// built from them (`node bench/run.mjs --markdown`). Misses are shown as such, never dropped.
import { PEERS } from './pools.mjs';

/**
 * @typedef {{ id: string, label: string, kind: string, summary: Record<string, { median: number }> }} ResultRow
 * @typedef {Record<string, { rows: ResultRow[], params: any, runs: number }>} Results
 * @typedef {{ value: number, label: string }} Peer
 * @typedef {{ target: string, rxpool: string, peer: string, ratio: string, met: boolean | undefined }} Line
 */

/** The value of `key` (median) for row `rowId` of case `caseId`, or undefined. */
function value(cases, caseId, rowId, key) {
  return cases[caseId]?.rows.find((r) => r.id === rowId)?.summary[key]?.median;
}

/** Why row `rowId` of case `caseId` has no value: its first error, if any. */
function whyMissing(cases, caseId, rowId) {
  const runs = cases[caseId]?.rows.find((r) => r.id === rowId)?.runs ?? [];
  const error = runs.map((r) => r.error ?? r.errors?.[0]).find(Boolean);
  return error ? `not measured: ${error.replace(/\|/g, '\\|').slice(0, 90)}` : 'not measured';
}

/** 20000 → "20k", 1000000 → "1M". */
const count = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1000}k`);

/** The best peer row (not rxpool, not a floor) of `kind` ('process', 'thread' or any) for `key`. */
function bestPeer(cases, caseId, key, better, kind) {
  /** @type {Peer | undefined} */
  let best;
  for (const row of cases[caseId]?.rows ?? []) {
    if (!PEERS.includes(row.id) || (kind && row.kind !== kind)) continue;
    const v = row.summary[key]?.median;
    if (v === undefined) continue;
    if (!best || (better === 'higher' ? v > best.value : v < best.value)) best = { value: v, label: row.label };
  }
  return best;
}

/** ", its echo is not exact" when the peer's runs noted (≠) that `type` came back with other values. */
function inexactNote(cases, caseId, peer, type) {
  const row = peer && cases[caseId]?.rows.find((r) => r.label === peer.label);
  const prefix = `${type === 'nested object' ? 'object' : type}: `;
  const remark = row?.runs.flatMap((r) => r.remarks ?? []).find((text) => text.startsWith(prefix));
  return remark ? `; ${remark.slice(prefix.length)}` : '';
}

const num = (v, digits = 0) =>
  v === undefined
    ? 'not measured'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const peerCell = (peer, unit, digits = 0) => (peer ? `${num(peer.value, digits)}${unit} (${peer.label})` : '–');
const ratioCell = (a, b, what) => (a === undefined || b === undefined ? '–' : `${(a / b).toFixed(2)}× ${what}`);
/** A measured value with its unit, or why there is none. */
const measured = (cases, caseId, rowId, v, text) => (v === undefined ? whyMissing(cases, caseId, rowId) : text);

/**
 * One line per target: what rxpool measured, the best peer's value, the ratio the target is about
 * and whether it is met (undefined when something was not measured: shown as a miss).
 * @param {Results} cases
 * @returns {Line[]}
 */
export function checkTargets(cases) {
  /** @type {Line[]} */
  const lines = [];
  const has = (caseId) => Boolean(cases[caseId]);

  if (has('tiny-burst')) {
    const rx = value(cases, 'tiny-burst', 'rxpool', 'perSecLarge');
    const proc = bestPeer(cases, 'tiny-burst', 'perSecLarge', 'higher', 'process');
    const thread = bestPeer(cases, 'tiny-burst', 'perSecLarge', 'higher', 'thread');
    const n = count(cases['tiny-burst'].params.sizes[1]);
    const cell = measured(cases, 'tiny-burst', 'rxpool', rx, `${num(rx)} tasks/s`);
    lines.push(
      {
        target: `tiny tasks, \`submit\` one by one (${n} at once): ≥ 100,000 tasks/s`,
        rxpool: cell,
        peer: peerCell(proc, ''),
        ratio: ratioCell(rx, proc?.value, 'best process peer'),
        met: rx !== undefined ? rx >= 100_000 : undefined,
      },
      {
        target: 'tiny tasks: ≥ 3× the best process peer',
        rxpool: cell,
        peer: peerCell(proc, ''),
        ratio: ratioCell(rx, proc?.value, 'best process peer'),
        met: rx !== undefined && proc ? rx >= 3 * proc.value : undefined,
      },
      {
        target: 'tiny tasks: above the best thread peer',
        rxpool: cell,
        peer: peerCell(thread, ''),
        ratio: ratioCell(rx, thread?.value, 'best thread peer'),
        met: rx !== undefined && thread ? rx > thread.value : undefined,
      },
    );
  }
  if (has('batched')) {
    const peer = bestPeer(cases, 'batched', 'perSec', 'higher', 'process');
    for (const [rowId, api] of [
      ['rxpool-map', '`map`'],
      ['rxpool', '`parallelMap`'],
    ]) {
      const rx = value(cases, 'batched', rowId, 'perSec');
      lines.push({
        target: `batched: ${count(cases.batched.params.n)} items through ${api}, chunksize 'auto': ≥ 500,000 items/s`,
        rxpool: measured(cases, 'batched', rowId, rx, `${num(rx)} items/s`),
        peer: peerCell(peer, '', 0) + (peer ? ', 64 per call' : ''),
        ratio: ratioCell(rx, peer?.value, 'best process peer'),
        met: rx !== undefined ? rx >= 500_000 : undefined,
      });
    }
  }
  if (has('cold-start')) {
    for (const [key, what] of [
      ['firstMs', 'first result'],
      ['allMs', 'every worker answered'],
    ]) {
      const rx = value(cases, 'cold-start', 'rxpool', key);
      const floor = value(cases, 'cold-start', 'floor-advanced', key);
      const peer = bestPeer(cases, 'cold-start', key, 'lower', 'process');
      lines.push({
        target: `cold start, ${what}: ≤ 1.1× the bare fork floor (${num(floor, 0)} ms)`,
        rxpool: measured(cases, 'cold-start', 'rxpool', rx, `${num(rx, 0)} ms`),
        peer: peerCell(peer, ' ms'),
        ratio: ratioCell(rx, floor, "the floor's time"),
        met: rx !== undefined && floor !== undefined ? rx <= 1.1 * floor : undefined,
      });
    }
  }
  if (has('payload')) {
    for (const [key, type] of [
      ['stringMBps', 'string'],
      ['f64MBps', 'Float64Array'],
      ['arrayMBps', 'number[]'],
      ['objectMBps', 'nested object'],
    ]) {
      const rx = value(cases, 'payload', 'rxpool', key);
      const peer = bestPeer(cases, 'payload', key, 'higher', 'process');
      lines.push({
        target: `payload, ${cases.payload.params.n.toLocaleString('en-US')} × 100 KB ${type}: ≥ the best process peer`,
        rxpool: measured(cases, 'payload', 'rxpool', rx, `${num(rx)} MB/s`),
        peer: peerCell(peer, ' MB/s') + inexactNote(cases, 'payload', peer, type),
        ratio: ratioCell(rx, peer?.value, 'best process peer'),
        met: rx !== undefined && peer ? rx >= peer.value : undefined,
      });
    }
  }
  if (has('cpu-bound')) {
    const rx = value(cases, 'cpu-bound', 'rxpool', 'speedup1');
    const peer = bestPeer(cases, 'cpu-bound', 'speedup1', 'higher', 'process');
    lines.push({
      target: 'CPU-bound, first batch: speedup ≥ 1.95 over in-process',
      rxpool: measured(cases, 'cpu-bound', 'rxpool', rx, `${num(rx, 2)}×`),
      peer: peerCell(peer, '×', 2),
      ratio: ratioCell(rx, peer?.value, 'best process peer'),
      met: rx !== undefined ? rx >= 1.95 : undefined,
    });
  }
  if (has('crash-recovery')) {
    const rx = value(cases, 'crash-recovery', 'rxpool', 'exitToRejectMs');
    const rxEvent = value(cases, 'crash-recovery', 'rxpool', 'exitEventToRejectMs');
    const peer = bestPeer(cases, 'crash-recovery', 'exitToRejectMs', 'lower', 'process');
    lines.push({
      target: 'crash: rejection ≤ 20 ms after the exit',
      rxpool: measured(
        cases,
        'crash-recovery',
        'rxpool',
        rx,
        `${num(rx, 1)} ms (${num(rxEvent, 2)} ms after the \`exit\` event)`,
      ),
      peer: peerCell(peer, ' ms', 1),
      ratio: ratioCell(rx, peer?.value, "the best process peer's time"),
      met: rx !== undefined ? rx <= 20 : undefined,
    });
    const next = value(cases, 'crash-recovery', 'rxpool', 'nextMs');
    const ready = value(cases, 'crash-recovery', 'rxpool', 'exitEventToReadyMs');
    const full = value(cases, 'crash-recovery', 'rxpool', 'exitToFullMs');
    const floor = value(cases, 'cold-start', 'floor-advanced', 'firstMs');
    const peerFull = bestPeer(cases, 'crash-recovery', 'exitToFullMs', 'lower', 'process');
    lines.push({
      target: `crash: back at full size before the next task needs it (next task ≤ 10 ms; \`exit\` → replacement \`ready\` ≤ 1.1× a bare fork + round trip, ${num(floor, 0)} ms)`,
      rxpool: `next task ${num(next, 1)} ms; exit → ready ${num(ready, 0)} ms; exit → full size ${num(full, 0)} ms`,
      peer: peerFull ? `full size ${peerCell(peerFull, ' ms')}` : '–',
      ratio: ratioCell(ready, floor, "the floor's time"),
      met:
        next !== undefined && ready !== undefined && floor !== undefined
          ? next <= 10 && ready <= 1.1 * floor
          : undefined,
    });
  }
  if (has('memory')) {
    const growth = value(cases, 'memory', 'rxpool', 'rssGrowthPct');
    const small = value(cases, 'memory', 'rxpool', 'rssSmallMB');
    const large = value(cases, 'memory', 'rxpool', 'rssLargeMB');
    const [n1, n2] = cases.memory.params.sizes;
    const floorGrowth = value(cases, 'memory', 'bare-fork', 'rssGrowthPct');
    const floorSmall = value(cases, 'memory', 'bare-fork', 'rssSmallMB');
    const floorLarge = value(cases, 'memory', 'bare-fork', 'rssLargeMB');
    lines.push({
      target: `memory: parent RSS flat (±10%) from ${count(n1)} to ${count(n2)} tiny tasks`,
      rxpool: measured(
        cases,
        'memory',
        'rxpool',
        growth,
        `${num(growth, 1)}% (${num(small, 1)} → ${num(large, 1)} MB)`,
      ),
      peer:
        floorGrowth === undefined
          ? '–'
          : `bare fork floor: ${num(floorGrowth, 1)}% (${num(floorSmall, 1)} → ${num(floorLarge, 1)} MB)`,
      ratio: '–',
      met: growth !== undefined ? Math.abs(growth) <= 10 : undefined,
    });
  }
  return lines;
}

/** The targets as a Markdown table. */
export function targetsTable(cases) {
  const lines = checkTargets(cases);
  const met = lines.filter((l) => l.met).length;
  const out = [
    `${met} of ${lines.length} targets met.`,
    '',
    '| target | rxpool (median) | best peer (median) | ratio | |',
    '|---|---|---|---|---|',
  ];
  for (const l of lines) {
    const mark = l.met ? '✓ met' : l.met === false ? '✗ **missed**' : '✗ **not measured**';
    out.push(`| ${l.target} | ${l.rxpool} | ${l.peer} | ${l.ratio} | ${mark} |`);
  }
  return out.join('\n');
}

/** The README's Performance section, between its markers. */
export function readmeSection(meta, cases, resultsLink) {
  const load = `${meta.loadavgBefore.join(' ')} before, ${meta.loadavgAfter.join(' ')} after`;
  return [
    '<!-- bench:start -->',
    '<!-- Generated by `npm run bench -- --markdown` (bench/run.mjs): edits here are overwritten. -->',
    '',
    `The targets of the benchmark suite, checked against the medians of ${meta.quick ? 'a **quick** run (small sizes, 1 run: indicative only)' : 'the last full run'}: every pool has 2 workers, all pools ran side by side in that run, each measurement in a fresh process. "best peer" is the best process-based peer unless the target says otherwise. Full tables, every peer and the floors: [${resultsLink}](${resultsLink}); what each case measures: [bench/README.md](bench/README.md).`,
    '',
    targetsTable(cases),
    '',
    `Machine: Node.js ${meta.node}, nproc ${meta.nproc}, ${meta.cpu}, load average ${load} (1, 5, 15 min), ${meta.date.slice(0, 16).replace('T', ' ')} UTC, rxpool ${meta.commit}, ${Math.round(meta.wallSeconds / 60)} min${meta.envRemoved?.length ? `, run without ${meta.envRemoved.map((name) => `\`${name}\``).join(', ')} (see bench/README.md)` : ''}. The machine is shared: medians move with its load.`,
    '',
    'To reproduce:',
    '',
    '```sh',
    'npm ci',
    `npm run bench -- --markdown${meta.quick ? ' --quick' : ''}   # runs every case, writes ${resultsLink} and .json, rewrites this section`,
    `node bench/run.mjs --render ${resultsLink.replace(/\.md$/, '.json')} --markdown   # only re-renders, from the saved run`,
    '```',
    '<!-- bench:end -->',
  ].join('\n');
}
