// `npm run bench:upstream`: the hub's CPU cost of one upstream HTTP call, through `SourceHttpClient` alone.
//
// Method. The simulated sources run in a child process (this file, forked with `--serve-sources`), at latency 0 on
// loopback, so this process does only the hub's side of each call: the policies (retry → bulkhead → breaker →
// attempt timeout), the undici request, reading the body, JSON.parse, the call's observer and counters. Its
// `process.cpuUsage()` delta (user + system) over a measured phase, divided by the calls made, is the figure: hub
// CPU µs per call. What is in it besides the client: the driver loop (C workers each awaiting one `requestJson` after
// another, a few promise hops per call, no more than a connector does) and one `Deadline` per 4 calls, as a query
// makes about that many. What is not: prom-client, tracing and explain (the real observer lives in
// src/observability; here it only counts), and the sources' own work, read from the child over IPC and printed beside
// it for scale. Calls/s depends on both processes and on whatever else the machine runs; CPU per call much less so.
//
// Each case is warmed up, then measured `--rounds` times; the median round is printed. Every call must succeed with a
// 200 and a body, and the source must count exactly one request per call, or the run fails.
//
// Before/after: `--against DIR[,DIR…]` loads the SourceHttpClient (and Deadline) of other checkouts and measures them
// in the same run, their rounds interleaved with this checkout's, so the machine's changing load hits all alike; on a
// shared machine, compare within one run, not across runs. E.g. for the base commit:
//   git worktree add ../rosetta-base <commit> && ln -s "$PWD/node_modules" ../rosetta-base/node_modules
//   npm run bench:upstream -- --against ../rosetta-base
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { positiveInteger } from '../src/cli/options.js';
import { pino, type Logger } from 'pino';
import { demoConfig } from '../src/cli/demo-config.js';
import type { HubConfig, SourceConfig } from '../src/config/schema.js';
import { startSimulatedSystems, type SystemName } from '../src/demo/systems.js';
import { compileEntityRequests } from '../src/expressions/endpoint-requests.js';
import { SourceHttpClient, type JsonRequest, type UpstreamCall } from '../src/sources/http-client.js';
import { Deadline } from '../src/sources/policies/deadline.js';

const THIS_FILE = fileURLToPath(import.meta.url);
/** Upstream calls per query deadline: query 1 of bench/run.ts makes 3.45. */
const CALLS_PER_DEADLINE = 4;
const QUERY_DEADLINE_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// The sources' process
// ---------------------------------------------------------------------------------------------

/** Record IDs the cases read, rotating through them so no response is one cached string. */
interface SampleIds {
  crm: string[];
  support: string[];
  shop: string[];
}

type ChildMessage = { type: 'ready'; urls: Record<SystemName, string>; ids: SampleIds } | { type: 'usage'; micros: number; requests: number };
type ParentMessage = { type: 'usage' } | { type: 'stop' };

async function serveSources(people: number): Promise<void> {
  const systems = await startSimulatedSystems({ people, seed: 42, latencyMs: 0 });
  const sample = <T>(items: readonly T[], id: (item: T) => string) => items.slice(0, 1_000).map(id);
  const ids: SampleIds = {
    crm: sample(systems.dataset.crm.contacts, (c) => c.id),
    support: sample(systems.dataset.support.users, (u) => String(u.id)),
    shop: sample(systems.dataset.shop.customers, (c) => String(c.id)),
  };
  const send = (message: ChildMessage) => process.send!(message);
  // The parent gone (killed, crashed) leaves no sources behind.
  process.once('disconnect', () => process.exit(0));
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'usage') {
      const { user, system } = process.cpuUsage();
      send({ type: 'usage', micros: user + system, requests: systems.totalRequests() });
    } else {
      void systems.close().then(() => process.exit(0));
    }
  });
  send({ type: 'ready', urls: systems.urls, ids });
}

