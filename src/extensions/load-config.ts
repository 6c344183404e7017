// A config file loaded together with the extension SDL files it names, checked against each other at once, so a bad
// extension stops a `rosetta` command before anything starts and the error names the config file. The config layer
// reads the document alone (the extensions read its types, so it cannot call them); the CLI, holding both, loads here.
import { loadConfigFile, type Environment } from '../config/load.js';
import type { HubConfig } from '../config/schema.js';
import { graphExtensions } from './graph-extensions.js';

export function loadConfigWithExtensions(file: string, env: Environment = process.env): HubConfig {
  const config = loadConfigFile(file, env);
  // Cached per config object: the hub started with it (startHub) reads the same result instead of loading again.
  graphExtensions(config, file);
  return config;
}
