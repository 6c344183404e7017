// `rosetta check`, `sync`, `map` and `serve` run as child processes against the five simulated source systems.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { demoConfig } from '../../src/cli/demo-config.js';
import { HttpApp } from '../../src/demo/http-app.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { runCli, spawnCli, tempDir, writeConfig } from './cli-harness.js';

let systems: SimulatedSystems;
let dir: string;
let configFile: string;
beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 150, seed: 5 });
  dir = tempDir();
  configFile = writeConfig(dir, 'sources', systems.urls);
});
afterAll(() => systems.close());

/** The rows of the table `rosetta check` prints, by `source.entity`. */
function checkRows(stdout: string): Record<string, { request: string; status: string }> {
  const lines = stdout.split('\n');
  const header = lines.findIndex((l) => l.startsWith('source '));
  return Object.fromEntries(
    lines
      .slice(header + 1)
      .filter((l) => /^\w+\s+\w+\s+(list|batch|single) /.test(l))
      .map((l) => {
        const [source, entity, kind, method, path, status] = l.split(/\s+/);
        return [`${source}.${entity}`, { request: `${kind} ${method} ${path}`, status: status! }];
      }),
  );
}

describe('rosetta check', () => {
  test('--reach-only reaches every entity of healthy sources with one request each and exits 0', async () => {
    systems.resetStats();
    const { code, stdout } = await runCli(['check', '--config', configFile, '--reach-only']);
    expect(code).toBe(0);
    expect(checkRows(stdout)).toEqual({
      'crm.contact': { request: 'list GET /contacts', status: 'ok' },
      'shop.customer': { request: 'list GET /customers', status: 'ok' },
      'shop.order': { request: 'batch POST /orders/batch', status: 'ok' },
      'shop.subscription': { request: 'batch POST /subscriptions/batch', status: 'ok' },
      'support.user': { request: 'list GET /users', status: 'ok' },
      'support.ticket': { request: 'single GET /users/{id}/tickets', status: 'ok' },
      'marketing.member': { request: 'list GET /members', status: 'ok' },
      'analytics.device': { request: 'list GET /devices', status: 'ok' },
      'analytics.event': { request: 'batch POST /events/query', status: 'ok' },
    });
    expect(stdout).toContain('all 9 entities answered');
    // One request per entity, no more.
    expect(systems.totalRequests()).toBe(9);
  });

  test('exercises every declared read of the demo sources (lists to the end, read-backs, children, searches) and exits 0', async () => {
    const { code, stdout } = await runCli(['check', '--config', configFile], { timeoutMs: 60_000 });
    expect(code).toBe(0);
    // Every list read to its end, every record sampled and read back by the read the hub uses.
    for (const [entity, count] of [['crm\\s+contact', systems.dataset.crm.contacts.length], ['support\\s+user', systems.dataset.support.users.length]] as const) {
      expect(stdout).toMatch(new RegExp(`^${entity}\\s+\\d+\\s+${count}\\s+\\S+\\s+end\\s+\\d+$`, 'm'));
    }
    expect(stdout).toMatch(/^crm\s+contact\s+batch\s+50\s+50\s+1\s+1$/m);
    expect(stdout).toMatch(/^support\s+user\s+single\s+50\s+50\s+50\s+50$/m);
    expect(stdout).toContain('exercised every declared read: no errors');
  });

  test('names the source that cannot be reached and exits 1', async () => {
    const closed = new HttpApp('closed');
    await closed.listen(0);
    const closedUrl = closed.url;
    await closed.close();
    const file = writeConfig(dir, 'support-down', { ...systems.urls, support: closedUrl });
    const { code, stdout, stderr } = await runCli(['check', '--config', file]);
    expect(code).toBe(1);
    const rows = checkRows(stdout);
    expect(rows['support.user']!.status).toBe('SOURCE_UNAVAILABLE');
    expect(rows['support.ticket']!.status).toBe('SOURCE_UNAVAILABLE');
    expect(Object.entries(rows).filter(([, r]) => r.status !== 'ok').map(([name]) => name)).toEqual(['support.user', 'support.ticket']);
    expect(stderr).toContain('2 of 9 entities failed (sources: support)');
  });

  test('reports a refusal by its HTTP status and a reply of the wrong shape by its error code', async () => {
    systems.systems.crm.faults.set([{ kind: 'status', status: 401, route: 'GET /contacts' }]);
    systems.systems.shop.faults.set([{ kind: 'body', body: { unexpected: true }, route: 'POST /orders/batch' }]);
    try {
      const { code, stdout, stderr } = await runCli(['check', '--config', configFile]);
      expect(code).toBe(1);
      const rows = checkRows(stdout);
      expect(Object.fromEntries(Object.entries(rows).filter(([, r]) => r.status !== 'ok').map(([name, r]) => [name, r.status]))).toEqual({
        'crm.contact': '401',
        'shop.order': 'SOURCE_BAD_RESPONSE',
      });
      expect(stderr).toContain('shop.order: no array at "orders"');
      expect(stderr).toContain('2 of 9 entities failed (sources: crm, shop)');
    } finally {
      systems.systems.crm.faults.clear();
      systems.systems.shop.faults.clear();
    }
  });
});

