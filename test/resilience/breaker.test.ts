// The circuit breaker's state machine, step by step: when it opens, fails fast, probes, closes, and what it logs.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CircuitOpenError, SourceAuthFailedError, SourceBadResponseError, SourceUnavailableError } from '../../src/sources/errors.js';
import { SourceBreaker, withCircuitBreaker, type BreakerOptions, type CircuitStatus } from '../../src/sources/policies/breaker.js';
import { Deadline } from '../../src/sources/policies/deadline.js';

const OPTIONS: BreakerOptions = { failureRate: 0.5, windowMs: 10_000, minimumRequests: 4, halfOpenAfterMs: 1_000, maxRetryAfterMs: 3_600_000 };

/** `ok`, `outage` (a 503), `retryAfter` (a 503 with `Retry-After: 3600`), `refused` (a 401) or `bad` (an unreadable response) is one call; `{ wait }` moves the clock. */
type Step = 'ok' | 'outage' | 'retryAfter' | 'refused' | 'bad' | { wait: number };

function harness(options: BreakerOptions = OPTIONS) {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const breaker = new SourceBreaker('crm', options, logger);
  let reached = 0;
  let failedFast = 0;
  const call = { source: 'crm', operation: 'contact.batch', idempotent: true, deadline: Deadline.none(), signal: new AbortController().signal };
  async function run(steps: readonly Step[]): Promise<void> {
    for (const step of steps) {
      if (typeof step === 'object') {
        vi.setSystemTime(Date.now() + step.wait);
        continue;
      }
      const send = withCircuitBreaker(breaker)(async () => {
        reached += 1;
        if (step === 'outage') throw new SourceUnavailableError('crm', 'HTTP 503', 503);
        if (step === 'retryAfter') throw new SourceUnavailableError('crm', 'HTTP 503', 503, { retryAfterMs: 3_600_000 });
        if (step === 'refused') throw new SourceAuthFailedError('crm', 'HTTP 401', 401);
        if (step === 'bad') throw new SourceBadResponseError('crm', 'not JSON');
        return 'served';
      });
      try {
        await send(call);
      } catch (error) {
        if (error instanceof CircuitOpenError) failedFast += 1;
        else if (!(error instanceof SourceUnavailableError || error instanceof SourceBadResponseError || error instanceof SourceAuthFailedError)) throw error;
      }
    }
  }
  return { breaker, logs, run, counts: () => ({ reached, failedFast }) };
}

