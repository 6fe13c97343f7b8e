import { runInNewContext } from 'node:vm';
import { currentRuntime, type Runtime } from '../platform/runtime.js';
import { WORKER_HELPERS } from './helper-names.js';

/**
 * The globals that Node itself defines, on top of the language's own (Node 20 and later, some
 * behind a flag in older versions). A fixed list rather than this process's `globalThis`: the
 * parent also holds globals that workers never get (a test runner's `describe` and `expect`, or
 * whatever the application put there), and a function that uses them must be reported.
 */
export const NODE_GLOBALS: readonly string[] = [
  'global',
  'process',
  'Buffer',
  'console',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
  'structuredClone',
  'atob',
  'btoa',
  'performance',
  'fetch',
  'crypto',
  'navigator',
  'localStorage',
  'sessionStorage',
  'gc', // --expose-gc
  'AbortController',
  'AbortSignal',
  'Blob',
  'BroadcastChannel',
  'ByteLengthQueuingStrategy',
  'CloseEvent',
  'CompressionStream',
  'CountQueuingStrategy',
  'Crypto',
  'CryptoKey',
  'CustomEvent',
  'DecompressionStream',
  'DOMException',
  'ErrorEvent', // Node 26
  'Event',
  'EventSource',
  'EventTarget',
  'File',
  'FormData',
  'Headers',
  'MessageChannel',
  'MessageEvent',
  'MessagePort',
  'Navigator',
  'Performance',
  'PerformanceEntry',
  'PerformanceMark',
  'PerformanceMeasure',
  'PerformanceObserver',
  'PerformanceObserverEntryList',
  'PerformanceResourceTiming',
  'QuotaExceededError', // Node 26
  'ReadableByteStreamController',
  'ReadableStream',
  'ReadableStreamBYOBReader',
  'ReadableStreamBYOBRequest',
  'ReadableStreamDefaultController',
  'ReadableStreamDefaultReader',
  'Request',
  'Response',
  'Storage',
  'SubtleCrypto',
  'TextDecoder',
  'TextDecoderStream',
  'TextEncoder',
  'TextEncoderStream',
  'TransformStream',
  'TransformStreamDefaultController',
  'URL',
  'URLPattern',
  'URLSearchParams',
  'WebAssembly',
  'WebSocket',
  'WritableStream',
  'WritableStreamDefaultController',
  'WritableStreamDefaultWriter',
];

/**
 * The globals that Bun and Deno define on top of Node's (measured in a plain script of Bun 1.4 and
 * Deno 2.9, the way a worker runs). Workers run on the parent's binary, so a function shipped from
 * Bun may use `Bun`, and one shipped from Deno may use `Deno`; Node's workers have neither.
 */
export const RUNTIME_GLOBALS: Readonly<Record<Runtime, readonly string[]>> = {
  node: [],
  bun: [
    'Bun',
    'BuildError',
    'BuildMessage',
    'HTMLRewriter',
    'ResolveError',
    'ResolveMessage',
    'PerformanceServerTiming',
    'PerformanceTiming',
    'Worker',
    'self',
    'addEventListener',
    'removeEventListener',
    'dispatchEvent',
    'postMessage',
    'onmessage',
    'onerror',
    'reportError',
    'alert',
    'confirm',
    'prompt',
  ],
  deno: [
    'Deno',
    'DOMMatrix',
    'DOMMatrixReadOnly',
    'DOMPoint',
    'DOMPointReadOnly',
    'DOMQuad',
    'DOMRect',
    'DOMRectReadOnly',
    'FileReader',
    'ImageData',
    'ImageBitmap',
    'PromiseRejectionEvent',
    'ProgressEvent',
    'Worker',
    'createImageBitmap',
    'caches',
    'CacheStorage',
    'Cache',
    'reportError',
    'OffscreenCanvas',
    'ImageBitmapRenderingContext',
    'GPU',
    'GPUAdapter',
    'GPUAdapterInfo',
    'GPUBuffer',
    'GPUBufferUsage',
    'GPUCanvasContext',
    'GPUColorWrite',
    'GPUCommandBuffer',
    'GPUCommandEncoder',
    'GPUCompilationInfo',
    'GPUCompilationMessage',
    'GPUComputePassEncoder',
    'GPUComputePipeline',
    'GPUDevice',
    'GPUDeviceLostInfo',
    'GPUError',
    'GPUBindGroup',
    'GPUBindGroupLayout',
    'GPUInternalError',
    'GPUPipelineError',
    'GPUUncapturedErrorEvent',
    'GPUPipelineLayout',
    'GPUQueue',
    'GPUQuerySet',
    'GPUMapMode',
    'GPUOutOfMemoryError',
    'GPURenderBundle',
    'GPURenderBundleEncoder',
    'GPURenderPassEncoder',
    'GPURenderPipeline',
    'GPUSampler',
    'GPUShaderModule',
    'GPUShaderStage',
    'GPUSupportedFeatures',
    'GPUSupportedLimits',
    'GPUTexture',
    'GPUTextureView',
    'GPUTextureUsage',
    'GPUValidationError',
    'Lock',
    'LockManager',
    'onunhandledrejection',
    'Location',
    'location',
    'Window',
    'self',
    'NavigatorUAData',
    'alert',
    'confirm',
    'prompt',
    'name',
    'close',
    'closed',
    'onerror',
    'onload',
    'onbeforeunload',
    'onunload',
    'nodeBootstrap',
  ],
};

