/**
 * Every message between the parent and a worker, in one place.
 *
 * Messages are tuples with a numeric tag: the IPC channel serializes them with V8's structured
 * clone, where a short array costs far less than an object with property names. Each IPC message is
 * a batch (an array of these), so a burst of tasks or results crosses in one write.
 */

import type { Placeholder } from '../shipping/codec.js';
import type { ChunkValues } from './chunk-values.js';
import type { Packed } from './packed.js';

/** Numeric tags; each direction has its own. */
export const ToWorker = {
  /** Run a task: `[Task, taskId, fnId, args, source?, mode, extras?]`. */
  Task: 1,
  /** Drop a queued task that has not started: `[Drop, taskId]`. */
  Drop: 2,
  /** Run the executor's initializer once, before any task: `[Init, source, args]`. */
  Init: 3,
  /** Stop a streaming task: its iterator is returned (its `finally` runs) or its subscription ended: `[Cancel, taskId]`. */
  Cancel: 4,
} as const;

/** How a task's function is applied and its result sent back. */
export const TaskMode = {
  /** `fn(...args)`; the value (an iterator or async iterable is collected into an array) comes back once. */
  Call: 0,
  /** `args` is a list of items: `fn(item)` for each in turn, the results coming back as one array. */
  Chunk: 1,
  /**
   * `fn(...args)`, and every value its async iterable, iterator or observable yields is sent as it
   * comes; the Ok that ends it carries the values not yet sent (a plain value: a list of one).
   */
  Stream: 2,
  /** Like Chunk, but each item's result is the list of values it streams (a plain value: a list of one), sent as a {@link ChunkValues}. */
  ChunkStream: 3,
} as const;
export type TaskMode = (typeof TaskMode)[keyof typeof TaskMode];

export const FromWorker = {
  /** Bootstrap finished; tasks may flow: `[Ready, lane?]`, `lane` set when the worker reads the byte lane. */
  Ready: 1,
  /** A task's value: `[Ok, taskId, value, records?, json?, lane?]`. */
  Ok: 2,
  /** A task threw: `[Err, taskId, thrown, partial?, records?]`. `partial` holds a chunk's results before the failing item (a {@link ChunkValues} for ChunkStream). */
  Err: 3,
  /** A dropped task was removed before it started: `[Skipped, taskId]`. */
  Skipped: 4,
  /** An error thrown by a task's leftovers after (or outside) the task: `[Leftover, originTaskId, thrown]`. */
  Leftover: 5,
  /** The initializer finished: `[Initialized]`. */
  Initialized: 6,
  /** The initializer threw: `[InitFailed, thrown]`. The worker takes no task after this. */
  InitFailed: 7,
  /** One value of a streaming task: `[Next, taskId, value, records?, json?, lane?]`; its Ok or Err follows the last one. */
  Next: 8,
  /** A task reported progress with `reportProgress(value)`: `[Progress, taskId, value]`. */
  Progress: 9,
  /**
   * The process is ending on its own (a task called `process.exit(code)`): `[Exiting, code]`. The
   * parent need not wait for the slow part of a Node exit (stopping the watchdog thread, tearing
   * the heap down) to fail the task.
   */
  Exiting: 10,
  /**
   * The process is up and reads its channel: `[Up, lane?]`, the worker's first message, sent before
   * it loads the rest of itself (`lane` as in Ready). Tasks sent from now on wait in the channel for
   * it; they start, and count as started, after Ready.
   */
  Up: 11,
} as const;

/**
 * A task to run. `source` rides along only the first time a worker sees `fnId`; the worker caches
 * the rebuilt function. `mode` says how the function is applied (see {@link TaskMode}). `args` is
 * packed when `extras.packed` is set (see protocol/packed.ts).
 */
export type TaskMessage = [
  tag: typeof ToWorker.Task,
  taskId: number,
  fnId: number,
  args: unknown[] | Packed,
  source: FunctionSource | undefined,
  mode: TaskMode,
  extras?: TaskExtras,
];
export type DropMessage = [tag: typeof ToWorker.Drop, taskId: number];
export type CancelMessage = [tag: typeof ToWorker.Cancel, taskId: number];
export type InitMessage = [tag: typeof ToWorker.Init, source: FunctionSource, args: unknown[]];
export type ParentMessage = TaskMessage | DropMessage | InitMessage | CancelMessage;

export type ReadyMessage = [tag: typeof FromWorker.Ready, lane?: 1];
/**
 * A value from a task: its result (Ok) or one streamed value (Next). `records`: the placeholders of
 * custom-serialized instances inside `value` (see shipping/codec.ts). `packed`: set when `value` is
 * packed (see protocol/packed.ts). `lane`: where the values that follow on
 * the byte lane go (see protocol/byte-lane.ts).
 */
