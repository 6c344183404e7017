// The hub's configuration, declared once as a zod schema; every config type is inferred from it.
import { z } from 'zod';
import { jsonPathProblem } from '../expressions/json-path.js';
import { TRANSFORM_NAMES } from '../expressions/transform-names.js';
import { endpointTemplateProblems } from '../expressions/endpoint-requests.js';
import { WRITE_FIELDS } from '../expressions/request-template.js';

/**
 * Text that writes a number: `${PORT}` filled from the environment is text, and platforms hand values over quoted or
 * padded (`"4000"`, ` 4000`). Anything else is left for zod to refuse with the key's path.
 */
function numberFromText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim().replace(/^(["'])(.*)\1$/, '$2').trim();
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : value;
}

function booleanFromText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim().replace(/^(["'])(.*)\1$/, '$2').trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : value;
}

/** A number where the config expects one, also when written as text (see `numberFromText`). */
function numeric<T extends z.ZodType<number>>(schema: T) {
  return z.preprocess(numberFromText, schema);
}

/** A boolean where the config expects one, also when written as text (`${FLAG:-false}`). */
function boolean() {
  return z.preprocess(booleanFromText, z.boolean());
}

/** The unified shapes a source entity can feed, and the mapping targets each one accepts. */
export const UNIFIED_TARGETS = {
  profile: ['firstName', 'lastName', 'name', 'email', 'phone', 'line1', 'city', 'postalCode', 'country', 'updatedAt'],
  marketing: ['status', 'emailConsent', 'consentedAt', 'lists', 'updatedAt'],
  orders: ['id', 'number', 'status', 'placedAt', 'totalMinor', 'currency', 'lineItems'],
  tickets: ['id', 'subject', 'status', 'priority', 'createdAt', 'updatedAt'],
  events: ['id', 'name', 'occurredAt', 'deviceId', 'properties'],
} as const;
export type UnifiedTarget = keyof typeof UNIFIED_TARGETS;
/** Unified shapes held once per linked record (the others are lists of children of a linked record). */
export const RECORD_TARGETS = ['profile', 'marketing'] as const satisfies readonly UnifiedTarget[];
const CHILD_TARGETS = ['orders', 'tickets', 'events'] as const satisfies readonly UnifiedTarget[];

/** A Customer field an extension SDL file declares (`Customer.subscriptions`), fed by child entities (docs/extensions.md). */
export type ExtensionTarget = `Customer.${string}`;
/** What an entity's `provides` names: a core shape, or a Customer field declared by an extension. */
export type FacetTarget = UnifiedTarget | ExtensionTarget;
const EXTENSION_TARGET = /^Customer\.[_A-Za-z][_0-9A-Za-z]*$/;

export function isExtensionTarget(target: string | undefined): target is ExtensionTarget {
  return target !== undefined && EXTENSION_TARGET.test(target);
}

/** Whether entities providing `target` are children of a linked record (orders, tickets, events, extension lists). */
function isChildTarget(target: string | undefined): boolean {
  return isExtensionTarget(target) || (CHILD_TARGETS as readonly (string | undefined)[]).includes(target);
}

const LINE_ITEM_TARGETS = ['sku', 'title', 'quantity', 'unitPriceMinor'] as const;

const path = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = jsonPathProblem(value, { singular: true });
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ title: 'JSONPath' })
  .describe('where a value sits in a JSON document: an RFC 9535 singular JSONPath ("$.a.b", "$.data[-1].id", "$[\'x-y\']"), or the same without "$." ("a.b", "data[-1].id"); "$" is the whole document (docs/sources.md, "Paths")');
/** A JSONPath that may select many values (wildcards, filters), for places that collect lists. */
const query = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = jsonPathProblem(value, { singular: false });
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ title: 'JSONPath query' })
  .describe('an RFC 9535 JSONPath query that may select many values, e.g. "$.errors[?@.category == \'OBJECT_NOT_FOUND\'].context.ids[*]"');
const urlPath = z.string().regex(/^\//, 'must start with "/"').meta({ title: 'path template' });

const transformName = z.enum(TRANSFORM_NAMES).describe('how the raw value becomes the unified one (default: string)');

/** One mapped field: a path, or a path plus a named transform. */
const fieldMapping = z.union([
  path,
  z.strictObject({
    path,
    transform: transformName.optional(),
    values: z
      .record(z.string(), z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'must be a GraphQL enum value name'))
      .optional()
      .describe('for an enum field: the source\'s values → the enum\'s (`on-hold: HOLD`); unlisted ones go by their upper-case form, else UNKNOWN'),
  }),
]).describe('a path into the source record, or { path, transform, values }');
export type FieldMapping = z.infer<typeof fieldMapping>;

const lineItemsMapping = z.strictObject({
  path: path.describe('where the line item array sits in the order'),
  each: z.partialRecord(z.enum(LINE_ITEM_TARGETS), fieldMapping).describe('the mapping of one line item'),
});
export type LineItemsMapping = z.infer<typeof lineItemsMapping>;

/** Any JSON value: a request body template. */
const jsonValue: z.ZodType<unknown> = z
  .lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]))
  .meta({ id: 'jsonValue', description: 'any JSON value' });

/** The request of one operation, as a template (docs/sources.md, "Request templates"). */
const requestTemplate = {
  method: z.enum(['GET', 'POST']).default('GET').describe('HTTP method: GET, or POST with a JSON body'),
  path: urlPath.describe('path below baseUrl, a template: "/users/{id}/tickets"; a "?a=b" part is parsed as query parameters'),
  query: z.record(z.string(), z.string()).default({}).describe('query parameters, name → template ("{ids}" joins ids with commas); a parameter whose variable has no value is left out'),
  body: jsonValue.optional().describe('POST: the JSON body, a template; a string that is one variable alone keeps its JSON type ("{ids}" → an array, "{limit}" → a number)'),
};

/** Read many records in one request: the ids go into the path, query or body through `{ids}` / `[{ ... "{id}" ... }]`. */
const batchEndpoint = z
  .strictObject({
    ...requestTemplate,
    idType: z.enum(['string', 'integer']).default('string').describe('how "{ids}" and "{id}" standing alone in a JSON body are typed'),
    idsInQuery: z
      .enum(['comma', 'repeat'])
      .default('comma')
      .describe('how a query parameter that is "{ids}" alone carries the ids: joined with commas (`?id=1,2`) or the parameter repeated once per id (`?id=1&id=2`; name it `id[]` for APIs that want brackets)'),
    maxBatchSize: numeric(z.number().int().positive()).describe('the most ids one request may carry'),
    envelope: path.describe('where the item array sits in the response'),
    missing: query.optional().describe('ids the response itself reports as not found (e.g. HubSpot\'s 207 errors); they read as absent, not as a failed batch'),
    group: z.strictObject({
      key: path.describe('in one group: the requested id it answers'),
      items: path.describe('in one group: where its item array sits'),
    }).optional().describe('for responses grouped per requested id: { results: [{ device_id, events: [...] }] }'),
    idempotent: boolean().default(true).describe('whether a failed batch read may be sent again (POST reads are retried only when true)'),
  })
  .describe('read many records (or many parents\' children) in one request');

