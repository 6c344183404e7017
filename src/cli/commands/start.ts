// `rosetta start` (and `npm start`): the embedded demo (src/cli/demo.ts), with its settings as options or environment variables.
import { Command, Option } from 'commander';
import { nonNegativeInteger, positiveInteger } from '../options.js';
import { closeOnSignal, exitWhenLost } from '../signals.js';

/** `--workers`: a positive integer, or `auto` for one per core. */
function workersArgument(raw: string): number | 'auto' {
  return raw === 'auto' ? 'auto' : positiveInteger(raw);
}

export function startCommand(): Command {
  return new Command('start')
    .description('run the embedded demo: five simulated source systems on loopback, the link table built from them, and the hub')
    .addOption(new Option('--port <port>', "the hub's port").env('PORT').default(4000).argParser(nonNegativeInteger))
    .addOption(new Option('--people <n>', 'people the simulated systems are seeded with').env('DEMO_PEOPLE').default(10_000).argParser(nonNegativeInteger))
    .addOption(new Option('--seed <n>', 'seed of the generated data (same seed, same data)').env('DEMO_SEED').default(42).argParser(nonNegativeInteger))
    .addOption(new Option('--latency <ms>', 'latency of every simulated source').env('DEMO_LATENCY_MS').default(20).argParser(nonNegativeInteger))
    .addOption(new Option('--workers <n|auto>', 'hub processes sharing the port (auto: one per core)').env('WORKERS').default(1).argParser(workersArgument))
    .addHelpText('after', '\nThe link table lives in $LINK_DB (default data/demo-links.sqlite). The demo has no authentication: keep it on your machine.\n\nExample:\n  rosetta start --people 2000 --port 4000')
    .action(async (options: { port: number; people: number; seed: number; latency: number; workers: number | 'auto' }) => {
      // Loaded on use: `rosetta --help` should not wait for the hub and the simulated systems to load.
      const { startDemo } = await import('../demo.js');
      const demo = await startDemo({ port: options.port, people: options.people, seed: options.seed, latencyMs: options.latency, workers: options.workers });
      closeOnSignal(demo);
      exitWhenLost(demo);
    });
}
