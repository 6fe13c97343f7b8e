import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Kills a process and every process it started, at once. Linux reads the tree from /proc; other
 * POSIX systems ask `ps`; Windows has `taskkill /T`. A process that is already gone is skipped.
 */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (process.platform === 'win32') {
    try {
      execFileSync('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore' });
    } catch {
      // 128 / 255: already gone
    }
    return;
  }
  for (const target of [pid, ...descendantsOf(pid)]) {
    try {
      process.kill(target, signal);
    } catch {
      // ESRCH: it exited meanwhile
    }
  }
}

/** Every descendant of `pid`, children before grandchildren. */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [child, parent] of parentLinks()) {
    const list = children.get(parent);
    if (list) list.push(child);
    else children.set(parent, [child]);
  }
  const found: number[] = [];
  for (let i = -1, current = pid; ; current = found[++i] as number) {
    for (const child of children.get(current) ?? []) found.push(child);
    if (i + 1 >= found.length) return found;
  }
}

/** [pid, ppid] of every process this user can see. */
function parentLinks(): Array<[number, number]> {
  if (process.platform === 'linux') {
    try {
      return linuxParentLinks();
    } catch {
      // /proc not mounted: fall through to ps
    }
  }
  try {
    const out = execFileSync('ps', ['-A', '-o', 'pid=', '-o', 'ppid='], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((line) => line.trim().split(/\s+/).map(Number))
      .filter((pair): pair is [number, number] => pair.length === 2 && pair.every(Number.isInteger));
  } catch {
    return [];
  }
}

function linuxParentLinks(): Array<[number, number]> {
  const links: Array<[number, number]> = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the ppid; the command name before it may hold spaces and parens.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      links.push([pid, ppid]);
    } catch {
      // exited while we looked
    }
  }
  return links;
}
