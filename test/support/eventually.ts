// Polling for what another process or connection does by itself (a NOTIFY arriving, a cache dropping an entry).

/** Resolves with the first value `probe` returns that is not undefined, polling until `ms` have passed. */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
