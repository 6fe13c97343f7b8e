import type { ChildProcess } from 'node:child_process';

/**
 * Worker processes still alive when this process exits. One `exit` listener, present only while
 * some worker lives, kills them all: a busy worker cannot hear its IPC channel close, and a script
 * that ends (or calls process.exit) must not leave it running. This registry is process-wide by
 * nature: it mirrors the process's own children.
 */
const alive = new Set<ChildProcess>();

function killAll(): void {
  for (const child of alive) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Kill `child` if this process exits first; call the returned function once the child is gone. */
export function killOnExit(child: ChildProcess): () => void {
  if (alive.size === 0) process.on('exit', killAll);
  alive.add(child);
  return () => {
    if (alive.delete(child) && alive.size === 0) process.off('exit', killAll);
  };
}
