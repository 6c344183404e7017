// The hub's configuration, declared once as a zod schema; every config type is inferred from it.
import { z } from 'zod';
import { TRANSFORM_NAMES } from '../sources/transforms.js';

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
export const CHILD_TARGETS = ['orders', 'tickets', 'events'] as const satisfies readonly UnifiedTarget[];

const LINE_ITEM_TARGETS = ['sku', 'title', 'quantity', 'unitPriceMinor'] as const;

const path = z.string().min(1).describe('dotted path into a JSON object, e.g. "merge_fields.FNAME"');
const urlPath = z.string().regex(/^\//, 'must start with "/"');

const transformName = z.enum(TRANSFORM_NAMES);

/** One mapped field: a path, or a path plus a named transform. */
const fieldMapping = z.union([
  path,
  z.strictObject({ path, transform: transformName.optional() }),
]);
export type FieldMapping = z.infer<typeof fieldMapping>;

const lineItemsMapping = z.strictObject({
  path,
  each: z.partialRecord(z.enum(LINE_ITEM_TARGETS), fieldMapping),
});
export type LineItemsMapping = z.infer<typeof lineItemsMapping>;

const queryParams = z.record(z.string(), z.string()).default({});

/** Read many records in one request: ids in the query string (GET) or in a JSON body (POST). */
const batchEndpoint = z
  .strictObject({
    method: z.enum(['GET', 'POST']).default('GET'),
    path: urlPath,
    idsQueryParam: z.string().optional().describe('GET: the query parameter holding comma-joined ids'),
    idsBodyKey: z.string().optional().describe('POST: the JSON body key holding the id array'),
    idType: z.enum(['string', 'integer']).default('string'),
    body: z.record(z.string(), z.unknown()).default({}),
    query: queryParams,
    maxBatchSize: z.number().int().positive(),
    envelope: path.describe('where the item array sits in the response'),
    /** For responses grouped per requested key: `{ results: [{ device_id, events: [...] }] }`. */
    group: z.strictObject({ key: path, items: path }).optional(),
    /** Batch reads are safe to retry only when the source says so (issue: resilience). */
    idempotent: z.boolean().default(true),
  })
  .refine((e) => (e.method === 'GET' ? !!e.idsQueryParam : !!e.idsBodyKey), {
    message: 'GET batch endpoints need idsQueryParam, POST batch endpoints need idsBodyKey',
  });
export type BatchEndpoint = z.infer<typeof batchEndpoint>;

/** Read one key per request, for sources without a batch endpoint; `{id}` in the path is replaced. */
const singleEndpoint = z.strictObject({
  path: urlPath.refine((p) => p.includes('{id}'), 'must contain "{id}"'),
  query: queryParams,
  envelope: path.optional().describe('where the record (or item array, for child entities) sits'),
  concurrency: z.number().int().positive().default(8),
});
export type SingleEndpoint = z.infer<typeof singleEndpoint>;

const pagination = z.discriminatedUnion('style', [
  z.strictObject({
    style: z.literal('cursor'),
    cursorParam: z.string(),
    nextCursorPath: path,
    limitParam: z.string(),
  }),
  z.strictObject({
    style: z.literal('page'),
    pageParam: z.string(),
    perPageParam: z.string(),
    totalPagesPath: path,
  }),
  z.strictObject({
    style: z.literal('offset'),
    offsetParam: z.string(),
    limitParam: z.string(),
    totalPath: path,
  }),
]);
export type Pagination = z.infer<typeof pagination>;

const listEndpoint = z.strictObject({
  path: urlPath,
  query: queryParams,
  envelope: path,
  pageSize: z.number().int().positive().default(100),
  pagination,
});
export type ListEndpoint = z.infer<typeof listEndpoint>;

export const IDENTIFIER_KINDS = ['email', 'phone', 'email_md5', 'reference'] as const;
export type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];

const identifier = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.enum(['email', 'phone', 'email_md5']), path }),
  z.strictObject({
    kind: z.literal('reference'),
    path,
    refersTo: z.string().regex(/^[\w-]+\.[\w-]+$/, 'must be "source.entity"'),
  }),
]);
export type IdentifierField = z.infer<typeof identifier>;

