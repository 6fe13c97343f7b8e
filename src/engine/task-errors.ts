import { CancelledError, SerializationError, TerminatedWorkerError } from '../errors.js';
import { describeCulprit, findCulprit } from '../shipping/culprit.js';
import { SHIPPED_URL_SCHEME } from '../worker/compile.js';
import { diagnoseExit } from './exit-diagnosis.js';
import type { Task } from './task.js';

/**
 * Explains the one error every function-shipping pool users meet: the function used a variable of
 * the scope it was written in, which does not travel with its source. The parent's check refuses
 * such functions before sending them; this is the safety net for what it cannot see (a name listed
 * in `globals` that the worker lacks, syntax newer than the parser). A ReferenceError raised in the
 * shipped function's own code becomes a SerializationError that names the function and the
 * identifier and says how to pass the value; any other error is returned as it is.
 */
export function enrichTaskError(error: unknown, task: Task): unknown {
  if (!(error instanceof ReferenceError)) return error;
  const missing = /^(\S+) is not defined$/.exec(error.message)?.[1];
  const topFrame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  if (!missing || !topFrame?.includes(SHIPPED_URL_SCHEME)) return error;
  const name = task.fn.name || 'anonymous';
  return new SerializationError(
    `The function \`${name}\` uses \`${missing}\`, which is not defined in the worker: only the function's source travels, not the scope it was written in. Pass \`${missing}\` as an argument instead (submit((x, ${missing}) => ..., x, ${missing})), or with withScope({ ${missing} }), or define it inside the function.`,
    { stage: 'function', path: missing, taskId: task.id, functionName: task.fn.name },
    { cause: error },
  );
}

/** The error of a task whose worker ended under it: how it ended, and a guess at why. */
export function terminatedError(
  worker: { readonly workerId: number; readonly pid: number | undefined },
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
  task: Task,
): TerminatedWorkerError {
  return new TerminatedWorkerError({
    workerId: worker.workerId,
    pid: worker.pid,
    exitCode: code,
    signal,
    stderr,
    taskId: task.id,
    functionName: task.fn.name,
    hint: diagnoseExit(code, signal, stderr),
  });
}

/** The error of a task whose arguments cannot be sent: which argument, where inside it, and why. */
export function argumentsError(task: Task, error: unknown): SerializationError {
  const fallback = error instanceof Error ? error.message : String(error);
  const noun = task.chunk ? 'item' : 'argument';
  for (let i = 0; i < task.args.length; i++) {
    const culprit = findCulprit(task.args[i]);
    if (culprit) {
      return new SerializationError(
        `Task ${task.id}${task.fn.name ? ` (function \`${task.fn.name}\`)` : ''} cannot be sent to a worker: ${describeCulprit(`${noun} ${i + 1}`, culprit, fallback)}.`,
        {
          stage: 'argument',
          path: `${noun} ${i + 1}${culprit.path ? ` → ${culprit.path}` : ''}`,
          taskId: task.id,
          functionName: task.fn.name,
        },
        { cause: error },
      );
    }
  }
  return new SerializationError(
    `Task ${task.id} cannot be sent to a worker: ${fallback}`,
    { stage: 'argument', taskId: task.id, functionName: task.fn.name },
    { cause: error },
  );
}

/** The error of a task cancelled before it started. */
export function cancelledError(task: Task): CancelledError {
  return new CancelledError(`Task ${task.id} was cancelled before it started.`);
}