/** Read one key per request, for sources without a batch endpoint. */
const singleEndpoint = z
  .strictObject({
    ...requestTemplate,
    envelope: path.optional().describe('where the record (or the item array, for child entities) sits; absent: the whole body'),
    concurrency: numeric(z.number().int().positive()).default(8).describe('per-key requests in flight at once, across all queries'),
  })
  .describe('read one record (or one parent\'s children) per request; "{id}" names it');

const pagination = z
  .discriminatedUnion('style', [
    z.strictObject({
      style: z.literal('cursor').describe('the response names the next page\'s cursor; the request sends it as {cursor}'),
      nextCursorPath: path.describe('where the next cursor sits (absent or empty on the last page), e.g. "paging.next.after"'),
      hasMorePath: path.optional().describe('a flag that is true while more pages follow; when declared, a true flag without a cursor is an error'),
    }),
    z.strictObject({
      style: z.literal('lastItemId').describe('the next page starts after the last item\'s id ({cursor}) while a flag says more follow (Stripe\'s starting_after)'),
      hasMorePath: path.describe('the flag that is true while more pages follow, e.g. "has_more"'),
      idPath: path.optional().describe('where an item\'s cursor value sits (default: the entity\'s idPath)'),
    }),
    z.strictObject({
      style: z.literal('nextUrl').describe('the response holds the next page\'s URL (JSON:API links.next, Zendesk next_page); it must stay on baseUrl\'s origin'),
      nextUrlPath: path.describe('where the next URL sits (absent, null or empty on the last page)'),
    }),
    z.strictObject({
      style: z.literal('linkHeader').describe('the next page\'s URL comes in the RFC 8288 Link header, rel="next" (Shopify, GitHub); it must stay on baseUrl\'s origin'),
    }),
    z.strictObject({
      style: z.literal('page').describe('page numbers, {page}, counted from firstPage, with a total from the response'),
      firstPage: numeric(z.number().int().min(0)).default(1).describe('the number of the first page'),
      totalPagesPath: path.optional().describe('where the number of pages sits'),
      totalPath: path.optional().describe('where the number of records sits (pages are counted from it and pageSize)'),
    }),
    z.strictObject({
      style: z.literal('offset').describe('a record offset, {offset}, from 0, with the total from the response'),
      totalPath: path.describe('where the number of records sits'),
    }),
  ])
  .superRefine((p, ctx) => {
    if (p.style === 'page' && !p.totalPagesPath === !p.totalPath) ctx.addIssue({ code: 'custom', message: 'page pagination needs totalPagesPath or totalPath (one of them)' });
  })
  .describe('how the list moves from page to page (docs/sources.md, "Pagination")');
export type Pagination = z.infer<typeof pagination>;

const listEndpoint = z
  .strictObject({
    ...requestTemplate,
    envelope: path.describe('where the item array sits in each page'),
    pageSize: numeric(z.number().int().positive()).default(100).describe('records asked for per page: the value of {limit}'),
    pagination,
  })
  .describe('every record, page by page: what sync reads to build the link table');
export type ListEndpoint = z.infer<typeof listEndpoint>;

/** `30m`, `12h`, `7d`: a duration in whole seconds, minutes, hours or days, as milliseconds. */
const duration = z
  .string()
  .regex(/^\d+(s|m|h|d)$/, 'a duration such as "30m", "12h" or "7d"')
  .transform((text) => Number(text.slice(0, -1)) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[text.slice(-1) as 's' | 'm' | 'h' | 'd']);

/**
 * How `rosetta sync` reads an entity after its first complete pass. With `modifiedSince`, a pass reads only the records
 * changed since the last one (the list template sends `{since}`) and deletes nothing; a full pass, which reconciles
 * deletions, runs when `fullEvery` has passed since the last one, or on `rosetta sync --full`.
 */
const syncSchedule = z
  .strictObject({
    modifiedSince: z
      .strictObject({
        field: path.describe('where a record holds when it last changed (e.g. "updated_at"): the next pass asks for records changed since the latest value read'),
        format: z.enum(['iso', 'unix']).default('iso').describe('how the source writes that time and reads {since}: ISO-8601 text or Unix seconds'),
      })
      .optional()
      .describe('incremental passes: the list template sends "{since}" (e.g. query: { updated_since: "{since}" }), left out on a full pass'),
    fullEvery: z.union([z.number().int().positive(), duration]).default(86_400_000).describe('a full pass (every record read, deletions reconciled) once this long has passed since the last one: "30m", "12h", "7d", or milliseconds (default 24h)'),
  })
  .describe('incremental syncs of this entity (docs/linking.md, "Incremental syncs")');
export type SyncSchedule = z.infer<typeof syncSchedule>;

