// The DateTime scalar's shortcut for toISOString text answers exactly what graphql-scalars' serialisation prints.
import { DateTimeResolver } from 'graphql-scalars';
import { expect, test } from 'vitest';
import { scalars } from '../../resolvers/scalars.js';

const wire = (value: unknown) => JSON.stringify(value);

test('toISOString text is sent as it is, and reads as the library would print it', () => {
  for (const text of ['2026-01-31T23:59:59.999Z', '2024-02-29T00:00:00.000Z', '0001-01-01T00:00:00.000Z', '1999-12-31T12:30:00.500Z']) {
    expect(scalars.DateTime.serialize(text)).toBe(text);
    expect(wire(scalars.DateTime.serialize(text))).toBe(wire(DateTimeResolver.serialize(text)));
  }
});

test('any other value takes the library path: other forms normalised, invalid text refused alike', () => {
  for (const value of ['2026-01-31T23:59:59Z', '2026-01-31T23:59:59.999+02:00', '2026-01-31t23:59:59.999z', new Date('2026-03-01T00:00:00.000Z'), 1_767_225_600_000]) {
    expect(wire(scalars.DateTime.serialize(value))).toBe(wire(DateTimeResolver.serialize(value)));
  }
  // A day the month does not have, an hour past 23, a word: the library's own error, not the text passed through.
  for (const value of ['2026-02-30T00:00:00.000Z', '2026-01-01T24:00:00.000Z', 'soon']) {
    expect(() => scalars.DateTime.serialize(value)).toThrow(/DateTime cannot represent/);
    expect(() => DateTimeResolver.serialize(value)).toThrow(/DateTime cannot represent/);
  }
});
