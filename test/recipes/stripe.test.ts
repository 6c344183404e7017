// config/recipes/stripe.yaml against the simulated Stripe: check, sync, and the cost of a page of customers.
import { describe } from 'vitest';
import { recipeSuite } from './recipe-suite.js';

describe('Stripe recipe', () => {
  // No batch read of customers by id: one read per customer, and one charge list per customer.
  recipeSuite('stripe', { source: 'stripe', children: 'orders', pageOf50: { 'GET /v1/customers/:id': 50, 'GET /v1/charges': 50 }, ideal: 100 });
});
