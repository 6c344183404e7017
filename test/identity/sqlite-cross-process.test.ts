// Processes sharing one SQLite file (cluster workers) serialise their link writes through SQLite's own locking
// (BEGIN IMMEDIATE around plan + apply): two writers linking records that share phones end with the table that
// applying their records one after the other gives, never with two customers holding one phone.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { tempDir } from '../cli/cli-harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/sqlite-link-writer.ts', import.meta.url));
const ROUNDS = 300;
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function exitedCleanly(child: ChildProcess): Promise<void> {
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
}

async function write(file: string, source: string): Promise<void> {
  await exitedCleanly(spawn(process.execPath, ['--import', 'tsx', WRITER, file, source, String(ROUNDS), 'now'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] }));
}

/** Starts writers that each say `ready` once set up, then sends them all the start line at once: no guessed delay. */
async function writeTogether(file: string, sources: readonly string[]): Promise<void> {
  const children = sources.map((source) => spawn(process.execPath, ['--import', 'tsx', WRITER, file, source, String(ROUNDS), 'on-signal'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] }));
  const exits = children.map((child) => exitedCleanly(child));
  await Promise.all(children.map((child) => once(child.stdout!, 'data')));
  for (const child of children) child.stdin!.end('go\n');
  await Promise.all(exits);
}

/** Which records share a customer, whatever the customers' IDs. */
async function partition(file: string): Promise<string[]> {
  const store = new SqliteLinkStore(file);
  try {
    const { customers } = await store.pageCustomers(10_000, null);
    return customers.map((c) => c.links.map((l) => l.recordId).sort().join(' ')).sort();
  } finally {
    await store.close();
  }
}

test(`two processes linking ${ROUNDS} overlapping records each end as if one had written after the other`, async () => {
  const together = join(dir, 'together.sqlite');
  const oneAfterTheOther = join(dir, 'sequential.sqlite');
  await Promise.all([new SqliteLinkStore(together).close(), new SqliteLinkStore(oneAfterTheOther).close()]);

  await writeTogether(together, ['a', 'b']);
  await write(oneAfterTheOther, 'a');
  await write(oneAfterTheOther, 'b');

  const expected = await partition(oneAfterTheOther);
  expect(expected).toHaveLength(ROUNDS);
  expect(expected[0]).toBe('a0 b0');
  expect(await partition(together)).toEqual(expected);
}, 90_000);
