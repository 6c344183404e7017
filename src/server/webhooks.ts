// `POST /webhooks/:source`: a source's signed change notification, applied to the link table at once, in version order, once.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { SourceConfig } from '../config/schema.js';
import { ErrorCode, statusOf } from '../errors/catalogue.js';
import type { VersionedChange } from '../identity/link-service.js';
import { MAX_RECORD_ID_LENGTH } from '../identity/identifiers.js';
import { compileSingularPath as compilePath } from '../expressions/json-path.js';
import type { HubServices } from '../request/context.js';
import { readRawBody, type ExtraRoute } from './http.js';
import { requestIdOf, sendJson, sendRouteError } from './http-errors.js';

const changeEvent = z.object({
  type: z.enum(['upsert', 'delete']),
  entity: z.string(),
  record: z.unknown().optional(),
  id: z.union([z.string(), z.number()]).optional(),
  /** The change's version when the record does not carry one (a delete's time or revision). */
  version: z.union([z.string(), z.number()]).optional(),
});
const payload = z.union([changeEvent, z.object({ events: z.array(changeEvent).min(1).max(1000) })]);

interface WebhookReply {
  status: number;
  body: Record<string, unknown>;
}

/** A delivery the hub will not apply: `{error: CODE, …detail}` with the catalogue's status for the code. */
const refusal = (code: ErrorCode, detail: Record<string, unknown> = {}): WebhookReply => ({ status: statusOf(code), body: { error: code, ...detail } });

const hmac = (secret: string, ...parts: (string | Buffer)[]) => {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

/** Constant-time comparison; unequal lengths are rejected before it because timingSafeEqual requires them equal. */
const sameDigest = (given: Buffer, expected: Buffer) => given.length === expected.length && timingSafeEqual(given, expected);

/** `sha256=<hex HMAC of the body>`: for sources that dedupe by event ID instead of signing a timestamp. */
function bodySignatureMatches(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith('sha256=')) return false;
  return sameDigest(Buffer.from(header.slice('sha256='.length), 'hex'), hmac(secret, rawBody));
}

export type TimestampVerdict = { ok: true; timestamp: number } | { ok: false; error: typeof ErrorCode.INVALID_SIGNATURE | typeof ErrorCode.TIMESTAMP_OUTSIDE_TOLERANCE };

/**
 * Stripe-style `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (several `v1` allowed, for rotating
 * secrets). The timestamp is signed, so a captured delivery replays only within the tolerance either way of now.
 */
export function verifyTimestampSignature(rawBody: Buffer, header: string | undefined, secret: string, toleranceSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): TimestampVerdict {
  if (!header) return { ok: false, error: ErrorCode.INVALID_SIGNATURE };
  const parts = header.split(',').map((part) => part.trim().split('='));
  const stamps = parts.filter(([key]) => key === 't').map(([, value]) => value ?? '');
  const signatures = parts.filter(([key]) => key === 'v1').map(([, value]) => Buffer.from(value ?? '', 'hex'));
  if (stamps.length !== 1 || !/^\d{1,12}$/.test(stamps[0]!) || signatures.length === 0) return { ok: false, error: ErrorCode.INVALID_SIGNATURE };
  const expected = hmac(secret, `${stamps[0]}.`, rawBody);
  if (!signatures.some((given) => sameDigest(given, expected))) return { ok: false, error: ErrorCode.INVALID_SIGNATURE };
  const timestamp = Number(stamps[0]);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, error: ErrorCode.TIMESTAMP_OUTSIDE_TOLERANCE };
  return { ok: true, timestamp };
}

