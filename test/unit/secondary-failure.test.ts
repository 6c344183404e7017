import { expect, test } from 'vitest';
import { outcomeOf, valueOf, withSuppressed } from '../../src/errors/secondary-failure.js';

test('an outcome holds a value or an error, and reading an error throws it', async () => {
  const fine = await outcomeOf(Promise.resolve(7));
  const failed = await outcomeOf(Promise.reject(new Error('page 3 refused')));
  expect(fine).toEqual({ ok: true, value: 7 });
  expect(valueOf(fine)).toBe(7);
  expect(() => valueOf(failed)).toThrow('page 3 refused');
});

test('a second failure rides along on the first, which is the one returned', () => {
  const first = new Error('statement failed');
  const returned = withSuppressed(first, new Error('rollback failed'));
  withSuppressed(first, new Error('connection reset'));
  expect(returned).toBe(first);
  expect((first as Error & { suppressed: Error[] }).suppressed.map((e) => e.message)).toEqual(['rollback failed', 'connection reset']);
  // pino logs enumerable properties of an error: the suppressed ones are among them.
  expect(Object.keys(first)).toContain('suppressed');
});

test('the same error twice, or a primary that cannot hold it, is left as it is', () => {
  const only = new Error('once');
  expect(withSuppressed(only, only)).toBe(only);
  expect(only).not.toHaveProperty('suppressed');
  expect(withSuppressed('a string', new Error('x'))).toBe('a string');
  const frozen = Object.freeze(new Error('frozen'));
  expect(withSuppressed(frozen, new Error('x'))).toBe(frozen);
  expect(frozen).not.toHaveProperty('suppressed');
});
