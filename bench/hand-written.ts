// `npx tsx bench/hand-written.ts [--libs DIR]`: what the hub's hand-written routing and negotiation cost per request,
// beside the libraries that would replace them (docs/ARCHITECTURE.md, "Hand-written on purpose").
//
// Method. Each case runs a fixed list of real inputs in a loop: warmed up (200,000 calls), then 7 rounds of 1,000,000
// calls; the median round's ns per call is printed. Inputs: the request paths the hub and the demo's sources see in
// the bench (POST /graphql, a playground GET, webhooks, ids, searches), the Accept and Accept-Encoding headers of
// curl, a browser, graphql-ws/Apollo clients. The libraries are not the project's dependencies: install them apart,
// `npm install --prefix /tmp/libs find-my-way@9`, and pass `--libs /tmp/libs` (without it only the hand-written side runs).
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import Negotiator from 'negotiator';
import { demoConfig } from '../src/cli/demo-config.js';
import { createCrmServer } from '../src/demo/crm.js';
import { generateDataset } from '../src/demo/dataset.js';
import type { HttpApp } from '../src/demo/http-app.js';
import { createShopServer } from '../src/demo/shop.js';
import { createSupportServer } from '../src/demo/support.js';
import { SqliteLinkStore } from '../src/identity/sqlite-store.js';
import { negotiateEncoding } from '../src/playground/compressed-assets.js';
import { errorMediaType } from '../src/server/http-errors.js';
import { createServices } from '../src/server/hub.js';
import type { ExtraRoute } from '../src/server/http.js';
import { metricsRoute } from '../src/server/metrics-route.js';
import { playgroundRoutes, prefersHtml } from '../src/playground/playground.js';
import { readinessRoute } from '../src/server/readiness.js';
import { webhookRoute } from '../src/server/webhooks.js';

const libsAt = process.argv.includes('--libs') ? process.argv[process.argv.indexOf('--libs') + 1] : undefined;
const lib = libsAt ? createRequire(`${libsAt}/node_modules/`) : null;

function measure(name: string, inputs: readonly unknown[], run: (input: never) => unknown): void {
  const call = run as (input: unknown) => unknown;
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += call(inputs[i % inputs.length]) ? 1 : 0;
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 1_000_000; i++) sink += call(inputs[i % inputs.length]) ? 1 : 0;
    rounds.push(Number(process.hrtime.bigint() - start) / 1_000_000);
  }
  rounds.sort((a, b) => a - b);
  console.log(`${name.padEnd(58)} ${rounds[3]!.toFixed(0).padStart(5)} ns/call${sink < 0 ? '' : ''}`);
}

// The hub's route table, as startHub builds it (the SSE routes are three exact-path compares, put first as there).
const urls = { crm: 'http://127.0.0.1:1', shop: 'http://127.0.0.1:2', support: 'http://127.0.0.1:3', marketing: 'http://127.0.0.1:4', analytics: 'http://127.0.0.1:5' };
const config = demoConfig(urls, { LINK_DB: ':memory:' });
const services = createServices(config, new SqliteLinkStore(':memory:'));
const sse = (method: string): ExtraRoute => ({ method, match: (path) => (path === '/graphql/stream' ? {} : null), handle: async () => {} });
const hubRoutes: ExtraRoute[] = [sse('GET'), sse('POST'), webhookRoute(services), readinessRoute(services), metricsRoute(async () => ({ text: '', contentType: '' }), config.metrics, services.telemetry.logger), ...playgroundRoutes(services)];
const API = 'application/graphql-response+json, application/json;q=0.9';
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const hubRequests = [
  { method: 'POST', path: '/graphql', accept: API },
  { method: 'POST', path: '/graphql', accept: API },
  { method: 'POST', path: '/graphql', accept: 'application/json' },
  { method: 'GET', path: '/graphql', accept: BROWSER },
  { method: 'POST', path: '/webhooks/crm', accept: '*/*' },
  { method: 'GET', path: '/readyz', accept: '*/*' },
].map(({ method, path, accept }) => ({ method, path, request: { method, headers: { accept } } as IncomingMessage }));
function hubDispatch({ method, path, request }: (typeof hubRequests)[number]): unknown {
  for (const route of hubRoutes) if (route.method === method && route.match(path, request)) return route;
  return path === '/graphql' ? 'apollo' : null;
}

