// A worker's relay sends its own cache invalidations out and applies the others' without sending them back: an echo
// would bounce between workers through the primary for ever. The channel is a stand-in for IPC here; the real one
// is exercised end to end in test/cluster.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import type { WorkerMessage } from '../../src/cluster/cluster-messages.js';
import type { HubServices } from '../../src/request/context.js';
import { createServices } from '../../src/server/hub.js';
import { WorkerRelay, type RelayChannel } from '../../src/cluster/worker-relay.js';

const URLS = { crm: 'http://127.0.0.1:1', shop: 'http://127.0.0.1:2', support: 'http://127.0.0.1:3', marketing: 'http://127.0.0.1:4', analytics: 'http://127.0.0.1:5' };
const TOKEN = { kind: 'email' as const, value: 'someone@example.com' };

let services: HubServices;
let sent: WorkerMessage[];
let deliver: (message: unknown) => void;

function relay(): WorkerRelay {
  const channel: RelayChannel = { send: (message) => sent.push(message), onMessage: (listener) => (deliver = listener), connected: true };
  return new WorkerRelay(channel, 1);
}

beforeEach(() => {
  const config = demoConfig(URLS, {});
  config.sources.crm!.entities.contact!.cache = { ttlMs: 60_000, staleWhileRevalidateMs: 0, maxEntries: 100 };
  services = createServices(config, new SqliteLinkStore(':memory:'));
  sent = [];
});
afterEach(async () => {
  await services.registry.close();
  await services.directory.store.close();
});

test("this worker's link and record invalidations go out once each", () => {
  relay().attach(services, { relayLinks: true, relayRecords: true });
  services.directory.invalidate(['cus_a', 'cus_b']);
  services.directory.clear();
  services.recordCache.invalidate([{ source: 'crm', entity: 'contact', recordId: 'C-1' }]);
  expect(sent).toEqual([
    { type: 'rosetta:invalidate-links', customerIds: ['cus_a', 'cus_b'] },
    { type: 'rosetta:invalidate-links', customerIds: 'all' },
    { type: 'rosetta:invalidate-records', records: [{ source: 'crm', entity: 'contact', recordId: 'C-1' }] },
  ]);
});

test("another worker's invalidations are applied here and not sent back", () => {
  relay().attach(services, { relayLinks: true, relayRecords: true });
  // A remembered miss is dropped by every link invalidation: it shows the remote one was applied.
  services.directory.rememberMiss(TOKEN, 60_000);
  deliver({ type: 'rosetta:invalidate-links', customerIds: ['cus_elsewhere'] });
  expect(services.directory.isKnownMiss(TOKEN)).toBe(false);
  deliver({ type: 'rosetta:invalidate-records', records: [{ source: 'crm', entity: 'contact', recordId: 'C-2' }] });
  deliver({ type: 'rosetta:invalidate-links', customerIds: 'all' });
  expect(sent).toEqual([]);
  // And the guard is lifted afterwards: this worker's own changes still go out.
  services.directory.invalidate(['cus_here']);
  expect(sent).toEqual([{ type: 'rosetta:invalidate-links', customerIds: ['cus_here'] }]);
});

test('only what the store does not carry itself travels: links and records each on their own switch', () => {
  relay().attach(services, { relayLinks: false, relayRecords: true });
  services.directory.invalidate(['cus_a']);
  services.recordCache.invalidate([{ source: 'crm', entity: 'contact', recordId: 'C-3' }]);
  expect(sent).toEqual([{ type: 'rosetta:invalidate-records', records: [{ source: 'crm', entity: 'contact', recordId: 'C-3' }] }]);
});

test('with a store that carries both itself (PostgreSQL), nothing travels over IPC', () => {
  relay().attach(services, { relayLinks: false, relayRecords: false });
  services.directory.invalidate(['cus_a']);
  services.recordCache.invalidate([{ source: 'crm', entity: 'contact', recordId: 'C-4' }]);
  expect(sent).toEqual([]);
});

test("customer change events go out once; another worker's are delivered to this worker's subscribers and not sent back", async () => {
  relay().attach(services, { relayLinks: true, relayRecords: true, relayChanges: true });
  const change = { kind: 'UPSERT' as const, customerId: 'cus_a', survivorId: null, splitOffId: null, source: 'crm', entity: 'contact', recordId: 'C-1', at: '2026-01-01T00:00:00.000Z' };
  const stream = services.changes.stream(() => true, { maxPerSecond: 10, maxQueued: 10 });
  services.changes.publish([change]);
  expect(sent).toEqual([{ type: 'rosetta:customer-changes', changes: [change] }]);
  deliver({ type: 'rosetta:customer-changes', changes: [{ ...change, customerId: 'cus_elsewhere' }] });
  expect(sent).toHaveLength(1);
  expect(services.changes.received).toBe(1);
  expect((await stream.next()).value).toEqual({ ...change, missed: 0 });
  expect((await stream.next()).value).toEqual({ ...change, customerId: 'cus_elsewhere', missed: 0 });
  await stream.return(undefined);
  expect(services.changes.subscribers).toBe(0);
});
