import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.js';

const DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));

function minimalSource(overrides: Record<string, unknown> = {}) {
  return {
    baseUrl: 'http://127.0.0.1:9',
    entities: {
      contact: {
        provides: 'profile',
        batch: { method: 'GET', path: '/contacts', query: { ids: '{ids}' }, maxBatchSize: 100, envelope: 'contacts' },
        mapping: { email: { path: 'primary_email', transform: 'email' } },
        ...overrides,
      },
    },
  };
}

function problemsOf(run: () => unknown): { path: string; message: string }[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  test('the demo config is valid and fills ${ENV} references with their defaults', () => {
    const config = loadConfigFile(DEMO_CONFIG, {});
    expect(Object.keys(config.sources)).toEqual(['crm', 'shop', 'support', 'marketing', 'analytics']);
    expect(config.server.port).toBe(4000);
    expect(config.sources.crm!.auth).toEqual({ type: 'bearer', token: 'demo-crm-token' });
  });

  test('environment variables override defaults and a whole-value reference keeps its YAML type', () => {
    const config = loadConfigFile(DEMO_CONFIG, { PORT: '4555', CRM_URL: 'http://127.0.0.1:7000', CRM_TOKEN: 'secret' });
    expect(config.server.port).toBe(4555);
    expect(config.sources.crm!.baseUrl).toBe('http://127.0.0.1:7000');
    expect(config.sources.crm!.auth).toEqual({ type: 'bearer', token: 'secret' });
  });

  test('a missing environment variable fails at start naming the key that needs it', () => {
    const problems = problemsOf(() => parseConfig({ sources: { crm: { ...minimalSource(), baseUrl: '${CRM_URL}' } } }, {}));
    expect(problems).toEqual([{ path: 'sources.crm.baseUrl', message: 'environment variable CRM_URL is not set' }]);
  });

  test.each([
    ['a wrong type', { maxBatchSize: 'many' }, 'sources.crm.entities.contact.batch.maxBatchSize', { batch: { method: 'GET', path: '/contacts', query: { ids: '{ids}' }, maxBatchSize: 'many', envelope: 'contacts' } }],
    ['an unknown mapping target', {}, 'sources.crm.entities.contact.mapping.emial', { mapping: { emial: 'primary_email' } }],
    ['an unknown transform', {}, 'sources.crm.entities.contact.mapping.email.transform', { mapping: { email: { path: 'x', transform: 'shout' } } }],
    ['an unknown key (a typo)', {}, 'sources.crm.entities.contact', { batchh: {} }],
  ])('%s is reported with the path of the bad key', (_name, _unused, expectedPath, overrides) => {
    const problems = problemsOf(() => parseConfig({ sources: { crm: minimalSource(overrides) } }, {}));
    expect(problems.map((p) => p.path)).toContain(expectedPath);
  });

  test('an incremental sync needs the list to send {since}, {since} needs sync.modifiedSince, and fullEvery reads durations', () => {
    const list = (query: Record<string, string>) => ({ method: 'GET', path: '/contacts', query, envelope: 'contacts', pagination: { style: 'cursor', nextCursorPath: 'next' } });
    const filtered = list({ after: '{cursor}', updated_since: '{since}' });
    const config = parseConfig({ sources: { crm: minimalSource({ list: filtered, sync: { modifiedSince: { field: 'updated_at' }, fullEvery: '12h' } }) } }, {});
    expect(config.sources.crm!.entities.contact!.sync).toEqual({ modifiedSince: { field: 'updated_at', format: 'iso' }, fullEvery: 12 * 3_600_000 });
    expect(problemsOf(() => parseConfig({ sources: { crm: minimalSource({ list: list({ after: '{cursor}' }), sync: { modifiedSince: { field: 'updated_at' } } }) } }, {}))).toEqual([
      { path: 'sources.crm.entities.contact.list', message: 'sync.modifiedSince needs the list template to send "{since}" (e.g. query: { updated_since: "{since}" })' },
    ]);
    expect(problemsOf(() => parseConfig({ sources: { crm: minimalSource({ list: filtered }) } }, {}))).toEqual([
      { path: 'sources.crm.entities.contact.list', message: 'the list template sends "{since}", which only sync.modifiedSince fills: declare it' },
    ]);
    expect(problemsOf(() => parseConfig({ sources: { crm: minimalSource({ list: filtered, sync: { modifiedSince: { field: 'updated_at' }, fullEvery: 'daily' } }) } }, {})).map((p) => p.path)).toEqual([
      'sources.crm.entities.contact.sync.fullEvery',
    ]);
  });

  test('a reference to an entity that does not exist is reported at its path', () => {
    const problems = problemsOf(() =>
      parseConfig({ sources: { crm: minimalSource({ identifiers: [{ kind: 'reference', path: 'x', refersTo: 'erp.account' }] }) } }, {}),
    );
    expect(problems).toEqual([{ path: 'sources.crm.entities.contact.identifiers[0].refersTo', message: 'no entity "erp.account"' }]);
  });

  test('the error message lists every problem with its path', () => {
    const error = (() => {
      try {
        parseConfig({ server: { port: 'x' }, sources: {} }, {});
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error?.message).toMatch(/server\.port:/);
  });

  test.each([
    ['quoted', '"4001"'],
    ['single-quoted', "'4001'"],
    ['padded', ' 4001 '],
  ])('a %s numeric environment value fills a number: PORT=%s', (_how, value) => {
    const config = parseConfig({ server: { port: '${PORT}', queryDeadlineMs: '"${DEADLINE}"' }, limits: { introspection: '${INTROSPECTION}' }, sources: {} }, { PORT: value, DEADLINE: '7000', INTROSPECTION: 'false' });
    expect(config.server).toMatchObject({ port: 4001, queryDeadlineMs: 7000 });
    expect(config.limits.introspection).toBe(false);
  });

  test('an all-digit secret from the environment stays text where text is expected', () => {
    const config = parseConfig({ sources: { crm: { ...minimalSource(), auth: { type: 'bearer', token: '${CRM_TOKEN}' } } } }, { CRM_TOKEN: '0012345' });
    expect(config.sources.crm!.auth).toEqual({ type: 'bearer', token: '0012345' });
  });

  test('a numeric key holding words is still refused at its path', () => {
    expect(problemsOf(() => parseConfig({ server: { port: '${PORT}' }, sources: {} }, { PORT: 'eighty' })).map((p) => p.path)).toEqual(['server.port']);
  });

  test('a parent cycle between entities is a config error at each entity of the cycle', () => {
    const child = (parent: string) => ({ provides: 'orders', parent, batch: { method: 'GET', path: '/x', idsQueryParam: 'ids', maxBatchSize: 10, envelope: 'x', group: { key: 'id', items: 'items' } } });
    const source = minimalSource();
    const entities = { ...source.entities, order: child('refund'), refund: child('order'), note: child('order') };
    const problems = problemsOf(() => parseConfig({ sources: { shop: { ...source, entities } } }, {}));
    expect(problems.filter((p) => p.message.startsWith('parent cycle'))).toEqual([
      { path: 'sources.shop.entities.order.parent', message: 'parent cycle: order → refund → order' },
      { path: 'sources.shop.entities.refund.parent', message: 'parent cycle: refund → order → refund' },
    ]);
  });
});
