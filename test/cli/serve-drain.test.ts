// `rosetta serve` in one process, run as production runs it (the compiled dist/, NODE_ENV unset, so Apollo Server would install its own
// signal handler if the hub let it): SIGTERM answers every request in flight, then the hub closes and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { graphqlOnNewConnection } from '../support/cluster-client.js';
import { productionEnv, tempDir, writeConfig } from './cli-harness.js';
import { syncLinkTable } from '../support/hub-harness.js';
import { compiledCli } from '../support/compiled-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IN_FLIGHT = 12;

let systems: SimulatedSystems;
let dir: string;
let configFile: string;
let customersWithTickets: string[];
let hub: ChildProcess | undefined;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 100, seed: 5, latencyMs: 0 });
  dir = tempDir();
  configFile = writeConfig(dir, 'single', systems.urls, (raw) => (raw.server.workers = 1));
  const config = demoConfig(systems.urls, { LINK_DB: join(dir, 'single.sqlite') });
  const store = new SqliteLinkStore(join(dir, 'single.sqlite'));
  await syncLinkTable(config, store);
  const { customers } = await store.pageCustomers(100, null);
  customersWithTickets = customers.filter((c) => c.links.some((l) => l.source === 'support')).map((c) => c.customerId);
  await store.close();
});

afterAll(async () => {
  if (hub && hub.exitCode === null && hub.signalCode === null) hub.kill('SIGKILL');
  await systems?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`SIGTERM with NODE_ENV unset answers all ${IN_FLIGHT} requests in flight, then the hub exits 0`, async () => {
  expect(customersWithTickets.length).toBeGreaterThanOrEqual(IN_FLIGHT);
  hub = spawn(process.execPath, [...compiledCli(), 'serve', '--config', configFile], { cwd: ROOT, env: productionEnv() });
  const exited = once(hub, 'exit');
  let output = '';
  hub.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  hub.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await vi.waitFor(
    () => {
      if (hub!.exitCode !== null) throw new Error(`the hub exited early:\n${output}`);
      const found = /ready at (http:\/\/\S+)/.exec(output)?.[1];
      if (!found) throw new Error(`no ready line yet:\n${output}`);
      return found;
    },
    { timeout: 30_000, interval: 25 },
  );

  systems.systems.support.latencyMs = 1_000;
  systems.resetStats();
  // Each on its own connection, each to a different customer: the support desk sees one request per query.
  const inFlight = customersWithTickets.slice(0, IN_FLIGHT).map((id) => graphqlOnNewConnection(url, 'query($id: ID!) { customer(id: $id) { tickets { id } } }', { id }).then((answer) => answer, (error: Error) => ({ failed: error.message })));
  await vi.waitFor(() => expect(systems.systems.support.stats().total).toBe(IN_FLIGHT), { timeout: 20_000, interval: 10 });
  hub.kill('SIGTERM');
  const answers = await Promise.all(inFlight);
  systems.systems.support.latencyMs = 0;
  const answered = answers.filter((a) => 'data' in a && a.errors === undefined && Array.isArray((a.data as { customer: { tickets: unknown } }).customer.tickets));
  expect({ answered: answered.length, of: IN_FLIGHT }).toEqual({ answered: IN_FLIGHT, of: IN_FLIGHT });
  const [code, signal] = await exited;
  expect({ code, signal }).toEqual({ code: 0, signal: null });
}, 60_000);