beforeEach(() => {
  // Only Date is faked: cockatiel times the open state with Date.now(), the window buckets too.
  vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const outages = (n: number): Step[] => Array.from({ length: n }, () => 'outage' as const);
const retryAfters = (n: number): Step[] => Array.from({ length: n }, () => 'retryAfter' as const);

describe('circuit breaker state machine', () => {
  test.each<{ name: string; steps: Step[]; state: CircuitStatus; reached: number; failedFast: number }>([
    { name: 'stays closed below the minimum number of requests', steps: outages(3), state: 'CLOSED', reached: 3, failedFast: 0 },
    { name: 'opens when the window holds enough requests and half of them failed', steps: ['ok', 'ok', 'outage', 'outage'], state: 'OPEN', reached: 4, failedFast: 0 },
    { name: 'stays closed while fewer than half fail', steps: ['ok', 'ok', 'ok', 'outage', 'outage'], state: 'CLOSED', reached: 5, failedFast: 0 },
    { name: 'fails fast while open: no call reaches the source', steps: [...outages(4), 'ok', 'ok', 'ok'], state: 'OPEN', reached: 4, failedFast: 3 },
    { name: 'is still open just before halfOpenAfterMs', steps: [...outages(4), { wait: 999 }, 'ok'], state: 'OPEN', reached: 4, failedFast: 1 },
    { name: 'half-opens after halfOpenAfterMs and closes when the probe succeeds', steps: [...outages(4), { wait: 1_000 }, 'ok'], state: 'CLOSED', reached: 5, failedFast: 0 },
    { name: 'opens again when the probe fails, and fails fast after it', steps: [...outages(4), { wait: 1_000 }, 'outage', 'ok'], state: 'OPEN', reached: 5, failedFast: 1 },
    { name: 'after closing, the failures that opened it no longer count', steps: [...outages(4), { wait: 1_000 }, 'ok', 'outage', 'outage'], state: 'CLOSED', reached: 7, failedFast: 0 },
    { name: 'forgets failures older than its window, however long it sat idle', steps: [...outages(3), { wait: 60_000 }, 'outage'], state: 'CLOSED', reached: 4, failedFast: 0 },
    { name: 'counts failures spread inside the window', steps: ['outage', { wait: 4_000 }, 'outage', { wait: 4_000 }, 'outage', 'outage'], state: 'OPEN', reached: 4, failedFast: 0 },
    { name: 'never opens on unreadable responses: the source is up, its data is wrong', steps: ['bad', 'bad', 'bad', 'bad', 'bad', 'bad'], state: 'CLOSED', reached: 6, failedFast: 0 },
    { name: 'never opens on refused credentials: the source answers, and CIRCUIT_OPEN would hide why', steps: ['refused', 'refused', 'refused', 'refused', 'refused', 'refused'], state: 'CLOSED', reached: 6, failedFast: 0 },
    { name: 'opened by 503s with Retry-After: 3600, sends no probe for the hour', steps: [...retryAfters(4), { wait: 1_000 }, 'ok', { wait: 60_000 }, 'ok', { wait: 3_538_999 }, 'ok'], state: 'OPEN', reached: 4, failedFast: 3 },
    { name: 'opened by 503s with Retry-After: 3600, probes once the hour is over', steps: [...retryAfters(4), { wait: 3_600_000 }, 'ok'], state: 'CLOSED', reached: 5, failedFast: 0 },
    { name: 'a failed probe answered with Retry-After keeps it open for that long again', steps: [...outages(4), { wait: 1_000 }, 'retryAfter', { wait: 1_000 }, 'ok', { wait: 3_598_999 }, 'ok'], state: 'OPEN', reached: 5, failedFast: 2 },
  ])('$name', async ({ steps, state, reached, failedFast }) => {
    const t = harness();
    await t.run(steps);
    expect(t.breaker.status).toBe(state);
    expect(t.counts()).toEqual({ reached, failedFast });
  });

  test('a failure rate of 1 opens only when every request in the window failed', async () => {
    const t = harness({ ...OPTIONS, failureRate: 1 });
    await t.run(['ok', ...outages(4)]);
    expect(t.breaker.status).toBe('CLOSED');
    await t.run([{ wait: 11_000 }, ...outages(4)]);
    expect(t.breaker.status).toBe('OPEN');
  });

  test('every state change is logged with the source, the transition and, on opening, the cause', async () => {
    const t = harness();
    await t.run([...outages(4), { wait: 1_000 }, 'outage', { wait: 1_000 }, 'ok']);
    expect(t.logs.map(({ source, from, to, cause, level }) => ({ source, from, to, cause, level }))).toEqual([
      { source: 'crm', from: 'CLOSED', to: 'OPEN', cause: 'SOURCE_UNAVAILABLE', level: 40 },
      { source: 'crm', from: 'OPEN', to: 'HALF_OPEN', cause: undefined, level: 30 },
      { source: 'crm', from: 'HALF_OPEN', to: 'OPEN', cause: 'SOURCE_UNAVAILABLE', level: 40 },
      { source: 'crm', from: 'OPEN', to: 'HALF_OPEN', cause: undefined, level: 30 },
      { source: 'crm', from: 'HALF_OPEN', to: 'CLOSED', cause: undefined, level: 30 },
    ]);
  });

  test('a Retry-After longer than maxRetryAfterMs opens the circuit for maxRetryAfterMs only', async () => {
    const t = harness({ ...OPTIONS, maxRetryAfterMs: 10_000 });
    await t.run([...retryAfters(4), { wait: 9_999 }, 'ok']);
    expect(t.counts()).toEqual({ reached: 4, failedFast: 1 });
    await t.run([{ wait: 1 }, 'ok']);
    expect(t.counts()).toEqual({ reached: 5, failedFast: 1 });
    expect(t.logs[0]).toMatchObject({ to: 'OPEN', openMs: 10_000 });
  });
});

describe('half-open', () => {
  test('the state follows the clock: OPEN until the probe is due, then HALF_OPEN with no call made', async () => {
    const t = harness();
    await t.run([...outages(4), { wait: 999 }]);
    expect(t.breaker.status).toBe('OPEN');
    await t.run([{ wait: 1 }]);
    expect(t.breaker.status).toBe('HALF_OPEN');
    expect(t.counts()).toEqual({ reached: 4, failedFast: 0 });
  });

  test('exactly one probe goes out; the 9 calls made while it is in flight fail at once with CIRCUIT_OPEN, none queued behind it', async () => {
    const t = harness();
    await t.run([...outages(4), { wait: 1_000 }]);
    let reached = 0;
    let answerProbe!: (value: string) => void;
    const send = withCircuitBreaker(t.breaker)(() => {
      reached += 1;
      return new Promise<string>((resolve) => (answerProbe = resolve));
    });
    const call = { source: 'crm', operation: 'contact.batch', idempotent: true, deadline: Deadline.none(), signal: new AbortController().signal };
    const probe = send(call);
    expect(t.breaker.status).toBe('HALF_OPEN');
    // Each settles while the probe is still unanswered: they do not wait for it.
    const others = await Promise.allSettled(Array.from({ length: 9 }, () => send(call)));
    expect(others.map((o) => (o.status === 'rejected' ? (o.reason as CircuitOpenError).code : 'served'))).toEqual(Array(9).fill('CIRCUIT_OPEN'));
    expect(reached).toBe(1);
    answerProbe('served');
    await expect(probe).resolves.toBe('served');
    expect(t.breaker.status).toBe('CLOSED');
    // Closed again: the next call goes out.
    const next = send(call);
    await vi.waitFor(() => expect(reached).toBe(2));
    answerProbe('served');
    await expect(next).resolves.toBe('served');
  });
});