const SEARCH_KINDS = ['email', 'phone', 'email_md5'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

/** Live lookup by one identifier kind, used when a lookup misses the link table. */
const searchEndpoint = z
  .strictObject({
    ...requestTemplate,
    envelope: path.describe('where the array of matching records sits'),
    valueCase: z
      .enum(['normalized', 'as-typed', 'both'])
      .default('normalized')
      .describe('what {value} is: the value normalised as the hub matches it (emails lower-cased, phones E.164), as the user typed it (trimmed; for case-sensitive searches), or both (two requests when they differ)'),
  })
  .describe('search by one identifier kind; "{value}" is the value searched for');
export type SearchEndpoint = z.infer<typeof searchEndpoint>;

/** A child record read by its own id, for `customerByIdentity(kind: SOURCE_RECORD, value: "support:ticket:9742")`. */
const lookupEndpoint = z
  .strictObject({
    ...requestTemplate,
    envelope: path.optional().describe('where the record sits, or an array holding it (exactly one match expected); absent: the whole body'),
    parentPath: path.optional().describe('where the record names its parent record (default: the entity\'s parentPath)'),
  })
  .describe('read one child record by the id a user holds ("{id}": a ticket number, an order number) to find its parent\'s customer');

/**
 * Keeps an entity's records (or, for child entities, each parent's list) across requests: within `ttlMs` they
 * answer without an upstream call; for `staleWhileRevalidateMs` after that they are served at once while one
 * background read refreshes them. Absent (the default): every query reads the source live.
 */
const recordCache = z
  .strictObject({
    ttlMs: numeric(z.number().int().positive()).describe('how long a kept record answers without an upstream call'),
    staleWhileRevalidateMs: numeric(z.number().int().nonnegative()).default(0).describe('how long after ttlMs a kept record is still served at once while one background read refreshes it'),
    maxEntries: numeric(z.number().int().positive()).default(10_000).describe('records (or parents\' lists) kept, least recently used dropped first'),
  })
  .describe('keep this entity\'s records across requests; absent: every query reads the source live');
export type RecordCacheConfig = z.infer<typeof recordCache>;

/** Which of a customer's linked records a field's write goes to (docs/write-back.md, "Policies"). */
const WRITE_POLICIES = ['all', 'systemOfRecord'] as const;
export type WritePolicy = (typeof WRITE_POLICIES)[number];

/**
 * How the hub writes a changed field back to one of this entity's records: a request template over `{id}` and the
 * unified fields (`{email}`, `{firstName}`, `{emailConsent}`…). A body key whose field the write does not change is
 * left out, so one template serves every partial update; the fields it names are the fields it can write.
 */
const writeEndpoint = z
  .strictObject({
    method: z.enum(['PATCH', 'PUT', 'POST']).default('PATCH').describe('PATCH (partial update), PUT (retried: sending it twice leaves the same record) or POST'),
    path: urlPath.describe('path below baseUrl, a template naming the record: "/contacts/{id}"'),
    query: z.record(z.string(), z.string()).default({}).describe('query parameters, name → template'),
    body: jsonValue.optional().describe('the JSON body, a template over the unified fields: { "primary_email": "{email}" }; a key whose field is not being written is left out, and so is an object left empty'),
    envelope: path.optional().describe('where the written record sits in the response (absent: the whole body); it goes through the link table as a webhook\'s record would'),
    readBack: boolean()
      .default(false)
      .describe('the answer holds only the changed properties (HubSpot\'s PATCH): read the written record back with the entity\'s own read (one more request per record) before it goes through the link table, which needs the whole record'),
    idempotencyHeader: z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name').optional().describe('the header the source reads an idempotency key from (e.g. Idempotency-Key): a write carrying one may be retried'),
    policy: z.partialRecord(z.enum(WRITE_FIELDS), z.enum(WRITE_POLICIES)).default({}).describe('per field: `all` (the default) writes every linked record of this entity; `systemOfRecord` only when this record is the customer\'s highest-ranked writable holder of the field (survivorship.sourcePriority)'),
  })
  .describe('write-back: how a changed field reaches this entity\'s records (docs/write-back.md)');
export type WriteEndpoint = z.infer<typeof writeEndpoint>;

const identifier = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.enum(['email', 'phone', 'email_md5']).describe('the kind of value: emails are matched lower-cased (and per identity.dotAndPlusInsensitiveDomains), phones as E.164, email_md5 as the hex MD5 of the normalised email'),
      path: path.describe('where the value sits in the record'),
    }),
    z.strictObject({
      kind: z.literal('reference').describe('the record names a record of another entity (a shop customer\'s CRM id): both belong to one customer'),
      path: path.describe('where the other record\'s id sits in this record'),
      refersTo: z.string().regex(/^[\w-]+\.[\w-]+$/, 'must be "source.entity"').describe('the entity that id belongs to, as "source.entity"'),
    }),
  ])
  .describe('one value that links records into a customer');

