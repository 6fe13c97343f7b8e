/**
 * The parts of RxJS that rxpool uses, each loaded from its own module. `require('rxjs')` loads the
 * whole index, every operator RxJS has (about 220 modules, 80–100 ms on a slow machine), when rxpool
 * needs a handful (about 50 modules). They are the very classes and functions the index re-exports
 * (the index is built from these files), so rxpool's Observables and Subjects are the user's own.
 *
 * RxJS 7 exports `rxjs/internal/*` in its package `exports`; should a later version move a module,
 * the index, which has everything, is the fallback. Everything else in rxpool imports RxJS values
 * from here, and only types from 'rxjs' (a test checks that the index stays unloaded).
 * @module
 */
import type * as Rx from 'rxjs';

type RxValues = typeof Rx;

/** `name` from the module `rxjs/internal/<path>`, or from the index if that module is not there. */
function load<K extends keyof RxValues>(path: string, name: K): RxValues[K] {
  try {
    const value = (require(`rxjs/internal/${path}`) as Partial<RxValues>)[name];
    if (value !== undefined) return value as RxValues[K];
  } catch {
    // Not in this version of RxJS: fall back to the index.
  }
  return (require('rxjs') as RxValues)[name];
}

export type { OperatorFunction, Subscriber, Subscription } from 'rxjs';
export type Observable<T> = Rx.Observable<T>;
export const Observable = load('Observable', 'Observable');
export type Subject<T> = Rx.Subject<T>;
export const Subject = load('Subject', 'Subject');
export type BehaviorSubject<T> = Rx.BehaviorSubject<T>;
export const BehaviorSubject = load('BehaviorSubject', 'BehaviorSubject');
export const defer = load('observable/defer', 'defer');
export const EMPTY = load('observable/empty', 'EMPTY');
export const map = load('operators/map', 'map');
export const reduce = load('operators/reduce', 'reduce');
export const switchMap = load('operators/switchMap', 'switchMap');
