// `POST /webhooks/:source`: a source's signed change notification, applied to the link table at once.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { RecordChange } from '../identity/link-planner.js';
import type { HubServices } from './context.js';
import { readRawBody, sendJson, type ExtraRoute } from './http.js';

const changeEvent = z.object({
  type: z.enum(['upsert', 'delete']),
  entity: z.string(),
  record: z.unknown().optional(),
  id: z.union([z.string(), z.number()]).optional(),
});
const payload = z.union([changeEvent, z.object({ events: z.array(changeEvent).min(1).max(1000) })]);

export interface WebhookReply {
  status: number;
  body: Record<string, unknown>;
}

function signatureMatches(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  // Constant-time comparison; unequal lengths are rejected before it because timingSafeEqual requires them equal.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The route for `listenHttp`. */
export function webhookRoute(services: HubServices): ExtraRoute {
  return {
    method: 'POST',
    match: (path) => {
      const found = /^\/webhooks\/([\w-]+)$/.exec(path);
      return found ? { source: found[1]! } : null;
    },
    async handle(request, response, params) {
      const body = await readRawBody(request);
      if (body === null) return sendJson(response.setHeader('connection', 'close'), 413, { error: 'payload_too_large' });
      const reply = await receiveWebhook(services, params.source!, body, request.headers);
      sendJson(response, reply.status, reply.body);
    },
  };
}

export async function receiveWebhook(services: HubServices, sourceName: string, rawBody: Buffer, headers: Record<string, string | string[] | undefined>): Promise<WebhookReply> {
  const source = services.config.sources[sourceName];
  // Unknown sources and sources without a secret look the same as a bad signature: nothing to probe for.
  if (!source?.webhook) return { status: 401, body: { error: 'invalid_signature' } };
  const header = headers[source.webhook.signatureHeader.toLowerCase()];
  if (!signatureMatches(rawBody, Array.isArray(header) ? header[0] : header, source.webhook.secret)) {
    return { status: 401, body: { error: 'invalid_signature' } };
  }
  let parsed: z.infer<typeof payload>;
  try {
    parsed = payload.parse(JSON.parse(rawBody.toString('utf8')));
  } catch {
    return { status: 400, body: { error: 'bad_payload', message: 'expected {type, entity, record | id} or {events: [...]}' } };
  }
  const events = 'events' in parsed ? parsed.events : [parsed];
  const linked = new Set(services.registry.linkedEntities().filter((e) => e.source === sourceName).map((e) => e.entity));
  const changes: RecordChange[] = [];
  for (const event of events) {
    if (!linked.has(event.entity)) return { status: 400, body: { error: 'unknown_entity', entity: event.entity } };
    if (event.type === 'delete') {
      if (event.id === undefined) return { status: 400, body: { error: 'bad_payload', message: 'a delete needs the record id' } };
      changes.push({ remove: { source: sourceName, entity: event.entity, recordId: String(event.id) } });
      continue;
    }
    const record = services.links.toIncoming(sourceName, event.entity, event.record);
    if (!record) return { status: 400, body: { error: 'bad_payload', message: 'an upsert needs the record with its id' } };
    changes.push({ upsert: record });
  }
  // The source says these records changed: what was read of them before is out of date, whatever the link table makes of it.
  services.recordCache.invalidate(changes.map((change) => ('upsert' in change ? change.upsert : change.remove)));
  const requestId = typeof headers['x-request-id'] === 'string' ? headers['x-request-id'].slice(0, 100) : randomUUID();
  const summary = await services.links.apply(changes, undefined, { actor: `webhook:${sourceName}`, requestId });
  return { status: 200, body: { applied: changes.length, ...summary } };
}
