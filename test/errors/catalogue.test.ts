// The error catalogue is the one place codes are spelt: the product's code names them through it, and the documented
// table is generated from it. A new code goes into src/errors/catalogue.ts, then `-u` on this file rewrites the docs.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import { describe, expect, test } from 'vitest';
import { ERROR_CATALOGUE, ErrorCode } from '../../src/errors/catalogue.js';
import { renderErrorReference } from '../../src/errors/reference.js';
import { CircuitOpenError, SourceAuthFailedError, SourceBadResponseError, SourceRateLimitedError, SourceTimeoutError, SourceUnavailableError, UpstreamBudgetExceededError } from '../../src/sources/errors.js';

const ROOT = join(import.meta.dirname, '..', '..');
/** The simulated vendors answer with their vendors' own codes; generated types restate the schema. */
const NOT_THE_HUBS = ['src/demo/', 'src/generated/', 'src/errors/catalogue.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .filter((file) => !NOT_THE_HUBS.some((skipped) => file.startsWith(skipped)));
}

/** Code lines without comments: a comment may name a code in prose. */
function codeLines(text: string): { line: number; text: string }[] {
  return text.split('\n').flatMap((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('//') || trimmed.startsWith('*') || trimmed.startsWith('/*')) return [];
    return [{ line: index + 1, text: raw.replace(/\s\/\/\s.*$/, '') }];
  });
}

const codes = new Set<string>(Object.keys(ERROR_CATALOGUE));
/** A quoted literal: '…', "…" or `…` without interpolation. */
const QUOTED = /(['"`])([^'"`\\$]*)\1/g;
/** `code: 'X'`, `code = 'X'`, `error: 'x_y'`: an error code spelt in place, catalogued or not, in either case. */
const CODE_IN_PLACE = /\b(?:code|error|errorCode)\s*[:=]\s*(['"`])([A-Z][A-Z0-9_]*|[a-z][a-z0-9]*(?:_[a-z0-9]+)+)\1/g;

/** Every place `text` spells an error code instead of naming it through the catalogue. */
export function codeLiterals(text: string): string[] {
  const found: string[] = [];
  for (const { line, text: code } of codeLines(text)) {
    for (const [, , literal] of code.matchAll(QUOTED)) if (codes.has(literal!)) found.push(`${line}: '${literal}'`);
    for (const [, , literal] of code.matchAll(CODE_IN_PLACE)) if (!codes.has(literal!)) found.push(`${line}: '${literal}' (not in the catalogue)`);
  }
  return found;
}

describe('error codes are spelt once', () => {
  test('the scan finds a code spelt in place, catalogued or not, in either case', () => {
    const sample = [
      "throw new GraphQLError('no', { extensions: { code: 'SOURCE_TIMEOUT' } });",
      "sendJson(response, 413, { error: 'payload_too_large' });",
      '  readonly code = "WRITE_CONFLICT";',
      "// a comment may say 'SOURCE_TIMEOUT'",
      "const fine = { code: ErrorCode.SOURCE_TIMEOUT, kind: 'custom' };",
    ].join('\n');
    expect(codeLiterals(sample)).toEqual(["1: 'SOURCE_TIMEOUT'", "2: 'payload_too_large' (not in the catalogue)", "3: 'WRITE_CONFLICT' (not in the catalogue)"]);
  });

  test('no file of the hub spells an error code: each names it as ErrorCode.X', () => {
    const offences = [...sourceFiles('src'), ...sourceFiles('resolvers')].flatMap((file) => codeLiterals(readFileSync(join(ROOT, file), 'utf8')).map((found) => `${file}:${found}`));
    expect(offences).toEqual([]);
  });

  test('every code is UPPER_SNAKE and names itself', () => {
    for (const code of codes) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(ErrorCode[code as ErrorCode]).toBe(code);
    }
  });

  test('every code is sent by the hub: named in its code, or one of the Apollo Server codes it passes through', () => {
    const named = new Set([...sourceFiles('src'), ...sourceFiles('resolvers')].flatMap((file) => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/\bErrorCode\.([A-Z0-9_]+)/g)].map(([, code]) => code!)));
    const fromApollo = new Set<string>(Object.values(ApolloServerErrorCode));
    expect([...codes].filter((code) => !named.has(code) && !fromApollo.has(code))).toEqual([]);
  });

  test("Apollo Server's codes the hub can meet are catalogued (APQ is on, so PERSISTED_QUERY_NOT_SUPPORTED never is)", () => {
    const apollo = Object.values(ApolloServerErrorCode).filter((code) => code !== ApolloServerErrorCode.PERSISTED_QUERY_NOT_SUPPORTED);
    expect(apollo.filter((code) => !codes.has(code))).toEqual([]);
  });
});

test.each([
  [new SourceTimeoutError('crm', 'slow'), true],
  [new SourceRateLimitedError('crm', '429'), true],
  [new CircuitOpenError('crm', 'open'), true],
  [new SourceBadResponseError('crm', 'not JSON'), false],
  [new SourceAuthFailedError('crm', '401', 401), false],
  [new UpstreamBudgetExceededError('crm', 'spent'), false],
  // The one code whose advice depends on the answer: a 4xx other than 408 is the hub's own request, wrong.
  [new SourceUnavailableError('crm', '503', 503), true],
  [new SourceUnavailableError('crm', '400', 400), false],
])('%s says retryable %s, as the catalogue does for its code', (error, retryable) => {
  expect(error.retryable).toBe(retryable);
  if (!(error instanceof SourceUnavailableError)) expect(ERROR_CATALOGUE[error.code].retriable).toBe(retryable);
});

test('docs/errors.md is the table the catalogue renders', async () => {
  await expect(renderErrorReference()).toMatchFileSnapshot('../../docs/errors.md');
});
