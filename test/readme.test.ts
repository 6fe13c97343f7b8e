/**
 * The README's examples are code a newcomer will paste: each ```ts block runs here, as is.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runtime, rxpoolWorkerPids, waitForExit } from './support/pool.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
// Inside the package directory, so `import ... from 'rxpool'` resolves to this package.
const dir = `${root}.tmp/readme-examples/`;

describe('README examples', { timeout: 120_000 }, () => {
  test('the README has examples', () => assert.ok(examples.length >= 3));

  examples.forEach((code, index) => {
    const firstLine = code.split('\n').find((line) => line.trim() && !line.startsWith('import')) ?? '';
    const skip =
      runtime === 'deno' && code.includes("'SIGSEGV'")
        ? 'Deno survives a SIGSEGV sent to itself (its own handler swallows it): see src/platform/runtime.ts'
        : false;
    test(`example ${index + 1}: ${firstLine.slice(0, 60)}`, { timeout: 60_000, skip }, async () => {
      mkdirSync(dir, { recursive: true });
      const file = `${dir}example-${index + 1}.ts`;
      writeFileSync(file, code);
      const before = new Set(rxpoolWorkerPids());
      const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout?.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr?.on('data', (chunk) => {
        output += chunk;
      });
      const [code_] = await once(child, 'close');
      assert.equal(code_, 0, `README example ${index + 1} failed:\n${code}\n---\n${output}`);
      for (const pid of rxpoolWorkerPids()) if (!before.has(pid)) await waitForExit(pid, 2000);
    });
  });
});
