// Successes and failures over the last `windowMs`, in time buckets, for failure rates that forget old traffic.

const BUCKETS = 10;

export interface WindowCounts {
  successes: number;
  failures: number;
}

export class RollingWindow {
  private readonly bucketMs: number;
  /** Bucket i holds the counts of time slot `slots[i]` (a multiple of bucketMs); a stale slot counts as empty. */
  private readonly slots = new Array<number>(BUCKETS).fill(-1);
  private readonly successes = new Array<number>(BUCKETS).fill(0);
  private readonly failures = new Array<number>(BUCKETS).fill(0);

  constructor(
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  record(success: boolean): void {
    const slot = Math.floor(this.now() / this.bucketMs);
    const i = slot % BUCKETS;
    if (this.slots[i] !== slot) {
      this.slots[i] = slot;
      this.successes[i] = 0;
      this.failures[i] = 0;
    }
    if (success) this.successes[i]! += 1;
    else this.failures[i]! += 1;
  }

  counts(): WindowCounts {
    const current = Math.floor(this.now() / this.bucketMs);
    let successes = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      // Only slots inside the window count, however long the source sat idle since the others were written.
      if (current - this.slots[i]! < BUCKETS) {
        successes += this.successes[i]!;
        failures += this.failures[i]!;
      }
    }
    return { successes, failures };
  }

  reset(): void {
    this.slots.fill(-1);
  }
}
