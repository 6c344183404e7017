// config/recipes/zendesk.yaml against the simulated Zendesk Support: check, sync, and the cost of a page of users.
import { describe } from 'vitest';
import { recipeSuite } from './recipe-suite.js';

describe('Zendesk recipe', () => {
  // ceil(50 / 100) show_many calls; requested tickets have no batch endpoint: one list per user.
  recipeSuite('zendesk', { source: 'zendesk', children: 'tickets', pageOf50: { 'GET /api/v2/users/show_many.json': 1, 'GET /api/v2/users/:id/tickets/requested.json': 50 }, ideal: 51 });
});
