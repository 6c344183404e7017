// The parent's handle on a system under test running in its own process (bench/server-process.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HubConfig } from '../src/config/schema.js';
import type { HubBuild } from './hub-build.js';
import type { ChildMessage, ParentMessage, ProcessUsage, ServerKind } from './server-process.js';

const SERVER_PROCESS = fileURLToPath(new URL('./server-process.ts', import.meta.url));
const STOP_GRACE_MS = 15_000;

export interface ServerHandle {
  kind: ServerKind;
  url: string;
  pid: number;
  /** CPU and memory of the server process; `collectGarbage` runs a full GC first, for a live-heap figure. */
  usage(options?: { collectGarbage?: boolean }): Promise<ProcessUsage>;
  /** V8's sampling profiler in the server process, around a measured phase; `stop` writes the profile to `file`. */
  startProfile(): Promise<void>;
  stopProfile(file: string): Promise<string | null>;
  /** Stops the server and waits for its process to exit (so a CPU profile is written). */
  stop(): Promise<void>;
}

function nextMessage<T extends ChildMessage['type']>(child: ChildProcess, type: T): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      if (message.type === type) {
        cleanup();
        resolve(message as Extract<ChildMessage, { type: T }>);
      } else if (message.type === 'failed') {
        cleanup();
        reject(new Error(`server process failed: ${message.message}`));
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`server process exited (code ${code}) while waiting for "${type}"`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

export interface StartServerOptions {
  /** With the simulated sources' URLs and the synced link table's path filled in. */
  config: HubConfig;
  /** Hub worker processes (`server.workers`); the baseline ignores it. */
  workers?: number;
  /** The hub's code: the production build (dist/) or the TypeScript sources; the other servers ignore it. */
  build?: HubBuild;
  /**
   * V8's young generation (`--max-semi-space-size`, MiB per semi-space) for the server process; Node's default
   * (16 MiB on this machine) when absent. The bench gives every server the same, so none is tuned alone.
   */
  semiSpaceMb?: number;
}

export async function startServerProcess(kind: ServerKind, options: StartServerOptions): Promise<ServerHandle> {
  // --expose-gc only makes `gc()` callable, for the live-heap reading; it changes nothing else.
  const execArgv = ['--import', 'tsx', '--expose-gc', ...(options.semiSpaceMb ? [`--max-semi-space-size=${options.semiSpaceMb}`] : [])];
  // stdout to /dev/null: the hub logs every operation there (paid for, as in a deployment) and would bury the table.
  // NODE_ENV=production, as a deployment sets it, for both servers alike: libraries drop development-only checks
  // (graphql-js's cross-realm instanceOf check alone was ~5% of query 1's CPU). The hub's own mode stays the config's,
  // the open demo's by default, as the baseline is open: production mode would require auth, and it changes
  // introspection and the playground, nothing a query pays for.
  const child = fork(SERVER_PROCESS, [], { execArgv, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = nextMessage(child, 'ready');
  const config: HubConfig = { ...options.config, mode: options.config.mode ?? 'development' };
  child.send({ type: 'start', server: kind, config, ...(options.workers ? { workers: options.workers } : {}), ...(options.build ? { build: options.build } : {}) } satisfies ParentMessage);
  let url: string;
  try {
    ({ url } = await ready);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    kind,
    url,
    pid: child.pid!,
    async usage({ collectGarbage = false } = {}) {
      const reply = nextMessage(child, 'usage');
      child.send({ type: 'usage', collectGarbage } satisfies ParentMessage);
      const { type: _type, ...usage } = await reply;
      return usage;
    },
    async startProfile() {
      const reply = nextMessage(child, 'profile');
      child.send({ type: 'profile', action: 'start' } satisfies ParentMessage);
      await reply;
    },
    async stopProfile(file) {
      const reply = nextMessage(child, 'profile');
      child.send({ type: 'profile', action: 'stop', file } satisfies ParentMessage);
      return (await reply).file;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'stop' } satisfies ParentMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
