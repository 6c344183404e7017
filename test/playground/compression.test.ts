// The playground's assets over the wire compressed: brotli or gzip as the client's Accept-Encoding ranks them, the
// decoded bytes exactly the files on disk, and an ETag per coding so revalidation never crosses codings.
import { readFileSync } from 'node:fs';
import { get, type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { negotiateEncoding } from '../../src/playground/compressed-assets.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const require = createRequire(import.meta.url);
const packageDir = (pkg: string) => dirname(require.resolve(`${pkg}/package.json`));
const OWN_ASSETS = fileURLToPath(new URL('../../src/playground/assets/', import.meta.url));

/** Each asset's file on disk, by the name the page's URL gives it. */
const ON_DISK: Record<string, string> = {
  'graphiql.min.css': join(packageDir('graphiql'), 'graphiql.min.css'),
  'page.css': join(OWN_ASSETS, 'page.css'),
  'react.production.min.js': join(packageDir('react'), 'umd/react.production.min.js'),
  'react-dom.production.min.js': join(packageDir('react-dom'), 'umd/react-dom.production.min.js'),
  'graphiql.min.js': join(packageDir('graphiql'), 'graphiql.min.js'),
  'boot.js': join(OWN_ASSETS, 'boot.js'),
};
/** page.css is 88 bytes and would be 105 in gzip (whose framing alone is 18), so gzip clients get it as it is. */
const LARGER_IN_GZIP = new Set(['page.css']);

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The bytes as sent, still encoded. */
  body: Buffer;
}

/** node:http rather than fetch: fetch decodes bodies and sends its own Accept-Encoding. */
function rawGet(url: URL, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

function decode(response: RawResponse): Buffer {
  const coding = response.headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(response.body);
  if (coding === 'gzip') return gunzipSync(response.body);
  expect(coding, 'no other coding is ever sent').toBeUndefined();
  return response.body;
}

describe('Accept-Encoding negotiation', () => {
  test.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['br;q=0, gzip', 'gzip'],
    ['gzip, br;q=0', 'gzip'],
    ['BR;Q=0, GZIP', 'gzip'],
    ['gzip;q=0.5, br;q=0.8', 'br'],
    ['gzip;q=0.9, br;q=0.8', 'gzip'],
    ['gzip, br', 'br'],
    ['br;q=1.000, gzip;q=1', 'br'],
    ['br;q=0, gzip;q=0', 'identity'],
    ['br;q=0, gzip;q=0, identity;q=0', 'identity'],
    ['deflate', 'identity'],
    ['x-gzip', 'gzip'],
    ['*', 'br'],
    ['*;q=0.5, br;q=0', 'gzip'],
    ['identity, br;q=0.5', 'identity'],
    ['identity;q=0.4, gzip;q=0.5', 'gzip'],
    ['*;q=0', 'identity'],
    // An unreadable qvalue makes its entry unreadable, not a preference.
    ['br;q=2, gzip', 'gzip'],
    ['br;q=0.5000, gzip;q=0.1', 'gzip'],
    ['br;q=abc', 'identity'],
    ['  gzip ;  q=0.3 , br ; q=0.2 ', 'gzip'],
  ])('%j → %s', (header, expected) => {
    expect(negotiateEncoding(header)).toBe(expected);
  });
});

