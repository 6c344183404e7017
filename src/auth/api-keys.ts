// API keys: the config holds only their SHA-256 hashes, and a presented key is compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthSection } from '../config/schema.js';

type ApiKeyConfig = AuthSection['apiKeys'][number];

/** The hash the config stores for a key (keys are long random strings, so a fast hash is the right one). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export class ApiKeyVerifier {
  private readonly keys: readonly { config: ApiKeyConfig; hash: Buffer }[];

  constructor(keys: readonly ApiKeyConfig[]) {
    this.keys = keys.map((config) => ({ config, hash: Buffer.from(config.sha256, 'hex') }));
  }

  /** The key's config, or null. Every configured hash is compared, so the time taken says nothing about which matched. */
  verify(presented: string): ApiKeyConfig | null {
    const hash = createHash('sha256').update(presented, 'utf8').digest();
    let found: ApiKeyConfig | null = null;
    for (const key of this.keys) {
      if (timingSafeEqual(hash, key.hash) && found === null) found = key.config;
    }
    return found;
  }
}
