// Stops an HTTP server gracefully: no new connections, requests in flight answered, keep-alive connections closed
// as soon as they fall idle, all within a bound after which the caller closes whatever is left.
import type { Server } from 'node:http';

/** How often idle keep-alive connections are looked for while draining. */
const IDLE_SWEEP_MS = 25;

/** Resolves true once every connection has closed, false when `timeoutMs` passed first. */
export function drainHttpServer(server: Server, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    // Requests that still arrive on open connections are answered, and told the connection ends with them.
    server.prependListener('request', (_request, response) => response.setHeader('connection', 'close'));
    // `close` drops the connections idle now; one busy now would otherwise linger for its whole keep-alive timeout
    // once its response is sent, so the idle ones are swept again until none is left.
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const timer = setTimeout(() => finish(false), timeoutMs);
    function finish(drained: boolean) {
      clearInterval(sweep);
      clearTimeout(timer);
      resolve(drained);
    }
    if (!server.listening) return finish(true);
    // Long-lived upgraded connections (subscriptions.ts) close themselves on this: `close` would wait for them.
    server.emit('draining');
    server.close(() => finish(true));
  });
}
