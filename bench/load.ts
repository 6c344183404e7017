// Drives one GraphQL endpoint with autocannon for a bounded time and request count, rotating through request bodies.
import autocannon from 'autocannon';
import { summariseLatencies, type LatencySummary } from './latency.js';

export type { LatencySummary } from './latency.js';

export interface LoadOptions {
  /** The GraphQL endpoint. */
  url: string;
  /** Prebuilt JSON bodies; each request takes the next one, so every request asks about different customers. */
  bodies: readonly string[];
  connections: number;
  durationSeconds: number;
  /** Hard cap on requests, whatever the duration. */
  maxRequests: number;
  /** Where in `bodies` to start, so a measured phase does not replay its warm-up's requests. */
  offset?: number;
}

export interface LoadResult {
  /** Responses received (any status). */
  responses: number;
  durationSeconds: number;
  /** 2xx responses without GraphQL errors, per second. */
  throughput: number;
  /** Milliseconds, from autocannon's per-response timing (sub-millisecond precision, unlike its histogram); null without responses. */
  latencyMs: LatencySummary | null;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** 2xx responses whose body carried GraphQL errors: data the comparison cannot count as served. */
  graphqlErrors: number;
  /** Requests sent. */
  sent: number;
  /**
   * Requests still unanswered when the phase ended: they are in no latency figure, so a server that queues
   * shows here what its percentiles cannot.
   */
  unfinished: number;
  /** Bodies taken from the rotation, to know where the next phase starts. */
  rotated: number;
}

export async function drive(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  let next = options.offset ?? 0;
  let graphqlErrors = 0;
  let latencies = new Float64Array(Math.min(options.maxRequests, 1 << 16));
  let count = 0;

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.origin,
        connections: options.connections,
        duration: options.durationSeconds,
        maxOverallRequests: options.maxRequests,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            path: target.pathname,
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({ ...request, body: options.bodies[next++ % options.bodies.length] }),
            // A cheap check on the raw text: a well-formed success never mentions an "errors" key.
            onResponse: (status, body) => {
              if (status === 200 && body.includes('"errors"')) graphqlErrors += 1;
            },
          },
        ],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
  });

  const served = result['2xx'] - graphqlErrors;
  return {
    responses: count,
    durationSeconds: result.duration,
    throughput: Math.round((served / result.duration) * 10) / 10,
    latencyMs: summariseLatencies(latencies.subarray(0, count)),
    non2xx: result.non2xx,
    errors: result.errors,
    graphqlErrors,
    sent: result.requests.sent,
    unfinished: Math.max(0, result.requests.sent - count),
    rotated: next - (options.offset ?? 0),
  };
}
