// The attempt timeout costs nothing once an attempt settles: no abort is raised, no listener is left behind.
import { getEventListeners } from 'node:events';
import { describe, expect, test } from 'vitest';
import { SourceTimeoutError, SourceUnavailableError } from '../../src/sources/errors.js';
import type { SourceCall } from '../../src/sources/policies/call.js';
import { Deadline } from '../../src/sources/policies/deadline.js';
import { withAttemptTimeout } from '../../src/sources/policies/timeout.js';

function callWithin(deadline: Deadline): SourceCall {
  return { source: 'crm', operation: 'contact.batch', idempotent: true, deadline, signal: deadline.signal };
}

describe('attempt timeout policy, after the attempt', () => {
  test('100 settled attempts (50 served, 50 failed) leave their signals unaborted and none listening on the query signal', async () => {
    const deadline = Deadline.after(5_000);
    const signals: AbortSignal[] = [];
    let served = 0;
    const send = withAttemptTimeout(1_000)(async (attempt) => {
      signals.push(attempt.signal);
      if (signals.length % 2 === 0) throw new SourceUnavailableError('crm', 'HTTP 503', 503);
      return 'served';
    });
    for (let i = 0; i < 100; i++) {
      await send(callWithin(deadline)).then(
        () => (served += 1),
        (error: unknown) => expect(error).toBeInstanceOf(SourceUnavailableError),
      );
    }
    expect(served).toBe(50);
    expect(signals.filter((signal) => signal.aborted)).toHaveLength(0);
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
  });

  test("the query's deadline still aborts an attempt in flight, with the attempt's own timeout far off", async () => {
    const send = withAttemptTimeout(5_000)(
      (attempt) =>
        new Promise<string>((_resolve, reject) => {
          attempt.signal.addEventListener('abort', () => reject(new SourceTimeoutError('crm', "the query's deadline passed")));
        }),
    );
    await expect(send(callWithin(Deadline.after(10)))).rejects.toMatchObject({ code: 'SOURCE_TIMEOUT' });
  });
});
