// When a dead cluster worker is started again: after a delay that doubles with each recent crash, and not at all
// once it has crashed too often, so a worker that cannot start (a bad environment, a crash at boot) cannot spin.

export interface RestartPolicyOptions {
  /** Delay before the first restart; each further restart within the window waits twice as long. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Restarts allowed within `windowMs`; one more crash in that window and the slot is given up. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = { initialDelayMs: 100, maxDelayMs: 10_000, maxRestarts: 5, windowMs: 60_000 };

/** The restart history of one worker slot. */
export class RestartPolicy {
  /** When each restart within the window was decided. */
  private restarts: number[] = [];

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** The worker died at `now`: the delay before starting it again, or null to give the slot up. */
  nextDelay(now: number): number | null {
    this.restarts = this.restarts.filter((at) => now - at < this.options.windowMs);
    if (this.restarts.length >= this.options.maxRestarts) return null;
    const delay = Math.min(this.options.maxDelayMs, this.options.initialDelayMs * 2 ** this.restarts.length);
    this.restarts.push(now);
    return delay;
  }
}
