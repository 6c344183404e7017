// config/recipes/shopify.yaml against the simulated Shopify Admin API: check, sync, and the cost of a page of customers.
import { describe } from 'vitest';
import { recipeSuite } from './recipe-suite.js';

describe('Shopify recipe', () => {
  // 600 people: about 450 customers, so the list spans two Link-header pages of 250.
  // ceil(50 / 250) customer reads through `ids`; orders have no batch endpoint: one list per customer.
  recipeSuite('shopify', { source: 'shopify', people: 600, children: 'orders', pageOf50: { 'GET /admin/api/2024-10/customers.json': 1, 'GET /admin/api/2024-10/customers/:id/orders.json': 50 }, ideal: 51 });
});
