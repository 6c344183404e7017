// Pages through a list in its declared style (cursor, last item id, next URL, Link header, page, offset), refusing pages that repeat or stall.
import LinkHeader from 'http-link-header';
import type { ListEndpoint, Pagination } from '../config/schema.js';
import { SourcePaginationError } from './errors.js';
import type { JsonRequest } from './http-client.js';
import { compileSingularPath, type Accessor } from '../expressions/json-path.js';
import type { CompiledRequest } from '../expressions/request-template.js';

export type PageRequest = Omit<JsonRequest, 'operation' | 'observe' | 'deadline' | 'keys'>;

/** One page read: its items, and where the next page starts (null after the last). */
export interface PageStep {
  items: unknown[];
  next: string | null;
  /** The page as the source sent it, and its Link header when the style reads one: `rosetta check` looks in them for signs of more pages. */
  body: unknown;
  link: string | undefined;
}

/** A style's reading of one response: the next position, or a reason the list cannot go on. */
interface Paginator {
  /** The request for the page at `position` (null: the first page); `since` filters a template-rendered request. */
  request(position: string | null, limit: number, since?: string): PageRequest;
  /** Where the page after this one starts; throws a Stall when the source says more but gives no way there. */
  next(position: string | null, body: unknown, items: unknown[], link: string | undefined): string | null;
  /** Whether the request must capture the Link header. */
  readonly wantsLink: boolean;
}

/** Why the list cannot go on from this page; becomes a SourcePaginationError naming the source, entity and cursor. */
class Stall {
  constructor(readonly reason: string) {}
}

function flag(read: Accessor, body: unknown, path: string): boolean {
  const value = read(body);
  if (typeof value !== 'boolean') throw new Stall(`no true/false at "${path}" (found ${JSON.stringify(value) ?? 'nothing'})`);
  return value;
}

function count(read: Accessor, body: unknown, path: string): number {
  const value = read(body);
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Stall(`no count at "${path}" (found ${JSON.stringify(value) ?? 'nothing'})`);
  return n;
}

function cursorValue(value: unknown): string | null {
  return (typeof value === 'string' && value !== '') || typeof value === 'number' ? String(value) : null;
}

/** A next-page URL resolved against the request it answers, kept on the source's origin (never followed to another host). */
function onOrigin(url: string, base: URL): string {
  let resolved: URL;
  try {
    resolved = new URL(url, base);
  } catch {
    throw new Stall(`next-page URL "${url}" is not a URL`);
  }
  if (resolved.origin !== base.origin) throw new Stall(`next-page URL "${url}" leaves the source's origin ${base.origin}`);
  return resolved.href;
}

function urlRequest(url: string): PageRequest {
  const { pathname, search } = new URL(url);
  // The query comes as the source wrote it: re-encoding it could change what the source reads.
  return { method: 'GET', path: `${pathname}${search}`, fromOrigin: true };
}

