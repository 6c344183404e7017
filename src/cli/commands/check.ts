// `rosetta check --config FILE`: validates a config, reaches every source entity, then exercises every declared read (src/check/).
import { Command, Option } from 'commander';
import { CliError, EXIT } from '../run.js';
import { configOption, loadConfigOption, positiveInteger } from '../options.js';
import { formatTable } from '../table.js';
import type { CheckReport } from '../../check/exercise.js';

const share = (resolved: number, sampled: number) => `${sampled === 0 ? 0 : Math.round((resolved / sampled) * 100)}%`;

/** One table per operation, each only when some entity has that operation. */
function printReport(report: CheckReport): void {
  const section = (title: string, headers: string[], rows: (string | number)[][]) => {
    if (rows.length === 0) return;
    console.log(`\n${title}`);
    console.log(formatTable(headers, rows));
  };
  section('lists (every page, or --sample pages)', ['source', 'entity', 'pages', 'records', 'source total', 'ended', 'calls'], report.lists.map((r) => [r.source, r.entity, r.pages, r.records, r.sourceTotal ?? '-', r.ended, r.calls]));
  section('reads of listed records by id', ['source', 'entity', 'operation', 'asked', 'found', 'calls', 'ideal'], report.reads.map((r) => [r.source, r.entity, r.operation, r.asked, r.found, r.calls, r.ideal]));
  section('child lists of sampled parents', ['source', 'entity', 'parents', 'with children', 'children', 'calls'], report.children.map((r) => [r.source, r.entity, r.parents, r.withChildren, r.children, r.calls]));
  section('searches for a listed record by its own identifier', ['source', 'entity', 'kind', 'record', 'found', 'calls'], report.searches.map((r) => [r.source, r.entity, r.kind, r.recordId, r.found ? 'yes' : 'NO', r.calls]));
  section('child records looked up by the id a user holds (lookup)', ['source', 'entity', 'record', 'parent', 'found', 'calls'], report.lookups.map((r) => [r.source, r.entity, r.recordId, r.parentId, r.found ? 'yes' : 'NO', r.calls]));
  section('paths: share of sampled records where each resolves', ['source', 'entity', 'what', 'path', 'resolved', 'sampled', 'share'], report.paths.map((r) => [r.source, r.entity, r.what, r.path, r.resolved, r.sampled, share(r.resolved, r.sampled)]));
}

export function checkCommand(): Command {
  return new Command('check')
    .description('validate a config file, reach every source entity, then exercise every declared read against the live sources (read-only)')
    .addOption(configOption())
    .addOption(new Option('--sample <pages>', 'read at most this many pages of each list (default: every page, which also proves each list ends where the source says)').argParser(positiveInteger))
    .addOption(new Option('--records <n>', 'listed records per entity read back, searched for and measured').argParser(positiveInteger).default(50))
    .addOption(new Option('--reach-only', 'only reach every entity with one cheap request (status and latency)'))
    .addHelpText(
      'after',
      `\nExit codes: ${EXIT.ok} everything answered and agreed, ${EXIT.failed} a source failed or the check found an error, ${EXIT.usage} the config is invalid.\n\nExample:\n  rosetta check --config config/recipes/stripe.yaml --sample 3`,
    )
    .action(async (options: { config: string; sample?: number; records: number; reachOnly?: boolean }) => {
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
      if (options.reachOnly) return;

      const { exerciseSources } = await import('../../check/exercise.js');
      const report = await exerciseSources(config, { ...(options.sample !== undefined ? { samplePages: options.sample } : {}), sampleRecords: options.records });
      printReport(report);
      const errors = report.findings.filter((f) => f.severity === 'error');
      for (const f of report.findings) console.error(`${f.severity}: ${f.source}.${f.entity} ${f.operation} (${f.key}): ${f.message}`);
      if (errors.length > 0) {
        throw new CliError(`check found ${errors.length} error${errors.length === 1 ? '' : 's'} (${[...new Set(errors.map((f) => `${f.source}.${f.entity}`))].join(', ')})`, EXIT.failed);
      }
      const warnings = report.findings.length;
      console.log(`\nexercised every declared read: no errors${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'} (on stderr)` : ''}`);
    });
}
