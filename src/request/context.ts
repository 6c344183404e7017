// Per-request state every resolver receives: loaders, the link directory and, when asked for, the explain log.
import type { GraphQLError } from 'graphql';
import type { Caller } from '../auth/caller.js';
import type { RequestAccess } from '../auth/request-access.js';
import type { ExplainPlan } from '../observability/explain-plan.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { OperationTrace } from '../observability/tracing.js';
import type { HubConfig } from '../config/schema.js';
import type { SurvivorshipRule } from '../customer/survivorship.js';
import type { ChangeFeed } from '../identity/change-feed.js';
import type { CustomerDirectory, LinkDirectory } from '../identity/directory.js';
import type { LinkService } from '../identity/link-service.js';
import type { AuditLog, LinkTableReader, WriteReceipts } from '../identity/store.js';
import type { RequestLoaders } from '../loaders/request-loaders.js';
import type { RecordCache } from '../sources/record-cache.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { CallerLimits } from './caller-limits.js';
import type { StoreReadiness } from '../identity/store-readiness.js';
import type { UpstreamBudget } from '../loaders/upstream-budget.js';

/** Long-lived parts shared by every request of one hub process. */
export interface HubServices {
  config: HubConfig;
  registry: SourceRegistry;
  /** Customers by ID and page, through the link cache. */
  directory: LinkDirectory;
  /** The link table's uncached reads (history, count, conflicts, a record's customer); the same store, seen narrowly. */
  linkTable: LinkTableReader;
  /** The access audit log as the admins' `auditLog` query reads it (requests append through `access`, the hub prunes). */
  auditLog: Pick<AuditLog, 'readAudit'>;
  /** Write-back's idempotency keys: claimed before writing, completed or released after (the hub prunes them). */
  writeReceipts: Pick<WriteReceipts, 'claimWriteKey' | 'completeWriteKey' | 'releaseWriteKey'>;
  /** Source records kept across requests, for the entities whose config asks for it. */
  recordCache: RecordCache;
  links: LinkService;
  survivorship: SurvivorshipRule;
  telemetry: Telemetry;
  /** The link store's condition for /readyz, which also migrates a schema that went missing. */
  storeReadiness: StoreReadiness;
  /** Requests in flight and started per caller (`limits.perCaller`). */
  callerLimits: CallerLimits;
  /** Link-table changes of this process and the others, for live subscriptions. */
  changes: ChangeFeed;
}

/** The hub's services as a request sees them: the directory without its store (CustomerDirectory), and its own parts. */
export interface RequestContext extends Omit<HubServices, 'directory'> {
  /** Customers through the link cache; with explain, this request's view, which counts its own lookups. */
  directory: CustomerDirectory;
  requestId: string;
  loaders: RequestLoaders;
  /** The explain report, built only when the client asked for it (`x-rosetta-explain: 1`). */
  explain: ExplainPlan | null;
  trace: OperationTrace;
  /** Errors of sources that failed under fields which still returned what the other sources had. */
  partialErrors: GraphQLError[];
  /** Who is asking; on a hub without auth, the open caller that may read everything. */
  caller: Caller;
  /** What this request was shown and withheld, for `extensions.masked` and the audit log. */
  access: RequestAccess;
  /** Who `limits.perCaller` counts this request against: the caller's ID, or its IP address on an open hub. */
  callerKey: string;
  /** Upstream calls this request may still make (`limits.maxUpstreamCalls`). */
  upstreamBudget: UpstreamBudget;
}
