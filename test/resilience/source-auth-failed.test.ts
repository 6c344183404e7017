// A source that refuses the hub's credentials: SOURCE_AUTH_FAILED after one request, shown in /readyz and Query.sources, logged once per change.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { clearFaults, customersWith, requestsTo, tuneSources, type LinkedCustomer } from './support.js';

const PROFILE = 'query($id: ID!) { customer(id: $id) { profile { email provenance { source } } } }';
const SOURCES = '{ sources { name auth authError authErrorAt circuit requests errors } }';
const CONTACTS = 'GET /contacts';

let t: TestHub;
let customers: LinkedCustomer[];
const logs: { level: number; msg: string; source?: string }[] = [];

beforeAll(async () => {
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as (typeof logs)[number]) });
  t = await startTestHub({
    people: 200,
    seed: 9,
    logger,
    config: (config) =>
      tuneSources(config, (source) => {
        // Retries stay on (2, the default, with short waits) to show they are not spent on a refusal; a breaker that
        // counted refusals would open after 4.
        source.resilience.retry = { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5 };
        source.resilience.circuitBreaker.minimumRequests = 4;
      }),
  });
  customers = await customersWith(t, ['crm', 'shop']);
  t.resetStats();
});
afterAll(() => t.close());

const crmStatus = async () => ((await t.graphql(SOURCES)).data.sources as { name: string }[]).find((s) => s.name === 'crm') as Record<string, unknown>;
const readyz = async () => (await (await fetch(t.hub.url.replace('/graphql', '/readyz'))).json()) as { status: string; sources: Record<string, Record<string, unknown>> };
const credentialLogs = () => logs.filter((l) => l.source === 'crm' && /credentials/.test(l.msg)).map((l) => ({ level: l.level, msg: l.msg }));
const profile = (i: number) => t.graphql(PROFILE, { variables: { id: customers[i]!.id } });

// The tests run in order: each starts from the credential state the previous one left.
describe('a source that refuses the credentials', () => {
  test('before any answer the state is UNTESTED, with no error', async () => {
    expect(await crmStatus()).toMatchObject({ auth: 'UNTESTED', authError: null, authErrorAt: null });
  });

  test('a 401 is SOURCE_AUTH_FAILED after exactly one request, not retried; the other sources still answer', async () => {
    t.systems.systems.crm.faults.set([{ kind: 'status', status: 401, route: CONTACTS }]);
    const response = await profile(0);
    expect(response.errors).toEqual([
      expect.objectContaining({ message: `source "crm" refused the hub's credentials`, path: ['customer', 'profile'], extensions: expect.objectContaining({ code: 'SOURCE_AUTH_FAILED', source: 'crm', retryable: false }) }),
    ]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(1);
    expect(response.data.customer.profile.provenance.map((p: { source: string }) => p.source)).toContain('shop');
  });

  test('ten more refusals: one request each, the circuit stays closed, and still one warning in the log', async () => {
    for (let i = 1; i <= 10; i++) {
      const response = await profile(i);
      expect(response.errors?.map((e) => e.extensions?.code)).toEqual(['SOURCE_AUTH_FAILED']);
    }
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(11);
    expect(credentialLogs()).toEqual([{ level: 40, msg: expect.stringMatching(/^source "crm" refuses the hub's credentials: .*HTTP 401$/) }]);
  });

  test('Query.sources and /readyz show FAILED with the last error (no credential in it); the hub stays ready', async () => {
    const status = await crmStatus();
    expect(status).toMatchObject({ auth: 'FAILED', authError: expect.stringMatching(/HTTP 401$/), circuit: 'CLOSED', requests: 11, errors: 11 });
    expect(Date.parse(status.authErrorAt as string)).not.toBeNaN();
    const ready = await readyz();
    expect(ready.status).toBe('ready');
    expect(ready.sources.crm).toMatchObject({ auth: 'FAILED', authError: status.authError, circuit: 'CLOSED' });
    expect(ready.sources.shop).toMatchObject({ auth: 'OK', authError: null });
    expect(JSON.stringify(ready)).not.toMatch(/Bearer|password|token/i);
    const metrics = await (await fetch(t.hub.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain('rosetta_source_auth_failed{source="crm"} 1');
    expect(metrics).toContain('rosetta_source_auth_failed{source="shop"} 0');
  });

  test('credentials accepted again: one info line, state OK; a 403 later is a new warning', async () => {
    clearFaults(t);
    for (let i = 11; i < 14; i++) expect((await profile(i)).errors).toBeUndefined();
    expect((await crmStatus()).auth).toBe('OK');
    t.systems.systems.crm.faults.set([{ kind: 'status', status: 403, route: CONTACTS }]);
    for (let i = 14; i < 17; i++) expect((await profile(i)).errors?.map((e) => e.extensions?.code)).toEqual(['SOURCE_AUTH_FAILED']);
    expect(credentialLogs()).toEqual([
      { level: 40, msg: expect.stringMatching(/HTTP 401$/) },
      { level: 30, msg: `source "crm" accepts the hub's credentials again` },
      { level: 40, msg: expect.stringMatching(/HTTP 403$/) },
    ]);
    expect(await crmStatus()).toMatchObject({ auth: 'FAILED', authError: expect.stringMatching(/HTTP 403$/) });
    clearFaults(t);
  });
});
