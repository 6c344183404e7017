// The circuit breaker's state machine, step by step: when it opens, fails fast, probes, closes, and what it logs.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CircuitOpenError, SourceBadResponseError, SourceUnavailableError } from '../../src/sources/errors.js';
import { SourceBreaker, withCircuitBreaker, type BreakerOptions, type CircuitStatus } from '../../src/sources/policies/breaker.js';
import { Deadline } from '../../src/sources/policies/deadline.js';

const OPTIONS: BreakerOptions = { failureRate: 0.5, windowMs: 10_000, minimumRequests: 4, halfOpenAfterMs: 1_000 };

/** `ok`, `outage` (a 503) or `bad` (an unreadable response) is one call; `{ wait }` moves the clock. */
type Step = 'ok' | 'outage' | 'bad' | { wait: number };

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
        if (step === 'bad') throw new SourceBadResponseError('crm', 'not JSON');
        return 'served';
      });
      try {
        await send(call);
      } catch (error) {
        if (error instanceof CircuitOpenError) failedFast += 1;
        else if (!(error instanceof SourceUnavailableError || error instanceof SourceBadResponseError)) throw error;
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
});