const entity = z
  .strictObject({
    provides: z
      .union([z.enum(Object.keys(UNIFIED_TARGETS) as [UnifiedTarget, ...UnifiedTarget[]]), z.templateLiteral(['Customer.', z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/)])], {
        error: 'must be a unified shape (profile, marketing, orders, tickets, events) or a Customer field an extension declares ("Customer.<field>")',
      })
      .optional()
      .describe('the unified shape this entity feeds: profile, marketing (per record) or orders, tickets, events (children of a parent), or a Customer field an extension declares ("Customer.subscriptions", children of a parent; docs/extensions.md)'),
    idPath: path.default('id').describe('where a record\'s own id sits'),
    parent: z.string().optional().describe('for child entities (orders, tickets, events): the sibling entity whose record ids key them'),
    parentPath: path.optional().describe('where a child item names its parent record, when a flat batch response mixes several parents'),
    batch: batchEndpoint.optional(),
    single: singleEndpoint.optional(),
    list: listEndpoint.optional(),
    sync: syncSchedule.optional(),
    search: z.partialRecord(z.enum(SEARCH_KINDS), searchEndpoint).optional().describe('live lookup per identifier kind (email, phone, email_md5), used when a lookup misses the link table'),
    lookup: lookupEndpoint.optional(),
    versionPath: path.optional().describe('where a record holds its version (updated_at, a revision number): the link table ignores an event or page that brings an older or equal one'),
    idIsPersonal: boolean().default(false).describe('the record id is derived from personal data (e.g. md5 of the email): callers without pii:identifiers see it masked, and lookups by it are audited'),
    identifiers: z.array(identifier).default([]).describe('what links this entity\'s records into one customer'),
    mapping: z.record(z.string(), z.union([fieldMapping, lineItemsMapping])).default({}).describe('unified field → where it sits in the record'),
    cache: recordCache.optional(),
    write: writeEndpoint.optional(),
    sort: z
      .strictObject({
        field: z.string().min(1).describe('a mapped field of the extension type, e.g. createdAt'),
        direction: z.enum(['asc', 'desc']).default('desc').describe('desc: newest (or largest) first; asc: oldest first; absent values sort last either way'),
      })
      .optional()
      .describe('for extension lists (provides: Customer.<field>): the order of the merged list before `first` applies; absent: as the sources sent it'),
  })
  .superRefine((e, ctx) => {
    if (e.write && (e.parent || !e.provides || !(RECORD_TARGETS as readonly string[]).includes(e.provides))) {
      ctx.addIssue({ code: 'custom', path: ['write'], message: 'only linked entities that provide profile or marketing are written back' });
    }
    if (e.write) {
      const template = JSON.stringify([e.write.path, e.write.query, e.write.body ?? null]);
      for (const field of Object.keys(e.write.policy)) {
        if (!template.includes(`{${field}}`)) ctx.addIssue({ code: 'custom', path: ['write', 'policy', field], message: `the write's template does not name {${field}}: it cannot write it` });
      }
    }
    if (!e.batch && !e.single && e.provides) {
      ctx.addIssue({ code: 'custom', message: 'an entity that provides data needs a batch or single endpoint' });
    }
    if (e.cache && !e.provides) {
      ctx.addIssue({ code: 'custom', path: ['cache'], message: 'only entities that provide data are read at query time: there is nothing to cache' });
    }
    const isChild = isChildTarget(e.provides);
    if (e.sort && !isExtensionTarget(e.provides)) ctx.addIssue({ code: 'custom', path: ['sort'], message: 'sort orders an extension list (provides: Customer.<field>); the core lists keep their own order' });
    if (isChild && !e.parent) {
      ctx.addIssue({ code: 'custom', path: ['parent'], message: `entities providing ${e.provides} need a parent entity` });
    }
    if (isChild && e.batch && !e.batch.group && !e.parentPath) {
      ctx.addIssue({ code: 'custom', path: ['parentPath'], message: 'a flat batch of child items needs parentPath (or batch.group)' });
    }
    if (e.lookup && !e.parent) ctx.addIssue({ code: 'custom', path: ['lookup'], message: 'lookup finds a child record\'s parent: the entity needs a parent' });
    if (e.lookup && !e.lookup.parentPath && !e.parentPath) ctx.addIssue({ code: 'custom', path: ['lookup', 'parentPath'], message: 'lookup needs parentPath (here or on the entity) to follow the record to its parent' });
    for (const problem of endpointTemplateProblems(e)) ctx.addIssue({ code: 'custom', path: problem.at, message: problem.message });
    const listSendsSince = e.list !== undefined && JSON.stringify({ path: e.list.path, query: e.list.query, body: e.list.body }).includes('{since}');
    if (e.sync?.modifiedSince && !e.list) ctx.addIssue({ code: 'custom', path: ['sync', 'modifiedSince'], message: 'an incremental sync reads the list endpoint: the entity needs one' });
    else if (e.sync?.modifiedSince && !listSendsSince) ctx.addIssue({ code: 'custom', path: ['list'], message: 'sync.modifiedSince needs the list template to send "{since}" (e.g. query: { updated_since: "{since}" })' });
    if (listSendsSince && !e.sync?.modifiedSince) ctx.addIssue({ code: 'custom', path: ['list'], message: 'the list template sends "{since}", which only sync.modifiedSince fills: declare it' });
    // Extension lists and extension profile fields are checked against the extension SDL once the whole config is
    // known (src/extensions/validate.ts): the SDL, not this table, says which fields they have.
    if (isExtensionTarget(e.provides)) return;
    const allowed: readonly string[] = e.provides ? UNIFIED_TARGETS[e.provides] : [];
    for (const key of Object.keys(e.mapping)) {
      if (!allowed.includes(key) && e.provides !== 'profile') {
        ctx.addIssue({
          code: 'custom',
          path: ['mapping', key],
          message: e.provides
            ? `unknown ${e.provides} field "${key}"; expected one of: ${allowed.join(', ')}`
            : 'mapping needs "provides" to say which unified shape it feeds',
        });
      }
    }
  });
export type EntityConfig = z.infer<typeof entity>;

/** A secret: write it as `${ENV_VAR}` so the config loader takes it from the environment, never from the file. */
const secret = (what: string) => z.string().min(1).describe(`${what}; write it as "\${ENV_VAR}" so it comes from the environment`);

const oauth2ClientCredentials = z
  .strictObject({
    type: z.literal('oauth2ClientCredentials').describe('OAuth2 client credentials grant'),
    tokenUrl: z
      .url({ protocol: /^https?$/ })
      .refine((url) => url.startsWith('https:') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url), 'a token URL must be https (plain http only on loopback)')
      .describe('the token endpoint (RFC 6749 §4.4): the hub POSTs grant_type=client_credentials to it, form-encoded'),
    clientId: secret('the OAuth2 client id'),
    clientSecret: secret('the OAuth2 client secret'),
    scope: z.string().min(1).optional().describe('space-separated scopes to ask for; absent: the client\'s default scopes'),
    audience: z.string().min(1).optional().describe('the `audience` parameter some providers (Auth0, Okta) need to name the API'),
    authStyle: z
      .enum(['body', 'basic'])
      .default('basic')
      .describe('how the client authenticates to the token endpoint: `basic` (HTTP Basic, RFC 6749 §2.3.1, which every server must accept) or `body` (client_id and client_secret as form fields)'),
    refreshBeforeExpiryMs: numeric(z.number().int().min(0))
      .default(30_000)
      .describe('a token is fetched anew this long before its `expires_in` runs out, so no request leaves with a token about to expire'),
  })
  .describe('OAuth2 client credentials: a bearer token from the token endpoint, cached until shortly before it expires, one fetch in flight at a time, fetched anew once when the source answers 401');

const auth = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none').describe('no credentials') }).describe('no credentials'),
    z.strictObject({ type: z.literal('bearer').describe('a bearer token'), token: secret('the token') }).describe('`Authorization: Bearer <token>`'),
    z
      .strictObject({ type: z.literal('header').describe('a key in a header'), name: z.string().min(1).describe('the header, e.g. X-Shopify-Access-Token'), value: secret('its value') })
      .describe('an API key in a header of your choice'),
    z
      .strictObject({ type: z.literal('basic').describe('HTTP Basic'), username: z.string().describe('the user name'), password: z.string().describe('the password; write it as "${ENV_VAR}"') })
      .describe('HTTP Basic (RFC 7617)'),
    z
      .strictObject({ type: z.literal('apiKeyQuery').describe('a key in a query parameter'), param: z.string().min(1).describe('the query parameter, e.g. api_key'), value: secret('the key') })
      .describe('an API key in a query parameter of every request (some APIs accept nothing else; prefer a header where the API allows one: URLs end up in proxies\' logs)'),
    oauth2ClientCredentials,
  ])
  .describe('how the hub authenticates to the source; a 401 or 403 from it is SOURCE_AUTH_FAILED');
export type AuthConfig = z.infer<typeof auth>;
export type OAuth2ClientCredentialsConfig = z.infer<typeof oauth2ClientCredentials>;

/** A token bucket per source, shared by every call the hub makes to it. */
const rateLimit = z
  .strictObject({
    requestsPerSecond: numeric(z.number().positive()).describe('the sustained rate: tokens added to the bucket per second (fractions allowed: 0.5 is one request every two seconds)'),
    burst: numeric(z.number().int().positive()).describe('the bucket\'s size: requests that may go out at once after the source sat idle'),
  })
  .describe(
    'the most the hub asks of the source: over any run from idle, at most burst + requestsPerSecond × seconds requests. Shared by queries, the link sync, cache refreshes and on-demand probes; a query waits ahead of sync and refresh calls, and no longer than its deadline. Shared by every replica through `rateLimits.redis`, else per process',
  );
