// The identity-link model: which source records make up one unified customer, and why.

export interface RecordKey {
  source: string;
  entity: string;
  recordId: string;
}

/** How a record came to belong to its customer. */
export type LinkRule = 'SEED' | 'EMAIL' | 'PHONE' | 'EMAIL_MD5' | 'EXTERNAL_ID' | 'REVIEW';

export interface Link extends RecordKey {
  customerId: string;
  rule: LinkRule;
  /** The normalised identifier value shared with the customer's other records (null for SEED). */
  evidence: string | null;
  linkedAt: string;
}

/**
 * A normalised identifier a record carries. `ref` tokens are record keys: every record holds its own,
 * and a record naming another system's record (a CRM ID in shop metadata) holds that one too, so a
 * reference links in either order of arrival.
 */
export type IdentifierKind = 'email' | 'phone' | 'email_md5' | 'ref' | ReviewKind;

/**
 * A reviewer's decision, kept on the records it concerns as a token the planner reads: records sharing a
 * `merge` token are one customer whatever the policy says; records holding `split` tokens `<rule>:a` and
 * `<rule>:b` are never one customer. Sources never send these; an update of a record keeps them.
 */
type ReviewKind = 'merge' | 'split';
export const isReviewToken = (token: IdentifierToken): boolean => token.kind === 'merge' || token.kind === 'split';

export interface IdentifierToken {
  kind: IdentifierKind;
  value: string;
}

export interface CustomerLinks {
  customerId: string;
  links: Link[];
  /** IDs of customers merged into this one; they still resolve here. */
  mergedIds: string[];
}

export function recordKeyString(key: RecordKey): string {
  return `${key.source}:${key.entity}:${key.recordId}`;
}

export function tokenString(token: IdentifierToken): string {
  return `${token.kind}\u0000${token.value}`;
}

export const RULE_OF_KIND: Record<IdentifierKind, LinkRule> = { email: 'EMAIL', phone: 'PHONE', email_md5: 'EMAIL_MD5', ref: 'EXTERNAL_ID', merge: 'REVIEW', split: 'REVIEW' };
