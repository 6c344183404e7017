// config/recipes/auth0.yaml against the simulated Auth0 Management API: OAuth2 client credentials, check, sync, a page of users.
import { describe } from 'vitest';
import { recipeSuite } from './recipe-suite.js';

describe('Auth0 recipe', () => {
  // One token for the whole hub (cached until shortly before it expires), then one read per user: no batch read by id.
  recipeSuite('auth0', { source: 'auth0', pageOf50: { 'POST /oauth/token': 1, 'GET /api/v2/users/:id': 50 }, ideal: 51 });
});
