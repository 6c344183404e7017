// Audit rows asked for in one turn of the event loop share one commit, and each caller still hears of its own rows.
import { expect, test } from 'vitest';
import { GroupCommit } from '../../src/identity/group-commit.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import type { AuditEntry } from '../../src/identity/store.js';

function recorder(options: { refuse?: string; busy?: () => boolean } = {}) {
  const writes: string[][] = [];
  const group = new GroupCommit<string>((items) => {
    if (options.refuse && items.includes(options.refuse)) throw new Error(`refused ${options.refuse}`);
    writes.push([...items]);
  }, options.busy ?? (() => false));
  return { writes, group };
}

test('appends of one turn are written in one write, in the order asked', async () => {
  const { writes, group } = recorder();
  await Promise.all([group.append(['a']), group.append(['b', 'c']), group.append(['d'])]);
  expect(writes).toEqual([['a', 'b', 'c', 'd']]);
  await group.append(['e']);
  expect(writes).toEqual([['a', 'b', 'c', 'd'], ['e']]);
});

test("a caller's unwritable rows fail that caller alone; the others' are written", async () => {
  const { writes, group } = recorder({ refuse: 'bad' });
  const outcomes = await Promise.allSettled([group.append(['a']), group.append(['bad', 'b']), group.append(['c'])]);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('refused bad'));
  expect(writes).toEqual([['a'], ['c']]);
});

test('inside a transaction of the connection, rows are written at once, as part of it', async () => {
  let busy = true;
  const { writes, group } = recorder({ busy: () => busy });
  await group.append(['inside']);
  expect(writes).toEqual([['inside']]);
  busy = false;
  await group.append(['after']);
  expect(writes).toEqual([['inside'], ['after']]);
});

test('the SQLite store commits one turn of audit rows together, and writes what waits when it closes', async () => {
  const store = new SqliteLinkStore(':memory:');
  const entry = (requestId: string): AuditEntry => ({ at: '2026-01-01T00:00:00.000Z', requestId, actor: 'a', roles: [], action: 'LOOKUP', customerId: null, fields: [], detail: null });
  await Promise.all(['r1', 'r2', 'r3'].map((id) => store.appendAudit([entry(id)])));
  expect((await store.readAudit({ first: 10 })).entries.map((e) => e.requestId)).toEqual(['r3', 'r2', 'r1']);
  const late = store.appendAudit([entry('r4')]);
  await store.close();
  await expect(late).resolves.toBeUndefined();
});
