// The demo's config file, filled with the loopback URLs the simulated systems were started on.
import type { Environment } from '../config/load.js';
import type { HubConfig } from '../config/schema.js';
import { loadConfigWithExtensions } from '../extensions/load-config.js';
import type { SystemName } from '../demo/systems.js';
import { packagePath } from '../package-root.js';

export const DEMO_CONFIG_PATH = packagePath('config/demo.yaml');

const URL_VARIABLES: Record<SystemName, string> = {
  crm: 'CRM_URL',
  shop: 'SHOP_URL',
  support: 'SUPPORT_URL',
  marketing: 'MARKETING_URL',
  analytics: 'ANALYTICS_URL',
};

export function demoConfig(urls: Record<SystemName, string>, env: Environment = process.env, file = DEMO_CONFIG_PATH): HubConfig {
  const filled: Record<string, string | undefined> = { ...env };
  for (const [system, variable] of Object.entries(URL_VARIABLES)) filled[variable] = urls[system as SystemName];
  return loadConfigWithExtensions(file, filled);
}