type ValueMessage<Tag> = [
  tag: Tag,
  taskId: number,
  value: unknown,
  records?: Placeholder[] | undefined,
  packed?: 1 | undefined,
  lane?: number[],
];
export type OkMessage = ValueMessage<typeof FromWorker.Ok>;
export type ErrMessage = [
  tag: typeof FromWorker.Err,
  taskId: number,
  thrown: ThrownRecord,
  partial?: ChunkValues,
  records?: Placeholder[],
];
export type SkippedMessage = [tag: typeof FromWorker.Skipped, taskId: number];
export type LeftoverMessage = [tag: typeof FromWorker.Leftover, originTaskId: number | null, thrown: ThrownRecord];
export type InitializedMessage = [tag: typeof FromWorker.Initialized];
export type InitFailedMessage = [tag: typeof FromWorker.InitFailed, thrown: ThrownRecord];
export type NextMessage = ValueMessage<typeof FromWorker.Next>;
export type ProgressMessage = [tag: typeof FromWorker.Progress, taskId: number, value: unknown];
export type ExitingMessage = [tag: typeof FromWorker.Exiting, code: number];
export type UpMessage = [tag: typeof FromWorker.Up, lane?: 1];
export type WorkerMessage =
  | UpMessage
  | ExitingMessage
  | ReadyMessage
  | OkMessage
  | ErrMessage
  | SkippedMessage
  | LeftoverMessage
  | InitializedMessage
  | InitFailedMessage
  | NextMessage
  | ProgressMessage;

/** How a function travels: its source text and the name to report it by. */
export interface FunctionSource {
  /** The function's source ('' when it is loaded from a module). */
  readonly source: string;
  readonly name: string;
  /** Values bound to names around the function (withScope), encoded like arguments. */
  readonly scope?: ScopeValues;
  /** Where to load the function from instead of its source (fromModule). */
  readonly module?: ModuleReference;
}

/** The values a function closes over, by name, and the placeholders of custom-serialized ones. */
export interface ScopeValues {
  readonly values: Record<string, unknown>;
  readonly records?: Placeholder[];
}

/** A function exported by a module: an absolute path, a URL, or a package specifier resolved from the project. */
export interface ModuleReference {
  readonly specifier: string;
  readonly exportName: string;
}

/** What a task carries besides its arguments when custom serializers are in use or they travel packed. */
export interface TaskExtras {
  /** Set when the arguments travel packed (see protocol/packed.ts). */
  readonly packed?: 1;
  /** The arguments whose values follow on the byte lane, by index (see protocol/byte-lane.ts). */
  readonly lane?: number[];
  /** The placeholders of custom-serialized instances inside `args`. */
  readonly records?: Placeholder[];
  /** Every serializer of the executor, sent when they changed since this worker last heard of them. */
  readonly serializers?: readonly SerializerSource[];
}

/**
 * A registered serializer as a worker rebuilds it: from source, like a function. The class travels
 * too, so that instances arrive in the worker as instances.
 */
export interface SerializerSource {
  /** The registration's id: what placeholders name. */
  readonly id: number;
  /** The class's id: registrations of one class share it, and the worker rebuilds the class once. */
  readonly classId: number;
  /** The class name, bound to the class around `serialize` and `deserialize`. */
  readonly name: string;
  /** The class's source; `undefined` for a class every worker has as a global (URL...), found by name. */
  readonly classSource: string | undefined;
  /** `serialize(instance)`'s source; `undefined` to call the instance's `[serializeSymbol]()` method. */
  readonly serialize: string | undefined;
  /** `deserialize(data)`'s source; `undefined` to call the class's static `[deserializeSymbol](data)`. */
  readonly deserialize: string | undefined;
}

/**
 * A thrown value, made cloneable. Errors become records so that their name, code, own enumerable
 * properties, cause and stack survive (the structured clone of an Error drops most of them);
 * anything else thrown travels as itself.
 */
export type ThrownRecord = ErrorRecord | { readonly kind: 'value'; readonly value: unknown };

export interface ErrorRecord {
  readonly kind: 'error';
  /** The constructor's name in the worker, used to pick a matching built-in class in the parent. */
  readonly ctor: string;
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Own enumerable properties (code, errno, custom fields...), each made cloneable. */
  readonly props: Record<string, unknown>;
  readonly cause?: ThrownRecord;
  /** An AggregateError's `errors`. */
  readonly errors?: ThrownRecord[];
}
