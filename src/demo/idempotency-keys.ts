// What a simulated source that honours `Idempotency-Key` (as Stripe does) keeps: the first answer to each key, replayed
// for a repeat without applying the write again; the same key with another body is refused (422), as Stripe does.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError, Reply } from './http-app.js';

export class IdempotencyKeys {
  private readonly answers = new Map<string, { bodyHash: string; reply: unknown }>();
  /** Writes answered from a kept reply instead of being applied again. */
  replays = 0;

  /** Runs `apply` once per key; a request without the header always applies. */
  async once(headers: IncomingHttpHeaders, route: string, body: unknown, apply: () => unknown): Promise<unknown> {
    const header = headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (key === undefined) return apply();
    const bodyHash = createHash('sha256').update(JSON.stringify([route, body ?? null])).digest('hex');
    const kept = this.answers.get(key);
    if (kept) {
      if (kept.bodyHash !== bodyHash) throw new HttpError(422, 'idempotency_error', 'Keys for idempotent requests can only be used with the same parameters they were first used with.', new Reply(422, { error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' } }));
      this.replays += 1;
      return kept.reply;
    }
    const reply = await apply();
    this.answers.set(key, { bodyHash, reply });
    return reply;
  }
}
