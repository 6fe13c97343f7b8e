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

/**
 * `name` from its own module (`load` requires it: a literal path, which bundlers can follow), or
 * from the index if that module is not there.
 */
function part<K extends keyof RxValues>(name: K, load: () => unknown): RxValues[K] {
  try {
    const value = (load() as Partial<RxValues>)[name];
    if (value !== undefined) return value as RxValues[K];
  } catch {
    // Not in this version of RxJS: fall back to the index.
  }
  return (require('rxjs') as RxValues)[name];
}

export type { OperatorFunction, Subscriber, Subscription } from 'rxjs';
export type Observable<T> = Rx.Observable<T>;
export const Observable = part('Observable', () => require('rxjs/internal/Observable'));
export type Subject<T> = Rx.Subject<T>;
export const Subject = part('Subject', () => require('rxjs/internal/Subject'));
export type BehaviorSubject<T> = Rx.BehaviorSubject<T>;
export const BehaviorSubject = part('BehaviorSubject', () => require('rxjs/internal/BehaviorSubject'));
export const defer = part('defer', () => require('rxjs/internal/observable/defer'));
export const EMPTY = part('EMPTY', () => require('rxjs/internal/observable/empty'));
export const map = part('map', () => require('rxjs/internal/operators/map'));
export const reduce = part('reduce', () => require('rxjs/internal/operators/reduce'));
export const switchMap = part('switchMap', () => require('rxjs/internal/operators/switchMap'));
