// Whether the hub runs in production, which decides what it hides (introspection, the playground) and what it refuses
// (a hub without auth, a write to a record the config declares no write for). Read from the config alone, so every layer can ask without the server.
import type { Environment } from './load.js';
import type { HubConfig } from './schema.js';

/** `mode: production` in the config, or NODE_ENV=production when the config does not say. */
export function productionMode(config: HubConfig, env: Environment = process.env): boolean {
  return (config.mode ?? (env.NODE_ENV === 'production' ? 'production' : 'development')) === 'production';
}
