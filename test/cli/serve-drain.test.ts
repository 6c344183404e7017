// `rosetta serve` in one process: SIGTERM lets a request in flight finish before the hub closes and exits 0
// (it used to close every connection at once, cutting that request off).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { graphqlOnNewConnection } from '../support/cluster-client.js';
import { tempDir, writeConfig } from './cli-harness.js';
import { syncLinkTable } from '../support/hub-harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let systems: SimulatedSystems;
let dir: string;
let configFile: string;
let customerWithTickets: string;
let hub: ChildProcess | undefined;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 100, seed: 5, latencyMs: 0 });
  dir = tempDir();
  configFile = writeConfig(dir, 'single', systems.urls, (raw) => (raw.server.workers = 1));
  const config = demoConfig(systems.urls, { LINK_DB: join(dir, 'single.sqlite') });
  const store = new SqliteLinkStore(join(dir, 'single.sqlite'));
  await syncLinkTable(config, store);
  const { customers } = await store.pageCustomers(100, null);
  customerWithTickets = customers.find((c) => c.links.some((l) => l.source === 'support'))!.customerId;
  await store.close();
});

afterAll(async () => {
  if (hub && hub.exitCode === null && hub.signalCode === null) hub.kill('SIGKILL');
  await systems?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('SIGTERM answers the request in flight, then the hub exits 0', async () => {
  hub = spawn(process.execPath, ['--import', 'tsx', 'src/cli/rosetta.ts', 'serve', '--config', configFile], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'silent' } });
  const exited = once(hub, 'exit');
  let output = '';
  hub.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  hub.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const waitFor = async <T>(find: () => T | undefined, what: string): Promise<T> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline || hub!.exitCode !== null) throw new Error(`no ${what}; output:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const url = await waitFor(() => /ready at (http:\/\/\S+)/.exec(output)?.[1], 'ready line');

  systems.systems.support.latencyMs = 1_000;
  systems.resetStats();
  const inFlight = graphqlOnNewConnection(url, 'query($id: ID!) { customer(id: $id) { tickets { id } } }', { id: customerWithTickets });
  await waitFor(() => (systems.systems.support.stats().total > 0 ? true : undefined), 'support request');
  hub.kill('SIGTERM');
  const answered = await inFlight;
  systems.systems.support.latencyMs = 0;
  expect(answered.errors).toBeUndefined();
  expect(answered.data).toMatchObject({ customer: { tickets: expect.any(Array) } });
  const [code, signal] = await exited;
  expect({ code, signal }).toEqual({ code: 0, signal: null });
}, 60_000);