export type RateLimitConfig = z.infer<typeof rateLimit>;

/** How the hub treats a failing source (issue: resilience); every key has a default, so the section is optional. */
const resilience = z.strictObject({
  retry: z
    .strictObject({
      maxRetries: numeric(z.number().int().min(0).max(10)).default(2).describe('retries after the first attempt'),
      initialDelayMs: numeric(z.number().int().min(0)).default(50).describe('the first backoff (jittered, doubling per retry)'),
      maxDelayMs: numeric(z.number().int().min(0)).default(1_000).describe('the longest backoff between two attempts'),
    })
    .prefault({})
    .describe('retries of idempotent reads (GET, and batch reads with `batch.idempotent`) that failed by timeout, connection or 5xx, always within the query\'s deadline'),
  circuitBreaker: z.strictObject({
    failureRate: numeric(z.number().gt(0).max(1)).default(0.5).describe('the share of failed requests over the window (0 < rate ≤ 1) that opens the circuit'),
    windowMs: numeric(z.number().int().positive()).default(10_000).describe('the sliding window the failure rate is measured over'),
    minimumRequests: numeric(z.number().int().positive()).default(10).describe('requests in the window before the rate counts (a single failure after idle does not open it)'),
    halfOpenAfterMs: numeric(z.number().int().positive()).default(5_000).describe('how long an open circuit refuses calls (CIRCUIT_OPEN) before one trial request'),
    maxRetryAfterMs: numeric(z.number().int().positive())
      .default(3_600_000)
      .describe("the longest `Retry-After` (on a 429 or 503) the circuit honours: it opens for max(halfOpenAfterMs, Retry-After) up to this, so a source's mistaken `Retry-After: 99999999` cannot switch it off for good"),
  }).prefault({}).describe('stops calling a source that keeps failing, so queries degrade at once instead of waiting on it'),
  bulkhead: z.strictObject({
    maxConcurrent: numeric(z.number().int().positive()).optional().describe('concurrent requests to the source; the connection pool is sized to it. Default: `connections`'),
    maxQueued: numeric(z.number().int().min(0)).default(1_000).describe('requests that may wait for a free slot (each no longer than its query\'s deadline); beyond that they fail at once'),
  }).prefault({}).describe('caps the requests in flight to the source'),
}).prefault({}).describe('how the hub treats a failing source; every key has a default');
export type ResilienceConfig = z.infer<typeof resilience>;

/** Headers the hub itself sets per request or per connection: a config that set them would break the request. */
const HUB_OWNED_HEADERS = ['host', 'content-length', 'content-type', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer'];

const staticHeaders = z
  .record(z.string(), z.string().regex(/^[^\r\n]*$/, 'a header value is one line'))
  // Names are checked here rather than by the key schema, whose failures zod reports only as "Invalid key in record".
  .superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'must be an HTTP header name (RFC 9110 token)' });
      else if (HUB_OWNED_HEADERS.includes(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: 'the hub sets this header itself' });
    }
  })
  .default({})
  .describe('headers sent with every request to the source, e.g. { Intercom-Version: "2.11" } or { Stripe-Version: "2024-06-20" } to pin the API version the mapping was written for; values may come from the environment. The auth\'s own header wins over one of the same name here');

const source = z.strictObject({
  baseUrl: z.url({ protocol: /^https?$/ }).describe('the API\'s base URL; every operation\'s path goes below it (a path part of it is kept)'),
  auth: auth.default({ type: 'none' }),
  headers: staticHeaders,
  timeoutMs: numeric(z.number().int().positive()).default(5_000).describe('total time one request may take, connect to last body byte'),
  connectTimeoutMs: numeric(z.number().int().positive()).default(2_000).describe('time to open a connection (capped by timeoutMs)'),
  resilience,
  rateLimit: rateLimit.optional(),
  webhook: z
    .strictObject({
      secret: z.string().min(16, 'use a secret of at least 16 characters').describe('the shared HMAC-SHA256 key, at least 16 characters; write it as "${ENV_VAR}"'),
      signatureHeader: z
        .string()
        .default('x-rosetta-signature')
        .describe('the header carrying `t=<unix seconds>,v1=<hex HMAC of "<t>.<raw body>">` (or `sha256=<hex HMAC of the body>` with `replayProtection: eventId`)'),
      toleranceSeconds: z.number().int().positive().default(300).describe('how far a signed timestamp may be from now (either way), and how long an event id is remembered'),
      replayProtection: z
        .enum(['timestamp', 'eventId'])
        .default('timestamp')
        .describe('`timestamp`: the signature binds a timestamp, and one older than the tolerance is refused. `eventId`, for sources that cannot sign a timestamp: each body carries a unique id at `eventIdPath`, and one already applied within the tolerance is refused'),
      eventIdPath: path.default('event_id').describe('with `replayProtection: eventId`: where the event\'s unique id sits in the body'),
    })
    .optional()
    .describe('signed change notifications at `POST /webhooks/<source>`: HMAC-SHA256 of the raw body with the secret'),
  connections: numeric(z.number().int().positive()).default(16).describe('keep-alive sockets to the source: the connection pool\'s size'),
  entities: z
    .record(z.string().regex(/^[\w-]+$/), entity)
    .refine((e) => Object.keys(e).length > 0, 'a source needs at least one entity')
    .describe('the source\'s record types, by name (letters, digits, - and _)'),
});
export type SourceConfig = z.infer<typeof source>;

const linkStore = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('sqlite').describe('embedded SQLite: one file, no server, one machine'),
      path: z.string().default('data/links.sqlite').describe('the database file (created with its folder when absent)'),
    }),
    z.strictObject({
      kind: z.literal('postgres').describe('PostgreSQL, shared by replicas (LISTEN/NOTIFY tells each to drop cached links)'),
      url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').describe('a postgres:// URL; credentials belong in the environment ("${DATABASE_URL}")'),
      schema: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier (letters, digits, _)')
        .optional()
        .describe('the schema the tables live in (default `public`); it goes into search_path, so plain lower-case names only'),
    }),
  ])
  .describe('where the identity-link table lives. With no `linkStore` in the file, `DATABASE_URL` in the environment selects postgres');

/** A permission a role grants: `pii:email`, every permission under a prefix (`pii:*`), or everything (`*`). */
const permission = z.string().regex(/^(\*|[\w-]+(:[\w-]+)*(:\*)?)$/, 'permissions look like "pii:email", "pii:*" or "*"');

