// config/recipes/hubspot.yaml against the simulated HubSpot CRM: check, sync, and the cost of a page of contacts.
import { describe } from 'vitest';
import { recipeSuite } from './recipe-suite.js';

describe('HubSpot recipe', () => {
  // ceil(50 / 100) batch reads.
  recipeSuite('hubspot', { source: 'hubspot', pageOf50: { 'POST /crm/v3/objects/contacts/batch/read': 1 }, ideal: 1 });
});
