// A tiny JSON-over-HTTP framework on node:http that gives every simulated source routing, request stats, latency and fault injection.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ZodError } from 'zod';
import { FaultInjector, omitItems, replaceField, type Fault, type OutcomeFault } from './faults.js';

const MAX_BODY_BYTES = 1024 * 1024;
/** Longer than typical client pools keep idle sockets, so the client, not the server, closes them. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const STATS_PATH = '/__stats';
const STATS_RESET_PATH = '/__stats/reset';
/** GET lists the active faults with their hit counts, POST `{ faults: [...] }` replaces them, DELETE clears them. */
const FAULTS_PATH = '/__faults';
/** The stats key for requests that matched no route. */
const UNMATCHED_ROUTE = 'unmatched';

export interface RequestStats {
  /** Every request except the `/__stats` endpoints themselves. */
  total: number;
  /** Requests per route template, keyed like `GET /users/:id`; unmatched requests count under `unmatched`. */
  routes: Record<string, number>;
}

/** One simulated source system: a real HTTP server on loopback plus in-process controls for tests and benchmarks. */
export interface SimulatedSource {
  readonly name: string;
  /** `http://127.0.0.1:PORT`; throws before `listen()` resolves. */
  readonly url: string;
  /** Delay added before every response except `/__stats`; may be changed while running. */
  latencyMs: number;
  /** Faults injected into this source's replies; also reachable over HTTP at `/__faults`. */
  readonly faults: FaultInjector;
  /** Starts listening (port 0 = ephemeral) and resolves to the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops listening and drops open keep-alive sockets; safe to call twice. */
  close(): Promise<void>;
  stats(): RequestStats;
  /** Most requests in progress at once (received, not yet answered) since start or the last reset. */
  peakConcurrency(): number;
  resetStats(): void;
}

export interface SourceOptions {
  latencyMs?: number;
  /** Faults active from the start (see `faults.ts`). */
  faults?: readonly Fault[];
}

/** A reply other than a plain 200 with a JSON body: another status, extra headers, or a non-JSON body. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly options: { headers?: Record<string, string>; contentType?: string } = {},
  ) {}
}

/**
 * An error a handler (or guard) throws to answer with a specific status and `{ error, message }` body, or with
 * `reply` when given: simulated vendors answer in their own error envelopes.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message?: string,
    readonly reply?: Reply,
  ) {
    super(message ?? code);
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, 'bad_request', message);
export const notFound = (message: string): HttpError => new HttpError(404, 'not_found', message);

/** `'/users/:id/tickets'` → `'id'`, so handlers get typed, always-present path params. */
type ParamNames<T extends string> = T extends `${string}:${infer Param}/${infer Rest}`
  ? Param | ParamNames<`/${Rest}`>
  : T extends `${string}:${infer Param}`
    ? Param
    : never;

interface RequestContext<Template extends string = string> {
  readonly params: { readonly [K in ParamNames<Template>]: string };
  readonly query: URLSearchParams;
  /** Parsed JSON body (or, for `application/x-www-form-urlencoded`, an object of its fields); undefined when the request had none. */
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  /** This source's own base URL (`http://127.0.0.1:PORT`), for the absolute next-page links real APIs send. */
  readonly baseUrl: string;
}

/** Returns the JSON body of a 200 reply (or a `Reply`), or throws an HttpError. */
export type Handler<Template extends string = string> = (ctx: RequestContext<Template>) => unknown;

/** Runs before every routed request (auth, rate limits): throws an HttpError to refuse it. `route` is the stats key. */
export type Guard = (request: { route: string; headers: IncomingHttpHeaders; method: string }) => void;

type Segment = { param: false; text: string } | { param: true; name: string };

interface Route {
  method: string;
  key: string;
  segments: Segment[];
  staticCount: number;
  handler: Handler;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/** A simulated source under construction: register routes with get/post, then listen. */
export class HttpApp implements SimulatedSource {
  latencyMs: number;
  readonly faults: FaultInjector;
  private readonly routes: Route[] = [];
  private readonly guards: Guard[] = [];
  private counts = new Map<string, number>();
  private total = 0;
  private inProgress = 0;
  private peak = 0;
  private server: Server | undefined;
  private baseUrl: string | undefined;
  private readonly pendingDelays = new Set<NodeJS.Timeout>();

  constructor(
    readonly name: string,
    options: SourceOptions = {},
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.faults = new FaultInjector(options.faults);
  }

  get url(): string {
    if (this.baseUrl === undefined) throw new Error(`${this.name} is not listening`);
    return this.baseUrl;
  }

