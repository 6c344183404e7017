// `rosetta serve` with `server.workers: 2`, run as an operator runs it (compiled, from dist/): a primary process and two workers whose logs
// name them; with NODE_ENV unset, as a service manager runs it, SIGTERM to the primary lets a request in flight finish, stops every worker and exits 0.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { productionEnv, tempDir, writeConfig } from '../cli/cli-harness.js';
import { graphqlOnNewConnection, onNewConnection } from '../support/cluster-client.js';
import { syncLinkTable } from '../support/hub-harness.js';
import { compiledCli } from '../support/compiled-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let systems: SimulatedSystems;
let dir: string;
let configFile: string;
let primary: ChildProcess | undefined;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 200, seed: 5, latencyMs: 0 });
  dir = tempDir();
  configFile = writeConfig(dir, 'cluster', systems.urls, (raw) => (raw.server.workers = 2));
  const config = demoConfig(systems.urls, { LINK_DB: join(dir, 'cluster.sqlite') });
  const store = new SqliteLinkStore(join(dir, 'cluster.sqlite'));
  await syncLinkTable(config, store);
  await store.close();
});

afterAll(async () => {
  if (primary && primary.exitCode === null && primary.signalCode === null) primary.kill('SIGKILL');
  await systems?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('two workers serve and log their names; SIGTERM drains them and the primary exits 0', async () => {
  primary = spawn(process.execPath, [...compiledCli(), 'serve', '--config', configFile], { cwd: ROOT, env: productionEnv({ LOG_LEVEL: 'info' }) });
  const exited = once(primary, 'exit');
  const lines: string[] = [];
  let pending = '';
  primary.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split('\n');
    pending = complete.pop()!;
    lines.push(...complete);
  });
  primary.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  const logs = () => lines.flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : []));
  const waitFor = <T>(find: () => T | undefined, what: string): Promise<T> =>
    vi.waitFor(
      () => {
        const found = find();
        if (found === undefined) throw new Error(`no ${what} (primary exit code ${primary!.exitCode}); output:\n${lines.join('\n')}`);
        return found;
      },
      { timeout: 40_000, interval: 50 },
    );

  const url = await waitFor(() => lines.map((l) => /ready at (http:\/\/\S+) \(2 workers\)/.exec(l)?.[1]).find(Boolean), 'ready line');
  // Each worker writes its own log lines: they may reach the pipe after the primary's ready line.
  const serving = await waitFor(() => {
    const found = logs().filter((l) => l.msg === 'worker serving');
    return found.length >= 2 ? found : undefined;
  }, 'serving line of each worker');
  expect(serving.map((l) => l.worker).sort()).toEqual([1, 2]);
  const workerPids = serving.map((l) => l.pid as number);
  expect(new Set(workerPids).size).toBe(2);
  expect(workerPids).not.toContain(primary.pid);
  // Workers run the compiled JavaScript too: no TypeScript loader at run time.
  for (const pid of workerPids) {
    const commandLine = execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
    expect(commandLine).toContain(join('dist', 'src', 'cluster', 'cluster-worker.js'));
    expect(commandLine).not.toContain('tsx');
  }

  // An operation's log line names the worker that ran it.
  const { customers } = await (async () => {
    const store = new SqliteLinkStore(join(dir, 'cluster.sqlite'));
    try {
      return await store.pageCustomers(200, null);
    } finally {
      await store.close();
    }
  })();
  const requestId = 'cluster-cli-log-check';
  const answer = await onNewConnection(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ query: 'query($id: ID!) { customer(id: $id) { id } }', variables: { id: customers[0]!.customerId } }),
  });
  expect(answer.body).toEqual({ data: { customer: { id: customers[0]!.customerId } } });
  const operationLog = await waitFor(() => logs().find((l) => l.requestId === requestId), 'operation log line');
  expect([1, 2]).toContain(operationLog.worker);

  // A request in flight when SIGTERM arrives is answered before its worker exits.
  systems.systems.support.latencyMs = 1_000;
  systems.resetStats();
  const withTickets = customers.find((c) => c.links.some((l) => l.source === 'support'))!;
  const inFlight = graphqlOnNewConnection(url, 'query($id: ID!) { customer(id: $id) { tickets { id } } }', { id: withTickets.customerId });
  await waitFor(() => (systems.systems.support.stats().total > 0 ? true : undefined), 'support request');
  primary.kill('SIGTERM');
  const finished = await inFlight;
  systems.systems.support.latencyMs = 0;
  expect(finished.errors).toBeUndefined();
  expect(finished.data).toMatchObject({ customer: { tickets: expect.any(Array) } });

  const [code, signal] = await exited;
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(workerPids.filter(alive)).toEqual([]);
  expect(logs().filter((l) => l.msg === 'worker draining').map((l) => l.worker).sort()).toEqual([1, 2]);
}, 90_000);
