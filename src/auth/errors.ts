// Typed failures of authentication, each with a stable code and the HTTP status the hub answers with.
import { ErrorCode, statusOf } from '../errors/catalogue.js';

export type AuthErrorCode = typeof ErrorCode.UNAUTHENTICATED | typeof ErrorCode.FORBIDDEN | typeof ErrorCode.AUTH_UNAVAILABLE;

export abstract class AuthError extends Error {
  abstract readonly code: AuthErrorCode;
  /** The catalogue's status for the code: 401, 403 or 503. */
  get status(): number {
    return statusOf(this.code);
  }
}

/** No credentials, or credentials that prove nothing: a bad key, a bad signature, an expired or foreign token. */
export class UnauthenticatedError extends AuthError {
  readonly code = ErrorCode.UNAUTHENTICATED;
  constructor(message: string) {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

/** Valid credentials that grant no role this hub knows. */
export class ForbiddenError extends AuthError {
  readonly code = ErrorCode.FORBIDDEN;
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** The key set needed to check a token could not be fetched: the caller may be fine, the hub cannot tell. */
export class AuthUnavailableError extends AuthError {
  readonly code = ErrorCode.AUTH_UNAVAILABLE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthUnavailableError';
  }
}