  get<T extends string>(template: T, handler: Handler<T>): this {
    return this.route('GET', template, handler);
  }

  post<T extends string>(template: T, handler: Handler<T>): this {
    return this.route('POST', template, handler);
  }

  route<T extends string>(method: string, template: T, handler: Handler<T>): this {
    const segments = splitPath(template).map((part): Segment =>
      part.startsWith(':') ? { param: true, name: part.slice(1) } : { param: false, text: part },
    );
    this.routes.push({
      method,
      key: `${method} ${template}`,
      segments,
      staticCount: segments.filter((s) => !s.param).length,
      handler: handler as Handler,
    });
    return this;
  }

  /** Adds a check every routed request passes before its handler (stats count refused requests too). */
  guard(check: Guard): this {
    this.guards.push(check);
    return this;
  }

  stats(): RequestStats {
    return { total: this.total, routes: Object.fromEntries(this.counts) };
  }

  peakConcurrency(): number {
    return this.peak;
  }

  resetStats(): void {
    this.counts = new Map();
    this.total = 0;
    this.peak = this.inProgress;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error(`${this.name} is already listening`);
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.server = undefined;
      throw error;
    }
    const address = server.address() as AddressInfo;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.baseUrl = undefined;
    for (const timer of this.pendingDelays) clearTimeout(timer);
    this.pendingDelays.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');

    if (url.pathname === STATS_PATH && method === 'GET') return sendJson(res, 200, this.stats());
    if (url.pathname === STATS_RESET_PATH && method === 'POST') {
      this.resetStats();
      return sendJson(res, 200, this.stats());
    }
    if (url.pathname === FAULTS_PATH) return this.controlFaults(method, req, res);

    const match = this.match(method, url.pathname);
    const routeKey = match?.route.key ?? UNMATCHED_ROUTE;
    this.count(routeKey);
    this.inProgress += 1;
    this.peak = Math.max(this.peak, this.inProgress);
    res.once('close', () => (this.inProgress -= 1));
    const { delayMs, outcome } = this.faults.pick(routeKey);
    // Held until the client gives up or close() drops the connection.
    if (outcome?.kind === 'hang') return new Promise<void>((resolve) => res.once('close', () => resolve()));

    let status = 200;
    let reply: unknown;
    try {
      for (const guard of this.guards) guard({ route: routeKey, headers: req.headers, method });
      if (!match) throw new HttpError(404, 'not_found');
      const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req);
      reply = await match.route.handler({ params: match.params, query: url.searchParams, body, headers: req.headers, baseUrl: this.url });
    } catch (error) {
      const httpError = error instanceof HttpError ? error : new HttpError(500, 'internal_error', String(error));
      status = httpError.status;
      reply = httpError.reply ?? (httpError.message === httpError.code ? { error: httpError.code } : { error: httpError.code, message: httpError.message });
    }
    let headers: Record<string, string> = {};
    let contentType: string | undefined;
    if (reply instanceof Reply) {
      ({ status } = reply);
      headers = reply.options.headers ?? {};
      contentType = reply.options.contentType;
      reply = reply.body;
    }

    await this.delay(delayMs);
    if (outcome) sendFault(req, res, outcome, status, reply);
    else if (contentType !== undefined) sendText(res, status, String(reply), contentType, headers);
    else sendJson(res, status, reply, headers);
  }

  private async controlFaults(method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (method === 'DELETE') this.faults.clear();
    else if (method === 'POST') {
      try {
        const body = await readJsonBody(req);
        this.faults.set((Array.isArray(body) ? body : bodyField(body, 'faults')) as Fault[]);
      } catch (error) {
        if (error instanceof HttpError) return sendJson(res, error.status, { error: error.code, message: error.message });
        if (error instanceof ZodError) return sendJson(res, 400, { error: 'bad_request', message: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
        throw error;
      }
    } else if (method !== 'GET') return sendJson(res, 405, { error: 'method_not_allowed' });
    sendJson(res, 200, { faults: this.faults.list() });
  }

  private match(method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
    let parts: string[];
    try {
      parts = splitPath(pathname).map((part) => decodeURIComponent(part));
    } catch {
      return undefined;
    }
    let best: { route: Route; params: Record<string, string> } | undefined;
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      // Static segments win over params, so `/contacts/search` is never read as contact "search".
      if (best && best.route.staticCount >= route.staticCount) continue;
      const params: Record<string, string> = {};
      const matches = route.segments.every((segment, i) => {
        const part = parts[i] as string;
        if (!segment.param) return segment.text === part;
        params[segment.name] = part;
        return true;
      });
      if (matches) best = { route, params };
    }
    return best;
  }

  private count(key: string): void {
    this.total++;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private delay(extraMs = 0): Promise<void> {
    const ms = this.latencyMs + extraMs;
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingDelays.delete(timer);
        resolve();
      }, ms);
      this.pendingDelays.add(timer);
    });
  }
}

