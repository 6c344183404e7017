// A graphql-ws client for tests: subscribes, keeps every message it receives, and reports how the socket closed.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Subscription<T = any> {
  /** Every `next` payload, in order. */
  readonly results: { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[]; extensions?: Record<string, unknown> }[];
  /** Settles when the server completed the subscription, or rejects with what ended it otherwise. */
  readonly done: Promise<void>;
  stop(): void;
}

export interface Subscriber {
  client: Client;
  /** The close event's code once the socket closed (undefined while open). */
  closedWith(): number | undefined;
  /** Resolves once the server acknowledged the connection. */
  connected: Promise<void>;
  subscribe<T = any>(query: string, variables?: Record<string, unknown>): Subscription<T>;
  close(): Promise<void>;
}

export function wsUrl(hubUrl: string): string {
  return hubUrl.replace(/^http/, 'ws');
}

export function subscriber(hubUrl: string, connectionParams: Record<string, unknown> = {}): Subscriber {
  let closeCode: number | undefined;
  let acknowledge: () => void;
  let refuse: (error: unknown) => void;
  const connected = new Promise<void>((resolve, reject) => {
    acknowledge = resolve;
    refuse = reject;
  });
  connected.catch(() => undefined); // a test that expects a refusal reads `closedWith` instead
  const client = createClient({
    url: wsUrl(hubUrl),
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    on: {
      connected: () => acknowledge(),
      closed: (event) => {
        closeCode = (event as { code?: number }).code;
        refuse(new Error(`closed with ${closeCode}`));
      },
    },
    onNonLazyError: () => undefined, // reported through `closed` above
  });
  return {
    client,
    closedWith: () => closeCode,
    connected,
    subscribe(query, variables) {
      const results: Subscription['results'] = [];
      let stop = () => {};
      const done = new Promise<void>((resolve, reject) => {
        stop = client.subscribe({ query, ...(variables ? { variables } : {}) }, { next: (value) => void results.push(value as never), error: reject, complete: resolve });
      });
      done.catch(() => undefined); // tests that expect an error await `done` themselves
      return { results, done, stop: () => stop() };
    },
    close: () => client.dispose() as Promise<void>,
  };
}
