// Where a cold start's time goes: one worker, from the constructor to the first result, cut at the
// moments both processes can see (the child's performance.nodeTiming and the parent's clock share
// the epoch). Alternates with a bare fork of a three-line child, in fresh processes, and prints
// medians. `node bench/cold-timeline.mjs [runs]` (default 15). See bench/README.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? 15);
const dir = mkdtempSync(join(tmpdir(), 'rxpool-cold-'));
const stamp = `const t = performance.nodeTiming, o = performance.timeOrigin;
  return { origin: o, boot: o + t.bootstrapComplete, loop: o + t.loopStart, now: o + performance.now() };`;

writeFileSync(join(dir, 'child.cjs'), `process.on('message', () => process.send((() => { ${stamp} })()));\n`);
writeFileSync(
  join(dir, 'floor.mjs'),
  `import { fork } from 'node:child_process';
const t0 = performance.timeOrigin + performance.now();
const child = fork(${JSON.stringify(join(dir, 'child.cjs'))}, [], { serialization: 'advanced', execArgv: [] });
child.send(0);
child.on('message', (w) => {
  const end = performance.timeOrigin + performance.now();
  console.log(JSON.stringify({ t0, w, ready: w.loop, end }));
  child.kill();
});
`,
);
writeFileSync(
  join(dir, 'rxpool.mjs'),
  `import { createRequire } from 'node:module';
const { ProcessPoolExecutor } = createRequire(${JSON.stringify(join(process.cwd(), 'package.json'))})('rxpool');
const now = () => performance.timeOrigin + performance.now();
const t0 = now();
const executor = new ProcessPoolExecutor({ maxWorkers: 1, minWorkers: 1, execArgv: [] });
const ctor = now();
let ready;
executor.events$.subscribe((e) => { if (e.type === 'ready') ready ??= now(); });
// A local declaration: the check loads its parser, as most functions make it do.
const w = await executor.submit(() => { ${stamp} });
const end = now();
console.log(JSON.stringify({ t0, ctor, w, ready, end }));
await executor.shutdown();
`,
);

const rows = { floor: [], rxpool: [] };
try {
  for (let i = 0; i < runs; i++) {
    for (const name of ['floor', 'rxpool']) {
      const out = execFileSync(process.execPath, [join(dir, `${name}.mjs`)], { encoding: 'utf8', timeout: 30_000 });
      const { t0, ctor, w, ready, end } = JSON.parse(out.trim().split('\n').pop());
      rows[name].push({
        constructor: ctor === undefined ? 0 : ctor - t0,
        'process started': w.origin - t0,
        "Node's boot": w.boot - w.origin,
        'script to ready': Math.max(ready, w.loop) - w.boot,
        'task runs': w.now - Math.max(ready, w.loop),
        'result back': end - w.now,
        total: end - t0,
      });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const median = (values) => values.sort((a, b) => a - b)[values.length >> 1];
const keys = Object.keys(rows.floor[0]);
console.log(`| ms, median of ${runs} | ${keys.join(' | ')} |`);
console.log(`|---|${keys.map(() => '---:').join('|')}|`);
for (const [name, list] of Object.entries(rows)) {
  console.log(`| ${name} | ${keys.map((k) => median(list.map((r) => r[k])).toFixed(1)).join(' | ')} |`);
}