/** JSON, or for form posts (OAuth2 token requests) an object of the form's fields. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return readJsonBody(req);
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Keep draining past the cap instead of destroying the stream, so the 413 reply still reaches the client.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) throw new HttpError(413, 'payload_too_large', `request body exceeds ${MAX_BODY_BYTES} bytes`);
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('request body is not valid JSON');
  }
}

/** Answers as the fault says instead of with the real reply (`status`, `reply`). */
function sendFault(req: IncomingMessage, res: ServerResponse, fault: OutcomeFault, status: number, reply: unknown): void {
  if (res.destroyed) return;
  switch (fault.kind) {
    case 'status': {
      const payload = JSON.stringify({ error: 'injected_fault', status: fault.status });
      res.writeHead(fault.status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(payload),
        ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}),
      });
      res.end(payload);
      return;
    }
    case 'reset':
      req.socket.destroy();
      return;
    case 'malformed': {
      const payload = '{"data": [ this is not JSON';
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
      return;
    }
    case 'truncate': {
      const payload = Buffer.from(JSON.stringify(reply));
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': payload.length });
      res.write(payload.subarray(0, Math.floor(payload.length / 2)), () => req.socket.destroy());
      return;
    }
    case 'body':
      return sendJson(res, 200, fault.body);
    case 'field':
      return sendJson(res, status, replaceField(reply, fault.field, fault.value));
    case 'omit':
      return sendJson(res, status, omitItems(reply, fault.field, fault.value));
    case 'hang':
      // Handled before the reply is built: a hanging request never gets here.
      return;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(body), 'application/json; charset=utf-8', headers);
}

function sendText(res: ServerResponse, status: number, payload: string, contentType: string, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

// ---------------------------------------------------------------------------------------------
// Input helpers: each throws a 400 naming the offending parameter.
// ---------------------------------------------------------------------------------------------

/** An integer query parameter, `fallback` when absent. */
export function intQuery(query: URLSearchParams, name: string, opts: { fallback: number; min: number; max: number }): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return opts.fallback;
  return checkInt(raw, name, opts.min, opts.max);
}

/** A comma-separated list (repeated parameters are concatenated), or undefined when absent. */
export function listQuery(query: URLSearchParams, name: string, opts: { max: number }): string[] | undefined {
  if (!query.has(name)) return undefined;
  const items = query.getAll(name).flatMap((value) => value.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (items.length > opts.max) throw badRequest(`${name} accepts at most ${opts.max} values, got ${items.length}`);
  return items;
}

/** A non-empty, trimmed query parameter, or undefined. */
export function stringQuery(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** An integer path parameter such as a numeric record ID. */
export function intParam(value: string, name: string): number {
  return checkInt(value, name, 1, Number.MAX_SAFE_INTEGER);
}

function checkInt(raw: string, name: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw)) throw badRequest(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw badRequest(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A field of a JSON object body. */
export function bodyField(body: unknown, name: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('request body must be a JSON object');
  return (body as Record<string, unknown>)[name];
}

/** A required array field of a JSON object body whose items all pass `isItem`. */
export function bodyArray<T>(body: unknown, name: string, opts: { max: number; isItem: (v: unknown) => v is T; itemKind: string }): T[] {
  const value = bodyField(body, name);
  if (!Array.isArray(value)) throw badRequest(`${name} must be an array`);
  if (value.length > opts.max) throw badRequest(`${name} accepts at most ${opts.max} items, got ${value.length}`);
  if (!value.every(opts.isItem)) throw badRequest(`${name} must contain only ${opts.itemKind}`);
  return value;
}

export const isInteger = (v: unknown): v is number => Number.isSafeInteger(v);
export const isString = (v: unknown): v is string => typeof v === 'string';

/** An opaque page cursor holding a position; the `kind` tag makes cursors of other endpoints fail loudly. */
export function encodeCursor(kind: string, position: number): string {
  return Buffer.from(`${kind}:${position}`).toString('base64url');
}

export function decodeCursor(token: string, kind: string, name: string): number {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  const match = /^([a-z_]+):(\d+)$/.exec(decoded);
  if (!match || match[1] !== kind) throw badRequest(`${name} is not a valid cursor`);
  return Number(match[2]);
}
