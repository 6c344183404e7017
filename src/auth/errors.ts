// Typed failures of authentication, each with a stable code and the HTTP status the hub answers with.

export type AuthErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'AUTH_UNAVAILABLE';

export abstract class AuthError extends Error {
  abstract readonly code: AuthErrorCode;
  abstract readonly status: 401 | 403 | 503;
}

/** No credentials, or credentials that prove nothing: a bad key, a bad signature, an expired or foreign token. */
export class UnauthenticatedError extends AuthError {
  readonly code = 'UNAUTHENTICATED';
  readonly status = 401;
  constructor(message: string) {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

/** Valid credentials that grant no role this hub knows. */
export class ForbiddenError extends AuthError {
  readonly code = 'FORBIDDEN';
  readonly status = 403;
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** The key set needed to check a token could not be fetched: the caller may be fine, the hub cannot tell. */
export class AuthUnavailableError extends AuthError {
  readonly code = 'AUTH_UNAVAILABLE';
  readonly status = 503;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthUnavailableError';
  }
}
