// `rosetta serve --config FILE`: the hub over your own sources, reading the link table the config names.
import { Command } from 'commander';
import { configOption, loadConfigOption } from '../options.js';
import { closeOnSignal, exitWhenLost } from '../signals.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the hub over the sources in a config file, with the link table it names')
    .addOption(configOption())
    .addHelpText('after', '\nBuild the link table first with `rosetta sync --config FILE`.\n\nExample:\n  rosetta serve --config config/production.yaml')
    .action(async (options: { config: string }) => {
      const config = loadConfigOption(options);
      // Loaded on use: `rosetta --help` should not wait for the hub to load.
      const { openLinkStore } = await import('../../server/hub.js');
      const { startHubProcesses } = await import('../../cluster/cluster.js');
      const store = await openLinkStore(config);
      const customers = await store.countCustomers();
      // One process, or `server.workers` of them sharing the port.
      const hub = await startHubProcesses(config, { store });
      console.log(`Rosetta hub ready at ${hub.url}${hub.workers > 1 ? ` (${hub.workers} workers)` : ''}`);
      console.log(`link table: ${customers} customers across ${Object.keys(config.sources).length} sources`);
      if (customers === 0) console.warn(`the link table is empty: run \`rosetta sync --config ${options.config}\` to build it`);
      if (!config.auth) console.warn('WARNING: no auth section: every caller can read every customer.');
      closeOnSignal(hub);
      exitWhenLost(hub);
    });
}
