// The cluster primary's restart policy: when a dead worker is started again, and when not.
import { expect, test } from 'vitest';
import { RestartPolicy } from '../../src/cluster/restart-policy.js';

const OPTIONS = { initialDelayMs: 100, maxDelayMs: 1_000, maxRestarts: 5, windowMs: 60_000 };

test('each restart within the window waits twice as long as the one before, up to the maximum', () => {
  const policy = new RestartPolicy(OPTIONS);
  expect([0, 1, 2, 3, 4].map((i) => policy.nextDelay(i * 1_000))).toEqual([100, 200, 400, 800, 1_000]);
});

test('a worker crashing more often than the cap is given up, so a crash loop cannot spin', () => {
  const policy = new RestartPolicy(OPTIONS);
  for (let i = 0; i < 5; i++) expect(policy.nextDelay(i)).not.toBeNull();
  expect(policy.nextDelay(10)).toBeNull();
  expect(policy.nextDelay(20)).toBeNull();
});

test('crashes older than the window are forgotten: a worker that ran a while starts again at once', () => {
  const policy = new RestartPolicy(OPTIONS);
  for (let i = 0; i < 5; i++) policy.nextDelay(i);
  expect(policy.nextDelay(60_010)).toBe(100);
});
