// Drives one GraphQL endpoint at a constant arrival rate (an open loop), timing each request from when it was due.
//
// A closed loop (autocannon's c connections) sends the next request only when one comes back, so a server that
// stalls is simply sent less: the wait it caused is in no figure ("coordinated omission"). Here request i is due at
// start + i / rate whatever happened before it, and its latency runs from that due time to its response — a
// request the driver could only send late because the pool was busy waited too, and that wait is counted.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { summariseLatencies, type LatencySummary } from './latency.js';

export interface OpenLoopOptions {
  /** The GraphQL endpoint. */
  url: string;
  /** Prebuilt JSON bodies; each request takes the next one. */
  bodies: readonly string[];
  /** Requests per second, started on schedule whether or not earlier ones have returned. */
  ratePerSecond: number;
  durationSeconds: number;
  /** Where in `bodies` to start. */
  offset?: number;
  /** Connections the driver may open; a request due while all are busy waits in the driver, on the clock. */
  maxConnections?: number;
  /** How long to wait for the last requests after the schedule ends; still unanswered then, they count as errors. */
  drainMs?: number;
}

export interface OpenLoopResult {
  ratePerSecond: number;
  /** Requests the schedule held (rate × duration). */
  scheduled: number;
  /** Responses received (any status). */
  responses: number;
  /** 2xx responses without GraphQL errors, per second of schedule. */
  throughput: number;
  /** Milliseconds from each request's due time to its response; null without responses. */
  latencyMs: LatencySummary | null;
  non2xx: number;
  /** Transport errors, and requests still unanswered at the end of the drain. */
  errors: number;
  graphqlErrors: number;
  /** The most requests in flight at once: rate × latency, by Little's law, when the server keeps up. */
  maxInFlight: number;
  /** The latest a request left the driver after its due time: the driver's own lag, for judging the run. */
  maxSendLagMs: number;
  rotated: number;
}

/**
 * How many of `total` requests, the first due at `startMs` and one every `intervalMs`, are due by `nowMs`: the
 * scheduler sends every request up to that index, catching up after a late timer instead of skipping.
 */
export function dueCount(startMs: number, intervalMs: number, nowMs: number, total: number): number {
  if (nowMs < startMs) return 0;
  return Math.min(total, Math.floor((nowMs - startMs) / intervalMs) + 1);
}

/** The scheduled send time of request `index`. */
export const dueAt = (startMs: number, intervalMs: number, index: number): number => startMs + index * intervalMs;

export async function driveOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const target = new URL(options.url);
  const pool = new Pool(target.origin, { connections: options.maxConnections ?? 512, pipelining: 1, keepAliveTimeout: 10_000 });
  const intervalMs = 1000 / options.ratePerSecond;
  const total = Math.max(1, Math.round(options.ratePerSecond * options.durationSeconds));
  const latencies = new Float64Array(total);
  let responses = 0;
  let non2xx = 0;
  let errors = 0;
  let graphqlErrors = 0;
  let served = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let maxSendLagMs = 0;
  let next = options.offset ?? 0;
  let sent = 0;
  const pending = new Set<Promise<void>>();

  const send = (due: number, now: number): void => {
    maxSendLagMs = Math.max(maxSendLagMs, now - due);
    const body = options.bodies[next++ % options.bodies.length]!;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const request = pool
      .request({ method: 'POST', path: target.pathname, headers: { 'content-type': 'application/json' }, body })
      .then(async (response) => {
        const text = await response.body.text();
        latencies[responses++] = performance.now() - due;
        if (response.statusCode < 200 || response.statusCode >= 300) non2xx += 1;
        // A well-formed success never mentions an "errors" key.
        else if (text.includes('"errors"')) graphqlErrors += 1;
        else served += 1;
      })
      .catch(() => {
        errors += 1;
      })
      .finally(() => {
        inFlight -= 1;
        pending.delete(request);
      });
    pending.add(request);
  };

  const start = performance.now() + 5;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = dueCount(start, intervalMs, now, total);
      while (sent < due) send(dueAt(start, intervalMs, sent++), now);
      if (sent >= total) return resolve();
      // Sleep to the next due time; a late wake-up is caught up above, and that lateness is in the latency.
      setTimeout(tick, Math.max(0, dueAt(start, intervalMs, sent) - performance.now()));
    };
    tick();
  });

  const drainMs = options.drainMs ?? 15_000;
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled([...pending]), new Promise((resolve) => (drainTimer = setTimeout(resolve, drainMs)))]);
  clearTimeout(drainTimer);
  errors += pending.size;
  await pool.destroy();

  return {
    ratePerSecond: options.ratePerSecond,
    scheduled: total,
    responses,
    throughput: Math.round((served / options.durationSeconds) * 10) / 10,
    latencyMs: summariseLatencies(latencies.subarray(0, responses)),
    non2xx,
    errors,
    graphqlErrors,
    maxInFlight,
    maxSendLagMs: Math.round(maxSendLagMs * 100) / 100,
    rotated: next - (options.offset ?? 0),
  };
}