// Three of the demo's sources, with the paths the bench's queries make them serve.
const dataset = generateDataset({ people: 100, seed: 1 });
const apps = [createCrmServer(dataset), createShopServer(dataset), createSupportServer(dataset)] as unknown as HttpApp[];
const demoRequests = [
  ['GET', '/contacts'], ['GET', '/contacts/42'], ['GET', '/contacts/search'], ['POST', '/customers/batch'], ['POST', '/orders/batch'],
  ['GET', '/customers/17/orders'], ['GET', '/users/7'], ['GET', '/users/7/tickets'], ['GET', '/nowhere/at/all'],
].map(([method, path]) => ({ method: method!, path: path! }));
const demoMatch = ({ method, path }: (typeof demoRequests)[number]): unknown => apps.find((app) => (app as unknown as { match(m: string, p: string): unknown }).match(method, path));

const accepts = [API, 'application/json', '*/*', BROWSER, 'application/graphql-response+json', 'text/html, application/json'];
const encodings = ['gzip, deflate, br', 'gzip, deflate, br, zstd', 'gzip', 'br;q=1.0, gzip;q=0.8, *;q=0.1', 'identity'];
const API_TYPES = ['application/json; charset=utf-8', 'application/graphql-response+json; charset=utf-8'];

console.log(`node ${process.version}, ${hubRoutes.length} hub routes, ${apps.reduce((n, app) => n + (app as unknown as { routes: unknown[] }).routes.length, 0)} demo routes in 3 sources`);
measure('hub: route table scan (hand-written)', hubRequests, hubDispatch);
measure('demo: route match in 3 sources (hand-written)', demoRequests, demoMatch);
measure('Accept → API or playground: prefersHtml (hand-written)', accepts, prefersHtml);
measure('Accept → API or playground: negotiator', accepts, (accept: string) => new Negotiator({ headers: { accept } }).mediaType([...API_TYPES, 'text/html']) === 'text/html');
measure('Accept → early error media type: errorMediaType (negotiator)', accepts, errorMediaType);
measure('Accept-Encoding → br/gzip/identity: negotiateEncoding (hand)', encodings, negotiateEncoding);
measure('Accept-Encoding → br/gzip/identity: negotiator', encodings, (encoding: string) => new Negotiator({ headers: { 'accept-encoding': encoding } }).encoding(['br', 'gzip', 'identity']));
if (lib) {
  type Router = { on(method: string, path: string, handler: () => void): void; find(method: string, path: string, constraints?: Record<string, string>): unknown };
  const FindMyWay = lib('find-my-way') as (options?: object) => Router;
  const hub = FindMyWay();
  for (const path of ['/graphql/stream']) for (const method of ['GET', 'POST']) hub.on(method, path, () => {});
  for (const [method, path] of [['POST', '/webhooks/:source'], ['GET', '/readyz'], ['GET', '/metrics'], ['GET', '/'], ['GET', '/playground-assets/:name'], ['POST', '/graphql'], ['GET', '/graphql']] as const) hub.on(method, path, () => {});
  measure('hub: find-my-way lookup (+ prefersHtml for GET /graphql)', hubRequests, ({ method, path, request }: (typeof hubRequests)[number]) => hub.find(method, path) && (method !== 'GET' || path !== '/graphql' || prefersHtml(request.headers.accept as string)));
  const demo = apps.map((app) => {
    const router = FindMyWay();
    for (const route of (app as unknown as { routes: { method: string; key: string }[] }).routes) router.on(route.method, route.key.slice(route.method.length + 1), () => {});
    return router;
  });
  measure('demo: find-my-way lookup in 3 sources', demoRequests, ({ method, path }: (typeof demoRequests)[number]) => demo.find((router) => router.find(method, path)));
}
await services.registry.close();