/**
 * Names a worker provides to shipped functions although Node does not make them globals: `require`
 * (resolving from the user's project) and the compiler helpers of `installHelpers`.
 */
export const WORKER_PROVIDED: readonly string[] = ['require', 'reportProgress', ...WORKER_HELPERS];

/**
 * Globals of the language in every engine rxpool runs on (V8 of Node 20 and later, JavaScriptCore):
 * a name among them is known without reading a fresh context, which costs milliseconds at the
 * first submit of a process. Anything else is looked up in that context.
 */
export const CORE_LANGUAGE_GLOBALS: readonly string[] = [
  'globalThis',
  'undefined',
  'NaN',
  'Infinity',
  'eval',
  'isFinite',
  'isNaN',
  'parseFloat',
  'parseInt',
  'decodeURI',
  'decodeURIComponent',
  'encodeURI',
  'encodeURIComponent',
  'escape',
  'unescape',
  'Object',
  'Function',
  'Array',
  'Number',
  'Boolean',
  'String',
  'Symbol',
  'BigInt',
  'Date',
  'RegExp',
  'Promise',
  'Proxy',
  'Reflect',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'FinalizationRegistry',
  'Error',
  'AggregateError',
  'EvalError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'TypeError',
  'URIError',
  'JSON',
  'Math',
  'Intl',
  'Atomics',
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'WebAssembly',
];

let cheap: ReadonlySet<string> | undefined;
let known: ReadonlySet<string> | undefined;

/**
 * Every name a shipped function may use without declaring it: the language's globals as this
 * version of the engine defines them (read from a fresh context, so `Iterator` or `Float16Array`
 * appear exactly when they exist), Node's globals, those of the runtime the workers run on (the
 * parent's: see `platform/runtime.ts`), and what the worker provides. The fresh context is read
 * only for a name outside the usual ones.
 */
export function workerGlobals(): Pick<ReadonlySet<string>, 'has'> {
  return WORKER_GLOBALS;
}

const WORKER_GLOBALS: Pick<ReadonlySet<string>, 'has'> = {
  has(name: string): boolean {
    if (commonWorkerGlobals().has(name)) return true;
    known ??= new Set([...commonWorkerGlobals(), ...languageGlobals()]);
    return known.has(name);
  },
};

/**
 * The usual names of {@link workerGlobals}, without reading a fresh context (some 5 ms, once): for
 * a quick look, which may answer "not sure".
 */
export function commonWorkerGlobals(): ReadonlySet<string> {
  cheap ??= new Set([
    ...CORE_LANGUAGE_GLOBALS,
    ...NODE_GLOBALS,
    ...RUNTIME_GLOBALS[currentRuntime()],
    ...WORKER_PROVIDED,
  ]);
  return cheap;
}

function languageGlobals(): string[] {
  return runInNewContext('Object.getOwnPropertyNames(globalThis)') as string[];
}
