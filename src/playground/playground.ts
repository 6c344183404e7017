// The offline playground: GraphiQL served at GET /graphql for browsers, every script and style from the hub itself.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HubConfig } from '../config/schema.js';
import { CompressedFiles, negotiateEncoding, notModified } from './compressed-assets.js';
import type { LinkDirectory } from '../identity/directory.js';
import type { Environment } from '../config/load.js';
import { productionMode } from '../config/mode.js';

/** Where the page finds its assets, relative to /graphql so the playground also works behind a path prefix. */
const ASSETS_PATH = 'playground/assets/';
const OWN_ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

/**
 * Nothing from another origin, and no inline script: the page's one script of its own is a file (boot.js), and the
 * example it shows travels as inert JSON. `data:` covers the fonts graphiql.min.css embeds.
 */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': PLAYGROUND_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** Asset URLs carry their version, so a year of caching never serves a stale file after an upgrade. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const EXAMPLE_QUERY = `# One customer, live from every system that holds them.
# Run: ▶ or Ctrl-Enter. The id is in Variables.
query CustomerContext($id: ID!) {
  customer(id: $id) {
    id
    profile {
      name
      email
      phone
      address { line1 city postalCode country }
      provenance { field source recordId fetchedAt }
    }
    orders(first: 5) {
      number
      placedAt
      total { formatted currency }
    }
    tickets(status: [OPEN, PENDING]) {
      subject
      status
      priority
    }
    marketing { status emailConsent lists }
    events(first: 10) { name occurredAt deviceId }
    identities { source entity recordId }
  }
}
`;

/** What the example names when the hub may not (or cannot) name a real customer. */
const PLACEHOLDER_CUSTOMER = 'cus_0000000000000000';
const CUSTOMER_PARAM = /^[\w-]{1,64}$/;

interface Asset {
  file: string;
  contentType: string;
  version: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

function packageAsset(require: ReturnType<typeof createRequire>, pkg: string, file: string, contentType: string): Asset {
  // The packages' `exports` hide their UMD builds from require.resolve, but never their package.json.
  const manifest = require.resolve(`${pkg}/package.json`);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const path = join(dirname(manifest), file);
  statSync(path); // a missing build stops the hub at start, not the first browser that asks
  return { file: path, contentType, version };
}

function ownAsset(file: string, contentType: string): Asset {
  const path = join(OWN_ASSETS_DIR, file);
  return { file: path, contentType, version: createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12) };
}

/** The page's scripts and styles by URL name, in the order the page loads them. */
function playgroundAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  return new Map([
    ['graphiql.min.css', packageAsset(require, 'graphiql', 'graphiql.min.css', CSS)],
    ['page.css', ownAsset('page.css', CSS)],
    ['react.production.min.js', packageAsset(require, 'react', 'umd/react.production.min.js', JS)],
    ['react-dom.production.min.js', packageAsset(require, 'react-dom', 'umd/react-dom.production.min.js', JS)],
    ['graphiql.min.js', packageAsset(require, 'graphiql', 'graphiql.min.js', JS)],
    ['boot.js', ownAsset('boot.js', JS)],
  ]);
}

/** On unless the config says otherwise, except in production mode (`limits.landingPage` decides the playground). */
export function playgroundEnabled(config: HubConfig, env: Environment = process.env): boolean {
  return config.limits.landingPage ?? !productionMode(config, env);
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(accept: string): MediaRange[] {
  return accept.split(',').flatMap((part) => {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const [type, subtype] = range.split('/');
    if (!type || !subtype) return [];
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    return Number.isFinite(q) ? [{ type, subtype, q }] : [];
  });
}

/** The quality the Accept header gives a media type: that of the most specific range matching it (RFC 9110 §12.5.1). */
function quality(ranges: readonly MediaRange[], mediaType: string): number {
  const [type, subtype] = mediaType.split('/');
  let best: { specificity: number; q: number } = { specificity: -1, q: 0 };
  for (const range of ranges) {
    const specificity = range.type === type && range.subtype === subtype ? 2 : range.type === type && range.subtype === '*' ? 1 : range.type === '*' && range.subtype === '*' ? 0 : -1;
    if (specificity > best.specificity) best = { specificity, q: range.q };
  }
  return best.q;
}

const GRAPHQL_RESPONSE_TYPES = ['application/graphql-response+json', 'application/json'];

/**
 * A browser navigating to /graphql: HTML ranks strictly above every GraphQL response type. Ties go to GraphQL
 * whatever the header's order (Apollo Server's own negotiation breaks ties by order), so `Accept: *\/*` (curl) and
 * `text/html, application/json` still get the API: the page is served only to a client that prefers it.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = parseAccept(accept);
  const html = quality(ranges, 'text/html');
  return html > 0 && GRAPHQL_RESPONSE_TYPES.every((type) => quality(ranges, type) < html);
}

async function exampleCustomerId(services: PlaygroundServices, requested: string | null): Promise<string> {
  if (requested !== null && CUSTOMER_PARAM.test(requested)) return requested;
  // Behind auth the page is still served to anyone who can reach it, so it must not name a real customer.
  if (services.config.auth) return PLACEHOLDER_CUSTOMER;
  const { customers } = await services.directory.page(1, null);
  return customers[0]?.customerId ?? PLACEHOLDER_CUSTOMER;
}

/** JSON inside a <script> element: only "</script" could end it early, and no "<" survives the escaping. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function renderPlayground(assets: ReadonlyMap<string, Asset>, example: { customerId: string; auth: boolean }): string {
  const url = (name: string) => `${ASSETS_PATH}${name}?v=${assets.get(name)!.version}`;
  const styles = [...assets].filter(([, a]) => a.contentType === CSS).map(([name]) => `<link rel="stylesheet" href="${url(name)}">`);
  const scripts = [...assets].filter(([, a]) => a.contentType === JS).map(([name]) => `<script src="${url(name)}"></script>`);
  const config = {
    query: EXAMPLE_QUERY,
    variables: JSON.stringify({ id: example.customerId }, null, 2),
    headers: example.auth ? JSON.stringify({ 'x-api-key': '' }, null, 2) : '',
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rosetta playground</title>
<link rel="icon" href="data:,">
${styles.join('\n')}
</head>
<body>
<div id="graphiql">Loading the playground…</div>
<script id="playground-config" type="application/json">${scriptJson(config)}</script>
${scripts.join('\n')}
</body>
</html>
`;
}

/**
 * The asset in the best coding the client accepts. Each coding has its own ETag, so a cache holding the gzip bytes
 * never revalidates them against a brotli request.
 */
