// `rosetta schema`: prints the unified graph's SDL, as the hub serves it (with a config's extension SDL, if it names any).
import { Command, Option } from 'commander';
import { loadTypeDefs } from '../../sdl/type-defs.js';
import { graphExtensions, hubTypeDefs } from '../../extensions/graph-extensions.js';
import { loadConfigOption } from '../options.js';

export function schemaCommand(): Command {
  return new Command('schema')
    .description('print the GraphQL schema (SDL) of the unified customer graph')
    .addOption(new Option('-c, --config <file>', 'include the extension SDL this config names (schema.extensions), checked against its entities'))
    .addHelpText('after', '\nExample:\n  rosetta schema > rosetta.graphql\n  rosetta schema --config config/demo.yaml > rosetta.graphql   # with the demo\'s extensions')
    .action((options: { config?: string }) => {
      if (options.config === undefined) {
        process.stdout.write(loadTypeDefs());
        return;
      }
      // A bad config or extension is a ConfigError: exit code 2, like every command.
      process.stdout.write(hubTypeDefs(graphExtensions(loadConfigOption({ config: options.config }))));
    });
}
