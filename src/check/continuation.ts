// Signals a list page gives about records beyond it, read whatever pagination the config declares: a list that stops while one says "more" loses records.
import LinkHeader from 'http-link-header';
import { compileSingularPath } from '../expressions/json-path.js';

/** Where APIs commonly say more pages follow (Stripe, Zendesk, HubSpot, Intercom, JSON:API). */
const MORE_FLAGS = ['has_more', 'hasMore', 'meta.has_more', 'meta.hasMore', 'pagination.has_more'] as const;
const NEXT_POINTERS = ['paging.next.after', 'pages.next', 'links.next', 'next_page', 'next', 'meta.next_cursor', 'next_cursor', 'nextCursor', 'pagination.next'] as const;
/** Where APIs commonly give the number of records in the whole list. */
const TOTAL_FIELDS = ['total', 'total_count', 'totalCount', 'count', 'meta.total', 'meta.count', 'meta.total_count', 'pagination.total'] as const;

const readers = new Map<string, (body: unknown) => unknown>();
function read(path: string, body: unknown): unknown {
  let reader = readers.get(path);
  if (!reader) readers.set(path, (reader = compileSingularPath(path)));
  return reader(body);
}

/** What the last page of a list says about more records: a description ("has_more is true"), or null when it says none follow. */
export function moreAfterLastPage(body: unknown, link: string | undefined): string | null {
  for (const path of MORE_FLAGS) if (read(path, body) === true) return `"${path}" is true`;
  for (const path of NEXT_POINTERS) {
    const value = read(path, body);
    if ((typeof value === 'string' && value !== '') || (value !== null && typeof value === 'object' && Object.keys(value).length > 0)) return `"${path}" points to a next page`;
  }
  if (link && LinkHeader.parse(link).rel('next').length > 0) return 'the Link header has rel="next"';
  return null;
}

/** The list's total as the source counts it on a page, with where it was found; null when the page says nothing. */
export function sourceTotal(body: unknown, declaredPath: string | undefined): { total: number; at: string } | null {
  for (const path of declaredPath ? [declaredPath] : TOTAL_FIELDS) {
    const value = read(path, body);
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return { total: n, at: path };
  }
  return null;
}
