// Every error code the hub can send, defined once: its HTTP status, whether trying again may help, and what it means.
// Code elsewhere names a code as `ErrorCode.X`, never as a string literal (test/errors/catalogue.test.ts scans src/
// for that), and docs/errors.md is generated from this table, so a reader sees the hub's whole error surface here.

/** Where a code reaches the outside world. */
type ErrorSurface =
  /** `errors[].extensions.code` in a GraphQL response, over HTTP or WebSocket. */
  | 'graphql'
  /** The JSON body of an HTTP error the hub answers before GraphQL runs, or on a route beside /graphql. */
  | 'http'
  /** The JSON body answering `POST /webhooks/:source`. */
  | 'webhook'
  /** A `rosetta` command's message on stderr, beside its exit code. */
  | 'cli'
  /** The hub's log only: a client sees `INTERNAL_SERVER_ERROR` and the request id to find it by. */
  | 'log';

export interface ErrorEntry {
  /**
   * The HTTP status of a response this error ends (a request error, an early HTTP error, a webhook answer). Errors
   * that only travel beside partial data answer 200 with the rest of the response; null: never sent over HTTP.
   */
  readonly status: number | null;
  /** Whether the same request may succeed if sent again later, unchanged. */
  readonly retriable: boolean;
  readonly surfaces: readonly ErrorSurface[];
  readonly description: string;
}

