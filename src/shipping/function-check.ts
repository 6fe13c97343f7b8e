import type { SerializationError } from '../errors.js';
import {
  analyzeFunction,
  type FunctionAnalysis,
  freeVariableError,
  lexicalContextError,
  usesThisError,
} from './free-variables.js';

/** Distinct sources remembered; past it the oldest is forgotten (generated code must not grow memory for ever). */
const MAX_CACHED = 2000;
const cache = new Map<string, FunctionAnalysis>();

/**
 * The analysis of a function's source, parsed once per process: the verdict depends only on the
 * text, so every executor and every re-created function object with that text shares it.
 */
export function analysisOf(source: string): FunctionAnalysis {
  let analysis = cache.get(source);
  if (!analysis) {
    analysis = analyzeFunction(source);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
    cache.set(source, analysis);
  }
  return analysis;
}

/**
 * Why a function with this analysis would not work in a worker, or `undefined` when it would:
 * it cannot be rebuilt or depends on where it was written, it uses `this`, or it uses variables
 * that neither the worker nor `provided` (its withScope names, the executor's `globals`) define.
 */
export function shippingError(
  name: string,
  analysis: FunctionAnalysis,
  provided: readonly string[],
): SerializationError | undefined {
  return (
    lexicalContextError(name, analysis) ??
    (analysis.usesThis ? usesThisError(name) : undefined) ??
    freeVariableError(name, analysis, provided)
  );
}