describe('compressed playground assets', () => {
  let t: TestHub;
  let assetUrls: Map<string, URL>;
  beforeAll(async () => {
    t = await startTestHub({ people: 20 });
    const html = await (await fetch(t.hub.url, { headers: { accept: 'text/html' } })).text();
    const urls = [...html.matchAll(/\b(?:src|href)="(playground\/assets\/([^"?]+)\?v=[^"]+)"/g)];
    assetUrls = new Map(urls.map((m) => [m[2]!, new URL(m[1]!, t.hub.url)]));
  });
  afterAll(() => t.close());

  const graphiqlJs = () => assetUrls.get('graphiql.min.js')!;

  test('the page names exactly the assets this test knows the files of', () => {
    expect([...assetUrls.keys()].sort()).toEqual(Object.keys(ON_DISK).sort());
  });

  test.each(['br', 'gzip', 'identity'])('every asset in %s decodes to the file on disk, with its length, vary and caching', async (coding) => {
    for (const [name, url] of assetUrls) {
      const onDisk = readFileSync(ON_DISK[name]!);
      const response = await rawGet(url, { 'accept-encoding': coding });
      expect(response.status, name).toBe(200);
      const sent = coding === 'identity' || (coding === 'gzip' && LARGER_IN_GZIP.has(name)) ? undefined : coding;
      expect(response.headers['content-encoding'], name).toBe(sent);
      expect(Number(response.headers['content-length']), name).toBe(response.body.length);
      expect(response.headers.vary, name).toBe('accept-encoding');
      expect(response.headers['cache-control'], name).toBe('public, max-age=31536000, immutable');
      expect(response.headers.etag, name).toMatch(/^"[\w-]+"$/);
      expect(decode(response).equals(onDisk), name).toBe(true);
      if (sent) expect(response.body.length, name).toBeLessThan(onDisk.length);
    }
  });

  test('the main bundle shrinks to under a third with brotli and gzip', async () => {
    const size = readFileSync(ON_DISK['graphiql.min.js']!).length;
    for (const coding of ['br', 'gzip']) {
      const response = await rawGet(graphiqlJs(), { 'accept-encoding': coding });
      expect(response.body.length, coding).toBeLessThan(size / 3);
    }
  });

  test('q-values decide over HTTP: br;q=0 means no brotli, all zero means identity, the higher q wins', async () => {
    const cases: [string | undefined, string | undefined][] = [
      [undefined, undefined],
      ['gzip, deflate, br', 'br'],
      ['br;q=0, gzip', 'gzip'],
      ['br;q=0.8, gzip;q=0.9', 'gzip'],
      ['br;q=0, gzip;q=0', undefined],
      ['identity, gzip;q=0.5', undefined],
    ];
    for (const [acceptEncoding, expected] of cases) {
      const response = await rawGet(graphiqlJs(), acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding });
      expect(response.headers['content-encoding'], String(acceptEncoding)).toBe(expected);
      expect(decode(response).equals(readFileSync(ON_DISK['graphiql.min.js']!)), String(acceptEncoding)).toBe(true);
    }
  });

  test('each coding has its own ETag, and the same bytes keep it', async () => {
    const etags = new Map<string, string>();
    for (const coding of ['br', 'gzip', 'identity']) {
      const [first, again] = await Promise.all([rawGet(graphiqlJs(), { 'accept-encoding': coding }), rawGet(graphiqlJs(), { 'accept-encoding': coding })]);
      expect(again.headers.etag, coding).toBe(first.headers.etag);
      expect(again.body.equals(first.body), coding).toBe(true);
      etags.set(coding, first.headers.etag!);
    }
    expect(new Set(etags.values()).size).toBe(3);
  });

  test('If-None-Match answers 304 only for the ETag of the coding negotiated now', async () => {
    const etagOf = async (coding: string) => (await rawGet(graphiqlJs(), { 'accept-encoding': coding })).headers.etag!;
    const etags = { br: await etagOf('br'), gzip: await etagOf('gzip'), identity: await etagOf('identity') };

    for (const [coding, etag] of Object.entries(etags)) {
      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`]) {
        const response = await rawGet(graphiqlJs(), { 'accept-encoding': coding, 'if-none-match': ifNoneMatch });
        expect(response.status, `${coding} ${ifNoneMatch}`).toBe(304);
        expect(response.body.length).toBe(0);
        expect(response.headers.etag).toBe(etag);
        expect(response.headers.vary).toBe('accept-encoding');
        expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      }
    }

    // A cache holding the gzip bytes asks with their ETag; a client that now takes brotli gets the brotli bytes.
    const crossed = await rawGet(graphiqlJs(), { 'accept-encoding': 'br', 'if-none-match': etags.gzip });
    expect(crossed.status).toBe(200);
    expect(crossed.headers['content-encoding']).toBe('br');
    expect(crossed.headers.etag).toBe(etags.br);
    expect(decode(crossed).equals(readFileSync(ON_DISK['graphiql.min.js']!))).toBe(true);

    const identityAskedWithBrotliTag = await rawGet(graphiqlJs(), { 'if-none-match': etags.br });
    expect(identityAskedWithBrotliTag.status).toBe(200);
    expect(identityAskedWithBrotliTag.headers['content-encoding']).toBeUndefined();
  });
});
