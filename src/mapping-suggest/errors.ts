// Why a mapping suggestion could not be made, as a value with a stable code.
import { ErrorCode } from '../errors/catalogue.js';

/** The entity cannot be sampled as configured: it has neither a list endpoint nor a parent with one. */
export class SampleUnavailableError extends Error {
  readonly code = ErrorCode.SAMPLE_UNAVAILABLE;
  constructor(readonly source: string, readonly entity: string, reason: string) {
    super(`cannot sample ${source}.${entity}: ${reason}`);
    this.name = 'SampleUnavailableError';
  }
}
