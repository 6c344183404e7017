// Cross-origin access to /graphql for browser apps on the configured origins (the `cors` package), refusing the rest.
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';
import type { CorsSection } from '../config/schema.js';
import { ErrorCode } from '../errors/catalogue.js';
import { sendRequestErrors } from './http-errors.js';

/**
 * Request headers a page may send: the content type (JSON bodies make every POST preflighted), both kinds of
 * credentials, the headers Apollo's CSRF prevention accepts as proof of a preflight, and the hub's own.
 */
const CORS_ALLOWED_HEADERS = ['content-type', 'authorization', 'x-api-key', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-rosetta-explain', 'x-request-id'];

/**
 * Handles the CORS part of a request to /graphql: answers a preflight (true: the response is sent) or adds the
 * allow headers to a real request from an allowed origin (false: go on). Requests from other origins get no
 * `Access-Control-Allow-Origin`, so the browser withholds the answer; a preflight from one is refused with 403.
 * CSRF prevention is Apollo's and stays on: a simple request (no preflight) still needs a JSON body or
 * `apollo-require-preflight`, whatever its origin.
 */
export type CorsHandler = (request: IncomingMessage, response: ServerResponse, requestId: string) => Promise<boolean>;

export function corsHandler(settings: CorsSection): CorsHandler {
  const allowed = new Set(settings.origins);
  const middleware = cors({
    origin: settings.origins,
    credentials: settings.credentials,
    methods: ['GET', 'POST'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: ['x-request-id'],
    maxAge: settings.maxAgeSec,
    // The preflight is answered below, so that every path through this handler settles its promise.
    preflightContinue: true,
  });
  return (request, response, requestId) => {
    const origin = request.headers.origin;
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (preflight && (origin === undefined || !allowed.has(origin))) {
      response.setHeader('vary', 'Origin');
      sendRequestErrors(request.headers.accept, response, requestId, ErrorCode.CORS_ORIGIN_NOT_ALLOWED, [{ message: `origin ${origin ?? '(none)'} may not call this hub from a browser: add it to server.cors.origins` }]);
      return Promise.resolve(true);
    }
    return new Promise((resolve, reject) => {
      middleware(request, response, (error?: unknown) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        if (!preflight) return resolve(false);
        // The fetch spec's answer to a successful preflight: no body.
        response.writeHead(204, { 'content-length': '0' }).end();
        resolve(true);
      });
    });
  };
}
