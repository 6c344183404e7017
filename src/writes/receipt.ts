// The receipt of one write-back mutation: per linked record what was (or would be) sent and what the source said.
import type { WriteErrorCode, WriteStatus } from '../generated/graphql.js';
import type { WriteField } from '../expressions/request-template.js';

export interface WriteEntryError {
  code: WriteErrorCode;
  message: string;
  retryable: boolean;
}

/** One linked record's part of a write. */
export interface WriteEntry {
  source: string;
  entity: string;
  recordId: string;
  status: WriteStatus;
  fields: WriteField[];
  skippedFields: WriteField[];
  method: string | null;
  path: string | null;
  /** Only on a dry run's PLANNED entries: the values are the caller's own, and never stored. */
  body: unknown;
  error: WriteEntryError | null;
}

/** The resolver parent of `WriteReceipt`, and (without `replayed`, bodies or the customer) what an idempotency key keeps. */
export interface WriteReceiptModel {
  customerId: string;
  dryRun: boolean;
  idempotencyKey: string | null;
  replayed: boolean;
  at: string;
  writes: WriteEntry[];
}

/** The receipt as the link store keeps it for its idempotency key: no request bodies (they hold the values). */
export function storedForm(receipt: WriteReceiptModel): string {
  return JSON.stringify({ ...receipt, replayed: false, writes: receipt.writes.map((entry) => ({ ...entry, body: null })) });
}

/** A kept receipt, returned again for a repeated key: marked as a replay. */
export function replayOf(stored: string): WriteReceiptModel {
  return { ...(JSON.parse(stored) as WriteReceiptModel), replayed: true };
}
