// Mapping suggestions measured on the five simulated sources against the demo config's own mappings.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import type { HubConfig } from '../../src/config/schema.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { measureAccuracy } from '../../src/mapping-suggest/accuracy.js';
import { sampleRecords } from '../../src/mapping-suggest/sample.js';

let systems: SimulatedSystems;
let config: HubConfig;
beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 300, seed: 7 });
  config = demoConfig(systems.urls, { PORT: '0', LINK_DB: ':memory:' });
});
afterAll(() => systems.close());

describe('mapping suggestions on the demo sources', () => {
  test('the top suggestion is the path config/demo.yaml maps, for all 48 mapped fields (line item fields included)', async () => {
    const report = await measureAccuracy(config, 100);
    expect(report.checks.filter((c) => !c.correct)).toEqual([]);
    expect(report.perSource).toEqual([
      { source: 'crm', fields: 9, correct: 9, accuracy: 1 },
      { source: 'shop', fields: 19, correct: 19, accuracy: 1 },
      { source: 'support', fields: 10, correct: 10, accuracy: 1 },
      { source: 'marketing', fields: 5, correct: 5, accuracy: 1 },
      { source: 'analytics', fields: 5, correct: 5, accuracy: 1 },
    ]);
    expect(report.overall).toEqual({ source: 'overall', fields: 48, correct: 48, accuracy: 1 });
  });

  test('a child entity is sampled through its batch endpoint for records listed from its parent', async () => {
    systems.resetStats();
    const sample = await sampleRecords(config, 'shop', 'order', 20);
    expect(sample.records).toHaveLength(20);
    expect(sample.from).toBe('POST /orders/batch for 20 customer records');
    // One list page of 20 customers, one batch of their orders.
    expect(systems.systems.shop.stats().routes).toEqual({ 'GET /customers': 1, 'POST /orders/batch': 1 });
  });

  test('a child entity without a batch endpoint is sampled per parent, only until the sample is full', async () => {
    systems.resetStats();
    // Rounds of 8, whatever the demo's own cap is, so the rounds are what this test is about.
    const ticket = config.sources.support!.entities.ticket!;
    const capped: HubConfig = { ...config, sources: { ...config.sources, support: { ...config.sources.support!, entities: { ...config.sources.support!.entities, ticket: { ...ticket, single: { ...ticket.single!, concurrency: 8 } } } } } };
    const sample = await sampleRecords(capped, 'support', 'ticket', 10);
    expect(sample.records).toHaveLength(10);
    // Users are read in rounds of 8 (the entity's concurrency); the first round's users already hold 10 tickets,
    // so the other 2 users listed are never asked.
    expect(systems.systems.support.stats().routes).toEqual({ 'GET /users': 1, 'GET /users/:id/tickets': 8 });
    expect(sample.from).toBe('GET /users/{id}/tickets for 8 user records');
  });
});
