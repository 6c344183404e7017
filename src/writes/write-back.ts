// Runs one write-back mutation: plans the customer's target records, claims the idempotency key, sends the writes in
// parallel under each source's policies, feeds what the sources confirmed through the link table, drops the record
// caches, keeps the receipt for the key and audits the outcome (fields and sources, never values).
import { ErrorCode } from '../errors/catalogue.js';
import { badInput, fieldError } from '../request/errors.js';
import { createHash } from 'node:crypto';
import type { RequestContext } from '../request/context.js';
import { productionMode } from '../config/mode.js';
import type { VersionedChange } from '../identity/link-service.js';
import type { CustomerChange } from '../identity/change-feed.js';
import type { WriteValues } from '../sources/entity-writer.js';
import { SourceError, SourceTimeoutError } from '../sources/errors.js';
import { planWrites, type PlannedTarget } from './plan.js';
import { replayOf, storedForm, type WriteEntry, type WriteEntryError, type WriteReceiptModel } from './receipt.js';

type WriteOperation = 'updateCustomerProfile' | 'setMarketingConsent';

export interface WriteRequest {
  operation: WriteOperation;
  /** The customer ID as the caller gave it (a merged-away ID resolves to its survivor). */
  id: string;
  values: WriteValues;
  idempotencyKey: string | null;
  dryRun: boolean;
  /** Schema coordinates of the fields written, for the audit log (`Profile.email`). */
  auditFields: readonly string[];
}

const HOUR_MS = 60 * 60 * 1000;

/** A write whose source answered with a typed failure: its code and client-safe message, as a receipt shows them. */
function failureOf(error: unknown, context: RequestContext, target: PlannedTarget): WriteEntryError {
  if (error instanceof SourceError) {
    const message = error instanceof SourceTimeoutError ? `${error.publicMessage}: the write may or may not have been applied` : error.publicMessage;
    return { code: error.code, message, retryable: error.retryable };
  }
  // A bug, not the source: logged in full, reported without internals (and not as applied).
  context.telemetry.logger.error({ err: error, requestId: context.requestId, source: target.source, entity: target.entity }, 'write-back failed inside the hub');
  return { code: ErrorCode.SOURCE_UNAVAILABLE, message: `the write to source "${target.source}" failed inside the hub (see its log, request ${context.requestId})`, retryable: true };
}

function skippedEntry(target: PlannedTarget): WriteEntry {
  const message =
    target.skipCode === ErrorCode.NO_WRITE_OPERATION
      ? `${target.source}.${target.entity} holds ${target.undeclared.join(', ')} but declares no write for ${target.undeclared.length > 1 ? 'them' : 'it'}`
      : `another of the customer's records is the system of record for ${target.skippedFields.join(', ')}`;
  return { ...entryBase(target), status: 'SKIPPED', error: { code: target.skipCode!, message, retryable: false } };
}

function entryBase(target: PlannedTarget): Omit<WriteEntry, 'status' | 'error'> {
  return { source: target.source, entity: target.entity, recordId: target.recordId, fields: target.fields, skippedFields: target.skippedFields, method: null, path: null, body: null };
}

/** The audit row's detail: the operation, how it ran, and per source entity the outcome; never a value or a record ID. */
function auditDetail(request: WriteRequest, receipt: WriteReceiptModel): string {
  const how = [receipt.dryRun ? 'dry run' : null, receipt.replayed ? 'replayed receipt' : null, request.idempotencyKey ? 'with idempotency key' : null].filter((s) => s !== null);
  const outcomes = receipt.writes.map((w) => `${w.source}.${w.entity} ${w.status}${w.error ? ` ${w.error.code}` : ''}`);
  return `${request.operation}${how.length > 0 ? ` (${how.join(', ')})` : ''}: ${outcomes.join('; ') || 'no linked record holds these fields'}`;
}

