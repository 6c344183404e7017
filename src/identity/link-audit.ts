// What a change to the link table leaves in the audit log: merges, removals and refusals by name, the rest counted.
import type { AuditEntry } from './store.js';
import type { LinkChanges } from './link-planner.js';

/** Who changed the table: `sync`, `webhook:<source>`, `lookup` (an on-demand probe), with the request it served. */
export interface LinkOrigin {
  actor: string;
  requestId: string;
  /** The source said these records changed (a webhook): each is announced to subscribers even if its links did not change. */
  announced?: boolean;
}

/** Customer IDs named in a summary row at most; past that the row only counts them. */
const NAMED_CHANGES = 20;

/** Audit rows hold IDs and reasons, never identifier values: the log must not become a second copy of personal data. */
export function linkAuditEntries(plan: LinkChanges, origin: LinkOrigin, at = new Date().toISOString()): AuditEntry[] {
  const entry = (customerId: string | null, detail: string): AuditEntry => ({ at, requestId: origin.requestId, actor: origin.actor, roles: [], action: 'LINK_CHANGE', customerId, fields: [], detail });
  const entries: AuditEntry[] = [];
  for (const { customerId, mergedInto } of plan.removed) {
    entries.push(mergedInto ? entry(mergedInto, `merged ${customerId} into ${mergedInto}`) : entry(customerId, 'removed: its last linked record was deleted'));
  }
  for (const event of plan.events ?? []) {
    if (event.kind === 'SPLIT') entries.push(entry(event.customerId, `split ${event.otherCustomerId} from ${event.customerId}: the evidence that merged them is gone (or was found shared by different people), or a reviewer split them`));
  }
  for (const c of plan.conflicts) {
    entries.push(entry(c.otherCustomerId, `refused ${c.reason} for ${c.record.source}:${c.record.entity}:${c.record.recordId} (${c.token.kind})`));
  }
  const changed = plan.upserted.map((c) => c.id);
  if (changed.length > 0) {
    const named = changed.length <= NAMED_CHANGES ? `: ${changed.join(', ')}` : '';
    entries.push(entry(changed.length === 1 ? changed[0]! : null, `${changed.length} customer(s) linked or updated${named}`));
  }
  return entries;
}
