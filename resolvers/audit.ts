// The audit log for admins (the schema's @restricted keeps everyone else out), newest first.
import type { QueryResolvers } from '../src/generated/graphql.js';
import { badInput } from '../src/request/errors.js';

const MAX_PAGE = 500;

const encodeCursor = (seq: number) => Buffer.from(`audit:${seq}`, 'utf8').toString('base64url');

function decodeCursor(cursor: string): number {
  const match = /^audit:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw badInput('after is not a cursor this query returned', 'after');
  return Number(match[1]);
}

export const auditQuery: Pick<QueryResolvers, 'auditLog'> = {
  auditLog: async (_parent, { customerId, actor, action, since, first, after }, context) => {
    if (first < 0 || first > MAX_PAGE) throw badInput(`first must be between 0 and ${MAX_PAGE}`, 'first');
    const page = await context.auditLog.readAudit({
      customerId,
      actor,
      action,
      // The DateTime scalar has checked `since` already.
      since: since == null ? null : since.toISOString(),
      first,
      beforeSeq: after ? decodeCursor(after) : null,
    });
    const edges = page.entries.map((entry) => ({
      cursor: encodeCursor(entry.seq),
      node: { ...entry, id: String(entry.seq), roles: [...entry.roles], fields: [...entry.fields] },
    }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  },
};
