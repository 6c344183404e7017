// The identity-link model: which source records make up one unified customer, and why.

export interface RecordKey {
  source: string;
  entity: string;
  recordId: string;
}

/** How a record came to belong to its customer. */
export type LinkRule = 'SEED' | 'EMAIL' | 'PHONE' | 'EMAIL_MD5' | 'EXTERNAL_ID';

export interface Link extends RecordKey {
  customerId: string;
  rule: LinkRule;
  /** The normalised identifier value shared with the customer's other records (null for SEED). */
  evidence: string | null;
  linkedAt: string;
}

export interface CustomerLinks {
  customerId: string;
  links: Link[];
}

/** A normalised identifier a record carries, indexed for lookup. */
export interface Identifier extends RecordKey {
  kind: 'email' | 'phone' | 'email_md5';
  value: string;
}

/** One full build of the table, as produced by the linker. */
export interface LinkSnapshot {
  links: Link[];
  identifiers: (Identifier & { customerId: string })[];
}

export function recordKeyString(key: RecordKey): string {
  return `${key.source}:${key.entity}:${key.recordId}`;
}
