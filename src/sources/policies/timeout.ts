// Bounds each attempt: its signal aborts after the source's per-request timeout, or earlier at the query's deadline.
import { TimeoutStrategy, timeout } from 'cockatiel';
import type { Interceptor } from './call.js';

export function withAttemptTimeout(timeoutMs: number): Interceptor {
  // Cooperative: the HTTP layer aborts on the signal and reports which limit ended the call.
  const policy = timeout(timeoutMs, TimeoutStrategy.Cooperative);
  return (next) => (call) => policy.execute(({ signal }) => next({ ...call, signal }), call.signal);
}
