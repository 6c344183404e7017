// Turns hub errors into client-safe GraphQL errors in one place: stable codes, the source's name, no internals.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ErrorCode, statusOf } from '../errors/catalogue.js';
import { SourceError } from '../sources/errors.js';

function sourceErrorExtensions(error: SourceError): Record<string, unknown> {
  return { code: error.code, source: error.source, retryable: error.retryable };
}

/** A source failure reported beside partial data at `path`, without nulling the field. */
export function partialSourceError(error: Error, path: readonly (string | number)[]): GraphQLError {
  if (error instanceof SourceError) return new GraphQLError(error.publicMessage, { path, extensions: sourceErrorExtensions(error) });
  return new GraphQLError('internal error', { path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } });
}

export function badInput(message: string, argument: string): GraphQLError {
  return fieldError(ErrorCode.BAD_USER_INPUT, message, { argument });
}

/** An error a resolver throws: its field is null, the rest of the response stands, the status stays 200. */
export function fieldError(code: ErrorCode, message: string, extensions: Readonly<Record<string, unknown>> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/**
 * An error a plugin throws before execution: the whole request is refused, with the catalogue's HTTP status for `code`
 * (Apollo reads `extensions.http` and leaves it out of the response).
 */
export function requestError(code: ErrorCode, message: string, extensions: Readonly<Record<string, unknown>> = {}, headers?: ReadonlyMap<string, string>): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code, http: { status: statusOf(code), ...(headers ? { headers: new Map(headers) } : {}) } } });
}

/** Apollo's formatError: source errors get their public form; unexpected errors lose their message. */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof SourceError) {
    return { message: original.publicMessage, ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}), extensions: sourceErrorExtensions(original) };
  }
  if (original instanceof GraphQLError || formatted.extensions?.code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  return { message: 'internal error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}
