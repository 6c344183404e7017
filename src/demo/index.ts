// The demo's public surface: seeded ground-truth data and the five simulated source systems serving it.
export * from './dataset.js';
export * from './systems.js';
export { createCrmServer } from './crm.js';
export { createShopServer } from './shop.js';
export { createSupportServer } from './support.js';
export { createMarketingServer } from './marketing.js';
export { createAnalyticsServer } from './analytics.js';
export { HttpApp, HttpError, UNMATCHED_ROUTE } from './http-app.js';
export type { RequestStats, SimulatedSource, SourceOptions } from './http-app.js';
export { PLACEHOLDER_EMAIL, emailMd5, normalizeEmail, phoneKey } from './identifiers.js';
export type { Wire } from './record-index.js';
