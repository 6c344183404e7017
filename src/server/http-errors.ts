// The hub's own HTTP error answers: the status from the error catalogue, the media type the client accepts, the request id.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import Negotiator from 'negotiator';
import { statusOf, type ErrorCode } from '../errors/catalogue.js';

export const MEDIA_TYPES = {
  json: 'application/json; charset=utf-8',
  /** GraphQL over HTTP's own media type: a client that asks for it is told apart from a generic JSON reader. */
  graphqlResponse: 'application/graphql-response+json; charset=utf-8',
} as const;

const MAX_REQUEST_ID_LENGTH = 100;

/** The caller's `x-request-id` (bounded, so a log line cannot be inflated through it), or a fresh one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return (typeof given === 'string' && given.slice(0, MAX_REQUEST_ID_LENGTH)) || randomUUID();
}

/**
 * The media type of an error answer to a GraphQL request, chosen as Apollo Server chooses it for its own answers
 * (the same library, the same candidates in the same order): `application/graphql-response+json` when the client
 * prefers it (higher q, then a more specific range, then listed first), `application/json` otherwise, including when
 * the client accepts neither (an error still has to be said).
 */
export function errorMediaType(accept: string | undefined): (typeof MEDIA_TYPES)[keyof typeof MEDIA_TYPES] {
  if (!accept) return MEDIA_TYPES.json;
  const preferred = new Negotiator({ headers: { accept } }).mediaType([MEDIA_TYPES.json, MEDIA_TYPES.graphqlResponse]);
  return preferred === MEDIA_TYPES.graphqlResponse ? MEDIA_TYPES.graphqlResponse : MEDIA_TYPES.json;
}

export function sendJson(response: ServerResponse, status: number, body: unknown, contentType: string = MEDIA_TYPES.json): void {
  response.writeHead(status, { 'content-type': contentType });
  response.end(JSON.stringify(body));
}

export interface RequestErrorDetail {
  message: string;
  /** More for the client (which limit, which argument); `code` and `requestId` are set here. */
  extensions?: Readonly<Record<string, unknown>>;
}

/**
 * Ends a GraphQL request before GraphQL runs (credentials, CORS, the body, the limits): a GraphQL response with
 * errors and no `data`, which GraphQL over HTTP allows in both media types with the 4xx/5xx status it needs for
 * `application/graphql-response+json`. Every error carries the request id the `x-request-id` header carries.
 */
export function sendRequestErrors(accept: string | undefined, response: ServerResponse, requestId: string, code: ErrorCode, errors: readonly RequestErrorDetail[]): void {
  const body = { errors: errors.map((error) => ({ message: error.message, extensions: { ...error.extensions, code, requestId } })) };
  sendJson(response, statusOf(code), body, errorMediaType(accept));
}

/**
 * Ends a request to a route beside /graphql (webhooks, metrics, an unknown path): `{error: CODE, …, requestId}`,
 * the shape those routes have always answered with; they are not GraphQL, so `Accept` does not change it.
 */
export function sendRouteError(response: ServerResponse, requestId: string, code: ErrorCode, detail: Readonly<Record<string, unknown>> = {}): void {
  sendJson(response, statusOf(code), { error: code, ...detail, requestId });
}

/**
 * Adds the request id to the errors of an answer Apollo Server ended early (CSRF prevention, parse and validation
 * failures, a plugin's refusal): Apollo builds those before the hub's context exists, so it cannot put it there.
 * Only error answers (4xx/5xx) are read back; a body that is not a GraphQL error response is left as it is.
 */
export function withRequestId(body: string, requestId: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray((parsed as { errors?: unknown }).errors)) return body;
  const result = parsed as { errors: { extensions?: Record<string, unknown> }[] };
  for (const error of result.errors) error.extensions = { ...error.extensions, requestId };
  return `${JSON.stringify(result)}${body.endsWith('\n') ? '\n' : ''}`;
}