const role = z.strictObject({
  permissions: z.array(permission).default([]).describe('what the role may see and do: "pii:email", every permission under a prefix ("pii:*"), or everything ("*") (docs/operations.md)'),
  consentRequired: boolean().default(false).describe('the role sees fields marked @consented (and the personal data beneath them) only for customers who consented'),
});

const apiKey = z.strictObject({
  name: z.string().regex(/^[\w.@-]+$/, 'key names are letters, digits, ., @, - and _').describe('who the key belongs to, as the audit log names it'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the lower-case hex SHA-256 of the key').describe('the lower-case hex SHA-256 of the key; only the hash is ever written down: `printf %s "$KEY" | sha256sum`'),
  roles: z.array(z.string()).min(1).describe('the roles the key grants (names from auth.roles)'),
});

const jwksUrl = z
  .url({ protocol: /^https?$/ })
  .refine((url) => url.startsWith('https:') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url), 'a JWKS URL must be https (plain http only on loopback)');

const jwt = z.strictObject({
  issuer: z.string().min(1).describe('the `iss` every token must carry'),
  audience: z.string().min(1).describe('the `aud` every token must carry'),
  jwks: z
    .union([
      z.strictObject({ file: z.string().min(1).describe('a JSON Web Key Set file') }),
      z.strictObject({ url: jwksUrl.describe('the issuer\'s JWKS URL, https (plain http only on loopback); keys are cached and refetched on an unknown key id') }),
    ])
    .describe('the issuer\'s public keys: { file } or { url }'),
  algorithms: z
    .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
    .min(1)
    .default(['RS256', 'PS256', 'ES256', 'EdDSA'])
    .describe('the signature algorithms accepted; asymmetric only, because a shared secret would let every verifier mint tokens'),
  rolesClaim: z.string().min(1).default('roles').describe('the claim listing the caller\'s role names (a string or an array of strings)'),
  clockToleranceSec: numeric(z.number().int().min(0).max(300)).default(30).describe('how far `exp` and `nbf` may be off the hub\'s clock'),
});

const authSection = z
  .strictObject({
    roles: z.record(z.string().regex(/^[\w-]+$/, 'role names are letters, digits, - and _'), role).describe('named sets of permissions that API keys and JWTs grant'),
    apiKeys: z.array(apiKey).default([]).describe('API keys callers send in the `x-api-key` header'),
    jwt: jwt.optional().describe('JWTs from an identity provider, verified against its public keys'),
    audit: z
      .strictObject({
        retentionDays: numeric(z.number().int().positive()).default(90).describe('audit entries older than this are pruned (at start and hourly)'),
      })
      .prefault({})
      .describe('the audit log of reads of personal data and of link changes'),
  })
  .superRefine((auth, ctx) => {
    if (auth.apiKeys.length === 0 && !auth.jwt) ctx.addIssue({ code: 'custom', message: 'auth needs apiKeys or jwt: with neither, no caller could get in' });
    const names = new Set<string>();
    for (const [i, key] of auth.apiKeys.entries()) {
      if (names.has(key.name)) ctx.addIssue({ code: 'custom', path: ['apiKeys', i, 'name'], message: `duplicate key name "${key.name}"` });
      names.add(key.name);
      for (const [j, name] of key.roles.entries()) {
        if (!auth.roles[name]) ctx.addIssue({ code: 'custom', path: ['apiKeys', i, 'roles', j], message: `no role "${name}"` });
      }
    }
  });
export type AuthSection = z.infer<typeof authSection>;
export type RoleConfig = z.infer<typeof role>;

/** Bounds on what one request may ask for; every limit is checked before anything executes. */
const limitsSection = z.strictObject({
  maxDepth: numeric(z.number().int().positive()).default(10).describe('the deepest selection a document may nest'),
  maxCost: numeric(z.number().int().positive())
    .default(1_000_000)
    .describe('graphql-armor\'s cost: objects 2, scalars 1, ×1.5 per level, list fields × their `first`/`last` (defaults included)'),
  maxAliases: numeric(z.number().int().nonnegative()).default(15).describe('aliases one document may use'),
  maxDirectives: numeric(z.number().int().nonnegative()).default(20).describe('directives one document may use'),
  maxRepeatedFields: numeric(z.number().int().positive())
    .default(25)
    .describe('how often one field with a sub-selection may appear in a document (graphql-js validates repeats pairwise)'),
  maxTokens: numeric(z.number().int().positive()).default(2_000).describe('lexical tokens one document may hold (checked before parsing finishes)'),
  maxBodyBytes: numeric(z.number().int().positive()).default(1024 * 1024).describe('the largest request body, in bytes (413 beyond)'),
  maxUpstreamCalls: numeric(z.number().int().positive())
    .default(1_000)
    .describe('upstream calls one request may cause: estimated from its list sizes and facets before it runs (refused when over), and counted while it runs (calls beyond fail with UPSTREAM_BUDGET_EXCEEDED)'),
  perCaller: z
    .strictObject({
      maxConcurrent: numeric(z.number().int().positive()).describe('requests one caller may have in flight at once'),
      requestsPerSecond: numeric(z.number().positive()).describe('requests one caller may start per second'),
    })
    .optional()
    .describe('per caller (API key, JWT subject, or IP address on an open hub): requests at once, and per second. Absent: no limit'),
  introspection: boolean().optional().describe('GraphQL introspection. Default: on, except in production mode'),
  landingPage: boolean().optional().describe('the offline playground (GraphiQL for browsers at GET /graphql). Default: on, except in production mode'),
});
export type LimitsSection = z.infer<typeof limitsSection>;

/** What /metrics shows and to whom (docs/operations.md). */
const metricsSection = z.strictObject({
  operationNames: z
    .array(z.string().min(1))
    .optional()
    .describe('the operation names metrics are labelled with (e.g. your trusted documents\' names); any other name is `other`. Absent: the first `maxOperationNames` distinct names the hub sees, then `other`'),
  maxOperationNames: numeric(z.number().int().positive().max(1_000)).default(100).describe('without operationNames: how many distinct operation names get their own label'),
  port: numeric(z.number().int().min(0).max(65_535)).optional().describe('serve /metrics on this port (on `server.host`) instead of the GraphQL port; 0 picks a free one'),
  key: z
    .string()
    .min(16, 'a metrics key needs at least 16 characters')
    .optional()
    .describe('when set, /metrics needs `Authorization: Bearer <key>` (from the environment: `key: ${METRICS_KEY}`)'),
});
export type MetricsSection = z.infer<typeof metricsSection>;

