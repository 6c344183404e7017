// What a forget keeps of a record so it is not linked again: an HMAC of its key, never the key itself.
import { createHmac } from 'node:crypto';
import { ErrorCode } from '../errors/catalogue.js';
import type { RecordKey } from './model.js';
import { recordKeyString } from './model.js';

/**
 * Some record IDs are personal data themselves (a marketing member ID is the MD5 of the email), and a bare hash of
 * one is no protection: anyone can hash a guessed address. A key from the environment makes the kept value useless
 * without it, while the store can still tell a forgotten record coming back.
 */
export class ForgottenKeys {
  constructor(private readonly secret: string) {}

  of(key: RecordKey | string): string {
    return createHmac('sha256', this.secret).update(typeof key === 'string' ? key : recordKeyString(key)).digest('hex');
  }
}

export class ForgetSecretMissingError extends Error {
  readonly code = ErrorCode.FORGET_SECRET_MISSING;
  constructor() {
    super('forgetting needs identity.forget.secret (from the environment) to key what it keeps of forgotten records');
    this.name = 'ForgetSecretMissingError';
  }
}
