// The hub's structured JSON logger (pino); one per hub, children per request carry the request ID.
import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * How long a log line may wait in the buffer before it is written. One line per GraphQL operation, each written by
 * its own system call, was a visible share of a small query's CPU; lines gathered for up to this long go out in one.
 */
export const LOG_FLUSH_MS = 200;
/** Bytes gathered before a write (SonicBoom writes at most 16 KiB at once); smaller batches wait for the flush timer. */
const LOG_BUFFER_BYTES = 8 * 1024;

let stdout: DestinationStream | undefined;

/**
 * The process's one buffered stdout destination, shared by every logger so lines from several loggers never
 * interleave inside a write. Buffered lines are written every LOG_FLUSH_MS, when the buffer fills, and on exit
 * (pino flushes its destination synchronously when the process exits, `process.exit()` included).
 */
function sharedStdout(): DestinationStream {
  if (!stdout) {
    const destination = pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES });
    setInterval(() => destination.flush(), LOG_FLUSH_MS).unref();
    stdout = destination;
  }
  return stdout;
}

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name: 'rosetta',
      level,
      // Never log credentials a request carried.
      redact: { paths: ['headers.authorization', 'headers["x-api-key"]', 'headers.cookie'], censor: '[redacted]' },
    },
    sharedStdout(),
  );
}