interface SourcesProcess {
  urls: Record<SystemName, string>;
  ids: SampleIds;
  usage(): Promise<{ micros: number; requests: number }>;
  stop(): Promise<void>;
}

function nextMessage<T extends ChildMessage['type']>(child: ChildProcess, type: T): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      if (message.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(message as Extract<ChildMessage, { type: T }>);
    };
    const onExit = (code: number | null) => reject(new Error(`the sources' process exited (code ${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function startSourcesProcess(people: number): Promise<SourcesProcess> {
  const child = fork(THIS_FILE, ['--serve-sources', String(people)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const { urls, ids } = await nextMessage(child, 'ready');
  return {
    urls,
    ids,
    async usage() {
      const reply = nextMessage(child, 'usage');
      child.send({ type: 'usage' } satisfies ParentMessage);
      const { micros, requests } = await reply;
      return { micros, requests };
    },
    async stop() {
      child.send({ type: 'stop' } satisfies ParentMessage);
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

interface Case {
  name: string;
  source: SystemName;
  describe: string;
  /** The i-th call's request, without deadline and observer. */
  request(i: number): Omit<JsonRequest, 'deadline' | 'observe'>;
}

function buildCases(config: HubConfig, ids: SampleIds): Case[] {
  // Compiled once, as the hub does: the cases measure the call, not the template.
  const crm = compileEntityRequests(config.sources.crm!.entities.contact!).batch!;
  const shop = compileEntityRequests(config.sources.shop!.entities.customer!).batch!;
  const support = compileEntityRequests(config.sources.support!.entities.user!).single!;
  const pick = (list: readonly string[], i: number) => list[i % list.length]!;
  return [
    { name: 'crm-batch', source: 'crm', describe: 'GET /contacts?ids=<1 id> (batch read, bearer auth)', request: (i) => ({ ...crm.render({ ids: [pick(ids.crm, i)] }), keys: 1, idempotent: true, operation: 'contact.batch' }) },
    { name: 'support-single', source: 'support', describe: 'GET /users/{id} (per-key read, 404 → null)', request: (i) => ({ ...support.render({ id: pick(ids.support, i) }), keys: 1, notFoundIsNull: true, operation: 'user.single' }) },
    { name: 'shop-batch-post', source: 'shop', describe: 'POST /customers/batch {customer_ids:[<1 id>]} (idempotent POST)', request: (i) => ({ ...shop.render({ ids: [pick(ids.shop, i)] }), keys: 1, idempotent: true, operation: 'customer.batch' }) },
  ];
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

interface Round {
  calls: number;
  seconds: number;
  callsPerSecond: number;
  hubCpuMicrosPerCall: number;
  sourceCpuMicrosPerCall: number;
}

/** A client under test, with the `Deadline` class of its own checkout (a deadline's cost is part of what changes). */
interface ClientUnderTest {
  client: Pick<SourceHttpClient, 'requestJson' | 'close'>;
  Deadline: typeof Deadline;
}

/** `calls` calls of `testCase`, `concurrency` at a time; throws on the first call that is not a 200 with a body. */
async function drive({ client, Deadline }: ClientUnderTest, testCase: Case, calls: number, concurrency: number, offset: number): Promise<void> {
  let next = 0;
  let failed: UpstreamCall | undefined;
  const observe = (call: UpstreamCall) => {
    if (call.status !== 200) failed ??= call;
  };
  const worker = async () => {
    let deadline = Deadline.none();
    let made = 0;
    while (next < calls) {
      const i = next++;
      if (made++ % CALLS_PER_DEADLINE === 0) deadline = Deadline.after(QUERY_DEADLINE_MS);
      const body = await client.requestJson({ ...testCase.request(offset + i), deadline, observe });
      if (body === null || typeof body !== 'object') throw new Error(`${testCase.name}: call ${i} returned ${String(body)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  // A failed attempt that a retry then cured still counts: the figure is for healthy calls only.
  if (failed) throw new Error(`${testCase.name}: an attempt ended with status ${failed.status} (${failed.errorCode ?? 'no error code'})`);
}

async function measure(client: ClientUnderTest, testCase: Case, sources: SourcesProcess, calls: number, concurrency: number, offset: number): Promise<Round> {
  const sourceBefore = await sources.usage();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await drive(client, testCase, calls, concurrency, offset);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const sourceAfter = await sources.usage();
  const served = sourceAfter.requests - sourceBefore.requests;
  if (served !== calls) throw new Error(`${testCase.name}: the source served ${served} requests for ${calls} calls`);
  return {
    calls,
    seconds,
    callsPerSecond: calls / seconds,
    hubCpuMicrosPerCall: (cpu.user + cpu.system) / calls,
    sourceCpuMicrosPerCall: (sourceAfter.micros - sourceBefore.micros) / calls,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

interface Options {
  calls: number;
  concurrency: number;
  warmup: number;
  rounds: number;
  people: number;
  cases?: string[];
  against?: string[];
  out?: string;
}

/** A `SourceHttpClient` class: this checkout's, or one of the checkouts given with `--against`. */
type ClientClass = new (source: string, config: SourceConfig, options: { logger?: Logger }) => Pick<SourceHttpClient, 'requestJson' | 'close'>;

interface Variant {
  label: string;
  Client: ClientClass;
  Deadline: typeof Deadline;
}

interface Figures {
  rounds: Round[];
  callsPerSecond: number;
  hubCpuMicrosPerCall: number;
  sourceCpuMicrosPerCall: number;
}

interface CaseResult {
  name: string;
  describe: string;
  /** Per client: `current` (this checkout), then each `--against` checkout by its directory's name. */
  variants: Record<string, Figures>;
}

interface RunResult {
  date: string;
  node: string;
  options: Options;
  cases: CaseResult[];
}

function parseOptions(argv: string[]): Options {
  return new Command('bench:upstream')
    .description('CPU the hub spends per upstream HTTP call (SourceHttpClient against the simulated sources in a child process, latency 0).')
    .option('--calls <n>', 'calls per measured round', positiveInteger, 20_000)
    .option('--concurrency <n>', 'calls in flight at once', positiveInteger, 32)
    .option('--warmup <n>', 'unmeasured calls per case and client first', positiveInteger, 5_000)
    .option('--rounds <n>', 'measured rounds per case and client; the median is reported', positiveInteger, 3)
    .option('--people <n>', 'people the simulated sources are seeded with', positiveInteger, 2_000)
    .option('--cases <list>', 'cases to run: crm-batch,support-single,shop-batch-post', (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--against <dirs>', "other checkouts of this repository, comma-separated (e.g. a worktree of the base commit): their SourceHttpClient is measured too, rounds interleaved with this one's; the first is the base of the comparison", (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--out <file>', 'write the figures as JSON')
    .parse(argv)
    .opts<Options>();
}

function summarise(rounds: Round[]): Figures {
  return {
    rounds,
    callsPerSecond: median(rounds.map((r) => r.callsPerSecond)),
    hubCpuMicrosPerCall: median(rounds.map((r) => r.hubCpuMicrosPerCall)),
    sourceCpuMicrosPerCall: median(rounds.map((r) => r.sourceCpuMicrosPerCall)),
  };
}

function printTable(result: RunResult): void {
  const { calls, concurrency, rounds, against } = result.options;
  console.log(`\nupstream call cost: ${calls} calls × ${rounds} rounds per case and client, concurrency ${concurrency}, latency 0, node ${result.node} (median round)`);
  if (against) console.log(`against: ${against.join(', ')} (rounds interleaved with this checkout's; change is against the first)`);
  console.log('');
  const header = ['case', 'client', 'calls/s', 'hub CPU µs/call', 'source CPU µs/call', ...(against ? ['hub CPU change'] : [])];
  const rows: string[][] = [];
  for (const c of result.cases) {
    const baseLabel = against ? basename(resolve(against[0]!)) : undefined;
    const base = baseLabel ? c.variants[baseLabel] : undefined;
    for (const [label, figures] of Object.entries(c.variants)) {
      const change = base && label !== baseLabel ? `${(((figures.hubCpuMicrosPerCall - base.hubCpuMicrosPerCall) / base.hubCpuMicrosPerCall) * 100).toFixed(1)}%` : '';
      rows.push([c.name, label, figures.callsPerSecond.toFixed(0), figures.hubCpuMicrosPerCall.toFixed(1), figures.sourceCpuMicrosPerCall.toFixed(1), ...(against ? [change] : [])]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log('\nevery round (hub CPU µs/call):');
  for (const c of result.cases) {
    for (const [label, figures] of Object.entries(c.variants)) console.log(`  ${c.name.padEnd(16)} ${label.padEnd(16)} ${figures.rounds.map((r) => r.hubCpuMicrosPerCall.toFixed(1)).join('  ')}`);
  }
  console.log('');
  for (const c of result.cases) console.log(`  ${c.name.padEnd(16)} ${c.describe}`);
}

async function loadVariants(against: readonly string[] = []): Promise<Variant[]> {
  const variants: Variant[] = [{ label: 'current', Client: SourceHttpClient, Deadline }];
  for (const dir of against) {
    const client = (await import(pathToFileURL(resolve(dir, 'src/sources/http-client.ts')).href)) as { SourceHttpClient: ClientClass };
    const deadline = (await import(pathToFileURL(resolve(dir, 'src/sources/policies/deadline.ts')).href)) as { Deadline: typeof Deadline };
    variants.push({ label: basename(resolve(dir)), Client: client.SourceHttpClient, Deadline: deadline.Deadline });
  }
  return variants;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const variants = await loadVariants(options.against);
  const sources = await startSourcesProcess(options.people);
  const config = demoConfig(sources.urls, { LINK_DB: ':memory:' });
  const cases = buildCases(config, sources.ids).filter((c) => !options.cases || options.cases.includes(c.name));
  if (cases.length === 0) throw new Error(`no such case: ${options.cases?.join(',')}`);
  // Circuit changes would be the only log lines; a silent logger keeps pino's cost out of a healthy run anyway.
  const logger = pino({ level: 'silent' });
  const results: CaseResult[] = [];
  try {
    for (const testCase of cases) {
      const clients: ClientUnderTest[] = variants.map((variant) => ({ client: new variant.Client(testCase.source, config.sources[testCase.source]!, { logger }), Deadline: variant.Deadline }));
      try {
        let offset = 0;
        for (const client of clients) {
          await drive(client, testCase, options.warmup, options.concurrency, offset);
          offset += options.warmup;
        }
        const rounds = variants.map((): Round[] => []);
        // Interleaved, so a change in the machine's load (other processes, thermal state) hits every client alike.
        for (let round = 0; round < options.rounds; round++) {
          for (const [i, client] of clients.entries()) {
            rounds[i]!.push(await measure(client, testCase, sources, options.calls, options.concurrency, offset));
            offset += options.calls;
          }
        }
        results.push({ name: testCase.name, describe: testCase.describe, variants: Object.fromEntries(variants.map((variant, i) => [variant.label, summarise(rounds[i]!)])) });
      } finally {
        await Promise.all(clients.map(({ client }) => client.close()));
      }
    }
  } finally {
    await sources.stop();
  }
  const result: RunResult = { date: new Date().toISOString(), node: process.version, options, cases: results };
  printTable(result);
  if (options.out) writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
}

const serveIndex = process.argv.indexOf('--serve-sources');
if (serveIndex >= 0) {
  await serveSources(Number(process.argv[serveIndex + 1]));
} else {
  await main();
}
