// `rosetta sync --config FILE` (and `npm run sync`): rebuilds the identity-link table from every source (src/cli/sync-progress.ts).
import { Command } from 'commander';
import { configOption, loadConfigOption } from '../options.js';

export function syncCommand(): Command {
  return new Command('sync')
    .description('rebuild the identity-link table by paging through every linked entity of every source')
    .addOption(configOption())
    .addHelpText('after', '\nA sync that stops part-way resumes after its last saved page when run again.\n\nExample:\n  rosetta sync --config config/demo.yaml')
    .action(async (options: { config: string }) => {
      const config = loadConfigOption(options);
      // Loaded on use: `rosetta --help` should not wait for the hub and the link stores to load.
      const [{ openLinkStore }, { printSummary, progressViewFor, syncWithProgress }] = await Promise.all([import('../../server/hub.js'), import('../sync-progress.js')]);
      const store = await openLinkStore(config);
      try {
        printSummary(await syncWithProgress(config, store, progressViewFor(config)));
      } finally {
        await store.close();
      }
    });
}
