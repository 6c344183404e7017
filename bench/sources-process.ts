// The five simulated source systems in a child process of their own, as production's sources are remote: a
// benchmark that measures the hub (bench/sync-time.ts) then reads its own process's CPU time and memory without the
// dataset's heap (~5 KB a person) or the sources' serving in them, and the machine's other core serves the pages.
// The child is bench/sources-child.ts; this is the parent's side.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SystemName } from '../src/demo/systems.js';

const CHILD = fileURLToPath(new URL('./sources-child.ts', import.meta.url));
/** How long `stop()` waits for the child to close its servers before killing it. */
const STOP_GRACE_MS = 5_000;

/** What the child reports of itself: its whole life, generating the dataset included. */
interface SourcesUsage {
  /** `process.cpuUsage()` user + system, microseconds. */
  cpuMicros: number;
  /** `process.resourceUsage().maxRSS`, kilobytes: the child's peak resident set so far. */
  maxRssKb: number;
  /** Requests served by the five systems since they started. */
  requests: number;
}

export type SourcesChildMessage =
  | { type: 'ready'; urls: Record<SystemName, string>; generateMs: number }
  | ({ type: 'usage' } & SourcesUsage)
  | { type: 'failed'; message: string };
export type SourcesParentMessage = { type: 'usage' } | { type: 'stop' };

interface SourcesProcessOptions {
  people: number;
  seed: number;
  /**
   * V8's old-space limit for the child (`--max-old-space-size`, MiB). The default leaves room for the dataset
   * (~5 KB a person, and the garbage of generating it) over a floor of 1 GiB.
   */
  heapMb?: number;
}

export interface SourcesProcess {
  pid: number;
  urls: Record<SystemName, string>;
  /** Wall time the child took to generate the dataset. */
  generateMs: number;
  usage(): Promise<SourcesUsage>;
  /** Closes the servers and waits for the child to exit (killing it if it does not within STOP_GRACE_MS). */
  stop(): Promise<void>;
  /** Kills the child at once; safe to call when it has exited. For exit paths that cannot wait. */
  kill(): void;
}

export function defaultSourcesHeapMb(people: number): number {
  return 1_024 + Math.ceil((people * 10) / 1_024);
}

function nextMessage<T extends SourcesChildMessage['type']>(child: ChildProcess, type: T): Promise<Extract<SourcesChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const done = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: SourcesChildMessage) => {
      if (message.type === 'failed') {
        done();
        reject(new Error(`the sources' process failed: ${message.message}`));
      } else if (message.type === type) {
        done();
        resolve(message as Extract<SourcesChildMessage, { type: T }>);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      done();
      reject(new Error(`the sources' process exited (code ${code}, signal ${signal})`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Forks the sources' process and waits until its five systems listen. */
export async function startSourcesProcess(options: SourcesProcessOptions): Promise<SourcesProcess> {
  const heapMb = options.heapMb ?? defaultSourcesHeapMb(options.people);
  // The sync process's NODE_OPTIONS (e.g. --max-semi-space-size, --max-old-space-size) tune the hub, not the
  // sources, so the child does not inherit them: its heap is sized here for its dataset.
  const { NODE_OPTIONS: _hubOnly, ...env } = process.env;
  const child = fork(CHILD, [String(options.people), String(options.seed)], {
    execArgv: ['--import', 'tsx', `--max-old-space-size=${heapMb}`],
    env,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  let ready: Extract<SourcesChildMessage, { type: 'ready' }>;
  try {
    ready = await nextMessage(child, 'ready');
  } catch (error) {
    kill();
    throw error;
  }
  return {
    pid: child.pid!,
    urls: ready.urls,
    generateMs: ready.generateMs,
    async usage() {
      const reply = nextMessage(child, 'usage');
      child.send({ type: 'usage' } satisfies SourcesParentMessage);
      const { type: _type, ...usage } = await reply;
      return usage;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' } satisfies SourcesParentMessage);
      const timer = setTimeout(kill, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
    kill,
  };
}
