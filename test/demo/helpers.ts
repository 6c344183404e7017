// Shared fixtures for the demo tests: a small seeded dataset and JSON-over-fetch helpers.
import { afterAll, beforeAll } from 'vitest';
import { generateDataset } from '../../src/demo/dataset.js';
import type { Dataset } from '../../src/demo/dataset.js';
import type { SimulatedSource } from '../../src/demo/http-app.js';

export const SMALL_PEOPLE = 200;

/** One dataset per test file: generation is deterministic, so sharing it costs nothing in isolation. */
export const smallDataset: Dataset = generateDataset({ people: SMALL_PEOPLE, seed: 42 });

export interface JsonReply<T = any> {
  status: number;
  body: T;
  text: string;
}

async function reply<T>(response: Response): Promise<JsonReply<T>> {
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as T, text };
}

export async function getJson<T = any>(url: string): Promise<JsonReply<T>> {
  return reply<T>(await fetch(url));
}

export async function postJson<T = any>(url: string, body: unknown): Promise<JsonReply<T>> {
  const init: RequestInit = {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
  return reply<T>(await fetch(url, init));
}

/** Starts `source` on an ephemeral port for the current test file and closes it afterwards. */
export function serve(source: SimulatedSource): SimulatedSource {
  beforeAll(async () => {
    await source.listen();
  });
  afterAll(async () => {
    await source.close();
  });
  return source;
}
