// Static files in memory, each encoding compressed once, chosen by the request's Accept-Encoding.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

export type ContentCoding = 'br' | 'gzip' | 'identity';

/** Server preference among codings the client ranks equally: the smallest first. */
const PREFERENCE: readonly ContentCoding[] = ['br', 'gzip', 'identity'];

/**
 * Brotli 6, not 11: on graphiql.min.js (978 kB) quality 11 takes ~1.4 s for 260 kB while 6 takes ~30 ms for 289 kB,
 * and the first browser to ask waits for it. Gzip's level barely matters here (9 saves 0.2% over 6).
 */
const BROTLI_QUALITY = 6;
const GZIP_LEVEL = 9;

const compressBrotli = promisify(brotliCompress);
const compressGzip = promisify(gzip);

/**
 * The coding to send for an Accept-Encoding value (RFC 9110 §12.5.3): the highest q among br and gzip, ties to br.
 * Identity competes only when the client ranks it (by name or `*`), and is the answer whenever nothing else is
 * acceptable: refusing a script with 406 would help nobody.
 */
export function negotiateEncoding(acceptEncoding: string | undefined): ContentCoding {
  if (acceptEncoding === undefined) return 'identity';
  const ranked = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (!name) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : parseQValue(qParam.slice(2));
    if (q === null) continue;
    // RFC 9110 §8.4.1.3: x-gzip is gzip.
    ranked.set(name === 'x-gzip' ? 'gzip' : name, q);
  }
  const wildcard = ranked.get('*');
  let best: { coding: ContentCoding; q: number } = { coding: 'identity', q: 0 };
  for (const coding of PREFERENCE) {
    const q = ranked.get(coding) ?? wildcard;
    if (q !== undefined && q > best.q) best = { coding, q };
  }
  return best.coding;
}

/** A qvalue is 0 to 1 with at most three decimals; anything else makes the entry unreadable, so it is ignored. */
function parseQValue(text: string): number | null {
  return /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text) ? Number(text) : null;
}

/** One representation of a file: its bytes as sent, the coding they are in, and an ETag unique to both. */
export interface Representation {
  body: Buffer;
  coding: ContentCoding;
  etag: string;
}

/** True when If-None-Match names this ETag (weak comparison, RFC 9110 §13.1.2) or is `*`. */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/**
 * Files read on first request and kept, each coding compressed on the first request that needs it: a hub whose
 * playground nobody opens spends nothing, and requests arriving together share one read and one compression.
 */
export class CompressedFiles {
  readonly #cache = new Map<string, Promise<Representation>>();

  representation(file: string, coding: ContentCoding): Promise<Representation> {
    const key = `${coding}:${file}`;
    let cached = this.#cache.get(key);
    if (!cached) {
      cached = coding === 'identity' ? this.#read(file) : this.#compress(file, coding);
      // A failed read is not remembered: the next request tries again.
      cached.catch(() => this.#cache.delete(key));
      this.#cache.set(key, cached);
    }
    return cached;
  }

  async #read(file: string): Promise<Representation> {
    const body = await readFile(file);
    return { body, coding: 'identity', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
  }

  async #compress(file: string, coding: Exclude<ContentCoding, 'identity'>): Promise<Representation> {
    const identity = await this.representation(file, 'identity');
    // zlib's async forms run on the libuv pool: GraphQL requests keep being answered while a bundle compresses.
    const body =
      coding === 'br'
        ? await compressBrotli(identity.body, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
              [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
              [constants.BROTLI_PARAM_SIZE_HINT]: identity.body.length,
            },
          })
        : await compressGzip(identity.body, { level: GZIP_LEVEL });
    // A file too small to gain (page.css) is sent as it is rather than a few bytes larger.
    if (body.length >= identity.body.length) return identity;
    return { body, coding, etag: `${identity.etag.slice(0, -1)}-${coding}"` };
  }
}