async function sendAsset(request: IncomingMessage, response: ServerResponse, asset: Asset, files: CompressedFiles): Promise<void> {
  const { body, coding, etag } = await files.representation(asset.file, negotiateEncoding(request.headers['accept-encoding']));
  const caching = { ...SECURITY_HEADERS, 'cache-control': IMMUTABLE, vary: 'accept-encoding', etag };
  if (notModified(request.headers['if-none-match'], etag)) {
    response.writeHead(304, caching);
    response.end();
    return;
  }
  response.writeHead(200, {
    ...caching,
    'content-type': asset.contentType,
    'content-length': body.length,
    ...(coding === 'identity' ? {} : { 'content-encoding': coding }),
  });
  response.end(body);
}

/**
 * What the page reads of the hub: whether callers authenticate, and the first linked customer for its example query.
 * The hub's services have both; naming only these keeps the playground apart from the server that mounts it.
 */
export interface PlaygroundServices {
  config: Pick<HubConfig, 'auth'>;
  directory: Pick<LinkDirectory, 'page'>;
}

/**
 * A route as the hub's HTTP surface mounts it (server/http.ts's ExtraRoute has this shape): `match` returns the path
 * parameters or null, and sees the request so the page can claim the browsers' GET /graphql and leave the rest to Apollo.
 */
export interface PlaygroundRoute {
  method: 'GET';
  match(path: string, request: IncomingMessage): Record<string, string> | null;
  handle(request: IncomingMessage, response: ServerResponse, params: Record<string, string>): Promise<void>;
}

/** GET /graphql for browsers (the page) and GET /playground/assets/<name> (its scripts and styles). */
export function playgroundRoutes(services: PlaygroundServices): PlaygroundRoute[] {
  const assets = playgroundAssets();
  const files = new CompressedFiles();
  const page: PlaygroundRoute = {
    method: 'GET',
    match: (path, request) => (path === '/graphql' && prefersHtml(request.headers.accept) ? {} : null),
    async handle(request, response) {
      const requested = new URL(request.url ?? '/', 'http://hub').searchParams.get('customer');
      const html = renderPlayground(assets, { customerId: await exampleCustomerId(services, requested), auth: services.config.auth !== undefined });
      // The page names a customer picked at request time: never cached.
      response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(html);
    },
  };
  const asset: PlaygroundRoute = {
    method: 'GET',
    match: (path) => {
      const name = path.startsWith(`/${ASSETS_PATH}`) ? path.slice(ASSETS_PATH.length + 1) : null;
      return name !== null && assets.has(name) ? { name } : null;
    },
    handle: (request, response, { name }) => sendAsset(request, response, assets.get(name!)!, files),
  };
  return [page, asset];
}
