// The bench's profile summary tells a request's phases apart, so the hub's CPU can be compared with the reference's.
import { describe, expect, test } from 'vitest';
import { phaseOf } from '../../bench/profile-summary.js';

const root = 'file:///work/rosetta';

describe('phaseOf', () => {
  test.each([
    [`${root}/node_modules/graphql/execution/execute.js`, 'executeField', 'GraphQL (parse, validate, execute)'],
    [`${root}/node_modules/@apollo/server/dist/esm/requestPipeline.js`, 'processGraphQLRequest', 'GraphQL (parse, validate, execute)'],
    [`${root}/node_modules/@apollo/server/dist/esm/runHttpQuery.js`, 'prettyJSONStringify', 'HTTP edge (sockets, body, JSON out)'],
    [`${root}/node_modules/pino/lib/proto.js`, 'write', 'observability (logs, metrics, traces, explain)'],
    [`${root}/src/observability/metrics.ts`, 'recordUpstream', 'observability (logs, metrics, traces, explain)'],
    [`${root}/src/sources/transforms.ts`, 'date', 'mapping (transforms, phones, dates)'],
    // The production build the bench runs by default.
    [`${root}/dist/src/sources/mapping.js`, '(anonymous)', 'mapping (transforms, phones, dates)'],
    [`${root}/dist/src/sources/normalize.js`, 'normalizePhone', 'mapping (transforms, phones, dates)'],
    [`${root}/dist/src/sources/http-client.js`, 'decode', 'upstream HTTP (undici, client)'],
    [`${root}/bench/reference/mapping.ts`, 'crmContact', 'mapping (transforms, phones, dates)'],
    [`${root}/node_modules/libphonenumber-js/build/parse.js`, 'parse', 'mapping (transforms, phones, dates)'],
    [`${root}/src/sources/http-client.ts`, 'decode', 'upstream HTTP (undici, client)'],
    [`${root}/node_modules/undici/lib/dispatcher/client-h1.js`, 'onBody', 'upstream HTTP (undici, client)'],
    [`${root}/src/identity/sqlite-store.ts`, 'getCustomers', 'link store and cache'],
    [`${root}/node_modules/better-sqlite3/lib/methods/transaction.js`, 'sqliteTransaction', 'link store and cache'],
    [`${root}/resolvers/customer.ts`, 'profile', 'resolvers and loaders'],
    [`${root}/bench/reference/server.ts`, 'profile', 'resolvers and loaders'],
    [`${root}/src/auth/protect-schema.ts`, 'wrapped', 'auth, limits, policies'],
    [`${root}/src/server/limits.ts`, 'check', 'auth, limits, policies'],
    [`${root}/src/server/http.ts`, 'readBody', 'HTTP edge (sockets, body, JSON out)'],
    ['node:net', 'Socket._writeGeneric', 'HTTP edge (sockets, body, JSON out)'],
    ['node:internal/modules/esm/utils', 'compileSourceTextModule', 'module loading'],
    ['', 'writev', 'HTTP edge (sockets, body, JSON out)'],
    ['', '(garbage collector)', 'garbage collection'],
    ['', '(program)', 'other'],
  ])('%s %s → %s', (url, fn, phase) => {
    expect(phaseOf(url, fn)).toBe(phase);
  });

  test("a native frame takes its nearest scripted caller's phase", () => {
    expect(phaseOf('', 'all', `${root}/src/identity/sqlite-store.ts`)).toBe('link store and cache');
    expect(phaseOf('', 'writeString', `${root}/node_modules/sonic-boom/index.js`)).toBe('observability (logs, metrics, traces, explain)');
    expect(phaseOf('', 'dispatch', 'node:inspector')).toBe('profiler (the measurement itself)');
  });
});
