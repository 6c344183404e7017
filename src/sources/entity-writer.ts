// One entity's declared write (`write:` in config): renders the request for a record and the fields being changed,
// sends it under the source's policies, and reads the written record from the answer.
import type { WriteEndpoint, WritePolicy } from '../config/schema.js';
import type { UpstreamScope } from './upstream-scope.js';
import type { SourceHttpClient } from './http-client.js';
import { compileSingularPath, type Accessor } from '../expressions/json-path.js';
import { compileRequest, WRITE_FIELDS, type CompiledRequest, type RenderedRequest, type WriteField } from '../expressions/request-template.js';

/** The values one write sends: the unified fields being changed (absent ones are left out of the request). */
export type WriteValues = { [F in WriteField]?: string | boolean };

/** A write as it would be sent: for dry runs and receipts. */
export interface PlannedRequest extends RenderedRequest {
  /** Whether the source makes sending it twice safe (PUT, or an idempotency key): only then is it retried. */
  idempotent: boolean;
}

/** What the source answered: the written record as it sent it back, or null when it sent none (a 204, or nothing at the envelope). */
export interface WriteOutcome {
  record: unknown;
}

/** A nested object none of whose keys is being written says nothing: `address: {}` would blank an address in some APIs. */
function withoutEmptyObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyObjects);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const pruned = withoutEmptyObjects(inner);
    if (pruned !== null && typeof pruned === 'object' && !Array.isArray(pruned) && Object.keys(pruned).length === 0) continue;
    out[key] = pruned;
  }
  return out;
}

export class EntityWriter {
  private readonly request: CompiledRequest;
  private readonly envelope: Accessor | undefined;
  /** The unified fields this write can change: the ones its template names. */
  readonly fields: ReadonlySet<WriteField>;

  constructor(
    private readonly client: SourceHttpClient,
    readonly entity: string,
    private readonly config: WriteEndpoint,
  ) {
    this.request = compileRequest(config, { variables: ['id', ...WRITE_FIELDS], required: [['id'], WRITE_FIELDS] });
    this.fields = new Set(WRITE_FIELDS.filter((field) => this.request.uses.has(field)));
    this.envelope = config.envelope === undefined ? undefined : compileSingularPath(config.envelope);
  }

  get source(): string {
    return this.client.source;
  }

  /** Whether the answer lacks the whole record, so the hub reads it back before linking (`write.readBack`). */
  get readsBack(): boolean {
    return this.config.readBack;
  }

  policy(field: WriteField): WritePolicy {
    return this.config.policy[field] ?? 'all';
  }

  /** The request that writes `values` to record `recordId`; `idempotencyKey` goes in the source's idempotency header, if it has one. */
  plan(recordId: string, values: WriteValues, idempotencyKey: string | null): PlannedRequest {
    const rendered = this.request.render({ ...values, id: recordId });
    const header = this.config.idempotencyHeader;
    const keyed = header !== undefined && idempotencyKey !== null;
    return {
      ...rendered,
      ...(rendered.body === undefined ? {} : { body: withoutEmptyObjects(rendered.body) }),
      idempotent: rendered.method === 'PUT' || keyed,
    };
  }

  /**
   * Sends a planned write. Resolves only when the source confirmed it (a 2xx); a refusal, an outage or an answer
   * that cannot be read rejects with the SourceError saying which.
   */
  async send(planned: PlannedRequest, idempotencyKey: string | null, scope: UpstreamScope): Promise<WriteOutcome> {
    const header = this.config.idempotencyHeader;
    const body = await this.client.requestJson({
      method: planned.method,
      path: planned.path,
      query: planned.query,
      ...(planned.body === undefined ? {} : { body: planned.body }),
      operation: `${this.entity}.write`,
      keys: 1,
      write: true,
      idempotent: planned.idempotent,
      ...(header !== undefined && idempotencyKey !== null ? { headers: { [header]: idempotencyKey } } : {}),
      ...(scope.deadline ? { deadline: scope.deadline } : {}),
      ...(scope.observe ? { observe: scope.observe } : {}),
    });
    if (body === null) return { record: null };
    // A 2xx is the source's confirmation, whatever else the body holds: an answer without the record is applied all the same.
    const record = this.envelope ? this.envelope(body) : body;
    return { record: record ?? null };
  }
}
