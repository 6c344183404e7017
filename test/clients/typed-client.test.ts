// A frontend generates typed operations from `rosetta schema` with graphql-codegen's client preset (docs/typed-clients.md),
// and the result type-checks: DateTime is a string, JSON unknown, enums string unions.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { afterAll, expect, test } from 'vitest';
import { runCli } from '../cli/cli-harness.js';

// Inside the repo, so the generated code resolves @graphql-typed-document-node/core from its node_modules.
const dir = mkdtempSync(join(process.cwd(), 'node_modules', '.typed-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPERATIONS = `
query CustomerCard($id: ID!) {
  customer(id: $id) { id profile { email } orders(first: 5) { id status statusRaw placedAt } events(first: 5) { occurredAt properties } }
}
query OpenTickets($id: ID!) {
  customer(id: $id) { tickets(status: [OPEN, HOLD], first: 10) { id status priority createdAt } }
}
`;

/** Uses the generated types as an app would; every line must type-check, and the @ts-expect-error lines must not. */
const APP = `
import type { ResultOf, VariablesOf } from '@graphql-typed-document-node/core';
import { CustomerCardDocument, OpenTicketsDocument, type TicketStatus } from './gql/graphql.js';

type Card = ResultOf<typeof CustomerCardDocument>;
const variables: VariablesOf<typeof OpenTicketsDocument> = { id: 'c1' };
export function describe(card: Card, tickets: ResultOf<typeof OpenTicketsDocument>): string[] {
  const placed: string | null | undefined = card.customer?.orders?.[0]?.placedAt;
  const properties: unknown = card.customer?.events?.[0]?.properties;
  const status: TicketStatus | null | undefined = tickets.customer?.tickets?.[0]?.status;
  // @ts-expect-error an order status is an enum, not any string
  const wrong: NonNullable<NonNullable<NonNullable<Card['customer']>['orders']>[number]['status']> = 'SHIPPED_TO_MARS';
  return [String(placed), JSON.stringify(properties), String(status), String(variables.id), String(wrong)];
}
`;

test('client types generated from `rosetta schema` over two operations type-check with the scalar mappings', { timeout: 120_000 }, async () => {
  const schema = await runCli(['schema']);
  expect(schema.code).toBe(0);
  writeFileSync(join(dir, 'schema.graphql'), schema.stdout);
  writeFileSync(join(dir, 'operations.graphql'), OPERATIONS);
  await generate({
    schema: join(dir, 'schema.graphql'),
    documents: [join(dir, 'operations.graphql')],
    silent: true,
    generates: {
      [`${join(dir, 'gql')}/`]: {
        preset: 'client',
        config: { scalars: { DateTime: 'string', JSON: 'unknown' }, strictScalars: true, enumsAsTypes: true, useTypeImports: true },
      },
    },
  }, true);
  writeFileSync(join(dir, 'app.ts'), APP);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', skipLibCheck: true, verbatimModuleSyntax: true },
    files: ['app.ts'],
  }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const tsc = spawnSync(process.execPath, [join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 90_000 });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
});
