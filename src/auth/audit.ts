// The audit side of a request: PII reads written when the response is ready (fail closed), and retention pruning.
import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { AuditLog } from '../identity/store.js';
import { ErrorCode, statusOf } from '../errors/catalogue.js';
import type { ProtectedContext } from './protect-schema.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/**
 * Writes the request's PII reads to the audit log and names masked paths in `extensions.masked`. Personal data
 * whose read could not be recorded is not sent: the response becomes an AUDIT_UNAVAILABLE error instead.
 */
export const accessPlugin: ApolloServerPlugin<ProtectedContext> = {
  async requestDidStart() {
    return {
      willSendResponse(requestContext) {
        // Apollo runs every plugin's willSendResponse at once: the telemetry plugin waits for this to report the
        // response actually sent (an AUDIT_UNAVAILABLE 503 is an error, not the success it replaced).
        const final = auditReads(requestContext);
        requestContext.contextValue.access.responseFinal = final;
        return final;
      },
    };
  },
};

async function auditReads({ response, contextValue, logger }: Parameters<NonNullable<GraphQLRequestListener<ProtectedContext>['willSendResponse']>>[0]): Promise<void> {
  if (response.body.kind !== 'single') return;
  const result = response.body.singleResult;
  try {
    await contextValue.access.flushReads();
  } catch (error) {
    logger.error(`audit log write failed, personal data withheld (request ${contextValue.access.requestId}): ${(error as Error).message}`);
    response.body.singleResult = { errors: [{ message: 'the audit log is unavailable, so no personal data can be served', extensions: { code: ErrorCode.AUDIT_UNAVAILABLE, requestId: contextValue.access.requestId } }] };
    response.http.status = statusOf(ErrorCode.AUDIT_UNAVAILABLE);
    return;
  }
  const masked = contextValue.access.masked;
  if (masked.length > 0) result.extensions = { ...result.extensions, masked };
}

/** Deletes audit entries older than the retention period; returns how many went. */
export function pruneExpiredAudit(log: AuditLog, retentionDays: number, now: Date = new Date()): Promise<number> {
  return log.pruneAudit(new Date(now.getTime() - retentionDays * DAY_MS).toISOString());
}

/** Prunes now and then hourly until stopped; a failed prune is logged and retried at the next hour. */
export function startAuditRetention(log: AuditLog, retentionDays: number, onError: (error: unknown) => void): () => void {
  const prune = () => void pruneExpiredAudit(log, retentionDays).catch(onError);
  prune();
  const timer = setInterval(prune, PRUNE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
