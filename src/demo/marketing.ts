// Simulated email-marketing tool (Mailchimp-like): members keyed by email md5, offset pagination, `data` envelopes.
import type { Dataset } from './dataset.js';
import { HttpApp, HttpError, Reply, badRequest, intQuery, listQuery, notFound, stringQuery } from './http-app.js';
import type { SimulatedSource, SourceOptions } from './http-app.js';
import { emailMd5 } from './identifiers.js';
import { indexUnique, pickExisting, toWire } from './record-index.js';

const MARKETING_MAX_BATCH_IDS = 100;
const MARKETING_MAX_PAGE_SIZE = 1000;

const envelope = <T>(data: T): { data: T } => ({ data });

export function createMarketingServer(data: Dataset, options: SourceOptions = {}): SimulatedSource {
  const members = data.marketing.members;
  const byId = indexUnique(members, (m) => m.id);

  return new HttpApp('marketing', options)
    .get('/members', ({ query }) => {
      const ids = listQuery(query, 'ids', { max: MARKETING_MAX_BATCH_IDS });
      if (ids) return envelope({ members: pickExisting(ids.map((id) => id.toLowerCase()), byId).map(toWire) });

      const offset = intQuery(query, 'offset', { fallback: 0, min: 0, max: Number.MAX_SAFE_INTEGER });
      const count = intQuery(query, 'count', { fallback: 10, min: 1, max: MARKETING_MAX_PAGE_SIZE });
      return envelope({ members: members.slice(offset, offset + count).map(toWire), total_items: members.length });
    })
    .get('/members/search', ({ query }) => {
      const email = stringQuery(query, 'email');
      if (email === undefined) throw badRequest('search needs an email parameter');
      const member = byId.get(emailMd5(email));
      return envelope({ members: member ? [toWire(member)] : [] });
    })
    // A member's consent changed (Mailchimp: PATCH /lists/{list_id}/members/{subscriber_hash}): withdrawn email consent
    // unsubscribes the member, granted consent subscribes it again.
    .route('PATCH', '/members/:id', ({ params, body }) => {
      const member = byId.get(params.id.toLowerCase());
      if (!member) throw new HttpError(404, 'not_found', 'The requested resource could not be found.', new Reply(404, { title: 'Resource Not Found', status: 404, detail: 'The requested resource could not be found.' }));
      const granted = (body as { consent?: { email?: { granted?: unknown } } } | undefined)?.consent?.email?.granted;
      if (typeof granted !== 'boolean') {
        throw new HttpError(400, 'invalid_resource', 'consent.email.granted must be a boolean', new Reply(400, { title: 'Invalid Resource', status: 400, detail: 'The resource submitted could not be validated.', errors: [{ field: 'consent.email.granted', message: 'must be a boolean' }] }));
      }
      const now = new Date().toISOString();
      member.consent = { email: { granted, timestamp: now } };
      member.status = granted ? 'subscribed' : 'unsubscribed';
      member.last_changed = now;
      return envelope({ member: toWire(member) });
    })
    .get('/members/:id', ({ params }) => {
      const member = byId.get(params.id.toLowerCase());
      if (!member) throw notFound(`member ${params.id} does not exist`);
      return envelope({ member: toWire(member) });
    });
}
