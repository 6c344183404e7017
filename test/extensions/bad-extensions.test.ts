// An extension that does not parse, conflicts with the core schema, or does not match its config stops the hub at
// start, naming the config key, the file, and the type and field it is about.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema } from 'graphql';
import { describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../../src/config/load.js';
import { loadConfigWithExtensions } from '../../src/extensions/load-config.js';
import { runCli, tempDir } from '../cli/cli-harness.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/billing-and-crm/', import.meta.url));
const ENV = { STRIPE_URL: 'http://127.0.0.1:9', STRIPE_API_KEY: 'sk_test_x', HUBSPOT_URL: 'http://127.0.0.1:9', HUBSPOT_TOKEN: 'pat-x', LINK_DB: ':memory:' };

/** A copy of the fixture with its SDL files and YAML changed; returns the config file's path. */
function variant(change: { sdl?: Record<string, (text: string) => string>; yaml?: (raw: any) => void }): string {
  const dir = tempDir();
  cpSync(FIXTURE, dir, { recursive: true });
  for (const [file, edit] of Object.entries(change.sdl ?? {})) {
    const path = join(dir, 'extensions', file);
    writeFileSync(path, edit(readFileSync(path, 'utf8')));
  }
  const file = join(dir, 'hub.yaml');
  const raw = parse(readFileSync(file, 'utf8'));
  change.yaml?.(raw);
  writeFileSync(file, stringify(raw));
  return file;
}

function problemsOf(file: string): { path: string; message: string }[] {
  try {
    loadConfigWithExtensions(file, ENV);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('the config loaded');
}

const subscription = (raw: any) => raw.sources.stripe.entities.subscription;

describe('a bad extension stops the hub at start', () => {
  test('the fixture itself loads (so each case below fails for its own reason)', () => {
    expect(() => loadConfigWithExtensions(join(FIXTURE, 'hub.yaml'), ENV)).not.toThrow();
  });

  test('SDL that does not parse: rosetta check exits 2 naming the file, line and column', async () => {
    const file = variant({ sdl: { 'billing.graphql': (text) => text.replace('  plan: String\n', '  plan: \n') } });
    const { code, stdout, stderr } = await runCli(['check', '--config', file], { env: ENV });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/schema\.extensions: billing\.graphql:11:14: Syntax Error: Expected Name, found ":"/);
  });

  test.each<[string, Parameters<typeof variant>[0], { path: string; message: string }]>([
    [
      'a type named like a core type (Subscription is the subscription root)',
      { sdl: { 'billing.graphql': (text) => text.replaceAll('BillingSubscription', 'Subscription') } },
      { path: 'schema.extensions', message: 'billing.graphql: type Subscription conflicts with the core type of that name: pick another name' },
    ],
    [
      'a field the core Customer has',
      { sdl: { 'billing.graphql': (text) => text.replace('subscriptions(first: Int = 20)', 'orders(first: Int = 20)') } },
      { path: 'schema.extensions', message: 'billing.graphql: Customer.orders conflicts with the core field of that name' },
    ],
    [
      'a core type other than Customer and Profile extended',
      { sdl: { 'crm.graphql': (text) => `${text}\nextend type Order { giftWrapped: Boolean }\n` } },
      { path: 'schema.extensions', message: 'crm.graphql: extend type Order: extensions add fields to Customer and Profile only' },
    ],
    [
      'a type no file declares',
      { sdl: { 'billing.graphql': (text) => text.replace('  plan: String\n', '  plan: Plan\n') } },
      { path: 'schema.extensions', message: 'billing.graphql: BillingSubscription.plan uses type Plan, which neither the core schema nor an extension declares' },
    ],
    [
      'a mapped field the type does not have',
      { yaml: (raw) => (subscription(raw).mapping.nextInvoiceAt = { path: 'next_pending_invoice_item_invoice', transform: 'date' }) },
      { path: 'sources.stripe.entities.subscription.mapping.nextInvoiceAt', message: 'billing.graphql: BillingSubscription has no field "nextInvoiceAt" (it has id, status, statusRaw, plan, amountMinor, startedAt, renewsAt)' },
    ],
    [
      'a profile field no extension adds',
      { yaml: (raw) => (raw.sources.hubspot.entities.contact.mapping.leadStatus = 'properties.hs_lead_status') },
      { path: 'sources.hubspot.entities.contact.mapping.leadStatus', message: expect.stringContaining('unknown profile field "leadStatus"') as unknown as string },
    ],
    [
      'a non-null field left unmapped',
      { sdl: { 'billing.graphql': (text) => text.replace('  plan: String\n', '  plan: String!\n') }, yaml: (raw) => delete subscription(raw).mapping.plan },
      { path: 'sources.stripe.entities.subscription.mapping', message: 'billing.graphql: BillingSubscription.plan is non-null (String!) but not mapped: map it, or declare it nullable' },
    ],
    [
      'a DateTime mapped as text',
      { yaml: (raw) => (subscription(raw).mapping.renewsAt = 'items.data[0].current_period_end') },
      { path: 'sources.stripe.entities.subscription.mapping.renewsAt', message: 'billing.graphql: BillingSubscription.renewsAt is DateTime: map it with transform: date (got string)' },
    ],
    [
      'a value map naming no value of the enum',
      { yaml: (raw) => (subscription(raw).mapping.status.values = { incomplete_expired: 'GONE' }) },
      { path: 'sources.stripe.entities.subscription.mapping.status', message: expect.stringContaining('billing.graphql: BillingSubscription.status `values` names "GONE", not a value of SubscriptionStatus') as unknown as string },
    ],
    [
      'an argument the hub cannot honour',
      { sdl: { 'billing.graphql': (text) => text.replace('subscriptions(first: Int = 20)', 'subscriptions(first: Int = 20, status: String)') } },
      { path: 'schema.extensions', message: expect.stringContaining('billing.graphql: Customer.subscriptions takes argument "status", which the hub cannot honour') as unknown as string },
    ],
    [
      'an added field no entity provides',
      { yaml: (raw) => delete raw.sources.stripe.entities.subscription },
      { path: 'sources', message: 'billing.graphql: no entity provides Customer.subscriptions: add `provides: Customer.subscriptions` to a child entity' },
    ],
    [
      'an entity providing a Customer field no extension adds',
      { yaml: (raw) => (subscription(raw).provides = 'Customer.plans') },
      { path: 'sources.stripe.entities.subscription.provides', message: 'no extension adds Customer.plans (they add Customer.subscriptions)' },
    ],
  ])('%s', (_name, change, expected) => {
    expect(problemsOf(variant(change))).toContainEqual(expected);
  });

  test('a folder that is not there is named', () => {
    const problems = problemsOf(variant({ yaml: (raw) => (raw.schema.extensions = 'no-such-folder') }));
    expect(problems).toEqual([{ path: 'schema.extensions', message: expect.stringMatching(/^cannot read the extension folder .*no-such-folder/) }]);
  });
});

describe('rosetta schema --config', () => {
  test('prints the core SDL with the extensions, which builds into one schema', async () => {
    const { code, stdout } = await runCli(['schema', '--config', join(FIXTURE, 'hub.yaml')], { env: ENV });
    expect(code).toBe(0);
    const schema = buildSchema(stdout);
    expect(Object.keys((schema.getType('Customer') as any).getFields())).toEqual(expect.arrayContaining(['orders', 'subscriptions']));
    expect(schema.getType('LifecycleStage')).toBeDefined();
  });
});