describe('rosetta sync', () => {
  test('prints a line per page (output is not a terminal) and a summary matching the link table it built', async () => {
    const file = writeConfig(dir, 'sync', systems.urls);
    const { code, stdout } = await runCli(['sync', '--config', file]);
    expect(code).toBe(0);
    const { dataset } = systems;
    const records = dataset.crm.contacts.length + dataset.shop.customers.length + dataset.support.users.length + dataset.marketing.members.length + dataset.analytics.devices.length;
    const store = new SqliteLinkStore(`${dir}/sync.sqlite`);
    const customers = await store.countCustomers();
    const conflicts = await store.listConflicts(1000);
    await store.close();
    // The demo data seeds a placeholder email several people share; the hub holds those records apart and files the
    // value for review instead of merging them (identity.sharedValues), so the summary counts those conflicts.
    expect(conflicts.length).toBeGreaterThan(0);
    expect(new Set(conflicts.map((c) => c.reason))).toEqual(new Set(['SUSPECTED_SHARED_VALUE']));
    expect(stdout).toMatch(new RegExp(`^read ${records} records: ${customers} customers, \\d+ changed, \\d+ merges, ${conflicts.length} conflicts to review, in \\d+ ms$`, 'm'));
    for (const entity of ['crm.contact', 'shop.customer', 'support.user', 'marketing.member', 'analytics.device']) {
      expect(stdout).toMatch(new RegExp(`^  ${entity}: \\d+ records in \\d+ pages, done$`, 'm'));
    }

    // Unchanged sources, second pass: the same customers, nothing changed, nothing merged.
    const again = await runCli(['sync', '--config', file]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^read ${records} records: ${customers} customers, 0 changed, 0 merges, 0 conflicts to review`, 'm'));
  });
});

describe('rosetta map', () => {
  test('suggest prints YAML whose mapping is the one config/demo.yaml declares for the shop customer', async () => {
    const { code, stdout } = await runCli(['map', 'suggest', '--config', configFile, '--source', 'shop', '--entity', 'customer', '--sample', '50']);
    expect(code).toBe(0);
    const suggested = parse(stdout) as { mapping: unknown; identifiers: unknown };
    const real = demoConfig(systems.urls, { PORT: '0' }).sources.shop!.entities.customer!;
    expect(suggested.mapping).toEqual(real.mapping);
    expect(suggested.identifiers).toEqual(real.identifiers);
    expect(stdout).toContain('from 50 records (list GET /customers)');
  });

  test('suggest names the shape it inferred for an entity without "provides"', async () => {
    const { code, stdout } = await runCli(['map', 'suggest', '--config', configFile, '--source', 'analytics', '--entity', 'device']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^# Unified shape: \w+, inferred: the entity has no "provides"/m);
    expect((parse(stdout) as { identifiers: unknown }).identifiers).toEqual([{ kind: 'email_md5', path: 'email_md5' }]);
  });

  test('suggest rejects an unknown source with exit 2, listing the configured ones', async () => {
    const { code, stderr } = await runCli(['map', 'suggest', '--config', configFile, '--source', 'erp', '--entity', 'account']);
    expect(code).toBe(2);
    expect(stderr).toContain('no source "erp" in the config; sources: crm, shop, support, marketing, analytics');
  });

  test('accuracy --config scores every mapped field of the config: 48 of 48', async () => {
    const { code, stdout } = await runCli(['map', 'accuracy', '--config', configFile, '--sample', '50']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^overall\s+48\s+48\s+100\.0%$/m);
  });
});

describe('rosetta serve', () => {
  test('serves the graph over the link table rosetta sync built', async () => {
    const file = writeConfig(dir, 'serve', systems.urls);
    expect((await runCli(['sync', '--config', file])).code).toBe(0);
    const serve = spawnCli(['serve', '--config', file]);
    try {
      const [, url] = await serve.waitFor(/ready at (http:\/\/\S+)/);
      const response = await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ customers(first: 3) { edges { node { id } } } }' }) });
      const body = (await response.json()) as { data: { customers: { edges: unknown[] } } };
      expect(body.data.customers.edges).toHaveLength(3);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});
