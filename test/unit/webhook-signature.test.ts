// Stripe-style webhook signatures: the timestamp is signed, and only deliveries within the tolerance of now pass.
import { describe, expect, test } from 'vitest';
import { signWebhook, verifyTimestampSignature } from '../../src/server/webhooks.js';

const SECRET = 'a-webhook-secret-of-16+';
const BODY = Buffer.from('{"type":"delete","entity":"contact","id":"C-1"}');
const NOW = 1_800_000_000;

describe('timestamped webhook signatures', () => {
  test.each([
    ['signed now', NOW, { ok: true, timestamp: NOW }],
    ['signed exactly 300 s ago', NOW - 300, { ok: true, timestamp: NOW - 300 }],
    ['signed 301 s ago', NOW - 301, { ok: false, error: 'TIMESTAMP_OUTSIDE_TOLERANCE' }],
    ['dated 300 s ahead', NOW + 300, { ok: true, timestamp: NOW + 300 }],
    ['dated 301 s ahead', NOW + 301, { ok: false, error: 'TIMESTAMP_OUTSIDE_TOLERANCE' }],
  ])('%s', (_name, at, verdict) => {
    expect(verifyTimestampSignature(BODY, signWebhook(BODY.toString(), SECRET, at), SECRET, 300, NOW)).toEqual(verdict);
  });

  test.each([
    ['no header', undefined],
    ['a body-only signature', 'sha256=00'],
    ['another secret', signWebhook(BODY.toString(), 'another-secret-of-16+', NOW)],
    ['a timestamp changed after signing', signWebhook(BODY.toString(), SECRET, NOW).replace(`t=${NOW}`, `t=${NOW + 1}`)],
    ['two timestamps', `t=${NOW},${signWebhook(BODY.toString(), SECRET, NOW)}`],
  ])('%s is an invalid signature', (_name, header) => {
    expect(verifyTimestampSignature(BODY, header, SECRET, 300, NOW)).toEqual({ ok: false, error: 'INVALID_SIGNATURE' });
  });

  test('any of several v1 signatures may match (secret rotation)', () => {
    const good = signWebhook(BODY.toString(), SECRET, NOW);
    const header = `t=${NOW},v1=${'0'.repeat(64)},${good.split(',')[1]}`;
    expect(verifyTimestampSignature(BODY, header, SECRET, 300, NOW)).toEqual({ ok: true, timestamp: NOW });
  });
});