/** Writes the audit row; a failure is logged and reported beside the receipt, which is still returned (the writes happened). */
async function audit(context: RequestContext, request: WriteRequest, receipt: WriteReceiptModel): Promise<void> {
  try {
    await context.access.recordAction('WRITE', receipt.customerId, auditDetail(request, receipt), request.auditFields);
  } catch (error) {
    context.telemetry.logger.error({ err: error, requestId: context.requestId }, 'audit log write failed for a write-back; its receipt is returned');
    context.partialErrors.push(fieldError(ErrorCode.AUDIT_UNAVAILABLE, 'the audit log is unavailable: this write is not on record'));
  }
}

/** A hash of what the request asks, salted by its caller and key, so a kept hash says nothing of the values. */
function requestHash(context: RequestContext, request: WriteRequest): string {
  return createHash('sha256').update(JSON.stringify([context.caller.id, request.idempotencyKey, request.operation, request.id, Object.entries(request.values).sort()])).digest('hex');
}

/** Production mode refuses a write that would leave a record holding a changed field unwritten for want of a declared write. */
function refuseUndeclared(context: RequestContext, targets: readonly PlannedTarget[]): void {
  if (!productionMode(context.config)) return;
  const undeclared = targets.filter((t) => t.undeclared.length > 0);
  if (undeclared.length === 0) return;
  const where = [...new Set(undeclared.map((t) => `${t.source}.${t.entity} (${t.undeclared.join(', ')})`))].join(', ');
  throw fieldError(ErrorCode.WRITE_NOT_DECLARED, `refused in production mode: the customer's records in ${where} hold fields being changed, but config declares no write for them; nothing was sent`, {
    entities: [...new Set(undeclared.map((t) => `${t.source}.${t.entity}`))],
  });
}

/** Sends one target's write; resolves to its receipt entry and, when the source sent the record back, the record. */
async function send(context: RequestContext, target: PlannedTarget, key: string | null): Promise<{ entry: WriteEntry; record: unknown }> {
  const writer = target.writer!;
  const planned = writer.plan(target.recordId, target.values, key);
  const base = { ...entryBase(target), method: planned.method, path: planned.path };
  try {
    context.upstreamBudget.spend(target.source, 1);
    const { record } = await writer.send(planned, key, context.loaders.scope);
    const entry: WriteEntry = { ...base, status: 'APPLIED', error: null };
    if (!writer.readsBack) return { entry, record };
    // Applied: a failed read-back costs the links their update (until the next webhook or sync), not the write its status.
    try {
      context.upstreamBudget.spend(target.source, 1);
      return { entry, record: await context.registry.reader(target.source, target.entity).readRaw(target.recordId, context.loaders.scope) };
    } catch (error) {
      context.telemetry.logger.warn({ err: error, requestId: context.requestId, source: target.source, entity: target.entity }, 'a written record could not be read back for the link table');
      return { entry, record: null };
    }
  } catch (error) {
    return { entry: { ...base, status: 'FAILED', error: failureOf(error, context, target) }, record: null };
  }
}

/**
 * Feeds the records the sources sent back through the link table as a webhook's would be (a new email may merge or
 * split customers; subscribers hear of each record), and announces records written without one sent back.
 */
async function followLinks(context: RequestContext, applied: readonly { entry: WriteEntry; record: unknown }[]): Promise<void> {
  const changes: VersionedChange[] = [];
  const unseen: CustomerChange[] = [];
  const at = new Date().toISOString();
  for (const { entry, record } of applied) {
    const change = record === null ? null : context.links.upsertOf(entry.source, entry.entity, record);
    if (change && 'upsert' in change && change.upsert.recordId === entry.recordId) changes.push(change);
    else unseen.push({ kind: 'UPSERT', customerId: '', survivorId: null, splitOffId: null, source: entry.source, entity: entry.entity, recordId: entry.recordId, at });
  }
  if (changes.length > 0) {
    try {
      await context.links.apply(changes, undefined, { actor: context.caller.id, requestId: context.requestId, announced: true });
    } catch (error) {
      // The writes stand; the link table catches up at the next webhook or sync of these records.
      context.telemetry.logger.error({ err: error, requestId: context.requestId }, 'written records could not be applied to the link table');
    }
  }
  if (unseen.length > 0) {
    // No record came back to link: subscribers still hear that these records changed.
    context.telemetry.logger.warn({ requestId: context.requestId, records: unseen.map((u) => `${u.source}.${u.entity}`) }, 'a write was confirmed without the written record: its links are updated at the next webhook or sync');
    const owners = await Promise.all(unseen.map((u) => context.linkTable.findCustomerIdByRecord({ source: u.source!, entity: u.entity!, recordId: u.recordId! })));
    context.changes.publish(unseen.flatMap((u, i) => (owners[i] ? [{ ...u, customerId: owners[i]! }] : [])));
  }
}