const entity = z
  .strictObject({
    provides: z.enum(Object.keys(UNIFIED_TARGETS) as [UnifiedTarget, ...UnifiedTarget[]]).optional(),
    idPath: path.default('id'),
    /** For child entities (orders, tickets, events): the sibling entity whose record ids key them. */
    parent: z.string().optional(),
    /** Child items name their parent here when a flat batch response mixes several parents. */
    parentPath: path.optional(),
    batch: batchEndpoint.optional(),
    single: singleEndpoint.optional(),
    list: listEndpoint.optional(),
    identifiers: z.array(identifier).default([]),
    mapping: z.record(z.string(), z.union([fieldMapping, lineItemsMapping])).default({}),
  })
  .superRefine((e, ctx) => {
    if (!e.batch && !e.single && e.provides) {
      ctx.addIssue({ code: 'custom', message: 'an entity that provides data needs a batch or single endpoint' });
    }
    const isChild = e.provides !== undefined && (CHILD_TARGETS as readonly string[]).includes(e.provides);
    if (isChild && !e.parent) {
      ctx.addIssue({ code: 'custom', path: ['parent'], message: `entities providing ${e.provides} need a parent entity` });
    }
    if (isChild && e.batch && !e.batch.group && !e.parentPath) {
      ctx.addIssue({ code: 'custom', path: ['parentPath'], message: 'a flat batch of child items needs parentPath (or batch.group)' });
    }
    const allowed: readonly string[] = e.provides ? UNIFIED_TARGETS[e.provides] : [];
    for (const key of Object.keys(e.mapping)) {
      if (!allowed.includes(key)) {
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

const auth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('bearer'), token: z.string().min(1) }),
  z.strictObject({ type: z.literal('header'), name: z.string().min(1), value: z.string().min(1) }),
  z.strictObject({ type: z.literal('basic'), username: z.string(), password: z.string() }),
]);
export type AuthConfig = z.infer<typeof auth>;

const source = z.strictObject({
  baseUrl: z.url({ protocol: /^https?$/ }),
  auth: auth.default({ type: 'none' }),
  timeoutMs: z.number().int().positive().default(5_000),
  /** Keep-alive sockets per source: the connection pool's size. */
  connections: z.number().int().positive().default(16),
  entities: z.record(z.string().regex(/^[\w-]+$/), entity).refine((e) => Object.keys(e).length > 0, 'a source needs at least one entity'),
});
export type SourceConfig = z.infer<typeof source>;

const linkStore = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('sqlite'), path: z.string().default('data/links.sqlite') }),
]);

export const configSchema = z
  .strictObject({
    server: z.strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).default(4000),
    }).default({ host: '127.0.0.1', port: 4000 }),
    linkStore: linkStore.default({ kind: 'sqlite', path: 'data/links.sqlite' }),
    linkCache: z.strictObject({
      maxEntries: z.number().int().positive().default(50_000),
      ttlMs: z.number().int().positive().default(60_000),
    }).default({ maxEntries: 50_000, ttlMs: 60_000 }),
    identity: z.strictObject({
      defaultPhoneRegion: z.string().length(2).default('US'),
      /** Values that must never link records: placeholders and junk. */
      blocked: z.strictObject({
        values: z.array(z.string()).default([]),
        patterns: z.array(z.string()).default([]),
      }).default({ values: [], patterns: [] }),
    }).default({ defaultPhoneRegion: 'US', blocked: { values: [], patterns: [] } }),
    survivorship: z.strictObject({
      /** Higher in the list wins; ties (and sources not listed) fall back to the most recently updated. */
      sourcePriority: z.array(z.string()).default([]),
    }).default({ sourcePriority: [] }),
    sources: z.record(z.string().regex(/^[\w-]+$/, 'source names are letters, digits, - and _'), source),
  })
  .superRefine((config, ctx) => {
    for (const [sourceName, src] of Object.entries(config.sources)) {
      for (const [entityName, ent] of Object.entries(src.entities)) {
        const here = ['sources', sourceName, 'entities', entityName];
        if (ent.parent && !src.entities[ent.parent]) {
          ctx.addIssue({ code: 'custom', path: [...here, 'parent'], message: `no entity "${ent.parent}" in source "${sourceName}"` });
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
    for (const [i, pattern] of config.identity.blocked.patterns.entries()) {
      try {
        new RegExp(pattern);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['identity', 'blocked', 'patterns', i], message: 'not a valid regular expression' });
      }
    }
  });

export type HubConfig = z.infer<typeof configSchema>;
