// The open-loop driver sends on schedule whatever the server does, and counts a stall in the latency of every
// request that waited behind it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { dueAt, dueCount, driveOpenLoop } from '../../bench/open-loop.js';
import { percentile, summariseLatencies } from '../../bench/latency.js';

describe('the schedule', () => {
  test('request i is due at start + i × interval', () => {
    expect(dueAt(1000, 4, 0)).toBe(1000);
    expect(dueAt(1000, 4, 25)).toBe(1100);
  });

  test('a late timer catches up: every request due by now is sent, none skipped, none beyond the schedule', () => {
    expect(dueCount(1000, 4, 999, 100)).toBe(0);
    expect(dueCount(1000, 4, 1000, 100)).toBe(1);
    // 50 ms late: 13 more are due at once (1000, 1004, …, 1048 → 13 with the first).
    expect(dueCount(1000, 4, 1050, 100)).toBe(13);
    expect(dueCount(1000, 4, 99_999, 100)).toBe(100);
  });
});

describe('percentiles', () => {
  test('nearest rank over the sorted values', () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => 100 - i);
    const summary = summariseLatencies(values)!;
    expect(summary).toEqual({ p50: 50, p90: 90, p99: 99, mean: 50.5, max: 100 });
    expect(percentile([7], 99)).toBe(7);
    expect(summariseLatencies(new Float64Array(0))).toBeNull();
  });
});

describe('driveOpenLoop', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/graphql`;
  }

  test('sends exactly rate × duration requests, each body in turn, and counts GraphQL errors apart', async () => {
    const bodies: string[] = [];
    const url = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end(body === 'b' ? '{"errors":[{"message":"no"}]}' : '{"data":{}}');
      });
    });
    const result = await driveOpenLoop({ url, bodies: ['a', 'b', 'c', 'd'], ratePerSecond: 200, durationSeconds: 0.25 });
    expect(result.scheduled).toBe(50);
    expect(result.responses).toBe(50);
    expect(bodies).toHaveLength(50);
    expect(bodies.filter((b) => b === 'b')).toHaveLength(13);
    expect(result.graphqlErrors).toBe(13);
    expect(result.errors + result.non2xx).toBe(0);
    expect(result.rotated).toBe(50);
  });

  test("a server that serves one request at a time makes later requests wait, and the wait is in their latency", async () => {
    // One connection, 20 ms per response, a request due every 5 ms: request k waits for the k before it. Timed from
    // when it left the driver, each would take ~20 ms; timed from when it was due, the 50th waits ≥ 49 × 20 − 49 × 5 ms.
    const url = await listen((req, res) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.writeHead(200).end('{"data":{}}'), 20));
    });
    const result = await driveOpenLoop({ url, bodies: ['{}'], ratePerSecond: 200, durationSeconds: 0.25, maxConnections: 1 });
    expect(result.responses).toBe(50);
    expect(result.latencyMs!.max).toBeGreaterThanOrEqual(49 * 20 - 49 * 5);
    expect(result.maxInFlight).toBeGreaterThan(1);
  });
});