/** Cross-origin access for browser apps: exact origins only, because a wildcard cannot carry credentials. */
const corsSection = z.strictObject({
  origins: z
    .array(z.url().refine((value) => new URL(value).origin === value, 'must be an origin: scheme://host[:port], no path or trailing slash'))
    .min(1)
    .describe('the origins (scheme://host[:port], no path or trailing slash) whose pages may call the hub'),
  credentials: boolean()
    .default(false)
    .describe('lets pages send cookies or HTTP auth (Access-Control-Allow-Credentials); API keys and bearer tokens need no such grant'),
  maxAgeSec: numeric(z.number().int().nonnegative().max(86_400)).default(600).describe('how long a browser may reuse a preflight\'s answer'),
});
export type CorsSection = z.infer<typeof corsSection>;

/** Bounds on live updates: each subscription holds a source of events and re-reads its customer per event. */
const subscriptionsSection = z.strictObject({
  enabled: boolean().default(true).describe('accept WebSocket upgrades at /graphql'),
  maxPerConnection: numeric(z.number().int().positive()).default(20).describe('subscriptions one socket may hold'),
  maxPerCaller: numeric(z.number().int().positive()).default(100).describe('subscriptions one caller may hold across its sockets'),
  maxEventsPerSecond: numeric(z.number().int().positive())
    .default(20)
    .describe('events one subscription may deliver per second; more are dropped and counted (the client re-reads on the next)'),
  keepAliveMs: numeric(z.number().int().positive()).default(15_000).describe('the graphql-ws ping interval: keeps proxies from closing idle sockets and finds dead peers'),
  connectionInitWaitMs: numeric(z.number().int().positive()).default(5_000).describe('a client that opens a socket but sends no `connection_init` within this is closed (4408)'),
});

