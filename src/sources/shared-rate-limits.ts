// The sources' token buckets in Redis, so every replica of the hub spends one budget per source; per process while Redis is away.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GRANTED, LocalTokenBucket, gcraParameters, type BucketRate, type Take, type TokenBucket } from './policies/token-bucket.js';

/**
 * GCRA (see token-bucket.ts) in one atomic script. The clock is Redis's own (`TIME`), so replicas whose clocks
 * disagree still share one timeline. Numbers go back as strings: Redis would truncate a Lua float to an integer.
 */
const TAKE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local arrival = tonumber(redis.call('GET', KEYS[1]) or '0')
if arrival < now then arrival = now end
local wait = arrival - now - tolerance
if wait > 0 then return tostring(wait) end
local nextArrival = arrival + interval
redis.call('SET', KEYS[1], tostring(nextArrival), 'PX', math.ceil(nextArrival - now) + 1000)
return 'granted'
`;

/** A Redis command that takes longer than this counts as Redis being unreachable: a rate limit must not stall queries. */
const COMMAND_TIMEOUT_MS = 500;

export interface SharedRateLimitsOptions {
  url: string;
  keyPrefix: string;
  logger: Logger;
}

export type SharedStoreState = 'connecting' | 'ok' | 'unreachable';

/**
 * One Redis connection per process for every source's bucket. When Redis cannot be reached, each bucket falls back to
 * a per-process one at the configured rate (so, with N replicas, up to N times the budget goes out until Redis is
 * back: the vendor's 429s and their Retry-After still hold the hub back). The change is logged once each way and
 * counted (`fallbacks`, exported as a metric); the buckets go back to Redis as soon as a command succeeds.
 */
export class SharedRateLimits {
  private readonly redis: Redis;
  private readonly logger: Logger;
  private readonly keyPrefix: string;
  state: SharedStoreState = 'connecting';
  /** Settles when the first connection is up or has failed: takes made at start wait for it rather than fall back at once. */
  private readonly firstConnection: Promise<void>;
  /** Takes answered by a per-process bucket because Redis failed them. */
  fallbacks = 0;
  lastError: string | undefined;

  constructor(options: SharedRateLimitsOptions) {
    this.logger = options.logger;
    this.keyPrefix = options.keyPrefix;
    // No offline queue and no per-command retries: while Redis is away a take fails at once and the local bucket
    // answers, instead of queries waiting on reconnects. ioredis keeps reconnecting in the background.
    this.redis = new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: COMMAND_TIMEOUT_MS, lazyConnect: false });
    this.redis.on('ready', () => this.reachable());
    // ioredis reports each failed reconnect here; without a listener it would be an unhandled 'error' event.
    this.redis.on('error', (error: Error) => this.unreachable(error));
    this.firstConnection = new Promise<void>((resolve) => {
      this.redis.once('ready', resolve);
      this.redis.once('error', () => resolve());
      setTimeout(resolve, COMMAND_TIMEOUT_MS).unref();
    });
  }

  bucket(source: string, rate: BucketRate): TokenBucket {
    return new RedisTokenBucket(this, `${this.keyPrefix}${source}`, rate);
  }

  /** One take at a bucket in Redis; rejects when Redis does not answer. */
  async take(key: string, intervalMs: number, toleranceMs: number): Promise<Take> {
    if (this.state === 'connecting') await this.firstConnection;
    const answer = (await this.redis.eval(TAKE_SCRIPT, 1, key, String(intervalMs), String(toleranceMs))) as string;
    this.reachable();
    return answer === 'granted' ? GRANTED : { granted: false, waitMs: Number(answer) };
  }

  reachable(): void {
    if (this.state === 'ok') return;
    if (this.state === 'unreachable') this.logger.info({ store: 'redis' }, 'rate limits: Redis answers again; replicas share one budget per source again');
    this.state = 'ok';
    this.lastError = undefined;
  }

  unreachable(error: Error): void {
    this.lastError = error.message;
    if (this.state === 'unreachable') return;
    this.state = 'unreachable';
    this.logger.warn({ store: 'redis', err: error.message }, 'rate limits: Redis is unreachable; each process limits its own calls at the configured rate until it answers again');
  }

  async close(): Promise<void> {
    this.redis.removeAllListeners('error');
    // Already gone (never connected, or closed): quit would wait for a connection that will not come.
    if (this.redis.status === 'ready') await this.redis.quit();
    else this.redis.disconnect();
  }
}

class RedisTokenBucket implements TokenBucket {
  private readonly local: LocalTokenBucket;
  private readonly intervalMs: number;
  private readonly toleranceMs: number;

  constructor(
    private readonly shared: SharedRateLimits,
    private readonly key: string,
    rate: BucketRate,
  ) {
    ({ intervalMs: this.intervalMs, toleranceMs: this.toleranceMs } = gcraParameters(rate));
    this.local = new LocalTokenBucket(rate);
  }

  get store(): 'REDIS' | 'LOCAL_FALLBACK' {
    return this.shared.state === 'unreachable' ? 'LOCAL_FALLBACK' : 'REDIS';
  }

  async take(): Promise<Take> {
    try {
      return await this.shared.take(this.key, this.intervalMs, this.toleranceMs);
    } catch (error) {
      // Logged once per outage by `unreachable`, counted every time: the call goes on under the local bucket.
      this.shared.fallbacks += 1;
      this.shared.unreachable(error as Error);
      return this.local.take();
    }
  }
}
