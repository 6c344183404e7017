// Subscriptions over server-sent events (graphql-sse, distinct connections) at /graphql/stream, on a hub with auth:
// the same events, credentials, masking and bounds as over graphql-ws, from Node's graphql-sse client and from a page
// on another origin in headless Chromium; the drain ends open streams at once.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, NetworkError, type Client } from 'graphql-sse';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { drainHttpServer } from '../../src/server/http-drain.js';
import { API_KEYS, bearer, createJwtIssuer, keyHeader, withAuth, type JwtIssuer, type RoleName } from '../auth/auth-fixture.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { subscriber, type Subscriber } from '../support/subscriber.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const STEP_MS = 15_000;
const CHANGED = 'subscription($id: ID!) { customerChanged(id: $id) { kind customerId source entity recordId missed customer { id profile { name email phone } } } }';

interface Events {
  results: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[]; extensions?: Record<string, any> }[];
  /** Settles when the server completed the stream; rejects with what ended it otherwise. */
  done: Promise<void>;
  stop(): void;
}

let t: TestHub;
let app: { server: Server; origin: string };
let browser: Browser | undefined;
let issuer: JwtIssuer;
const clients: Client[] = [];
const sockets: Subscriber[] = [];

beforeAll(async () => {
  app = await new Promise((resolve) => {
    const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>'));
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
  issuer = await createJwtIssuer();
  t = await startTestHub({
    people: 60,
    config: (config) => withAuth(issuer, { server: { ...config.server, cors: { origins: [app.origin] }, subscriptions: { ...config.server.subscriptions, maxPerCaller: 2 } } })(config),
  });
  t.systems.webhooks.crm.target = { url: t.hub.url.replace('/graphql', '/webhooks/crm'), secret: 'demo-crm-webhook-secret' };
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([...clients.map((c) => c.dispose()), ...sockets.map((s) => s.close())]);
  await t.close();
  app.server.close();
});

const streamUrl = () => `${t.hub.url}/stream`;

function sseClient(headers: Record<string, string>): Client {
  const client = createClient({ url: streamUrl(), headers, retryAttempts: 0 });
  clients.push(client);
  return client;
}

function subscribe(client: Client, query: string, variables: Record<string, unknown>): Events {
  const results: Events['results'] = [];
  let stop = () => {};
  const done = new Promise<void>((resolve, reject) => {
    stop = client.subscribe({ query, variables }, { next: (value) => void results.push(value as never), error: reject, complete: resolve });
  });
  done.catch(() => undefined); // tests that expect an error await `done` themselves
  return { results, done, stop: () => stop() };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(t.hub.url.replace('/graphql', '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** A customer with a CRM contact of its own (one per test, so events of one test never reach another's subscriber). */
async function customerWithCrmContact(index: number): Promise<{ customerId: string; contactId: string }> {
  const customers = (await t.store.pageCustomers(60, null)).customers.filter((c) => c.links.some((l) => l.source === 'crm'));
  const customer = customers[index]!;
  return { customerId: customer.customerId, contactId: customer.links.find((l) => l.source === 'crm')!.recordId };
}

/** A write to the simulated CRM, which announces it to the hub with a signed webhook. */
async function crmWrite(id: string, body: unknown): Promise<void> {
  const response = await fetch(`${t.systems.urls.crm}/contacts/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

const role = (name: RoleName) => keyHeader(name);

describe('subscriptions over SSE (graphql-sse client)', () => {
  test('one signed webhook produces exactly one event on the stream, with the customer as it is now', async () => {
    const { customerId, contactId } = await customerWithCrmContact(0);
    const events = subscribe(sseClient(role('support')), CHANGED, { id: customerId });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(1);
    const delivered = await metric('rosetta_subscription_events_total{outcome="delivered"}');

    await crmWrite(contactId, { first_name: 'Streamed', last_name: 'Once' });
    await expect.poll(() => events.results.length).toBe(1);
    // A second write: once its event is in, any duplicate of the first would be too (a stream keeps order).
    await crmWrite(contactId, { first_name: 'Streamed', last_name: 'Twice' });
    await expect.poll(() => events.results.length).toBeGreaterThanOrEqual(2);

    const event = (last: string) => ({ data: { customerChanged: { kind: 'UPSERT', customerId, source: 'crm', entity: 'contact', recordId: contactId, missed: 0, customer: { id: customerId, profile: expect.objectContaining({ name: `Streamed ${last}` }) } } } });
    expect(events.results).toEqual([event('Once'), event('Twice')]);
    expect(await metric('rosetta_subscription_events_total{outcome="delivered"}')).toBe(delivered + 2);
    events.stop();
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(0);
  });

  test('a stream without credentials, or with a wrong key, is refused with 401 and a typed error body', async () => {
    for (const headers of [{}, { 'x-api-key': 'rk_not_a_key' }] as Record<string, string>[]) {
      const error = await subscribe(sseClient(headers), CHANGED, { id: 'cus_any' }).done.then(
        () => null,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(NetworkError);
      const response = (error as NetworkError).response as Response;
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
      expect(await response.json()).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'UNAUTHENTICATED', requestId: expect.any(String) } }] });
    }
    expect(await metric('rosetta_subscriptions_active')).toBe(0);
  });

  test('an event carries what the caller may see, masked as in a query by the same key', async () => {
    const { customerId, contactId } = await customerWithCrmContact(1);
    const events = subscribe(sseClient(role('analytics')), CHANGED, { id: customerId });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(1);
    await crmWrite(contactId, { first_name: 'Masked', last_name: 'Stream' });
    await expect.poll(() => events.results.length).toBe(1);
    const query = await t.graphql('query($id: ID!) { customer(id: $id) { id profile { name email phone } } }', { variables: { id: customerId }, headers: role('analytics') });

    const [event] = events.results;
    // The analytics role holds no pii permission: name and phone withheld, the email masked, in the event as in the query.
    expect(event!.data.customerChanged.customer).toEqual(query.data.customer);
    expect(event!.data.customerChanged.customer.profile).toEqual({ name: null, email: expect.stringMatching(/^\w\*\*\*@/), phone: null });
    const paths = (masked: { path: string }[] | undefined) => (masked ?? []).map((m) => m.path.replace(/^customerChanged\.customer\./, '').replace(/^customer\./, '')).sort();
    expect(paths(event!.extensions?.masked)).toEqual(paths(query.extensions?.masked));
    expect(paths(query.extensions?.masked)).toHaveLength(3);
    events.stop();
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(0);
  });

  test('a JWT in the Authorization header opens a stream; with x-rosetta-explain each event carries its upstream calls', async () => {
    const { customerId, contactId } = await customerWithCrmContact(5);
    const events = subscribe(sseClient({ ...bearer(await issuer.sign({ sub: 'agent-7', roles: ['support'] })), 'x-rosetta-explain': '1' }), CHANGED, { id: customerId });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(1);
    await crmWrite(contactId, { first_name: 'Token', last_name: 'Holder' });
    await expect.poll(() => events.results.length).toBe(1);
    expect(events.results[0]!.data.customerChanged.customer.profile.name).toBe('Token Holder');
    const upstream = (events.results[0]!.extensions?.explain as { upstream: { source: string }[] }).upstream;
    expect(upstream.filter((call) => call.source === 'crm')).toHaveLength(1);
    events.stop();
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(0);
  });

  test('a caller’s bound counts its WebSocket and SSE subscriptions together; past it the stream ends with SUBSCRIPTION_LIMIT', async () => {
    const { customerId } = await customerWithCrmContact(2);
    const socket = subscriber(t.hub.url, { apiKey: API_KEYS.marketing });
    sockets.push(socket);
    const overWs = socket.subscribe(CHANGED, { id: customerId });
    const overSse = subscribe(sseClient(role('marketing')), CHANGED, { id: customerId });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(2);

    const third = subscribe(sseClient(role('marketing')), CHANGED, { id: customerId });
    await third.done;
    expect(third.results).toEqual([{ data: null, errors: [expect.objectContaining({ message: 'at most 2 subscriptions per caller', extensions: { code: 'SUBSCRIPTION_LIMIT' } })] }]);
    // Another caller is not held back by this one's bound.
    const other = subscribe(sseClient(role('support')), CHANGED, { id: customerId });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(3);
    for (const s of [overWs, overSse, other]) s.stop();
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(0);
  });

  test('an unknown ID ends the stream with CUSTOMER_NOT_FOUND; a query is refused: it belongs on /graphql', async () => {
    const client = sseClient(role('support'));
    const unknown = subscribe(client, CHANGED, { id: 'cus_does_not_exist' });
    await unknown.done;
    expect(unknown.results).toEqual([{ errors: [expect.objectContaining({ message: 'no customer cus_does_not_exist', extensions: { code: 'CUSTOMER_NOT_FOUND', ids: ['cus_does_not_exist'] } })] }]);
    const query = subscribe(client, '{ sources { name } }', {});
    await query.done;
    expect(query.results).toEqual([{ data: null, errors: [expect.objectContaining({ extensions: { code: 'BAD_REQUEST' } })] }]);
  });
});

describe('SSE in headless Chromium', () => {
  test('a page on an allowed origin streams a customer’s changes with fetch and an API key header', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`this test needs Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 30_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const { customerId, contactId } = await customerWithCrmContact(3);
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(app.origin, { timeout: STEP_MS });
    // The page reads the stream as it arrives and keeps every `next` event's data.
    await page.evaluate(
      ({ url, query, id, apiKey }) => {
        const events: unknown[] = [];
        (globalThis as unknown as { events: unknown[] }).events = events;
        void (async () => {
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': apiKey }, body: JSON.stringify({ query, variables: { id } }) });
          const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            buffer += value;
            const messages = buffer.split('\n\n');
            buffer = messages.pop()!;
            for (const message of messages) {
              const lines = message.split('\n');
              if (lines.includes('event: next')) events.push(JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6)));
            }
          }
        })();
      },
      { url: streamUrl(), query: CHANGED, id: customerId, apiKey: API_KEYS.support },
    );
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(1);

    await crmWrite(contactId, { first_name: 'Browser', last_name: 'Stream' });
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { events: unknown[] }).events.length)).toBe(1);
    const [event] = await page.evaluate(() => (globalThis as unknown as { events: { data: any }[] }).events);
    expect(event!.data.customerChanged).toMatchObject({ kind: 'UPSERT', customerId, recordId: contactId, customer: { profile: { name: 'Browser Stream' } } });
    await page.close();
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(0);
  }, 60_000);
});

describe('shutdown', () => {
  test('the drain ends an open stream at once, without `complete`, so clients reconnect elsewhere', async () => {
    const { customerId } = await customerWithCrmContact(4);
    const events = subscribe(sseClient(role('support')), CHANGED, { id: customerId });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(1);

    // A drain that had to wait for the stream would time out and answer false.
    expect(await drainHttpServer(t.hub.server, 10_000)).toBe(true);
    await expect(events.done).rejects.toBeInstanceOf(NetworkError);
    expect(t.hub.services.changes.subscribers).toBe(0);
    expect(events.results).toEqual([]);
  });
});