/**
 * Runs a write-back mutation. Null when the customer is unknown (with a NOT_FOUND error); throws before anything is
 * sent for a refused write (production mode), a key reused with another request, or a key whose first request is
 * still writing.
 */
export async function runWrite(context: RequestContext, request: WriteRequest): Promise<WriteReceiptModel> {
  const customer = await context.directory.customer(request.id);
  if (!customer) throw fieldError(ErrorCode.NOT_FOUND, `no customer "${request.id}"`);
  const targets = planWrites(customer.links, request.values, context.registry, context.config.survivorship.sourcePriority);
  refuseUndeclared(context, targets);
  const at = new Date().toISOString();
  const receipt: WriteReceiptModel = { customerId: customer.customerId, dryRun: request.dryRun, idempotencyKey: request.idempotencyKey, replayed: false, at, writes: [] };

  if (request.dryRun) {
    receipt.writes = targets.map((target) => {
      if (target.fields.length === 0) return skippedEntry(target);
      const planned = target.writer!.plan(target.recordId, target.values, request.idempotencyKey);
      return { ...entryBase(target), status: 'PLANNED', method: planned.method, path: planned.path, body: planned.body ?? null, error: null };
    });
    await audit(context, request, receipt);
    return receipt;
  }

  const key = request.idempotencyKey;
  const actor = context.caller.id;
  if (key !== null) {
    const hash = requestHash(context, request);
    // A claim outlives the request's own deadline (retries included) with room to spare; then the key is free again.
    const claimExpires = new Date(Date.now() + 2 * context.config.server.queryDeadlineMs + 60_000).toISOString();
    const held = await context.writeReceipts.claimWriteKey({ actor, key, requestHash: hash, at, expiresAt: claimExpires });
    if (held.state !== 'claimed' && held.requestHash !== hash) {
      throw badInput('idempotencyKey was used for a different request: use a new key for a new write', 'idempotencyKey');
    }
    if (held.state === 'pending') {
      throw fieldError(ErrorCode.IDEMPOTENCY_KEY_IN_USE, 'a request with this idempotencyKey is still writing: ask again shortly for its receipt', { retryable: true });
    }
    if (held.state === 'done') {
      const replay = replayOf(held.receipt);
      await audit(context, request, replay);
      return replay;
    }
  }

  let results: { entry: WriteEntry; record: unknown }[];
  try {
    results = await Promise.all(targets.map((target) => (target.fields.length === 0 ? { entry: skippedEntry(target), record: null } : send(context, target, key))));
  } catch (error) {
    // Nothing above throws once a write is in flight (each failure is its entry); this is a bug before any was sent.
    if (key !== null) await context.writeReceipts.releaseWriteKey(actor, key);
    throw error;
  }
  receipt.writes = results.map((r) => r.entry);
  // Anything sent may have changed its record, confirmed or not (a timeout): what was read of it before is stale.
  context.recordCache.invalidate(receipt.writes.filter((w) => w.status !== 'SKIPPED'));
  await followLinks(context, results.filter((r) => r.entry.status === 'APPLIED'));
  if (key !== null) {
    const retention = context.config.writes.idempotencyRetentionHours * HOUR_MS;
    try {
      await context.writeReceipts.completeWriteKey(actor, key, storedForm(receipt), new Date(Date.now() + retention).toISOString());
    } catch (error) {
      context.telemetry.logger.error({ err: error, requestId: context.requestId }, 'the receipt could not be kept under its idempotency key: the key stays in use until its claim expires');
    }
  }
  await audit(context, request, receipt);
  return receipt;
}
