// What every simulated vendor API shares: credentials from headers, a per-second rate limit, vendor-shaped errors.
import type { IncomingHttpHeaders } from 'node:http';
import { HttpApp, HttpError, Reply, type SourceOptions } from '../http-app.js';

/** How a vendor counts requests against its quota, as its API reference documents it. */
export type VendorRateLimit =
  /** At most `max` accepted requests in any rolling `windowMs` (Stripe per second, HubSpot per 10 s, Zendesk per minute). */
  | { kind: 'window'; max: number; windowMs: number }
  /** A bucket of `capacity` requests that drains `leakPerSecond` (Shopify's REST Admin API). */
  | { kind: 'leakyBucket'; capacity: number; leakPerSecond: number };

export interface VendorOptions extends SourceOptions {
  /** Refuse requests beyond this many in any one-second window with the vendor's own 429 (absent: no limit). */
  requestsPerSecond?: number;
  /** The vendor's own quota model (its documented figures are exported beside each simulator); wins over requestsPerSecond. */
  rateLimit?: VendorRateLimit;
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

/** A rolling window over accepted requests: at most `max` in any `windowMs`. Refused requests do not count. */
export class WindowLimit {
  private readonly accepted: number[] = [];
  refused = 0;

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  take(): number | null {
    const now = this.now();
    while (this.accepted.length > 0 && this.accepted[0]! <= now - this.windowMs) this.accepted.shift();
    if (this.accepted.length >= this.max) {
      this.refused += 1;
      return this.accepted[0]! + this.windowMs - now;
    }
    this.accepted.push(now);
    return null;
  }
}

/** Shopify's leaky bucket: each request adds one; the bucket drains continuously; a request that would overflow it is refused. */
export class LeakyBucket {
  private level = 0;
  private at: number;
  refused = 0;

  constructor(
    readonly capacity: number,
    readonly leakPerSecond: number,
    private readonly now: () => number,
  ) {
    this.at = now();
  }

  take(): number | null {
    const now = this.now();
    this.level = Math.max(0, this.level - ((now - this.at) / 1000) * this.leakPerSecond);
    this.at = now;
    if (this.level + 1 > this.capacity) {
      this.refused += 1;
      return Math.ceil(((this.level + 1 - this.capacity) / this.leakPerSecond) * 1000);
    }
    this.level += 1;
    return null;
  }
}

/** What a refusal knows, for the vendor's 429 headers. */
export interface Refusal {
  retryAfterMs: number;
  limit: VendorRateLimit;
}

/** A guard refusing requests over the vendor's limit (`options.rateLimit`, else `requestsPerSecond`) with `refuse`; none when unlimited. */
export function rateLimitGuard(options: VendorOptions, refuse: (retryAfterMs: number, refusal: Refusal) => HttpError, applies: (route: string) => boolean = () => true) {
  const model: VendorRateLimit | undefined =
    options.rateLimit ?? (options.requestsPerSecond === undefined ? undefined : { kind: 'window', max: options.requestsPerSecond, windowMs: 1000 });
  const now = options.now ?? Date.now;
  const limit = model === undefined ? undefined : model.kind === 'window' ? new WindowLimit(model.max, model.windowMs, now) : new LeakyBucket(model.capacity, model.leakPerSecond, now);
  return (request: { route: string }) => {
    if (!limit || !model || !applies(request.route)) return;
    const waitMs = limit.take();
    if (waitMs !== null) throw refuse(waitMs, { retryAfterMs: waitMs, limit: model });
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
