// Metric labels are bounded by construction: a client naming every request differently cannot grow /metrics (it made
// 75,000 series from 5,000 names), and /metrics can be kept from the public: a key, or a port of its own.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HubMetrics } from '../../src/observability/metrics.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

/** Series of the GraphQL operation metrics in a scrape: one per sample line. */
function operationSeries(metrics: string): number {
  return metrics.split('\n').filter((line) => line.startsWith('rosetta_graphql_operation')).length;
}

/** Per label value: one counter series (one outcome) and a histogram of 11 buckets, +Inf, sum and count. */
const SERIES_PER_NAME = 1 + 11 + 1 + 2;

async function sendNamed(url: string, names: readonly string[], concurrency = 8): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `query ${name} { __typename }` }) });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

describe('operation names from clients', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ people: 20, seed: 3, config: (config) => ({ ...config, metrics: { maxOperationNames: 20 } }) });
  });
  afterAll(() => t?.close());

  test('400 uniquely named requests over HTTP: 20 names get a series, the other 380 are counted as `other`', async () => {
    const before = operationSeries(await (await fetch(t.hub.metricsUrl)).text());
    await sendNamed(t.hub.url, Array.from({ length: 400 }, (_, i) => `Probe${i}`));
    const scrape = await (await fetch(t.hub.metricsUrl)).text();
    expect(before).toBe(0);
    expect(operationSeries(scrape)).toBe(21 * SERIES_PER_NAME);
    expect(scrape).toContain('rosetta_graphql_operations_total{operation="Probe0",outcome="success"} 1');
    expect(scrape).toContain('rosetta_graphql_operations_total{operation="other",outcome="success"} 380');
  }, 60_000);

  test('5,000 distinct names leave the default 100 names and `other`: 1,515 series, not 75,000', async () => {
    const metrics = new HubMetrics({ directory: t.hub.services.directory, sources: t.hub.services.registry, processMetrics: false });
    for (let i = 0; i < 5_000; i++) metrics.recordOperation(`Probe${i}`, 'success', 0.001);
    expect(operationSeries(await metrics.render())).toBe(101 * SERIES_PER_NAME);
  });

  test('with an allow-list (trusted documents), only listed names are labels; anonymous operations say so', async () => {
    const metrics = new HubMetrics({ directory: t.hub.services.directory, sources: t.hub.services.registry, processMetrics: false, labels: { operationNames: ['CustomerCard'], maxOperationNames: 100 } });
    for (const name of ['CustomerCard', 'Probe1', 'Probe2', null, 'other']) metrics.recordOperation(name, 'success', 0.001);
    const text = await metrics.render();
    const counted = text.split('\n').filter((l) => l.startsWith('rosetta_graphql_operations_total{'));
    expect(counted.sort()).toEqual([
      'rosetta_graphql_operations_total{operation="CustomerCard",outcome="success"} 1',
      'rosetta_graphql_operations_total{operation="anonymous",outcome="success"} 1',
      'rosetta_graphql_operations_total{operation="other",outcome="success"} 3',
    ]);
  });
});

describe('/metrics on a port of its own, behind a key', () => {
  const KEY = 'metrics-key-0123456789';
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ people: 20, seed: 3, config: (config) => ({ ...config, metrics: { port: 0, key: KEY } }) });
  });
  afterAll(() => t?.close());

  test('the GraphQL port does not serve /metrics; the metrics port needs the key', async () => {
    expect(t.hub.metricsUrl).not.toBe(t.hub.url.replace('/graphql', '/metrics'));
    expect((await fetch(t.hub.url.replace('/graphql', '/metrics'))).status).toBe(404);
    const without = await fetch(t.hub.metricsUrl);
    expect(without.status).toBe(401);
    expect(await without.text()).not.toContain('rosetta_');
    expect((await fetch(t.hub.metricsUrl, { headers: { authorization: 'Bearer wrong-key-0123456789' } })).status).toBe(401);
    const scrape = await fetch(t.hub.metricsUrl, { headers: { authorization: `Bearer ${KEY}` } });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('rosetta_upstream_requests_total');
  });
});
