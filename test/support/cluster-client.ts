// HTTP to a hub cluster, one new connection per request: the primary hands connections (not requests) to workers in
// turn, so only a fresh connection lets consecutive requests reach different workers.
import { request } from 'node:http';
import type { Dataset, ShopCustomer } from '../../src/demo/dataset.js';
import type { LinkStore } from '../../src/identity/store.js';
import { vi } from 'vitest';

export interface Answer<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export function onNewConnection<T = any>(url: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer<T>> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: options.method ?? 'GET', agent: false, headers: options.headers ?? {}, timeout: 20_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Prometheus text, not JSON.
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: body as T });
      });
    });
    sent.on('timeout', () => sent.destroy(new Error(`no answer from ${url} within 20 s`)));
    sent.on('error', reject);
    sent.end(options.body);
  });
}

export async function graphqlOnNewConnection<T = any>(graphqlUrl: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: T; errors?: unknown[] }> {
  const answer = await onNewConnection<{ data?: T; errors?: unknown[] }>(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  if (answer.status !== 200) throw new Error(`GraphQL answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/**
 * Asks `times` times in a row, each on a new connection, until every answer of a round passes `accept`; returns that
 * round's answers, or fails after `deadlineMs` naming the last round's.
 */
export function untilEveryAnswer<T>(ask: () => Promise<T>, accept: (answer: T) => boolean, { times, deadlineMs }: { times: number; deadlineMs: number }): Promise<T[]> {
  return vi.waitFor(
    async () => {
      const answers: T[] = [];
      for (let i = 0; i < times; i++) answers.push(await ask());
      if (!answers.every(accept)) throw new Error(`not every answer passes yet; the last round: ${JSON.stringify(answers)}`);
      return answers;
    },
    { timeout: deadlineMs, interval: 25 },
  );
}

/**
 * Two customers known only to the shop, each with an email and a phone: a CRM contact carrying A's email and B's
 * phone links both and merges them. Returns the two shop records and the customers, survivor (the lower ID) first.
 */
export async function mergeableShopPair(data: Dataset, store: Pick<LinkStore, 'findCustomerIdByRecord'>): Promise<{ a: ShopCustomer; b: ShopCustomer; survivor: string; mergedAway: string }> {
  const crmPeople = new Set(data.crm.contacts.map((c) => c.personId));
  const [a, b] = data.shop.customers.filter((c) => c.contact_email && c.phone && !crmPeople.has(c.personId) && !data.support.users.some((u) => u.personId === c.personId));
  if (!a || !b) throw new Error('the demo dataset has no two shop-only customers with email and phone');
  const idA = (await store.findCustomerIdByRecord({ source: 'shop', recordId: String(a.id) }))!;
  const idB = (await store.findCustomerIdByRecord({ source: 'shop', recordId: String(b.id) }))!;
  const [survivor, mergedAway] = idA < idB ? [idA, idB] : [idB, idA];
  return { a, b, survivor, mergedAway };
}

