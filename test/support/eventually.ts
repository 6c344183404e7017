// Waiting for what another process or connection does by itself (a NOTIFY arriving, a cache dropping an entry).
import { vi } from 'vitest';

/** Resolves with the first value `probe` returns that is not undefined, asking again (vi.waitFor) for up to `ms`. */
export function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, ms = 5_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (value === undefined) throw new Error(`nothing yet (waiting up to ${ms} ms)`);
      return value;
    },
    { timeout: ms, interval: 20 },
  );
}
