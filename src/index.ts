/**
 * rxpool: run JavaScript functions in a pool of worker processes, robustly.
 * @packageDocumentation
 */
export type {
  ExitEvent,
  ExitReason,
  MemoryEvent,
  ReadyEvent,
  RecycleEvent,
  RecycleReason,
  SpawnedEvent,
  TaskEndEvent,
  TaskProgressEvent,
  TaskStartEvent,
  WorkerErrorEvent,
  WorkerEvent,
  WorkerEventBase,
} from './engine/events.js';
export type { DurationSummary, ExecutorStats, WorkerStats } from './engine/pool-stats.js';
export {
  BrokenExecutorError,
  CancelledError,
  InitializerError,
  QueueFullError,
  RxpoolError,
  SerializationError,
  type SerializationStage,
  ShutdownExecutorError,
  type TaskContext,
  TaskTimeoutError,
  TerminatedWorkerError,
  type WorkerExit,
} from './errors.js';
export type { Chunksize } from './executor/chunk-sizer.js';
export { type ExecutorState, ProcessPoolExecutor, type ShutdownOptions, type Streamed } from './executor/executor.js';
export { Future, type FutureState } from './executor/future.js';
export type { MapOptions } from './executor/map.js';
export type { ExecutorOptions } from './executor/options.js';
export { reportProgress } from './executor/report-progress.js';
export { DEFAULT_IDLE_TIMEOUT, getReusableExecutor, type ReusableExecutorOptions } from './executor/reusable.js';
export { renderTimelineSvg, type TimelineSvgOptions } from './monitor/timeline-svg.js';
export {
  type JsonValue,
  type TraceEvent,
  type TraceFile,
  type TraceOptions,
  toTraceFile,
  traceEvents,
} from './monitor/trace-events.js';
export { type CpuCountOptions, cpuCount } from './platform/cpu-count.js';
export { type ParallelMapOptions, parallelMap } from './rx/parallel-map.js';
export type { ParallelMapProgress } from './rx/progress.js';
export {
  type Class,
  deserializeSymbol,
  registerSerializer,
  type Serializer,
  type SerializerRegistration,
  serializeSymbol,
} from './shipping/serializers.js';
export { defineTask, fromModule, type TaskOptions, withScope } from './shipping/task-definition.js';
