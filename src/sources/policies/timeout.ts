// Bounds each attempt: its signal aborts after the source's per-request timeout, or earlier at the query's deadline.
import { isCancelled, ownSignal, type AttemptLimit, type Interceptor, type SourceCall } from './call.js';
import type { Deadline } from './deadline.js';

type CutOffListener = (limit: AttemptLimit) => void;

/**
 * One attempt's view of its call. Its end is one timer, set for whichever comes first of the attempt's timeout and
 * the query's deadline, so nothing listens on the deadline's signal. Its own `signal` is built only if read: the HTTP
 * client asks for `onCutOff` instead, sparing an AbortController and its listeners on every upstream call for an abort
 * that almost never happens (cockatiel's timeout built a controller and three listeners per attempt).
 */
class Attempt implements SourceCall {
  readonly source: string;
  readonly operation: string;
  readonly idempotent: boolean;
  readonly deadline: Deadline;
  private readonly timer: NodeJS.Timeout | undefined;
  /** Only for a call whose signal is not its deadline's (a caller's own): stops listening on it. */
  private stopListening: (() => void) | undefined;
  private controller: AbortController | undefined;
  private listener: CutOffListener | undefined;
  /** Set once the attempt is cut off. */
  private limit: AttemptLimit | undefined;
  private ended = false;

  constructor(call: SourceCall, timeoutMs: number) {
    this.source = call.source;
    this.operation = call.operation;
    this.idempotent = call.idempotent;
    this.deadline = call.deadline;
    const remainingMs = call.deadline.remainingMs();
    if (remainingMs === 0 || isCancelled(call)) {
      this.limit = 'deadline';
      return;
    }
    // The deadline's signal aborts only when its time is up, which this timer covers; any other signal is listened to.
    const signal = ownSignal(call);
    if (signal) this.stopListening = listen(signal, () => this.cutOff('deadline'));
    this.timer = remainingMs < timeoutMs ? setTimeout(cutOff, remainingMs, this, 'deadline') : setTimeout(cutOff, timeoutMs, this, 'timeout');
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.limit) this.controller.abort();
    }
    return this.controller.signal;
  }

  /** Runs `listener` once if the attempt is cut off before it ends (at once if it already was). */
  onCutOff(listener: CutOffListener): void {
    if (this.limit) listener(this.limit);
    else this.listener = listener;
  }

  cutOff(limit: AttemptLimit): void {
    if (this.ended || this.limit) return;
    this.limit = limit;
    this.controller?.abort();
    this.listener?.(limit);
  }

  end(): void {
    this.ended = true;
    this.listener = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.stopListening?.();
  }
}

function listen(signal: AbortSignal, onAbort: () => void): () => void {
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function cutOff(attempt: Attempt, limit: AttemptLimit): void {
  attempt.cutOff(limit);
}

/**
 * Runs `listener` once if the attempt `call` is cut off (at once if it already was), told which limit did it. Inside
 * the timeout policy this costs no AbortSignal, and the attempt forgets the listener when it ends; elsewhere it
 * listens on `call.signal`, and returns what stops listening.
 */
export function onCutOff(call: SourceCall, listener: CutOffListener): (() => void) | undefined {
  if (call instanceof Attempt) {
    call.onCutOff(listener);
    return undefined;
  }
  const onAbort = () => listener(call.deadline.expired ? 'deadline' : 'timeout');
  if (!call.signal.aborted) return listen(call.signal, onAbort);
  onAbort();
  return undefined;
}

export function withAttemptTimeout(timeoutMs: number): Interceptor {
  // Cooperative: the HTTP layer aborts on the cut-off and reports which limit ended the call. Once an attempt settles
  // its timer is cleared and nothing is aborted: an attempt settles only after its response is read or has failed.
  return (next) => async (call) => {
    const attempt = new Attempt(call, timeoutMs);
    try {
      return await next(attempt);
    } finally {
      attempt.end();
    }
  };
}
