// `rosetta`: the command line: the demo, the hub, config checks, link sync, the schema and mapping suggestions.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { packagePath } from '../package-root.js';
import { checkCommand } from './commands/check.js';
import { mapCommand } from './commands/map.js';
import { schemaCommand } from './commands/schema.js';
import { serveCommand } from './commands/serve.js';
import { startCommand } from './commands/start.js';
import { syncCommand } from './commands/sync.js';
import { runCommand } from './run.js';

const { version } = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };

function rosettaProgram(): Command {
  return new Command('rosetta')
    .description('Rosetta: one live customer graph over every system that holds customer data')
    .version(version)
    .addCommand(startCommand())
    .addCommand(serveCommand())
    .addCommand(checkCommand())
    .addCommand(syncCommand())
    .addCommand(schemaCommand())
    .addCommand(mapCommand());
}

await runCommand(rosettaProgram(), process.argv.slice(2));
