// A second failure met while handling a first (a ROLLBACK after a failed statement, a page read ahead of a sync that
// already failed) is kept on the error that is thrown rather than dropped: the log of that error shows both.

/** A promise's outcome as a value: awaiting it never throws, so a promise can wait unawaited without going unhandled. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function outcomeOf<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** The value of an outcome, or its error thrown. */
export function valueOf<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * Attaches `secondary` to `primary` under `suppressed` (enumerable, so pino's error serialiser logs it) and returns
 * `primary`, to be thrown. The same error twice, or a primary that can hold no property, is left as it is.
 */
export function withSuppressed(primary: unknown, secondary: unknown): unknown {
  if (secondary === primary || typeof primary !== 'object' || primary === null || !Object.isExtensible(primary)) return primary;
  const holder = primary as { suppressed?: unknown[] };
  holder.suppressed = [...(holder.suppressed ?? []), secondary];
  return primary;
}
