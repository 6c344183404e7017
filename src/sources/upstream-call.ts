// What every upstream HTTP call reports, and to whom: explain, metrics and the source's counters observe calls made
// by the HTTP client and by the credentials it uses (token requests), so the type lives below both.

/** One upstream HTTP call, as reported to explain and to the source's counters. */
export interface UpstreamCall {
  source: string;
  operation: string;
  keys: number;
  status: number | 'error';
  ms: number;
  errorCode?: string;
}

export type CallObserver = (call: UpstreamCall) => void;
