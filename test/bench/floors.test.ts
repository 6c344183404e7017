// The source-cap floor the benchmark reports beside the ideal: the p50 the sources' declared caps allow a closed loop.
import { afterAll, describe, expect, test } from 'vitest';
import { idealOfSent, openLoopCapFloorMs, sourceCapFloorMs, sourceUtilisation } from '../../bench/ideal.js';
import { demoConfig } from '../../src/cli/demo-config.js';
import { SourceRegistry } from '../../src/sources/registry.js';

const urls = { crm: 'http://127.0.0.1:1', shop: 'http://127.0.0.1:2', support: 'http://127.0.0.1:3', marketing: 'http://127.0.0.1:4', analytics: 'http://127.0.0.1:5' };
const registry = new SourceRegistry(demoConfig(urls, { LINK_DB: ':memory:' }));
afterAll(() => registry.close());

describe('sourceCapFloorMs', () => {
  test('a per-key source is bounded by its per-key cap: 50 queries × 40 calls × 20 ms ÷ 32 slots', () => {
    // The demo's support desk has no batch endpoint and at most 32 per-key calls at once (config/demo.yaml).
    expect(sourceCapFloorMs(registry, { 'support.user': 20, 'support.ticket': 20 }, 50, 20)).toBe((50 * 20 * 20) / 32);
  });

  test("a batched source is bounded by its bulkhead, the sum of all its operations' calls", () => {
    // The shop's bulkhead defaults to its 64 connections: 2 calls per query, 50 at once, 20 ms each.
    expect(sourceCapFloorMs(registry, { 'shop.customer': 1, 'shop.order': 1 }, 50, 20)).toBe(Math.round(((50 * 2 * 20) / 64) * 10) / 10);
  });

  test('at latency 0 no cap costs any time', () => {
    expect(sourceCapFloorMs(registry, { 'support.user': 20, 'crm.contact': 1 }, 50, 0)).toBe(0);
  });
});

describe('idealOfSent', () => {
  // load.ts sends bodies[(offset + k) % n] for k = 0 … sent − 1.
  const ideals = [1, 2, 3, 4];

  test('whole rotations count every item once per rotation', () => {
    expect(idealOfSent(ideals, 0, 8)).toBe(20);
    expect(idealOfSent(ideals, 3, 8)).toBe(20);
  });

  test('a partial rotation counts the items from the offset on, wrapping round', () => {
    // From index 3: 4, then 1, 2.
    expect(idealOfSent(ideals, 3, 3)).toBe(7);
    // Two rotations and then 4, 1 from index 3.
    expect(idealOfSent(ideals, 3, 10)).toBe(25);
  });

  test('nothing sent, or nothing to send, is zero', () => {
    expect(idealOfSent(ideals, 2, 0)).toBe(0);
    expect(idealOfSent([], 0, 5)).toBe(0);
  });
});


describe('openLoopCapFloorMs', () => {
  test('per-key calls beyond the per-key cap go out in a second wave: 40 support users at 32 at once take 2 × L', () => {
    expect(openLoopCapFloorMs(registry, { 'support.user': 40, 'crm.contact': 1 }, 20)).toBe(40);
  });

  test('calls within every cap take one wave: L', () => {
    expect(openLoopCapFloorMs(registry, { 'support.user': 21, 'support.ticket': 21, 'shop.customer': 1, 'shop.order': 1 }, 20)).toBe(20);
  });

  test("a source's bulkhead caps its operations together: 32 + 33 per-key calls over its 64 connections take 2 × L", () => {
    expect(openLoopCapFloorMs(registry, { 'support.user': 32, 'support.ticket': 32 }, 20)).toBe(20);
    expect(openLoopCapFloorMs(registry, { 'support.user': 32, 'support.ticket': 33 }, 20)).toBe(40);
  });
});

describe('sourceUtilisation', () => {
  test('the busiest cap: 10 pages/s × 21 support users × 20 ms over 32 slots', () => {
    expect(sourceUtilisation(registry, { 'support.user': 21, 'crm.contact': 1 }, 10, 20)).toBe(Math.round(((10 * 21 * 0.02) / 32) * 100) / 100);
  });
});
