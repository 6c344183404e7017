// A subscription's stream of changes: bounded in rate and queue length, with what it withheld counted in `missed`,
// and detached from the feed when the consumer returns, even while it waits for the next event.
import { expect, test } from 'vitest';
import { ChangeFeed, type CustomerChange } from '../../src/identity/change-feed.js';

const change = (recordId: string, customerId = 'cus_a'): CustomerChange => ({ kind: 'UPSERT', customerId, survivorId: null, splitOffId: null, source: 'crm', entity: 'contact', recordId, at: '2026-01-01T00:00:00.000Z' });

test('past its rate a stream withholds events and says how many in the next one it delivers', async () => {
  const feed = new ChangeFeed();
  let now = 0;
  const withheld: number[] = [];
  const stream = feed.stream(() => true, { maxPerSecond: 2, maxQueued: 10, now: () => now, onWithheld: (n) => withheld.push(n) });
  feed.publish(['1', '2', '3', '4'].map((id) => change(id)));
  now = 1_000;
  feed.publish([change('5')]);
  const read = [];
  for (let i = 0; i < 3; i++) read.push((await stream.next()).value);
  expect(read.map((c) => [c!.recordId, c!.missed])).toEqual([['1', 0], ['2', 0], ['5', 2]]);
  expect(withheld).toEqual([1, 1]);
});

test('a slow reader loses the oldest queued events, counted in the first one it reads', async () => {
  const feed = new ChangeFeed();
  const stream = feed.stream(() => true, { maxPerSecond: 100, maxQueued: 2, now: () => 0 });
  feed.publish(['1', '2', '3', '4'].map((id) => change(id)));
  expect([(await stream.next()).value, (await stream.next()).value].map((c) => [c!.recordId, c!.missed])).toEqual([['3', 2], ['4', 0]]);
});

test('only accepted changes count, and returning ends a pending read and unsubscribes', async () => {
  const feed = new ChangeFeed();
  const stream = feed.stream((c) => c.customerId === 'cus_b', { maxPerSecond: 1, maxQueued: 10, now: () => 0 });
  feed.publish([change('1'), change('2'), change('3', 'cus_b')]);
  expect((await stream.next()).value).toMatchObject({ recordId: '3', missed: 0 });
  const pending = stream.next();
  await stream.return(undefined);
  expect(await pending).toEqual({ value: undefined, done: true });
  expect(feed.subscribers).toBe(0);
});
