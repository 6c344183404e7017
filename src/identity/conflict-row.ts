// The link_conflicts table's row, as both stores read it back.
import type { Conflict } from './link-planner.js';
import type { IdentifierKind } from './model.js';
import type { StoredConflict } from './store.js';

export interface ConflictRow {
  id: number | string;
  detected_at: string;
  reason: Conflict['reason'];
  detail: string;
  token_kind: IdentifierKind;
  token_value: string;
  source: string;
  entity: string;
  record_id: string;
  customer_id: string | null;
  other_customer_id: string;
}

export function conflictFromRow(r: ConflictRow): StoredConflict {
  return {
    // PostgreSQL returns bigint IDs as strings.
    id: Number(r.id),
    detectedAt: r.detected_at,
    reason: r.reason,
    detail: r.detail,
    token: { kind: r.token_kind, value: r.token_value },
    record: { source: r.source, entity: r.entity, recordId: r.record_id },
    customerId: r.customer_id,
    otherCustomerId: r.other_customer_id,
  };
}
