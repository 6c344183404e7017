// `rosetta sync --config FILE` (and `npm run sync`): rebuilds the identity-link table from every source (src/cli/sync-progress.ts).
import { Command } from 'commander';
import { configOption, loadConfigOption } from '../options.js';

export function syncCommand(): Command {
  return new Command('sync')
    .description('rebuild the identity-link table by paging through every linked entity of every source')
    .addOption(configOption())
    .option('--full', 'read every record of every entity and reconcile deletions, even where sync.modifiedSince would read only what changed')
    .addHelpText(
      'after',
      '\nA sync that stops part-way resumes after its last saved page when run again. Entities declaring sync.modifiedSince\nread only what changed since the last pass, and every record once sync.fullEvery has passed (docs/linking.md).\n\nExample:\n  rosetta sync --config config/demo.yaml\n  rosetta sync --config config/demo.yaml --full   # every record, deletions reconciled',
    )
    .action(async (options: { config: string; full?: boolean }) => {
      const config = loadConfigOption(options);
      // Loaded on use: `rosetta --help` should not wait for the hub and the link stores to load.
      const [{ openLinkStore }, { printSummary, progressViewFor, syncWithProgress }] = await Promise.all([import('../../server/hub.js'), import('../sync-progress.js')]);
      const store = await openLinkStore(config);
      try {
        printSummary(await syncWithProgress(config, store, progressViewFor(config), { full: options.full === true }));
      } finally {
        await store.close();
      }
    });
}
