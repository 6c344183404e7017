// `rosetta` explains itself, prints the schema the hub serves, and refuses a bad config with the bad key's path.
import { buildSchema } from 'graphql';
import { describe, expect, test } from 'vitest';
import { runCli, tempDir, writeConfig } from './cli-harness.js';

const COMMANDS = ['start', 'serve', 'check', 'sync', 'schema', 'map'];
const URLS = { crm: 'http://127.0.0.1:1', shop: 'http://127.0.0.1:1', support: 'http://127.0.0.1:1', marketing: 'http://127.0.0.1:1', analytics: 'http://127.0.0.1:1' };

describe.concurrent('rosetta --help', () => {
  test('lists every command', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const command of COMMANDS) expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  test.each([['start'], ['serve'], ['check'], ['sync'], ['schema'], ['map'], ['map suggest'], ['map accuracy']])('rosetta %s --help shows its usage and an example', async (command) => {
    const { code, stdout } = await runCli([...command.split(' '), '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: rosetta ${command}`);
    if (command !== 'map') expect(stdout).toContain(`Example:\n  rosetta ${command}`);
  });

  test('an unknown command or a missing --config is a usage error (exit 2)', async () => {
    expect((await runCli(['bogus'])).code).toBe(2);
    const missing = await runCli(['check']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '-c, --config <file>' not specified");
  });
});

describe('rosetta schema', () => {
  test('prints SDL that graphql-js builds into a schema with the Customer type', async () => {
    const { code, stdout } = await runCli(['schema']);
    expect(code).toBe(0);
    const schema = buildSchema(stdout);
    expect(schema.getType('Customer')).toBeDefined();
    expect(Object.keys(schema.getQueryType()!.getFields())).toEqual(expect.arrayContaining(['customer', 'customerByIdentity']));
  });
});

describe.concurrent('a bad config', () => {
  test.each([['check'], ['sync'], ['serve']])('stops rosetta %s with exit 2 and the path of every bad key', async (command) => {
    const file = writeConfig(tempDir(), 'bad', URLS, (raw) => {
      raw.sources.crm.entities.contact.batch.maxBatchSize = 'many';
      raw.sources.shop.entities.customer.mapping.nickname = 'nick';
    });
    const { code, stdout, stderr } = await runCli([command, '--config', file]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('sources.crm.entities.contact.batch.maxBatchSize: Invalid input: expected number');
    expect(stderr).toContain('sources.shop.entities.customer.mapping.nickname: unknown profile field "nickname"');
  });
});