/** The catalogue. Ordered by where a request meets the error: at the door, in GraphQL, at a source, outside requests. */
export const ERROR_CATALOGUE = {
  // Before GraphQL runs: the HTTP request itself.
  BAD_REQUEST: {
    status: 400,
    retriable: false,
    surfaces: ['graphql', 'http'],
    description: 'The HTTP request is not a GraphQL request the hub can read: a body that is not JSON or nests too deep, no query, a request that fails CSRF prevention (send `content-type: application/json` or `apollo-require-preflight`), a query or mutation sent over WebSocket.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    retriable: false,
    surfaces: ['http', 'webhook'],
    description: 'The request body is larger than `limits.maxBodyBytes` (GraphQL) or 1 MiB (webhooks). The connection is closed.',
  },
  UNAUTHENTICATED: {
    status: 401,
    retriable: false,
    surfaces: ['graphql', 'http'],
    description: 'No credentials, or credentials that prove nothing (unknown API key, bad or expired token); `/metrics` without the key of `metrics.key`.',
  },
  FORBIDDEN: {
    status: 403,
    retriable: false,
    surfaces: ['graphql', 'http'],
    description: "Valid credentials that grant no role this hub knows; in a GraphQL response, a field the caller's roles may not read (the field is null), or a disabled operation such as `forgetCustomer`.",
  },
  AUTH_UNAVAILABLE: {
    status: 503,
    retriable: true,
    surfaces: ['http'],
    description: 'The key set needed to check a JWT could not be fetched: the caller may be fine, the hub cannot tell.',
  },
  CORS_ORIGIN_NOT_ALLOWED: {
    status: 403,
    retriable: false,
    surfaces: ['http'],
    description: 'A browser preflight from an origin not listed in `server.cors.origins`.',
  },
  NOT_ACCEPTABLE: {
    status: 406,
    retriable: false,
    surfaces: ['http'],
    description: 'A request to `/graphql/stream` that does not accept `text/event-stream`: that endpoint only streams subscriptions as server-sent events.',
  },
  SHUTTING_DOWN: {
    status: 503,
    retriable: true,
    surfaces: ['http'],
    description: 'A new subscription event stream asked of a hub that is draining on SIGTERM: reconnect, to another replica behind a load balancer.',
  },
  RATE_LIMITED: {
    status: 429,
    retriable: true,
    surfaces: ['graphql'],
    description: 'The caller has more requests in flight, or started more per second, than `limits.perCaller` allows. Sent with `retry-after`.',
  },
  NOT_FOUND: {
    status: 404,
    retriable: false,
    surfaces: ['graphql', 'http'],
    description: 'No such route; in a GraphQL response, no such customer or conflict for a mutation that needs one.',
  },

  // GraphQL: the document and its arguments.
  GRAPHQL_PARSE_FAILED: {
    status: 400,
    retriable: false,
    surfaces: ['graphql'],
    description: 'The query is not valid GraphQL syntax (from Apollo Server, and for subscriptions from the hub).',
  },
  GRAPHQL_VALIDATION_FAILED: {
    status: 400,
    retriable: false,
    surfaces: ['graphql'],
    description: "The query does not validate against the schema, or passes one of the hub's limits (`limits.maxDepth`, `maxAliases`, `maxTokens`, `maxCost`, repeated fields): `extensions.limit` names which.",
  },
  OPERATION_RESOLUTION_FAILURE: {
    status: 400,
    retriable: false,
    surfaces: ['graphql'],
    description: 'The document holds several operations and `operationName` does not pick one of them (from Apollo Server).',
  },
  PERSISTED_QUERY_NOT_FOUND: {
    status: 200,
    retriable: true,
    surfaces: ['graphql'],
    description: 'An automatic persisted query hash the hub does not know yet: send it again with the query text (from Apollo Server; clients do this by themselves).',
  },
  BAD_USER_INPUT: {
    status: 400,
    retriable: false,
    surfaces: ['graphql'],
    description: 'An argument the hub refuses before calling any source: variables of the wrong type, an identifier longer than an identifier can be, a cursor this hub did not issue, link-review input naming customers that do not fit. `extensions.argument` names it.',
  },
  UPSTREAM_BUDGET_EXCEEDED: {
    status: 400,
    retriable: false,
    surfaces: ['graphql'],
    description: 'The query would make, or has made, more upstream calls than `limits.maxUpstreamCalls`: refused before it runs (`extensions.estimate`, `limit`) or, for the calls past the budget, reported beside the data already read.',
  },
  SUBSCRIPTION_LIMIT: {
    status: 429,
    retriable: true,
    surfaces: ['graphql'],
    description: 'A subscription past `server.subscriptions.maxPerConnection` or `maxPerCaller`.',
  },
  CUSTOMER_NOT_FOUND: {
    status: 404,
    retriable: false,
    surfaces: ['graphql'],
    description: 'A subscription to customers the hub does not know (`extensions.ids`).',
  },
  AUDIT_UNAVAILABLE: {
    status: 503,
    retriable: true,
    surfaces: ['graphql'],
    description: 'The audit log did not accept the record of a personal-data read, so the data is withheld (fail closed).',
  },
  INTERNAL_SERVER_ERROR: {
    status: 500,
    retriable: true,
    surfaces: ['graphql', 'http', 'webhook'],
    description: "A failure the hub did not expect. Its cause is logged once with the request's `requestId`; the client gets no detail.",
  },

  // Sources: reported beside the data the healthy sources gave, with `extensions.source` and `extensions.retryable`.
  SOURCE_TIMEOUT: {
    status: 200,
    retriable: true,
    surfaces: ['graphql', 'cli'],
    description: 'A source did not answer within its timeout or the query deadline.',
  },
  SOURCE_UNAVAILABLE: {
    status: 200,
    retriable: true,
    surfaces: ['graphql', 'cli'],
    description: "A source could not be reached or answered with an error status. `extensions.retryable` is false when the source said the hub's request was wrong (a 4xx other than 408).",
  },
  SOURCE_BAD_RESPONSE: {
    status: 200,
    retriable: false,
    surfaces: ['graphql', 'cli'],
    description: 'A source answered with something the hub could not read: not JSON, not the declared shape, a page that cannot be followed.',
  },
  SOURCE_RATE_LIMITED: {
    status: 200,
    retriable: true,
    surfaces: ['graphql', 'cli'],
    description: 'A source is rate limiting the hub (its 429, or the per-second limit declared for it).',
  },
  SOURCE_AUTH_FAILED: {
    status: 200,
    retriable: false,
    surfaces: ['graphql', 'cli'],
    description: "A source refused the hub's credentials (its 401 or 403, or its OAuth2 token endpoint turning the client down).",
  },
  CIRCUIT_OPEN: {
    status: 200,
    retriable: true,
    surfaces: ['graphql', 'cli'],
    description: "A source's circuit breaker is open (or half-open with its probe in flight): the hub fails fast instead of calling it.",
  },
  SOURCE_REJECTED: {
    status: 200,
    retriable: false,
    surfaces: ['graphql', 'cli'],
    description: "A source refused the request with a 4xx other than 401, 403, 408 and 429: in a write receipt (`SourceWrite.error.code`), the write (invalid or conflicting values, a record it no longer has); beside partial data, a read (404 aside: a parameter the API does not take, a page size over its maximum, usually the config's to fix). Not retried, not counted by the circuit breaker; the message is the source's own reason with personal values, numbers and URLs replaced.",
  },
  SOURCE_VALUE_INVALID: {
    status: 200,
    retriable: false,
    surfaces: ['graphql'],
    description: 'A value a source holds does not fit its typed field (a date that is not a date, a value outside an enum); the field is null, `extensions` name the record.',
  },

  // Write-back (docs/write-back.md): refusals before anything is sent, and why a receipt skipped a record.
  WRITE_NOT_DECLARED: {
    status: 200,
    retriable: false,
    surfaces: ['graphql'],
    description: "Production mode refused a write: some of the customer's records hold a field being changed, but config declares no write for it (`extensions.entities`). Nothing was sent.",
  },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 200,
    retriable: true,
    surfaces: ['graphql'],
    description: 'A write with this `idempotencyKey` is still being made (by this replica or another): ask again shortly and get its receipt.',
  },
  NO_WRITE_OPERATION: {
    status: 200,
    retriable: false,
    surfaces: ['graphql'],
    description: "In a write receipt: the record holds a changed field, but its entity declares no write for it, so it was SKIPPED (and keeps the old value).",
  },
  NOT_SYSTEM_OF_RECORD: {
    status: 200,
    retriable: false,
    surfaces: ['graphql'],
    description: "In a write receipt: the field's write policy is `systemOfRecord` and another of the customer's records ranks higher for it (`survivorship.sourcePriority`), so this one was SKIPPED.",
  },

  // Webhooks: answers to a source's change notification.
  INVALID_SIGNATURE: {
    status: 401,
    retriable: false,
    surfaces: ['webhook'],
    description: 'The delivery is not signed with the secret of `sources.<name>.webhook`, or the source has no webhook configured (the two look the same).',
  },
  TIMESTAMP_OUTSIDE_TOLERANCE: {
    status: 401,
    retriable: false,
    surfaces: ['webhook'],
    description: 'The signed timestamp is further from now than `webhook.toleranceSeconds`: a replay, or a sender whose clock is off.',
  },
  BAD_PAYLOAD: {
    status: 400,
    retriable: false,
    surfaces: ['webhook'],
    description: 'The delivery is not JSON of the expected shape, or lacks its event ID at `webhook.eventIdPath`.',
  },
  UNKNOWN_ENTITY: {
    status: 400,
    retriable: false,
    surfaces: ['webhook'],
    description: 'The delivery names an entity of the source that is not linked (`entity` in the body).',
  },
  INVALID_RECORD_ID: {
    status: 400,
    retriable: false,
    surfaces: ['webhook'],
    description: 'An upsert without its record id, or a delete without an id, or an id longer than a record id can be.',
  },

  // Operations endpoints.
  METRICS_UNAVAILABLE: {
    status: 503,
    retriable: true,
    surfaces: ['http'],
    description: "`/metrics` could not gather every cluster worker's counters: no scrape rather than one that would read as a counter reset.",
  },

  // Outside requests: the command line and startup.
  CONFIG_INVALID: {
    status: null,
    retriable: false,
    surfaces: ['cli'],
    description: 'The config file does not validate: each problem names the path of the key and what was expected. Exit code 2.',
  },
  CLI_FAILED: {
    status: null,
    retriable: false,
    surfaces: ['cli'],
    description: 'A command ran and found a problem it has explained (a source unreachable, a sync that failed). Exit code 1, or 2 for bad arguments.',
  },
  SAMPLE_UNAVAILABLE: {
    status: null,
    retriable: true,
    surfaces: ['cli'],
    description: '`rosetta map` could not read sample records to suggest a mapping from.',
  },
  FORGET_SECRET_MISSING: {
    status: null,
    retriable: false,
    surfaces: ['log'],
    description: 'A forget reached a link store opened without `identity.forget.secret` (config validation asks for one whenever forget is enabled).',
  },
  SCHEMA_DIRECTIVE_INVALID: {
    status: null,
    retriable: false,
    surfaces: ['cli'],
    description: 'An access directive in the schema (`@pii`, `@consented`, `@recordId`, `@dataSubject`) is used where it cannot be enforced: the hub refuses to start.',
  },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Each code as a constant, so code names it as `ErrorCode.SOURCE_TIMEOUT` and keeps its literal type. */
export const ErrorCode = Object.freeze(Object.fromEntries(Object.keys(ERROR_CATALOGUE).map((code) => [code, code]))) as { readonly [C in ErrorCode]: C };

/** The HTTP status a response ended by `code` carries (500 for the few that are never sent over HTTP, should one be). */
export function statusOf(code: ErrorCode): number {
  return ERROR_CATALOGUE[code].status ?? 500;
}

/** Whether a request that failed with `code` may succeed if sent again later, unchanged. */
export function isRetriable(code: ErrorCode): boolean {
  return ERROR_CATALOGUE[code].retriable;
}
