// Link review and forget: the operator's side of the identity-link table.
import type { IdentifierKind, MutationResolvers, QueryResolvers } from '../src/generated/graphql.js';
import type { IdentifierKind as TokenKind } from '../src/identity/model.js';
import { customerRef } from '../src/customer/model.js';
import { LinkReviewError } from '../src/identity/link-service.js';
import { ErrorCode } from '../src/errors/catalogue.js';
import { badInput, fieldError } from '../src/request/errors.js';

/** A review the table cannot carry out is the caller's mistake, said as such. */
async function review<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof LinkReviewError) throw badInput(error.message, 'id');
    throw error;
  }
}

const MAX_REASON = 1_000;

function checkReason(reason: string): string {
  if (reason.trim() === '' || reason.length > MAX_REASON) throw badInput(`reason must say why, in 1 to ${MAX_REASON} characters`, 'reason');
  return reason;
}

/** The link table's token kinds as the schema's enum names them. */
const IDENTIFIER_KIND: Record<TokenKind, IdentifierKind> = { email: 'EMAIL', phone: 'PHONE', email_md5: 'EMAIL_MD5', ref: 'REFERENCE', merge: 'REVIEW_MERGE', split: 'REVIEW_SPLIT' };

export const identityQuery: Pick<QueryResolvers, 'linkConflicts'> = {
  linkConflicts: async (_parent, { first }, context) => {
    if (first < 0 || first > 500) throw badInput('first must be between 0 and 500', 'first');
    const conflicts = await context.linkTable.listConflicts(first);
    return conflicts.map((c) => ({
      id: String(c.id),
      detectedAt: c.detectedAt,
      reason: c.reason,
      detail: c.detail,
      identifierKind: IDENTIFIER_KIND[c.token.kind],
      identifierValue: c.token.value,
      source: c.record.source,
      entity: c.record.entity,
      recordId: c.record.recordId,
      customerId: c.customerId,
      otherCustomerId: c.otherCustomerId,
    }));
  },
};

export const Mutation: MutationResolvers = {
  mergeCustomers: (_parent, { ids, reason }, context) => review(async () => {
    if (new Set(ids).size < 2 || ids.length > 20) throw badInput('mergeCustomers needs 2 to 20 distinct customer IDs', 'ids');
    return customerRef(await context.links.mergeCustomers(ids, checkReason(reason), { actor: context.caller.id, requestId: context.requestId }))!;
  }),

  unmergeCustomer: (_parent, { id, mergedId, reason }, context) => review(async () => {
    const customers = await context.links.unmergeCustomer(id, mergedId, checkReason(reason), { actor: context.caller.id, requestId: context.requestId });
    return customers.map((customer) => customerRef(customer)!);
  }),

  forgetCustomer: async (_parent, { id }, context) => {
    if (!context.config.identity.forget.enabled) {
      throw fieldError(ErrorCode.FORBIDDEN, 'forgetCustomer is disabled: set identity.forget.enabled in config');
    }
    const forgotten = await context.links.forget(id);
    if (!forgotten) throw fieldError(ErrorCode.NOT_FOUND, `no customer "${id}"`);
    const bySource = new Map<string, { source: string; entity: string; recordId: string; linked: boolean }[]>();
    const add = (record: { source: string; entity: string; recordId: string }, linked: boolean) =>
      bySource.set(record.source, [...(bySource.get(record.source) ?? []), { source: record.source, entity: record.entity, recordId: record.recordId, linked }]);
    for (const record of forgotten.records) add(record, true);
    for (const record of forgotten.alsoHeldBy) add(record, false);
    return {
      customerId: forgotten.customerId,
      forgottenAt: new Date().toISOString(),
      sources: [...bySource].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([source, records]) => ({ source, records })),
    };
  },

  reviewSharedValue: async (_parent, { conflictId, decision }, context) => {
    const id = Number(conflictId);
    if (!Number.isSafeInteger(id)) throw badInput('conflictId is not a conflict ID', 'conflictId');
    const reviewed = await context.links.reviewSharedValue(id, decision);
    if (!reviewed) throw fieldError(ErrorCode.NOT_FOUND, `no suspected shared value with conflict ID "${conflictId}"`);
    return { identifierKind: reviewed.token.kind, decision, conflictsClosed: reviewed.closed };
  },
};
