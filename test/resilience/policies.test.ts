// The retry, bulkhead and timeout policies alone, each around a scripted dispatch: which attempts they make and why.
import { describe, expect, test } from 'vitest';
import { CircuitOpenError, SourceBadResponseError, SourceError, SourceRateLimitedError, SourceTimeoutError, SourceUnavailableError } from '../../src/sources/errors.js';
import { SourceBulkhead, withBulkhead } from '../../src/sources/policies/bulkhead.js';
import { compose, type SourceCall } from '../../src/sources/policies/call.js';
import { Deadline } from '../../src/sources/policies/deadline.js';
import { withRetry } from '../../src/sources/policies/retry.js';
import { withAttemptTimeout } from '../../src/sources/policies/timeout.js';

const RETRY = { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5 };

function call(overrides: Partial<SourceCall> = {}): SourceCall {
  const deadline = overrides.deadline ?? Deadline.after(5_000);
  return { source: 'crm', operation: 'contact.batch', idempotent: true, deadline, signal: deadline.signal, ...overrides };
}

/** A dispatch that fails with the scripted errors in turn, then succeeds; it counts its attempts. */
function scripted(failures: readonly Error[]) {
  let attempts = 0;
  const dispatch = async () => {
    const failure = failures[attempts];
    attempts += 1;
    if (failure) throw failure;
    return 'served';
  };
  return { dispatch, attempts: () => attempts };
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    return String(await promise);
  } catch (error) {
    return error instanceof SourceError ? error.code : String(error);
  }
}

const unavailable = () => new SourceUnavailableError('crm', 'HTTP 503', 503);

describe('retry policy', () => {
  test.each<{ name: string; failures: Error[]; call?: Partial<SourceCall>; attempts: number; result: string }>([
    { name: 'a transient failure is retried, then served', failures: [unavailable()], attempts: 2, result: 'served' },
    { name: 'gives up after maxRetries: 3 attempts', failures: [unavailable(), unavailable(), unavailable()], attempts: 3, result: 'SOURCE_UNAVAILABLE' },
    { name: 'a call that is not idempotent is sent once', failures: [unavailable()], call: { idempotent: false }, attempts: 1, result: 'SOURCE_UNAVAILABLE' },
    { name: 'an unreadable response is not retried', failures: [new SourceBadResponseError('crm', 'not JSON')], attempts: 1, result: 'SOURCE_BAD_RESPONSE' },
    { name: 'a 4xx other than 408 and 429 is not retried', failures: [new SourceUnavailableError('crm', 'HTTP 400', 400)], attempts: 1, result: 'SOURCE_UNAVAILABLE' },
    { name: 'an open circuit is not retried', failures: [new CircuitOpenError('crm', 'open')], attempts: 1, result: 'CIRCUIT_OPEN' },
    { name: 'a 429 whose Retry-After fits in the deadline is waited out', failures: [new SourceRateLimitedError('crm', '429', 5)], attempts: 2, result: 'served' },
    { name: 'a 429 whose Retry-After outlasts the deadline fails fast', failures: [new SourceRateLimitedError('crm', '429', 60_000)], attempts: 1, result: 'SOURCE_RATE_LIMITED' },
    { name: 'a 503 whose Retry-After outlasts the deadline fails fast', failures: [new SourceUnavailableError('crm', 'HTTP 503', 503, { retryAfterMs: 60_000 })], attempts: 1, result: 'SOURCE_UNAVAILABLE' },
    // 40 ms left, a backoff of 100..200 ms: not worth waiting, though the deadline has not passed yet.
    { name: 'a backoff longer than what is left of the deadline is not waited', failures: [unavailable()], call: { deadline: Deadline.after(40) }, attempts: 1, result: 'SOURCE_UNAVAILABLE' },
  ])('$name', async ({ failures, call: overrides, attempts, result }) => {
    const source = scripted(failures);
    const retryOptions = overrides?.deadline ? { ...RETRY, initialDelayMs: 200, maxDelayMs: 1_000 } : RETRY;
    expect(await outcome(withRetry(retryOptions)(source.dispatch)(call(overrides)))).toBe(result);
    expect(source.attempts()).toBe(attempts);
  });

  test('maxRetries 0 turns retrying off', async () => {
    const source = scripted([unavailable()]);
    expect(await outcome(withRetry({ ...RETRY, maxRetries: 0 })(source.dispatch)(call()))).toBe('SOURCE_UNAVAILABLE');
    expect(source.attempts()).toBe(1);
  });
});

describe('bulkhead policy', () => {
  test('lets maxConcurrent calls run, queues the next, and rejects beyond the queue', async () => {
    const bulkhead = new SourceBulkhead('crm', { maxConcurrent: 2, maxQueued: 1 });
    const releases: (() => void)[] = [];
    let started = 0;
    const send = withBulkhead(bulkhead)(() => {
      started += 1;
      return new Promise<string>((resolve) => releases.push(() => resolve('served')));
    });
    const calls = [send(call()), send(call()), send(call()), send(call())];
    const rejected = await outcome(calls[3]!);
    expect(rejected).toBe('SOURCE_UNAVAILABLE');
    expect({ started, inFlight: bulkhead.inFlight, queued: bulkhead.queued }).toEqual({ started: 2, inFlight: 2, queued: 1 });
    releases.shift()!();
    await calls[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toBe(3);
    for (const release of releases) release();
    expect(await Promise.all(calls.slice(0, 3))).toEqual(['served', 'served', 'served']);
  });

  test('a queued call whose deadline passes ends with SOURCE_TIMEOUT and is never sent', async () => {
    const bulkhead = new SourceBulkhead('crm', { maxConcurrent: 1, maxQueued: 10 });
    let release!: () => void;
    let started = 0;
    const send = withBulkhead(bulkhead)(() => {
      started += 1;
      return new Promise<string>((resolve) => (release = () => resolve('served')));
    });
    const first = send(call());
    const queued = send(call({ deadline: Deadline.after(20) }));
    expect(await outcome(queued)).toBe('SOURCE_TIMEOUT');
    release();
    expect(await first).toBe('served');
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toBe(1);
  });
});

describe('attempt timeout policy', () => {
  test('aborts the attempt signal after the timeout; the dispatch reports it as its own error', async () => {
    const send = withAttemptTimeout(20)(
      (attempt) =>
        new Promise<string>((_resolve, reject) => {
          attempt.signal.addEventListener('abort', () => reject(new SourceTimeoutError('crm', 'no response within 20 ms')));
        }),
    );
    expect(await outcome(send(call()))).toBe('SOURCE_TIMEOUT');
  });

  test('composed under retry, each attempt gets its own timeout: 3 attempts', async () => {
    let attempts = 0;
    const send = compose(withRetry(RETRY), withAttemptTimeout(10))((attempt) => {
      attempts += 1;
      return new Promise<string>((_resolve, reject) => {
        attempt.signal.addEventListener('abort', () => reject(new SourceTimeoutError('crm', 'no response within 10 ms')));
      });
    });
    expect(await outcome(send(call()))).toBe('SOURCE_TIMEOUT');
    expect(attempts).toBe(3);
  });
});
