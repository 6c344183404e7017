// Options several `rosetta` commands share, parsed and checked once.
import { InvalidArgumentError, Option } from 'commander';
import type { HubConfig } from '../config/schema.js';
import { loadConfigWithExtensions } from '../extensions/load-config.js';

export function nonNegativeInteger(raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${raw}"`);
  return value;
}

export function positiveInteger(raw: string): number {
  const value = nonNegativeInteger(raw);
  if (value === 0) throw new InvalidArgumentError('expected a positive integer, got 0');
  return value;
}

export function configOption(): Option {
  return new Option('-c, --config <file>', 'the hub config file (YAML; ${VAR} references are filled from the environment)').makeOptionMandatory();
}

/** The config named by `--config` and its extensions; a bad one throws ConfigError, which the runner turns into exit code 2. */
export function loadConfigOption(options: { config: string }): HubConfig {
  return loadConfigWithExtensions(options.config);
}
