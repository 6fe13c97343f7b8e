/**
 * The parent's side of custom serializers for one task: its arguments are encoded when it is
 * submitted, the worker is sent the executor's serializers when it has not heard of them yet, and
 * the task's value is decoded with this process's own registered deserializers.
 * @module
 */
import type { TaskExtras } from '../protocol/messages.js';
import { argumentSite, decode, encode, type Placeholder, RESULT_SITE } from './codec.js';
import { registeredSerializer, type SerializerSet } from './serializers.js';

/** What a task carries when serializers are registered. */
export interface TaskShipping {
  /** The serializers in use when the task was submitted. */
  readonly serializers: SerializerSet;
  /** The placeholders inside the task's (encoded) arguments, if any. */
  readonly records: Placeholder[] | undefined;
}

/**
 * A task's arguments ready to send: as they are when no serializer is registered (`serializers`
 * undefined: no walk at all), else with registered instances replaced.
 * @throws SerializationError naming the class and the argument when a serializer throws.
 */
export function shipArguments(
  args: unknown[],
  chunk: boolean,
  serializers: SerializerSet | undefined,
): { args: unknown[]; shipping: TaskShipping | undefined } {
  if (!serializers) return { args, shipping: undefined };
  const encoded = encode(args, serializers.table, argumentSite(chunk));
  return {
    args: (encoded?.value as unknown[] | undefined) ?? args,
    shipping: { serializers, records: encoded?.records },
  };
}

/**
 * What a task message carries besides its arguments, for a worker that was last sent the set of
 * version `sentVersion`. `batch` holds the sets already included in the batch being built.
 */
export function taskExtras(
  shipping: TaskShipping | undefined,
  sentVersion: number,
  batch: Set<unknown>,
): TaskExtras | undefined {
  if (!shipping) return undefined;
  const { serializers, records } = shipping;
  const send = serializers.version > sentVersion && !batch.has(serializers);
  if (send) batch.add(serializers);
  if (send) return records ? { records, serializers: serializers.sources } : { serializers: serializers.sources };
  return records ? { records } : undefined;
}

/** The version of the serializers a worker has after this task reached it. */
export function sentVersionAfter(shipping: TaskShipping | undefined, sentVersion: number): number {
  return shipping ? Math.max(sentVersion, shipping.serializers.version) : sentVersion;
}

/** A value from a worker, its custom-serialized instances rebuilt; a failing deserializer fails the task. */
export function decodeValue(
  value: unknown,
  records: readonly Placeholder[] | undefined,
): { ok: true; value: unknown } | { ok: false; error: unknown } {
  if (!records) return { ok: true, value };
  try {
    return { ok: true, value: decode(value, records, registeredSerializer, RESULT_SITE) };
  } catch (error) {
    return { ok: false, error };
  }
}
