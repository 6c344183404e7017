// What every simulated vendor API shares: credentials from headers, a per-second rate limit, vendor-shaped errors.
import type { IncomingHttpHeaders } from 'node:http';
import { HttpApp, HttpError, Reply, type SourceOptions } from '../http-app.js';

export interface VendorOptions extends SourceOptions {
  /** Refuse requests beyond this many in any one-second window with the vendor's own 429 (absent: no limit). */
  requestsPerSecond?: number;
  /** Milliseconds since the epoch, for rate limits and token expiry; tests inject a clock they move. */
  now?: () => number;
}

/** A vendor's error reply as an HttpError, so handlers and guards throw it. */
export function vendorError(status: number, body: unknown, headers: Record<string, string> = {}, contentType?: string): HttpError {
  return new HttpError(status, `vendor_${status}`, JSON.stringify(body), new Reply(status, body, { headers, ...(contentType ? { contentType } : {}) }));
}

/** The token of `Authorization: Bearer …`, or undefined. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/** The user and password of `Authorization: Basic …`, or undefined. */
export function basicCredentials(headers: IncomingHttpHeaders): { username: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * A sliding one-second window over accepted requests, as vendors that throttle "N requests per second" do.
 * Refused requests do not count against the window, so a client that waits `Retry-After` gets in.
 */
export class PerSecondLimit {
  private readonly accepted: number[] = [];
  /** Requests refused since start. */
  refused = 0;

  constructor(
    readonly requestsPerSecond: number,
    private readonly now: () => number,
  ) {}

  /** null when the request may go ahead, else the milliseconds until it would. */
  take(): number | null {
    const now = this.now();
    while (this.accepted.length > 0 && this.accepted[0]! <= now - 1000) this.accepted.shift();
    if (this.accepted.length >= this.requestsPerSecond) {
      this.refused += 1;
      return this.accepted[0]! + 1000 - now;
    }
    this.accepted.push(now);
    return null;
  }
}

/** A guard refusing requests over `options.requestsPerSecond` with `refuse(retryAfterMs)`; none when unlimited. */
export function rateLimitGuard(options: VendorOptions, refuse: (retryAfterMs: number) => HttpError, applies: (route: string) => boolean = () => true) {
  const limit = options.requestsPerSecond === undefined ? undefined : new PerSecondLimit(options.requestsPerSecond, options.now ?? Date.now);
  return (request: { route: string }) => {
    if (!limit || !applies(request.route)) return;
    const waitMs = limit.take();
    if (waitMs !== null) throw refuse(waitMs);
  };
}

/** Parses a vendor's integer parameter, or throws its own 400. */
export function intParam(raw: string | null, fallback: number, min: number, max: number, invalid: (message: string) => HttpError): number {
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw invalid(`Invalid integer: ${raw}`);
  const value = Number(raw);
  if (value < min || value > max) throw invalid(`must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A request counter by name (tokens issued, pages served) that tests read for exact counts. */
export type Counters = Record<string, number>;

/** A customer record as the vendor serves it, with the person it belongs to (ground truth, never served). */
export interface ListedCustomer {
  id: string;
  personId: string;
}

/** A simulated vendor API: a demo source plus what tests and recipes need to reach and judge it. */
export class VendorApp extends HttpApp {
  constructor(
    name: string,
    options: SourceOptions,
    /** Every customer the vendor lists, in list order. */
    readonly customers: readonly ListedCustomer[],
    private readonly envOf: (url: string) => Record<string, string>,
  ) {
    super(name, options);
  }

  /** The environment variables its recipe reads (`STRIPE_URL`, `STRIPE_API_KEY`…), pointing here with valid credentials. */
  env(): Record<string, string> {
    return this.envOf(this.url);
  }
}
