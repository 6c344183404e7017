// The pure pieces of write-back: which records a write goes to, what the input becomes, what a source's refusal says.
import { afterAll, describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import type { Link } from '../../src/identity/model.js';
import { sanitizeSourceMessage, SourceRejectedError } from '../../src/sources/errors.js';
import { SourceRegistry } from '../../src/sources/registry.js';
import { profileValues } from '../../src/writes/input.js';
import { planWrites } from '../../src/writes/plan.js';

const URL = 'http://127.0.0.1:9';
const config = demoConfig({ crm: URL, shop: URL, support: URL, marketing: URL, analytics: URL }, { PORT: '0' });
const registry = new SourceRegistry(config);
afterAll(() => registry.close());

const link = (source: string, entity: string, recordId: string): Link => ({ source, entity, recordId, customerId: 'cus_1', rule: 'SEED', evidence: null, linkedAt: '2026-01-01T00:00:00.000Z' });
const CRM = link('crm', 'contact', 'C-000001');
const SHOP = link('shop', 'customer', '1001');
const SUPPORT = link('support', 'user', '42');
const MEMBER = link('marketing', 'member', 'abc');
const DEVICE = link('analytics', 'device', 'dev_1');

describe('planWrites', () => {
  const plan = (links: Link[], values: Record<string, string | boolean>, priority = config.survivorship.sourcePriority) =>
    planWrites(links, values, registry, priority).map((t) => ({ at: `${t.source}.${t.entity}`, fields: t.fields, skipped: t.skippedFields, skip: t.skipCode }));

  test.each([
    ['a phone goes to every record that holds it and declares a write; support holds it without one', [CRM, SHOP, SUPPORT, DEVICE], { phone: '+14155550100' }, [
      { at: 'crm.contact', fields: ['phone'], skipped: [], skip: null },
      { at: 'shop.customer', fields: ['phone'], skipped: [], skip: null },
      { at: 'support.user', fields: [], skipped: ['phone'], skip: 'NO_WRITE_OPERATION' },
    ]],
    ["the shop's email is systemOfRecord: the CRM outranks it", [SHOP, CRM], { email: 'a@b.io' }, [
      { at: 'crm.contact', fields: ['email'], skipped: [], skip: null },
      { at: 'shop.customer', fields: [], skipped: ['email'], skip: 'NOT_SYSTEM_OF_RECORD' },
    ]],
    ['without a CRM contact the shop is the system of record for email', [SHOP, SUPPORT], { email: 'a@b.io' }, [
      { at: 'shop.customer', fields: ['email'], skipped: [], skip: null },
      { at: 'support.user', fields: [], skipped: ['email'], skip: 'NO_WRITE_OPERATION' },
    ]],
    ['fields a record does not hold are not its business: firstName reaches the CRM only', [CRM, SHOP, MEMBER], { firstName: 'Ada' }, [{ at: 'crm.contact', fields: ['firstName'], skipped: [], skip: null }]],
    ['consent reaches the marketing member only', [CRM, SHOP, MEMBER], { emailConsent: false }, [{ at: 'marketing.member', fields: ['emailConsent'], skipped: [], skip: null }]],
  ])('%s', (_name, links, values, expected) => {
    expect(plan(links, values)).toEqual(expected);
  });

  test('the system of record follows survivorship.sourcePriority, not the order of the links or of the sources', () => {
    // With the shop ranked first, it is the system of record and is written; the CRM's policy is `all`, so it is written too.
    expect(plan([CRM, SHOP], { email: 'a@b.io' }, ['shop', 'crm']).map((t) => [t.at, t.fields])).toEqual([['crm.contact', ['email']], ['shop.customer', ['email']]]);
  });

  test('one request per record carries every field written to it', () => {
    const [crm] = planWrites([CRM], { email: 'a@b.io', phone: '+14155550100', city: 'Oakland' }, registry, []);
    expect(crm!.writer!.plan(crm!.recordId, crm!.values, 'k').body).toEqual({ primary_email: 'a@b.io', phone: '+14155550100', address: { city: 'Oakland' } });
    expect(crm!.writer!.plan(crm!.recordId, crm!.values, 'k').idempotent).toBe(true);
    expect(crm!.writer!.plan(crm!.recordId, crm!.values, null).idempotent).toBe(false);
  });
});

describe('profileValues', () => {
  test.each([
    [{ email: 'not an email' }, 'input.email'],
    [{ phone: '12' }, 'input.phone'],
    [{ address: { country: 'Germany' } }, 'input.address.country'],
    [{ firstName: '   ' }, 'input.firstName'],
    [{}, 'input'],
  ])('%j is refused naming %s', (input, argument) => {
    expect(() => profileValues(input, 'US')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', argument }) }));
  });

  test('phones go out in E.164, emails trimmed as typed, countries upper-cased, a name derived from first and last', () => {
    expect(profileValues({ email: ' Ada@Example.org ', phone: '(415) 555-0100', firstName: 'Ada', lastName: 'Lovelace', address: { country: 'gb' } }, 'US')).toEqual({
      email: 'Ada@Example.org',
      phone: '+14155550100',
      firstName: 'Ada',
      lastName: 'Lovelace',
      name: 'Ada Lovelace',
      country: 'GB',
    });
  });
});

describe("a source's refusal", () => {
  test.each([
    ['{"errors":{"contact_email":["has already been taken"]}}', 'contact_email has already been taken'],
    ['{"status":"error","message":"Property values were not valid: ada@example.org is not a valid email address","category":"VALIDATION_ERROR"}', 'Property values were not valid: <email> is not a valid email address'],
    ['{"error":{"message":"phone +1 415 555 0100 is on the do-not-call list"}}', 'phone <number> is on the do-not-call list'],
    ['{"title":"Invalid Resource","detail":"see https://internal.example/errors/42"}', 'see <url>'],
    ['<html>Bad Request</html>', 'HTTP 400'],
  ])('%s reads as "%s"', (body, message) => {
    expect(new SourceRejectedError('shop', 'customer.write: HTTP 400', 400, body).sourceMessage).toBe(message);
  });

  test('a long message is capped and control characters go', () => {
    expect(sanitizeSourceMessage(`a\u0000b ${'x'.repeat(300)}`)).toHaveLength(200);
    expect(sanitizeSourceMessage('line\nbreak')).toBe('line break');
  });
});
