// `rosetta map suggest` proposes a field mapping for a source entity; `rosetta map accuracy` scores suggestions against a config's own mappings.
import { Command, Option } from 'commander';
import type { HubConfig } from '../../config/schema.js';
import type { AccuracyReport } from '../../mapping-suggest/accuracy.js';
import { configOption, loadConfigOption, positiveInteger } from '../options.js';
import { CliError, EXIT } from '../run.js';
import { formatTable } from '../table.js';

const DEFAULT_SAMPLE = 100;

function sampleOption(): Option {
  return new Option('--sample <n>', 'records to sample per entity').default(DEFAULT_SAMPLE).argParser(positiveInteger);
}

function requireEntity(config: HubConfig, source: string, entity: string): void {
  const s = config.sources[source];
  if (!s) throw new CliError(`no source "${source}" in the config; sources: ${Object.keys(config.sources).join(', ')}`, EXIT.usage);
  if (!s.entities[entity]) throw new CliError(`no entity "${entity}" in source "${source}"; entities: ${Object.keys(s.entities).join(', ')}`, EXIT.usage);
}

function suggestCommand(): Command {
  return new Command('suggest')
    .description('sample records from a source entity and propose a mapping onto the unified schema, as YAML to paste into the config')
    .addOption(configOption())
    .requiredOption('--source <name>', 'the source, as named in the config')
    .requiredOption('--entity <name>', 'the entity of that source')
    .addOption(sampleOption())
    .addHelpText(
      'after',
      '\nThe entity needs its endpoints (list, or batch/single plus a parent with a list) but no mapping yet. Its "provides" picks the unified shape; without one, the best-fitting shape is inferred.\n\nExample:\n  rosetta map suggest --config config/demo.yaml --source shop --entity customer --sample 50',
    )
    .action(async (options: { config: string; source: string; entity: string; sample: number }) => {
      const config = loadConfigOption(options);
      requireEntity(config, options.source, options.entity);
      // Loaded on use: `rosetta --help` should not wait for HTTP clients and phone metadata to load.
      const [{ sampleRecords }, { suggestMapping, suggestOptionsFor }, { renderSuggestion }] = await Promise.all([
        import('../../mapping-suggest/sample.js'),
        import('../../mapping-suggest/suggest.js'),
        import('../../mapping-suggest/render.js'),
      ]);
      const sample = await sampleRecords(config, options.source, options.entity, options.sample);
      if (sample.records.length === 0) throw new CliError(`${options.source}.${options.entity}: the sample came back empty (${sample.from}); nothing to suggest from`);
      const suggestion = suggestMapping(sample.records, suggestOptionsFor(config, options.source, options.entity));
      process.stdout.write(renderSuggestion(suggestion, { source: options.source, entity: options.entity, from: sample.from }));
    });
}

function printAccuracy(report: AccuracyReport): void {
  const percent = (n: number) => `${(n * 100).toFixed(1)}%`;
  console.log(formatTable(['source', 'fields', 'top-1 correct', 'accuracy'], [...report.perSource, report.overall].map((r) => [r.source, r.fields, r.correct, percent(r.accuracy)])));
  const misses = report.checks.filter((c) => !c.correct);
  if (misses.length > 0) {
    console.log('\nmisses:');
    console.log(formatTable(['source.entity', 'field', 'config maps', 'suggested'], misses.map((c) => [`${c.source}.${c.entity}`, c.target, c.expected, c.suggested ?? '(nothing confident)'])));
  }
}

function accuracyCommand(): Command {
  return new Command('accuracy')
    .description("score mapping suggestions against a config's own mappings: for each mapped field, is the top suggestion's path the one the config maps?")
    .addOption(new Option('-c, --config <file>', 'the config whose mappings are the answer key').conflicts('demo'))
    .option('--demo', "the embedded demo: start the simulated systems and score against config/demo.yaml's mappings")
    .addOption(new Option('--people <n>', 'with --demo: people the simulated systems are seeded with').default(1_000).argParser(positiveInteger))
    .addOption(sampleOption())
    .addHelpText('after', '\nOnly each entity\'s endpoints and "provides" are read from the config; suggestions come from the sampled records alone.\n\nExample:\n  rosetta map accuracy --demo')
    .action(async (options: { config?: string; demo?: boolean; people: number; sample: number }) => {
      const { measureAccuracy } = await import('../../mapping-suggest/accuracy.js');
      if (options.config) {
        printAccuracy(await measureAccuracy(loadConfigOption({ config: options.config }), options.sample));
        return;
      }
      if (!options.demo) throw new CliError('say which mappings to score: --config FILE or --demo', EXIT.usage);
      const [{ startSimulatedSystems }, { demoConfig }] = await Promise.all([import('../../demo/systems.js'), import('../demo-config.js')]);
      const systems = await startSimulatedSystems({ people: options.people, seed: 42 });
      try {
        printAccuracy(await measureAccuracy(demoConfig(systems.urls, { ...process.env, PORT: '0' }), options.sample));
      } finally {
        await systems.close();
      }
    });
}

export function mapCommand(): Command {
  return new Command('map').description('help map a new source onto the unified schema').addCommand(suggestCommand()).addCommand(accuracyCommand());
}
