// Builds the HTTP request a declared endpoint (batch, single, one list page) takes, for tools that read raw records.
import type { BatchEndpoint, ListEndpoint, SingleEndpoint } from '../config/schema.js';
import type { JsonRequest } from './http-client.js';
import { compilePath } from './mapping.js';

type RequestShape = Omit<JsonRequest, 'operation' | 'observe' | 'deadline'>;

/** A batch read of `ids`, typed as the endpoint declares them. */
export function batchReadRequest(batch: BatchEndpoint, ids: readonly string[]): RequestShape {
  if (batch.method === 'GET') {
    return { method: 'GET', path: batch.path, query: { ...batch.query, [batch.idsQueryParam!]: ids.join(',') }, keys: ids.length, idempotent: batch.idempotent };
  }
  const typedIds = batch.idType === 'integer' ? ids.map(Number) : ids;
  return { method: 'POST', path: batch.path, query: batch.query, body: { ...batch.body, [batch.idsBodyKey!]: typedIds }, keys: ids.length, idempotent: batch.idempotent };
}

/** A per-key read; a 404 means "no such record" and reads as null. */
export function singleReadRequest(single: SingleEndpoint, id: string): RequestShape {
  return { method: 'GET', path: single.path.replace('{id}', encodeURIComponent(id)), query: single.query, keys: 1, notFoundIsNull: true };
}

/**
 * One page of a list, `pageSize` records long, in the endpoint's own pagination style. `position` is where
 * the page starts (the cursor, page number or offset the previous page pointed to); null for the first.
 */
export function listPageRequest(list: ListEndpoint, pageSize: number, position: string | null): RequestShape {
  const { pagination } = list;
  const query: Record<string, string> = { ...list.query };
  if (pagination.style === 'cursor') {
    query[pagination.limitParam] = String(pageSize);
    if (position !== null) query[pagination.cursorParam] = position;
  } else if (pagination.style === 'page') {
    query[pagination.pageParam] = position ?? '1';
    query[pagination.perPageParam] = String(pageSize);
  } else {
    query[pagination.offsetParam] = position ?? '0';
    query[pagination.limitParam] = String(pageSize);
  }
  return { method: 'GET', path: list.path, query, keys: 0 };
}

export function firstListPageRequest(list: ListEndpoint, pageSize: number): RequestShape {
  return listPageRequest(list, pageSize, null);
}

/** The item array at `envelope` (the body itself without one), or null when the response has none there. */
export function itemsAt(body: unknown, envelope: string | undefined): unknown[] | null {
  const items = envelope ? compilePath(envelope)(body) : body;
  return Array.isArray(items) ? items : null;
}
