// The hub's structured JSON logger (pino); one per hub, children per request carry the request ID.
import pino, { type Logger } from 'pino';

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: 'rosetta',
    level,
    // Never log credentials a request carried.
    redact: { paths: ['headers.authorization', 'headers["x-api-key"]', 'headers.cookie'], censor: '[redacted]' },
  });
}
