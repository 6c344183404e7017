// Link review and forget: the operator's side of the identity-link table.
import { GraphQLError } from 'graphql';
import type { MutationResolvers, QueryResolvers } from '../src/generated/graphql.js';
import { badInput } from '../src/server/errors.js';

export const identityQuery: Pick<QueryResolvers, 'linkConflicts'> = {
  linkConflicts: async (_parent, { first }, context) => {
    if (first < 0 || first > 500) throw badInput('first must be between 0 and 500', 'first');
    const conflicts = await context.directory.store.listConflicts(first);
    return conflicts.map((c) => ({
      id: String(c.id),
      detectedAt: c.detectedAt,
      reason: c.reason,
      detail: c.detail,
      identifierKind: c.token.kind,
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
  forgetCustomer: async (_parent, { id }, context) => {
    if (!context.config.identity.forget.enabled) {
      throw new GraphQLError('forgetCustomer is disabled: set identity.forget.enabled in config', { extensions: { code: 'FORBIDDEN' } });
    }
    const forgotten = await context.links.forget(id);
    if (!forgotten) throw new GraphQLError(`no customer "${id}"`, { extensions: { code: 'NOT_FOUND' } });
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
    if (!reviewed) throw new GraphQLError(`no suspected shared value with conflict ID "${conflictId}"`, { extensions: { code: 'NOT_FOUND' } });
    return { identifierKind: reviewed.token.kind, decision, conflictsClosed: reviewed.closed };
  },
};
