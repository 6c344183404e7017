// Request templates and response paths: compiled once, rendered as real APIs expect, every mistake a config error with its key.
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { compileEntityRequests } from '../../src/expressions/endpoint-requests.js';
import { SourceHttpClient } from '../../src/sources/http-client.js';
import { compileQuery, compileSingularPath } from '../../src/expressions/json-path.js';
import { apiSource, startLoopbackSource } from '../support/loopback-source.js';

function entity(overrides: Record<string, unknown>) {
  return {
    sources: {
      hubspot: {
        baseUrl: 'http://127.0.0.1:9',
        entities: { contact: { provides: 'profile', batch: { path: '/contacts', query: { ids: '{ids}' }, maxBatchSize: 100, envelope: 'results' }, ...overrides } },
      },
    },
  };
}

function problemsOf(overrides: Record<string, unknown>): { path: string; message: string }[] {
  try {
    parseConfig(entity(overrides), {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

function requestsOf(overrides: Record<string, unknown>) {
  return compileEntityRequests(parseConfig(entity(overrides), {}).sources.hubspot!.entities.contact!);
}

describe('request templates', () => {
  test('a HubSpot batch read body holds one input per id, constants kept as written', () => {
    const { batch } = requestsOf({
      batch: { method: 'POST', path: '/crm/v3/objects/contacts/batch/read', body: { properties: ['email', 'firstname'], inputs: [{ id: '{id}' }] }, maxBatchSize: 100, envelope: 'results' },
    });
    expect(batch!.render({ ids: ['101', '102'] })).toEqual({
      method: 'POST',
      path: '/crm/v3/objects/contacts/batch/read',
      query: {},
      body: { properties: ['email', 'firstname'], inputs: [{ id: '101' }, { id: '102' }] },
    });
  });

  test('"{ids}" alone in a body is a typed array; in a query, the ids joined with commas', () => {
    const posted = requestsOf({ batch: { method: 'POST', path: '/customers/batch', body: { customer_ids: '{ids}', limit: 5 }, idType: 'integer', maxBatchSize: 50, envelope: 'customers' } });
    expect(posted.batch!.render({ ids: ['7', '8'] }).body).toEqual({ customer_ids: [7, 8], limit: 5 });
    const queried = requestsOf({});
    expect(queried.batch!.render({ ids: ['a', 'b'] }).query).toEqual({ ids: 'a,b' });
  });

  test('idsInQuery: repeat sends the {ids} parameter once per id, in order, beside the other parameters', () => {
    const { batch } = requestsOf({ batch: { path: '/users', query: { 'id[]': '{ids}', fields: 'email,name' }, idsInQuery: 'repeat', maxBatchSize: 50, envelope: 'users' } });
    expect(batch!.render({ ids: ['7', '3', 'a b'] }).query).toEqual({ 'id[]': ['7', '3', 'a b'], fields: 'email,name' });
  });

  test('a repeated parameter goes on the wire as one name=value pair per id', async () => {
    const server = await startLoopbackSource(() => ({ body: { users: [] } }));
    const client = new SourceHttpClient('api', apiSource(server.url), { logger: pino({ level: 'silent' }) });
    try {
      const { batch } = requestsOf({ batch: { path: '/users', query: { id: '{ids}', sort: 'id' }, idsInQuery: 'repeat', maxBatchSize: 50, envelope: 'users' } });
      const rendered = batch!.render({ ids: ['1', '2', 'x&y'] });
      await client.requestJson({ method: 'GET', path: rendered.path, query: rendered.query, operation: 'user.batch', keys: 3 });
      expect(server.received.map((r) => r.url)).toEqual(['/users?id=1&id=2&id=x%26y&sort=id']);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test('a "?" in a path becomes query parameters beside the declared ones, and path values are percent-encoded', () => {
    const { single } = requestsOf({ batch: undefined, single: { path: '/charges?customer={id}&limit=100', query: { expand: 'data.customer' } } });
    expect(single!.render({ id: 'cus 1/2' })).toEqual({ method: 'GET', path: '/charges', query: { expand: 'data.customer', customer: 'cus 1/2', limit: '100' } });
    const { single: byPath } = requestsOf({ batch: undefined, single: { path: '/users/{id}/tickets' } });
    expect(byPath!.render({ id: 'a/b?c' }).path).toBe('/users/a%2Fb%3Fc/tickets');
  });

  test('a list leaves out the cursor on the first page and sends it after', () => {
    const { list } = requestsOf({ list: { path: '/crm/v3/objects/contacts', query: { limit: '{limit}', after: '{cursor}' }, envelope: 'results', pagination: { style: 'cursor', nextCursorPath: 'paging.next.after' } } });
    expect(list!.render({ limit: 100 }).query).toEqual({ limit: '100' });
    expect(list!.render({ limit: 100, cursor: 'MTAw' }).query).toEqual({ limit: '100', after: 'MTAw' });
  });

  test('a search body carries the value inside filterGroups; text templates paste it', () => {
    const { search } = requestsOf({
      search: {
        email: { method: 'POST', path: '/crm/v3/objects/contacts/search', body: { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: '{value}' }] }], limit: 10 }, envelope: 'results' },
        phone: { path: '/api/v2/search.json', query: { query: 'type:user phone:{value}' }, envelope: 'results' },
      },
    });
    expect(search.get('email')!.render({ value: 'Ann@Example.com' }).body).toEqual({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'Ann@Example.com' }] }], limit: 10 });
    expect(search.get('phone')!.render({ value: '+15551234567' }).query).toEqual({ query: 'type:user phone:+15551234567' });
  });

  test.each([
    ['an unknown variable', { single: { path: '/users/{user_id}' } }, 'sources.hubspot.entities.contact.single.path', 'unknown variable {user_id}'],
    ['a variable the operation does not fill', { search: { email: { path: '/search', query: { q: '{cursor}' }, envelope: 'results' } } }, 'sources.hubspot.entities.contact.search.email.query.q', 'unknown variable {cursor}'],
    ['an unclosed brace', { single: { path: '/users/{id' } }, 'sources.hubspot.entities.contact.single.path', 'unclosed "{"'],
    ['a single read without {id}', { single: { path: '/users/me' } }, 'sources.hubspot.entities.contact.single', 'must use {id}'],
    ['a batch that carries no ids', { batch: { path: '/contacts', maxBatchSize: 10, envelope: 'results' } }, 'sources.hubspot.entities.contact.batch', 'must use {ids} or {id}'],
    ['{id} outside a per-id array', { batch: { method: 'POST', path: '/read', body: { id: '{id}' }, maxBatchSize: 10, envelope: 'results' } }, 'sources.hubspot.entities.contact.batch.body.id', 'array of one element'],
    ['a per-id array of two elements', { batch: { method: 'POST', path: '/read', body: { inputs: [{ id: '{id}' }, { id: 'x' }] }, maxBatchSize: 10, envelope: 'results' } }, 'sources.hubspot.entities.contact.batch.body.inputs', 'exactly one element'],
    ['a body on a GET', { single: { path: '/users/{id}', body: { a: 1 } } }, 'sources.hubspot.entities.contact.single.body', 'only POST'],
    ['a query parameter in both path and query', { single: { path: '/users/{id}?a=1', query: { a: '2' } } }, 'sources.hubspot.entities.contact.single.path', 'both in path and in query'],
    ['a cursor list without {cursor}', { list: { path: '/contacts', query: { limit: '{limit}' }, envelope: 'results', pagination: { style: 'cursor', nextCursorPath: 'next' } } }, 'sources.hubspot.entities.contact.list', 'must use {cursor}'],
    ['idsInQuery: repeat on a parameter with more than {ids}', { batch: { path: '/users', query: { filter: 'id:{ids}' }, idsInQuery: 'repeat', maxBatchSize: 10, envelope: 'users' } }, 'sources.hubspot.entities.contact.batch.query.filter', '"{ids}" alone'],
    ['idsInQuery: repeat with the ids in the body', { batch: { method: 'POST', path: '/users', body: { ids: '{ids}' }, idsInQuery: 'repeat', maxBatchSize: 10, envelope: 'users' } }, 'sources.hubspot.entities.contact.batch.idsInQuery', 'needs a query parameter'],
    ['a page list without {page}', { list: { path: '/contacts', envelope: 'results', pagination: { style: 'page', totalPagesPath: 'pages' } } }, 'sources.hubspot.entities.contact.list', 'must use {page}'],
  ])('%s is a config error at its key', (_name, overrides, path, message) => {
    const problems = problemsOf(overrides);
    expect(problems.find((p) => p.path === path)?.message).toContain(message);
  });
});

