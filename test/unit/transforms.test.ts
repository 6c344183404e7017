import { describe, expect, test } from 'vitest';
import type { TransformName } from '../../src/expressions/transform-names.js';
import { applyTransform, compileTransform, TransformError } from '../../src/sources/transforms.js';

const context = { defaultPhoneRegion: 'US' };

describe('named transforms', () => {
  test.each<[TransformName, unknown, unknown]>([
    ['email', '  Ada.Lovelace@Example.ORG ', 'ada.lovelace@example.org'],
    ['email', 'not an email', null],
    ['phone', '(415) 555-0134', '+14155550134'],
    ['phone', '1-415-555-0134', '+14155550134'],
    ['phone', '415.555.0134', '+14155550134'],
    ['phone', '+44 20 7946 0958', '+442079460958'],
    ['phone', '000', null],
    ['date', '2024-03-01T10:00:00Z', '2024-03-01T10:00:00.000Z'],
    ['date', 1709287200, '2024-03-01T10:00:00.000Z'],
    ['date', 1709287200000, '2024-03-01T10:00:00.000Z'],
    ['money', 1250, 1250],
    ['money', '1250', 1250],
    ['moneyMajor', '12.50', 1250],
    ['moneyMajor', 0.1 + 0.2, 30],
    ['integer', '3', 3],
    ['boolean', 'true', true],
    ['upper', ' open ', 'OPEN'],
    ['string', '   ', null],
    ['stringList', ['a', ' b ', 3, null], ['a', 'b', '3']],
    ['json', { path: '/x' }, { path: '/x' }],
    ['string', null, null],
    ['money', undefined, null],
  ])('%s(%j) = %j', (name, input, expected) => {
    expect(applyTransform(name, input, context)).toEqual(expected);
    // The form compiled mappings call: the same answer with the context bound once.
    expect(compileTransform(name, context)(input)).toEqual(expected);
  });

  test.each<[TransformName, unknown]>([
    ['money', 'twelve'],
    ['money', 12.5],
    ['integer', 'three'],
    ['date', 'yesterday'],
    ['boolean', 'maybe'],
    ['stringList', 'a,b'],
  ])('%s rejects %j with a TransformError', (name, input) => {
    expect(() => applyTransform(name, input, context)).toThrow(TransformError);
    expect(() => compileTransform(name, context)(input)).toThrow(TransformError);
  });
});

describe('date fast path for UTC ISO text', () => {
  /** What the transform did before the fast path: parse, then print. */
  function reference(text: string): string | 'error' {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? new Date(ms).toISOString() : 'error';
  }

  test('answers exactly as parsing and printing would, across field edges', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    let compared = 0;
    for (const year of [0, 1, 1900, 2000, 2023, 2024, 2100, 9999]) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          for (const time of ['00:00:00', '23:59:59', '24:00:00', '12:60:00', '12:00:60']) {
            for (const fraction of ['', '.000', '.123']) {
              const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${time}${fraction}Z`;
              const expected = reference(text);
              let actual: unknown;
              try {
                actual = applyTransform('date', text, context);
              } catch (error) {
                expect(error).toBeInstanceOf(TransformError);
                actual = 'error';
              }
              expect(actual, text).toBe(expected);
              compared += 1;
            }
          }
        }
      }
    }
    expect(compared).toBe(8 * 14 * 33 * 5 * 3);
  });
});

