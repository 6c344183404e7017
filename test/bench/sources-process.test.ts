// bench:sync reads the simulated sources from a child process: it must serve the very dataset the in-process systems
// do, report its own usage, and never outlive the benchmark.
import { afterEach, describe, expect, test } from 'vitest';
import { startSourcesProcess, type SourcesProcess } from '../../bench/sources-process.js';
import { demoConfig } from '../../src/cli/demo-config.js';
import { startSimulatedSystems, SYSTEM_NAMES } from '../../src/demo/systems.js';
import { authHeaders } from '../../src/sources/credentials.js';

const PEOPLE = 300;
const SEED = 7;

let child: SourcesProcess | null = null;
afterEach(() => {
  child?.kill();
  child = null;
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: no such process. (Signal 0 only asks whether it exists.)
    return false;
  }
}

/** Resolves once `pid` is gone; `kill()` sends SIGKILL and returns before the kernel has reaped the child. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  return !alive(pid);
}

async function firstCrmPage(urls: Record<(typeof SYSTEM_NAMES)[number], string>): Promise<unknown> {
  const crm = demoConfig(urls, { PORT: '0' }).sources.crm!;
  const response = await fetch(new URL('/contacts?limit=50', urls.crm), { headers: authHeaders(crm.auth) });
  expect(response.status).toBe(200);
  return response.json();
}

describe("the sources' process", () => {
  test('serves the dataset the in-process systems serve for the same size and seed, and counts the requests it served', async () => {
    child = await startSourcesProcess({ people: PEOPLE, seed: SEED });
    expect(Object.keys(child.urls).sort()).toEqual([...SYSTEM_NAMES].sort());
    expect((await child.usage()).requests).toBe(0);

    const inProcess = await startSimulatedSystems({ people: PEOPLE, seed: SEED, latencyMs: 0 });
    try {
      const page = (await firstCrmPage(child.urls)) as { contacts: unknown[] };
      expect(page.contacts).toHaveLength(50);
      expect(page).toEqual(await firstCrmPage(inProcess.urls));
    } finally {
      await inProcess.close();
    }

    const usage = await child.usage();
    expect(usage.requests).toBe(1);
    expect(usage.cpuMicros).toBeGreaterThan(0);
    expect(usage.maxRssKb).toBeGreaterThan(0);
  });

  test('stop() closes the servers and the process exits', async () => {
    child = await startSourcesProcess({ people: PEOPLE, seed: SEED });
    const { pid, urls } = child;
    await child.stop();
    expect(await gone(pid)).toBe(true);
    await expect(fetch(urls.crm)).rejects.toThrow();
  });

  test('kill() ends it at once', async () => {
    child = await startSourcesProcess({ people: PEOPLE, seed: SEED });
    const { pid } = child;
    child.kill();
    expect(await gone(pid)).toBe(true);
  });

  test("a child that cannot start fails the start with the child's reason", async () => {
    await expect(startSourcesProcess({ people: Number.NaN, seed: SEED, heapMb: 256 })).rejects.toThrow(/usage: sources-child\.ts <people> <seed>/);
  });
});