describe('paths', () => {
  test('the member shorthand, bracketed names and negative indexes read one value each', () => {
    const body = { data: [{ id: 'cus_1' }, { id: 'cus_2' }], 'x-id': 7, merge_fields: { FNAME: 'Ann' } };
    expect(compileSingularPath('data[-1].id')(body)).toBe('cus_2');
    expect(compileSingularPath('$.data[0].id')(body)).toBe('cus_1');
    expect(compileSingularPath("$['x-id']")(body)).toBe(7);
    expect(compileSingularPath('merge_fields.FNAME')(body)).toBe('Ann');
    expect(compileSingularPath('$')(body)).toBe(body);
    // A member name selects nothing from an array; an index nothing from an object; nothing from the prototype.
    expect(compileSingularPath('data.id')(body)).toBeUndefined();
    expect(compileSingularPath('merge_fields[0]')(body)).toBeUndefined();
    expect(compileSingularPath('merge_fields.constructor')(body)).toBeUndefined();
    expect(compileSingularPath('data.length')(body)).toBeUndefined();
    expect(compileSingularPath("data['0']")(body)).toBeUndefined();
    expect(compileSingularPath("$['0']")({ '0': 'zero' })).toBe('zero');
  });

  test('a query collects HubSpot\'s OBJECT_NOT_FOUND ids and nothing else', () => {
    const body = {
      status: 'COMPLETE',
      results: [],
      errors: [
        { status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['123', '124'] } },
        { status: 'error', category: 'VALIDATION_ERROR', context: { ids: ['999'] } },
      ],
    };
    expect(compileQuery("$.errors[?@.category == 'OBJECT_NOT_FOUND'].context.ids[*]")(body)).toEqual(['123', '124']);
  });

  test.each([
    ['idPath', { idPath: 'data[' }, 'sources.hubspot.entities.contact.idPath', 'not a valid JSONPath'],
    ['an envelope that selects many', { batch: { path: '/c', query: { ids: '{ids}' }, maxBatchSize: 1, envelope: 'results[*]' } }, 'sources.hubspot.entities.contact.batch.envelope', 'must select one value'],
    ['a mapping path', { mapping: { email: 'properties..email' } }, 'sources.hubspot.entities.contact.mapping.email', 'must select one value'],
    ['a cursor path', { list: { path: '/c', query: { after: '{cursor}' }, envelope: 'results', pagination: { style: 'cursor', nextCursorPath: 'paging.next.after[' } } }, 'sources.hubspot.entities.contact.list.pagination.nextCursorPath', 'not a valid JSONPath'],
    ['a missing-ids query', { batch: { path: '/c', query: { ids: '{ids}' }, maxBatchSize: 1, envelope: 'results', missing: '$.errors[?' } }, 'sources.hubspot.entities.contact.batch.missing', 'not a valid JSONPath'],
  ])('an invalid path in %s is a config error at its key', (_name, overrides, path, message) => {
    const problems = problemsOf(overrides);
    expect(problems.find((p) => p.path === path)?.message).toContain(message);
  });
});
