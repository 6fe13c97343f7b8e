/**
 * Every story in stories/ is a runnable narrated script that asserts what it shows: CI runs each
 * one and checks that it succeeds and leaves no worker process behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rxpoolWorkerPids, waitForExit } from './support/pool.js';

const storiesDir = fileURLToPath(new URL('../stories/', import.meta.url));
const stories = readdirSync(storiesDir).filter((name) => name.endsWith('.ts'));

describe('stories', { timeout: 120_000 }, () => {
  test('there are stories to run', () => assert.ok(stories.length > 0));

  for (const story of stories) {
    test(story, { timeout: 60_000 }, async () => {
      const before = new Set(rxpoolWorkerPids());
      const child = spawn(process.execPath, ['--import', 'tsx', `${storiesDir}${story}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr?.on('data', (chunk) => {
        output += chunk;
      });
      const [code, signal] = await once(child, 'close');
      assert.equal(code, 0, `${story} failed (${signal ?? code}):\n${output}`);
      for (const pid of rxpoolWorkerPids()) if (!before.has(pid)) await waitForExit(pid, 2000);
    });
  }
});
