// `rosetta schema`: prints the unified graph's SDL, as the hub serves it.
import { Command } from 'commander';
import { loadTypeDefs } from '../../server/schema.js';

export function schemaCommand(): Command {
  return new Command('schema')
    .description('print the GraphQL schema (SDL) of the unified customer graph')
    .addHelpText('after', '\nExample:\n  rosetta schema > rosetta.graphql')
    .action(() => {
      process.stdout.write(loadTypeDefs());
    });
}
