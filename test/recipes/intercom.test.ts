// config/recipes/intercom.yaml against the simulated Intercom: check, sync, and the cost of a page of contacts.
import { describe } from 'vitest';
import { recipeSuite } from './recipe-suite.js';

describe('Intercom recipe', () => {
  // No batch read, but search by `id IN [...]`: ceil(50 / 150) searches.
  recipeSuite('intercom', { source: 'intercom', pageOf50: { 'POST /contacts/search': 1 }, ideal: 1 });
});
