// Renders docs/errors.md from the error catalogue, so the documented codes are always the ones the hub sends.
import { ERROR_CATALOGUE, ErrorCode, type ErrorEntry } from './catalogue.js';

const SURFACE_NAMES: Record<ErrorEntry['surfaces'][number], string> = {
  graphql: 'GraphQL',
  http: 'HTTP',
  webhook: 'webhook',
  cli: 'CLI',
  log: 'log',
};

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderErrorReference(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(([code, entry]: [string, ErrorEntry]) =>
    `| \`${code}\` | ${entry.status ?? '–'} | ${entry.retriable ? 'yes' : 'no'} | ${entry.surfaces.map((surface) => SURFACE_NAMES[surface]).join(', ')} | ${cell(entry.description)} |`,
  );
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/errors/catalogue.ts by test/errors/catalogue.test.ts: edit the catalogue, then run',
    '     `npx vitest run test/errors/catalogue.test.ts -u` to rewrite this file. -->',
    '',
    'Every code the hub sends, in one table. A GraphQL error carries it as `extensions.code`; an HTTP error from a',
    'route beside `/graphql` (webhooks, `/metrics`) as `error`. A `rosetta` command prints a source\'s or a sample\'s',
    `failure as \`CODE: message\`; for the others its exit code says which (2: \`${ErrorCode.CONFIG_INVALID}\` or bad arguments, 1: the rest).`,
    '',
    '- **Status**: the HTTP status of a response the error ends. Errors that travel beside partial data (a source that',
    '  failed under one field) leave the response at 200. `–`: never sent over HTTP.',
    '- **Retry**: whether the same request may succeed later, unchanged. A source error also says so per occurrence in',
    '  `extensions.retryable` (a source refusing the request as malformed is not worth retrying).',
    '- **Where**: GraphQL responses (HTTP or WebSocket), the HTTP error bodies of the hub\'s early refusals and its',
    '  other routes, webhook answers, the command line, or the log alone.',
    '',
    'Errors the hub answers before GraphQL runs (credentials, CORS, the request body, the query limits, per-caller',
    'limits) are GraphQL responses with `errors` and no `data`, in the media type the client asked for',
    '(`application/graphql-response+json` or `application/json`), and every one carries `extensions.requestId`, the',
    'value of the `x-request-id` response header: quote it to find the request in the logs.',
    '',
    '| Code | Status | Retry | Where | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
