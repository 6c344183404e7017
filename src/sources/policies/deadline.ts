// A query's time budget: the instant by which every upstream wait it causes must be over.
import { setMaxListeners } from 'node:events';

const NEVER = new AbortController().signal;
// Every call without a budget listens on this one signal (it never fires, so nothing leaks): no listener cap.
setMaxListeners(0, NEVER);

export class Deadline {
  /** Immutable, so one serves every call without a budget. */
  private static readonly NONE = new Deadline(Infinity, true, NEVER);
  private abortSignal: AbortSignal | undefined;

  private constructor(
    /** Epoch milliseconds; Infinity for work with no budget (the link sync). */
    readonly at: number,
    /** Work no client waits for (the sync, cache refreshes): a rate-limited source serves queries' calls first. */
    readonly background: boolean,
    signal?: AbortSignal,
  ) {
    this.abortSignal = signal;
  }

  /** A query's budget. */
  static after(ms: number): Deadline {
    return new Deadline(Date.now() + ms, false);
  }

  /** A budget for background work (a cache refresh): bounded like a query's, but served after queries. */
  static backgroundAfter(ms: number): Deadline {
    return new Deadline(Date.now() + ms, true);
  }

  /** No budget: only each request's own timeout bounds it. Background work (the link sync). */
  static none(): Deadline {
    return Deadline.NONE;
  }

  /**
   * Aborts when the deadline passes. Built on first use: an `AbortSignal.timeout` costs more CPU than one upstream
   * call's policies together, and a query whose calls find a free slot and answer in time never needs one (the
   * attempt timeout and `race` keep time with plain timers).
   */
  get signal(): AbortSignal {
    if (!this.abortSignal) {
      const remainingMs = this.remainingMs();
      this.abortSignal = remainingMs === 0 ? AbortSignal.abort(new DOMException('The deadline passed', 'TimeoutError')) : AbortSignal.timeout(remainingMs);
      // One deadline serves every upstream call of a query (a page can make hundreds), each of which may listen for its abort.
      setMaxListeners(0, this.abortSignal);
    }
    return this.abortSignal;
  }

  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  get expired(): boolean {
    return this.remainingMs() === 0 || this.abortSignal?.aborted === true;
  }

  /** Settles as `work` does, or rejects with `expired()` if the deadline passes first (a later failure of `work` is then moot). */
  race<T>(work: Promise<T>, expired: () => Error): Promise<T> {
    if (this.at === Infinity) return work;
    return new Promise<T>((resolve, reject) => {
      const remainingMs = this.remainingMs();
      if (remainingMs === 0) {
        reject(expired());
        work.then(resolve, reject);
        return;
      }
      // Unreferenced, like the signal's timer it replaces: a deadline alone never keeps the process up.
      const timer = setTimeout(() => reject(expired()), remainingMs).unref();
      work.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }
}
