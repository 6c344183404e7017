// In-memory lookups the simulated sources build once over their dataset slice, plus the wire view of a record.

/** A record as a source serves it: the ground-truth `personId` is never sent over HTTP. */
export type Wire<T> = Omit<T, 'personId'>;

export function toWire<T extends { personId: string }>(record: T): Wire<T> {
  const { personId: _groundTruth, ...wire } = record;
  return wire;
}

export function indexUnique<T, K>(records: readonly T[], keyOf: (record: T) => K): Map<K, T> {
  const index = new Map<K, T>();
  for (const record of records) index.set(keyOf(record), record);
  return index;
}

/** Groups records by a key; records whose key is null/undefined are left out. */
export function indexMany<T, K>(
  records: readonly T[],
  keyOf: (record: T) => K | null | undefined,
): Map<K, T[]> {
  const index = new Map<K, T[]>();
  for (const record of records) {
    const key = keyOf(record);
    if (key === null || key === undefined) continue;
    const bucket = index.get(key);
    if (bucket) bucket.push(record);
    else index.set(key, [record]);
  }
  return index;
}

/** The records for `keys` in request order, duplicates collapsed, unknown keys omitted (batch-read semantics). */
export function pickExisting<K, T>(keys: readonly K[], index: ReadonlyMap<K, T>): T[] {
  const found: T[] = [];
  for (const key of new Set(keys)) {
    const record = index.get(key);
    if (record !== undefined) found.push(record);
  }
  return found;
}

/** Position of the first record whose key sorts after `after`, in a list sorted ascending by key. */
export function firstIndexAfter<T, K extends string | number>(
  sorted: readonly T[],
  after: K,
  keyOf: (record: T) => K,
): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const record = sorted[mid] as T;
    if (keyOf(record) <= after) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Comparator putting later ISO-8601 UTC timestamps first. Code-unit comparison is exact for that format
 * and much cheaper than localeCompare over half a million events.
 */
export function newestFirst(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}
