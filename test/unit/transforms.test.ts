import { describe, expect, test } from 'vitest';
import { applyTransform, compileTransform, TransformError, type TransformName } from '../../src/sources/transforms.js';

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
    ['json', { path: '/x' }, '{"path":"/x"}'],
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