/** The header a simulated or real sender sets: `t=<now>,v1=<HMAC of "<t>.<body>">`. */
export function signWebhook(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmac(secret, `${timestamp}.`, body).toString('hex')}`;
}

/** The route for `listenHttp`. */
export function webhookRoute(services: HubServices): ExtraRoute {
  return {
    method: 'POST',
    match: (path) => {
      const found = /^\/webhooks\/([\w-]+)$/.exec(path);
      return found ? { source: found[1]! } : null;
    },
    async handle(request, response, params, requestId) {
      const body = await readRawBody(request);
      if (body === null) return sendRouteError(response.setHeader('connection', 'close'), requestId, ErrorCode.PAYLOAD_TOO_LARGE);
      let reply: WebhookReply;
      try {
        reply = await receiveWebhook(services, params.source!, body, request.headers, requestId);
      } catch (error) {
        // The sender retries a 5xx later; the operator needs the cause now, once, under the id the sender was given.
        services.telemetry.logger.error({ err: error, requestId, source: params.source }, 'webhook delivery could not be applied');
        return sendRouteError(response, requestId, ErrorCode.INTERNAL_SERVER_ERROR);
      }
      sendJson(response, reply.status, reply.status >= 400 ? { ...reply.body, requestId } : reply.body);
    },
  };
}

type WebhookConfig = NonNullable<SourceConfig['webhook']>;
const eventIdReaders = new WeakMap<WebhookConfig, (raw: unknown) => unknown>();

async function receiveWebhook(services: HubServices, sourceName: string, rawBody: Buffer, headers: Record<string, string | string[] | undefined>, requestId = requestIdOf(headers)): Promise<WebhookReply> {
  const source = services.config.sources[sourceName];
  // Unknown sources and sources without a secret look the same as a bad signature: nothing to probe for.
  if (!source?.webhook) return refusal(ErrorCode.INVALID_SIGNATURE);
  const webhook = source.webhook;
  const given = headers[webhook.signatureHeader.toLowerCase()];
  const header = Array.isArray(given) ? given[0] : given;
  const counters = services.links.counters;
  if (webhook.replayProtection === 'timestamp') {
    const verdict = verifyTimestampSignature(rawBody, header, webhook.secret, webhook.toleranceSeconds);
    if (!verdict.ok) {
      if (verdict.error === ErrorCode.TIMESTAMP_OUTSIDE_TOLERANCE) counters.replays += 1;
      return refusal(verdict.error);
    }
  } else if (!bodySignatureMatches(rawBody, header, webhook.secret)) {
    return refusal(ErrorCode.INVALID_SIGNATURE);
  }
  let body: unknown;
  let parsed: z.infer<typeof payload>;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
    parsed = payload.parse(body);
  } catch {
    return refusal(ErrorCode.BAD_PAYLOAD, { message: 'expected {type, entity, record | id} or {events: [...]}' });
  }
  let eventId: string | null = null;
  if (webhook.replayProtection === 'eventId') {
    let read = eventIdReaders.get(webhook);
    if (!read) eventIdReaders.set(webhook, (read = compilePath(webhook.eventIdPath)));
    const value = read(body);
    if ((typeof value !== 'string' && typeof value !== 'number') || String(value) === '' || String(value).length > MAX_RECORD_ID_LENGTH) {
      return refusal(ErrorCode.BAD_PAYLOAD, { message: `a delivery needs its event ID at "${webhook.eventIdPath}"` });
    }
    eventId = String(value);
  }
  const events = 'events' in parsed ? parsed.events : [parsed];
  const linked = new Set(services.registry.linkedEntities().filter((e) => e.source === sourceName).map((e) => e.entity));
  const changes: VersionedChange[] = [];
  for (const event of events) {
    if (!linked.has(event.entity)) return refusal(ErrorCode.UNKNOWN_ENTITY, { entity: event.entity });
    const version = event.version === undefined ? null : String(event.version);
    if (event.type === 'delete') {
      const id = event.id === undefined ? '' : String(event.id);
      if (id.trim() === '' || id.length > MAX_RECORD_ID_LENGTH) {
        counters.invalid.record_id += 1;
        return refusal(ErrorCode.INVALID_RECORD_ID, { message: `a delete needs the record id (1 to ${MAX_RECORD_ID_LENGTH} characters)` });
      }
      changes.push({ remove: { source: sourceName, entity: event.entity, recordId: id }, version });
      continue;
    }
    const change = services.links.upsertOf(sourceName, event.entity, event.record);
    if (!change) return refusal(ErrorCode.INVALID_RECORD_ID, { message: `an upsert needs the record with its id (1 to ${MAX_RECORD_ID_LENGTH} characters)` });
    changes.push(version === null ? change : { ...change, version });
  }
  // The source says these records changed: what was read of them before is out of date, whatever the link table makes of it.
  services.recordCache.invalidate(changes.map((change) => ('upsert' in change ? change.upsert : change.remove)));
  const expiresAt = new Date(Date.now() + webhook.toleranceSeconds * 1000).toISOString();
  const summary = await services.links.apply(changes, undefined, { actor: `webhook:${sourceName}`, requestId, announced: true }, eventId === null ? {} : { event: { source: sourceName, id: eventId, expiresAt } });
  if (summary.stale > 0 || summary.replayed) {
    services.telemetry.logger.debug({ source: sourceName, requestId, stale: summary.stale, replayed: summary.replayed }, 'webhook changes ignored: not newer than the table, or a replayed event');
  }
  return { status: 200, body: { applied: summary.replayed ? 0 : changes.length - summary.stale, ...summary } };
}
