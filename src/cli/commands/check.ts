// `rosetta check --config FILE`: validates a config and reaches every source entity with one cheap request (src/sources/probe.ts).
import { Command } from 'commander';
import { CliError, EXIT } from '../run.js';
import { configOption, loadConfigOption } from '../options.js';
import { formatTable } from '../table.js';

export function checkCommand(): Command {
  return new Command('check')
    .description('validate a config file and reach every source entity with one cheap request, printing status and latency')
    .addOption(configOption())
    .addHelpText('after', `\nExit codes: ${EXIT.ok} every source answered, ${EXIT.failed} some did not, ${EXIT.usage} the config is invalid.\n\nExample:\n  rosetta check --config config/demo.yaml`)
    .action(async (options: { config: string }) => {
      const config = loadConfigOption(options);
      console.log(`config ${options.config}: valid, ${Object.keys(config.sources).length} sources`);
      // Loaded on use, like every command's machinery: `rosetta --help` should not wait for HTTP clients to load.
      const { probeSources } = await import('../../sources/probe.js');
      const checks = await probeSources(config);
      console.log(formatTable(['source', 'entity', 'request', 'status', 'latency ms'], checks.map((c) => [c.source, c.entity, c.request, c.status, c.ms ?? '-'])));
      const failed = checks.filter((c) => !c.ok);
      for (const c of failed) console.error(`${c.source}.${c.entity}: ${c.detail}`);
      if (failed.length > 0) {
        const sources = [...new Set(failed.map((c) => c.source))];
        throw new CliError(`${failed.length} of ${checks.length} entities failed (sources: ${sources.join(', ')})`, EXIT.failed);
      }
      console.log(`all ${checks.length} entities answered`);
    });
}
