// A query's time budget: the instant by which every upstream wait it causes must be over.
import { setMaxListeners } from 'node:events';

const NEVER = new AbortController().signal;
// Every call without a budget listens on this one signal (it never fires, so nothing leaks): no listener cap.
setMaxListeners(0, NEVER);

export class Deadline {
  private constructor(
    /** Epoch milliseconds; Infinity for work with no budget (the link sync). */
    readonly at: number,
    /** Aborts when the deadline passes, cancelling whatever upstream call is still waiting. */
    readonly signal: AbortSignal,
  ) {}

  static after(ms: number): Deadline {
    const signal = AbortSignal.timeout(ms);
    // One deadline serves every upstream call of a query (a page can make hundreds), each listening for its abort.
    setMaxListeners(0, signal);
    return new Deadline(Date.now() + ms, signal);
  }

  /** No budget: only each request's own timeout bounds it. */
  static none(): Deadline {
    return new Deadline(Infinity, NEVER);
  }

  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  get expired(): boolean {
    return this.signal.aborted || this.remainingMs() === 0;
  }

  /** Settles as `work` does, or rejects with `expired()` if the deadline passes first (a later failure of `work` is then moot). */
  race<T>(work: Promise<T>, expired: () => Error): Promise<T> {
    if (this.at === Infinity) return work;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(expired());
      if (this.signal.aborted) onAbort();
      else this.signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => this.signal.removeEventListener('abort', onAbort));
    });
  }
}
