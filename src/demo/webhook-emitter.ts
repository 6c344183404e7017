// Lets a simulated source notify the hub of its changes the way SaaS systems do: a signed JSON POST per change.
import { createHmac } from 'node:crypto';

export interface ChangeEvent {
  type: 'upsert' | 'delete';
  entity: string;
  /** The record as the source serves it (upserts). */
  record?: unknown;
  /** The deleted record's ID (deletes). */
  id?: string | number;
  /** The change's version when the record does not carry it (a delete's time). */
  version?: string;
}

export interface WebhookTarget {
  url: string;
  secret: string;
  signatureHeader?: string;
}

/** `sha256=<hex HMAC of the body>`: what a sender that cannot sign a timestamp sends (the hub then dedupes by event ID). */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Stripe-style `t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">`: the signature binds the time it was sent. */
export function signTimestamped(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Sends change events, signed with the time they were sent, to whatever target is set; with none set, changes are not announced. */
export class WebhookEmitter {
  target: WebhookTarget | null = null;
  delivered = 0;
  failed = 0;

  /** Resolves once the receiver answered, so tests and demos can rely on the order of effects. */
  async emit(event: ChangeEvent): Promise<void> {
    const target = this.target;
    if (!target) return;
    const body = JSON.stringify(event);
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [target.signatureHeader ?? 'x-rosetta-signature']: signTimestamped(body, target.secret) },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      await response.arrayBuffer();
      if (response.ok) this.delivered += 1;
      else this.failed += 1;
    } catch {
      // A real SaaS would queue and retry; the simulation counts the failure for tests to see.
      this.failed += 1;
    }
  }
}
