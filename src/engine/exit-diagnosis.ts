/**
 * A short, honest guess at why a worker died, from its exit code, signal and last stderr lines.
 * It ends up in TerminatedWorkerError's message, where a person decides what to do next.
 */
export function diagnoseExit(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  // Node writes "FATAL ERROR: ... JavaScript heap out of memory"; V8's own handler (Deno) writes
  // "Fatal JavaScript out of memory: Reached heap limit" or "...: Ineffective mark-compacts near heap limit".
  if (/heap out of memory|JavaScript out of memory|Reached heap limit|Allocation failed/i.test(stderr)) {
    return "the V8 heap ran out of memory (give workers more with execArgv: ['--max-old-space-size=<MB>'], or use less per task)";
  }
  switch (signal) {
    case 'SIGSEGV':
      return 'a segmentation fault, usually a bug in a native addon the task called';
    case 'SIGBUS':
      return 'a bus error, usually in native code';
    case 'SIGILL':
    case 'SIGFPE':
      return 'an illegal CPU instruction or arithmetic fault in native code';
    case 'SIGABRT':
      return 'the process aborted: a failed assertion in native code, or V8 giving up on an out-of-memory heap';
    case 'SIGKILL':
      return "SIGKILL, sent by the operating system's out-of-memory killer (see `dmesg`) or by another process";
    case 'SIGTERM':
      return 'SIGTERM, sent by another process';
    case 'SIGINT':
      return 'SIGINT (Ctrl-C reaches worker processes too)';
    case null:
      break;
    default:
      return `signal ${signal}`;
  }
  if (code === null) return '';
  if (code === 134) return 'the process aborted (exit code 134)';
  if (code === 137) return 'the process was killed (exit code 137: SIGKILL, often the out-of-memory killer)';
  return `the task, or a library it called, ended the process with process.exit(${code})`;
}
