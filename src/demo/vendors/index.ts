// The simulated vendor APIs (Stripe, HubSpot, Zendesk, Shopify, Intercom, Auth0), each written from the vendor's public API reference.
import { createAuth0Server } from './auth0.js';
import { createHubSpotServer } from './hubspot.js';
import { createIntercomServer } from './intercom.js';
import { generateVendorData, type VendorData, type VendorDataOptions, type VendorName } from './people.js';
import { createShopifyServer } from './shopify.js';
import { createStripeServer } from './stripe.js';
import type { VendorApp, VendorOptions } from './vendor-app.js';
import { createZendeskServer } from './zendesk.js';

const VENDOR_FACTORIES: Record<VendorName, (data: VendorData, options?: VendorOptions) => VendorApp> = {
  stripe: createStripeServer,
  hubspot: createHubSpotServer,
  zendesk: createZendeskServer,
  shopify: createShopifyServer,
  intercom: createIntercomServer,
  auth0: createAuth0Server,
};

/** One vendor on loopback over freshly generated (or given) data. */
export async function startVendor(vendor: VendorName, options: VendorOptions & VendorDataOptions & { data?: VendorData } = {}): Promise<VendorApp> {
  const data = options.data ?? generateVendorData(options);
  const app = VENDOR_FACTORIES[vendor](data, options);
  await app.listen(0);
  return app;
}

export { generateVendorData } from './people.js';
export type { VendorData, VendorName } from './people.js';
export { VendorApp } from './vendor-app.js';
export type { VendorOptions } from './vendor-app.js';
