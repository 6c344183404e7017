// Percentiles of a run's latencies, the same way for the closed loop (load.ts) and the open loop (open-loop.ts).

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
}

/** The nearest-rank percentile of sorted values: the smallest value at least p% of them do not exceed. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** Sorts `latencies` in place and summarises them in milliseconds; null when there are none. */
export function summariseLatencies(latencies: Float64Array): LatencySummary | null {
  const count = latencies.length;
  if (count === 0) return null;
  const sorted = latencies.sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i]!;
  return { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), mean: round(sum / count), max: round(sorted[count - 1]!) };
}