function paginator(list: ListEndpoint, template: CompiledRequest, baseUrl: URL, idPath: string): Paginator {
  const pagination: Pagination = list.pagination;
  const pageSize = list.pageSize;
  switch (pagination.style) {
    case 'cursor': {
      const readCursor = compileSingularPath(pagination.nextCursorPath);
      const hasMorePath = pagination.hasMorePath;
      const readMore = hasMorePath ? compileSingularPath(hasMorePath) : undefined;
      return {
        wantsLink: false,
        request: (position, limit, since) => template.render({ limit, ...(position === null ? {} : { cursor: position }), ...(since === undefined ? {} : { since }) }),
        next(_position, body) {
          const cursor = cursorValue(readCursor(body));
          if (!readMore) return cursor;
          const more = flag(readMore, body, hasMorePath!);
          if (more && cursor === null) throw new Stall(`"${hasMorePath}" says more pages follow, but there is no cursor at "${pagination.nextCursorPath}"`);
          return more ? cursor : null;
        },
      };
    }
    case 'lastItemId': {
      const readMore = compileSingularPath(pagination.hasMorePath);
      const cursorPath = pagination.idPath ?? idPath;
      const readId = compileSingularPath(cursorPath);
      return {
        wantsLink: false,
        request: (position, limit, since) => template.render({ limit, ...(position === null ? {} : { cursor: position }), ...(since === undefined ? {} : { since }) }),
        next(_position, body, items) {
          if (!flag(readMore, body, pagination.hasMorePath)) return null;
          const id = items.length === 0 ? null : cursorValue(readId(items[items.length - 1]));
          if (id === null) throw new Stall(`"${pagination.hasMorePath}" says more pages follow, but the page has no last item with an id at "${cursorPath}"`);
          return id;
        },
      };
    }
    case 'nextUrl': {
      const readUrl = compileSingularPath(pagination.nextUrlPath);
      return {
        wantsLink: false,
        request: (position, limit, since) => (position === null ? template.render({ limit, ...(since === undefined ? {} : { since }) }) : urlRequest(position)),
        next(position, body) {
          const value = readUrl(body);
          if (value === undefined || value === null || value === '') return null;
          if (typeof value !== 'string') throw new Stall(`no URL at "${pagination.nextUrlPath}" (found ${JSON.stringify(value)})`);
          return onOrigin(value, position === null ? baseUrl : new URL(position));
        },
      };
    }
    case 'linkHeader':
      return {
        wantsLink: true,
        request: (position, limit, since) => (position === null ? template.render({ limit, ...(since === undefined ? {} : { since }) }) : urlRequest(position)),
        next(position, _body, _items, link) {
          if (!link) return null;
          const next = LinkHeader.parse(link).rel('next')[0];
          return next ? onOrigin(next.uri, position === null ? baseUrl : new URL(position)) : null;
        },
      };
    case 'page': {
      const { firstPage, totalPagesPath, totalPath } = pagination;
      const readPages = totalPagesPath ? compileSingularPath(totalPagesPath) : undefined;
      const readTotal = totalPath ? compileSingularPath(totalPath) : undefined;
      return {
        wantsLink: false,
        request: (position, limit, since) => template.render({ limit, page: position === null ? firstPage : Number(position), ...(since === undefined ? {} : { since }) }),
        next(position, body, items) {
          const page = position === null ? firstPage : Number(position);
          const pages = readPages ? count(readPages, body, totalPagesPath!) : Math.ceil(count(readTotal!, body, totalPath!) / pageSize);
          if (page - firstPage + 1 >= pages) return null;
          if (items.length === 0) throw new Stall(`page ${page} is empty, but the source counts ${pages} pages`);
          return String(page + 1);
        },
      };
    }
    case 'offset': {
      const readTotal = compileSingularPath(pagination.totalPath);
      return {
        wantsLink: false,
        request: (position, limit, since) => template.render({ limit, offset: position === null ? 0 : Number(position), ...(since === undefined ? {} : { since }) }),
        next(position, body, items) {
          const offset = position === null ? 0 : Number(position);
          const total = count(readTotal, body, pagination.totalPath);
          if (offset + items.length >= total) return null;
          if (items.length === 0) throw new Stall(`the page at offset ${offset} is empty, but the source counts ${total} records`);
          return String(offset + items.length);
        },
      };
    }
  }
}

/** Reads a list's pages in order: `fetch` sends one request, `itemsOf` finds a page's items, `idOf` names an item. */
export class ListPager {
  private readonly style: Paginator;

  constructor(
    private readonly source: string,
    private readonly entity: string,
    private readonly list: ListEndpoint,
    template: CompiledRequest,
    baseUrl: string,
    idPath: string,
  ) {
    this.style = paginator(list, template, new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`), idPath);
  }

  /**
   * Every page from `resumeFrom` on (null: the first). A page whose position was already read in this pass, or whose
   * items are exactly the previous page's, would loop for ever or duplicate: it stops the list with a
   * SourcePaginationError, as does a source that says more pages follow without a way to reach them.
   */
  async *pages(
    resumeFrom: string | null,
    fetch: (request: PageRequest) => Promise<{ body: unknown; link: string | undefined }>,
    itemsOf: (body: unknown) => unknown[],
    idOf: (item: unknown) => string | null,
    /** An incremental pass's modified-since value: sent on every page the template renders (URL styles' next URLs carry it on). */
    since?: string,
  ): AsyncGenerator<PageStep> {
    const seen = new Set<string>();
    let position = resumeFrom;
    let previousIds: string | null = null;
    for (;;) {
      const { body, link } = await fetch(this.style.request(position, this.list.pageSize, since));
      const items = itemsOf(body);
      let next: string | null;
      try {
        next = this.style.next(position, body, items, link);
      } catch (error) {
        if (!(error instanceof Stall)) throw error;
        throw new SourcePaginationError(this.source, this.entity, position, error.reason);
      }
      const ids = items.length === 0 ? null : items.map(idOf).join('\u0000');
      if (ids !== null && ids === previousIds) throw new SourcePaginationError(this.source, this.entity, position, `the page repeats the previous page's ${items.length} records`);
      if (next !== null && (next === position || seen.has(next))) throw new SourcePaginationError(this.source, this.entity, position, `the next page ("${next}") was already read in this pass`);
      if (position !== null) seen.add(position);
      previousIds = ids;
      yield { items, next, body, link };
      if (next === null) return;
      position = next;
    }
  }

  /** The first page's request, `limit` records long (a probe asks for one). */
  firstPageRequest(limit: number): PageRequest {
    return this.style.request(null, limit);
  }

  get wantsLink(): boolean {
    return this.style.wantsLink;
  }
}