export const configSchema = z
  .strictObject({
    server: z.strictObject({
      host: z.string().default('127.0.0.1').describe('the interface to listen on (0.0.0.0 for every interface)'),
      port: numeric(z.number().int().min(0).max(65_535)).default(4000).describe('the port to listen on; 0 picks a free one'),
      queryDeadlineMs: numeric(z.number().int().positive())
        .default(10_000)
        .describe('no upstream wait a query causes (retries, queues, backoff included) lasts past this'),
      workers: z
        .union([numeric(z.number().int().positive()), z.literal('auto')], { error: 'must be a positive integer or "auto"' })
        .default(1)
        .describe('hub processes sharing the port (node:cluster, round-robin): a positive integer, or `auto` for one per core (os.availableParallelism()). Each has its own caches and breakers and a share of every source\'s caps'),
      cors: corsSection.optional().describe('browser pages on these origins may call /graphql (CORS); absent, no cross-origin page may'),
      subscriptions: subscriptionsSection.prefault({}).describe('live updates over graphql-ws at /graphql (WebSocket upgrade)'),
    }).prefault({}).describe('the hub\'s HTTP server'),
    linkStore: linkStore.default({ kind: 'sqlite', path: 'data/links.sqlite' }),
    linkCache: z.strictObject({
      maxEntries: numeric(z.number().int().positive()).default(50_000).describe('customers whose links are kept in memory'),
      ttlMs: numeric(z.number().int().positive()).default(60_000).describe('how long kept links answer without reading the store (merges invalidate them at once)'),
    }).default({ maxEntries: 50_000, ttlMs: 60_000 }).describe('the in-process LRU in front of the link store'),
    identity: z.strictObject({
      defaultPhoneRegion: z.string().length(2).default('US').describe('the ISO 3166 region a phone number without a country code is read in'),
      blocked: z.strictObject({
        values: z.array(z.string()).default([]).describe('exact values (compared normalised) that link nothing, e.g. test@test.com'),
        patterns: z.array(z.string()).default([]).describe('regular expressions over normalised values that link nothing'),
      }).default({ values: [], patterns: [] }).describe('values that must never link records: placeholders and junk'),
      dotAndPlusInsensitiveDomains: z
        .array(z.string())
        .default([])
        .describe('domains whose mailboxes ignore dots and "+tags" in the local part (a.b+x@gmail.com is ab@gmail.com)'),
      caps: z
        .partialRecord(z.enum(['email', 'phone', 'email_md5']), numeric(z.number().int().positive()))
        .default({ email: 5, phone: 5 })
        .describe('merge protection: at most this many distinct values of a kind per customer'),
      uniquePerCustomer: z
        .array(z.string().regex(/^[\w-]+\.[\w-]+$/, 'must be "source.entity"'))
        .default([])
        .describe('`source.entity` pairs one person has at most one record of (e.g. a CRM contact); merges that would break this are refused'),
      onDemand: z.strictObject({
        enabled: boolean().default(true).describe('probe the sources\' search endpoints on a miss'),
        missTtlMs: numeric(z.number().int().nonnegative()).default(30_000).describe('how long a lookup that found nothing anywhere is remembered, so misses cannot flood the sources'),
      }).default({ enabled: true, missTtlMs: 30_000 }).describe('a lookup that misses the table probes the sources\' search endpoints and links what it finds'),
      sharedValues: z.strictObject({
        minNames: z
          .number()
          .int()
          .min(0)
          .default(3)
          .refine((n) => n === 0 || n >= 2, 'must be 0 (off) or at least 2')
          .describe('a value held by records of one source entity under at least this many different names (records without a name do not count) is suspected of being shared by different people: it links nobody, and shows in `linkConflicts` until a reviewer allows or blocks it. 0 turns detection off'),
      }).prefault({}).describe('detection of values shared by different people (a family\'s phone, an office email)'),
      forget: z.strictObject({
        enabled: boolean().default(false).describe('`forgetCustomer` is refused unless enabled (and, with auth, the caller holds the forget permission)'),
        secret: z
          .string()
          .min(32, 'must be at least 32 characters (a random value from the environment)')
          .optional()
          .describe('keys the HMAC-SHA256 of each forgotten record\'s key that the store keeps, so the record is not linked again (some record ids are personal data, such as an email\'s MD5). From the environment; at least 32 characters'),
      }).default({ enabled: false }).describe('the right to be forgotten: removing a customer\'s links and cached data everywhere, audited'),
    }).default({
      defaultPhoneRegion: 'US',
      blocked: { values: [], patterns: [] },
      dotAndPlusInsensitiveDomains: [],
      caps: { email: 5, phone: 5 },
      uniquePerCustomer: [],
      onDemand: { enabled: true, missTtlMs: 30_000 },
      sharedValues: { minNames: 3 },
      forget: { enabled: false },
    }).describe('how records are matched into customers, and what protects the matching'),
    survivorship: z.strictObject({
      sourcePriority: z.array(z.string()).default([]).describe('source names, most trusted first; ties (and sources not listed) fall back to the most recently updated value'),
    }).default({ sourcePriority: [] }).describe('which source\'s value wins for a field several sources hold'),
    sources: z.record(z.string().regex(/^[\w-]+$/, 'source names are letters, digits, - and _'), source).describe('the source systems, by name (letters, digits, - and _)'),
    mode: z
      .enum(['development', 'production'])
      .optional()
      .describe('`production` (or NODE_ENV=production) turns off introspection and the landing page unless `limits` enables them, and refuses to start without `auth`'),
    auth: authSection.optional().describe('absent: the hub is open to every caller (the demo). Present: every request needs an API key or a JWT'),
    limits: limitsSection.prefault({}).describe('bounds on what one request may ask for; every limit is checked before anything executes'),
    metrics: metricsSection.prefault({}).describe('what /metrics shows and to whom (docs/operations.md)'),
    rateLimits: z
      .strictObject({
        redis: z
          .strictObject({
            url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').describe('e.g. "${REDIS_URL}"; credentials belong in the environment'),
            keyPrefix: z.string().min(1).default('rosetta:rate:').describe('prefix of the bucket keys (one key per source): replicas sharing a budget use the same prefix'),
          })
          .optional()
          .describe("where every replica's sources' token buckets live, so replicas share one budget per source. Absent: each process keeps its own buckets (with `server.workers`, each worker a share of the rate)"),
      })
      .prefault({})
      .describe("shared state of the sources' `rateLimit` buckets"),
    /** Write-back: mutations that change a customer in every source that holds it (docs/write-back.md). */
    writes: z.strictObject({
      idempotencyRetentionHours: numeric(z.number().positive().max(24 * 30))
        .default(24)
        .describe("how long a write's receipt is kept under its idempotency key (in the link store, so every replica sees it) and returned again instead of writing twice"),
    }).prefault({}).describe('write-back mutations: updateCustomerProfile, setMarketingConsent (docs/write-back.md)'),
    schema: z
      .strictObject({
        extensions: z
          .string()
          .min(1)
          .optional()
          .describe('a folder of .graphql files that extend Customer and Profile and declare new types, provided by entities here (docs/extensions.md); relative to the config file'),
      })
      .prefault({})
      .describe('the graph beyond the core SDL'),
    /** Serve an Apollo Federation 2 subgraph (`_service`, `_entities`, `Customer @key(fields: "id")`) for a router to compose. */
    federation: z
      .strictObject({ enabled: boolean().default(false).describe('serve the subgraph fields') })
      .prefault({})
      .describe('serve an Apollo Federation 2 subgraph (`_service`, `_entities`, `Customer @key(fields: "id")`) for a router to compose'),
  })
  .superRefine((config, ctx) => {
    for (const [sourceName, src] of Object.entries(config.sources)) {
      for (const [entityName, ent] of Object.entries(src.entities)) {
        const here = ['sources', sourceName, 'entities', entityName];
        const cycle = parentCycleFrom(entityName, src.entities);
        if (cycle) {
          // A child whose parents lead back to itself is never reached from a customer: its lists would be empty.
          ctx.addIssue({ code: 'custom', path: [...here, 'parent'], message: `parent cycle: ${cycle.join(' → ')}` });
        }
        if (ent.parent && !src.entities[ent.parent]) {
          ctx.addIssue({ code: 'custom', path: [...here, 'parent'], message: `no entity "${ent.parent}" in source "${sourceName}"` });
        }
        if (!config.schema.extensions) {
          // Without extensions, the core shapes are all there is: a profile field or Customer field outside them is a typo.
          if (isExtensionTarget(ent.provides)) {
            ctx.addIssue({ code: 'custom', path: [...here, 'provides'], message: `${ent.provides} is no core field: declare it in an extension SDL file and name the folder in schema.extensions` });
          }
          if (ent.provides === 'profile') {
            const allowed: readonly string[] = UNIFIED_TARGETS.profile;
            for (const key of Object.keys(ent.mapping)) {
              if (!allowed.includes(key)) ctx.addIssue({ code: 'custom', path: [...here, 'mapping', key], message: `unknown profile field "${key}"; expected one of: ${allowed.join(', ')} (or a Profile field declared in schema.extensions)` });
            }
          }
        }
        for (const [i, id] of ent.identifiers.entries()) {
          if (id.kind !== 'reference') continue;
          const [refSource = '', refEntity = ''] = id.refersTo.split('.');
          if (!config.sources[refSource]?.entities[refEntity]) {
            ctx.addIssue({ code: 'custom', path: [...here, 'identifiers', i, 'refersTo'], message: `no entity "${id.refersTo}"` });
          }
        }
      }
    }
    for (const [i, name] of config.survivorship.sourcePriority.entries()) {
      if (!config.sources[name]) {
        ctx.addIssue({ code: 'custom', path: ['survivorship', 'sourcePriority', i], message: `no source "${name}"` });
      }
    }
    for (const [i, entity] of config.identity.uniquePerCustomer.entries()) {
      const [source = '', name = ''] = entity.split('.');
      if (!config.sources[source]?.entities[name]) {
        ctx.addIssue({ code: 'custom', path: ['identity', 'uniquePerCustomer', i], message: `no entity "${entity}"` });
      }
    }
    if (config.identity.forget.enabled && !config.identity.forget.secret) {
      ctx.addIssue({ code: 'custom', path: ['identity', 'forget', 'secret'], message: 'forget needs a secret to key what it keeps of forgotten records' });
    }
    for (const [i, pattern] of config.identity.blocked.patterns.entries()) {
      try {
        new RegExp(pattern);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['identity', 'blocked', 'patterns', i], message: 'not a valid regular expression' });
      }
    }
  });

/** The entities from `start` along `parent` back to `start` itself, or null when the chain ends. */
function parentCycleFrom(start: string, entities: Record<string, { parent?: string | undefined }>): string[] | null {
  const chain = [start];
  for (let next = entities[start]?.parent; next !== undefined && entities[next]; next = entities[next]!.parent) {
    if (next === start) return [...chain, start];
    // A cycle further up the chain is reported at its own entities, not at each child hanging off it.
    if (chain.includes(next)) return null;
    chain.push(next);
  }
  return null;
}

export type HubConfig = z.infer<typeof configSchema>;
/** A config as written, before defaults: what tests and callers building configs in code pass in. */
export type HubConfigInput = z.input<typeof configSchema>;
