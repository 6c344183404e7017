// Contract of the simulated support desk: per-record reads only, page-number pagination, ticket filters, search.
import { describe, expect, it } from 'vitest';
import { PLACEHOLDER_EMAIL } from '../../src/demo/identifiers.js';
import { createSupportServer } from '../../src/demo/support.js';
import { getJson, postJson, serve, smallDataset } from './helpers.js';

const { users, tickets } = smallDataset.support;
const support = serve(createSupportServer(smallDataset));

describe('Support desk', () => {
  it('support has no batch endpoint', async () => {
    const a = users[0]!.id;
    const b = users[1]!.id;
    expect((await postJson(`${support.url}/users/batch`, { ids: [a, b] })).status).toBe(404);
    expect((await getJson(`${support.url}/users/show_many?ids=${a},${b}`)).status).toBe(400);
    // `ids` is not a filter: the list endpoint just pages through everyone.
    const listed = await getJson(`${support.url}/users?ids=${a},${b}`);
    expect(listed.body.users.length).toBe(Math.min(100, users.length));
  });

  it('reads one user, or 404s', async () => {
    const { body } = await getJson(`${support.url}/users/${users[0]!.id}`);
    expect(body.user.id).toBe(users[0]!.id);
    expect(body.user).not.toHaveProperty('personId');
    expect((await getJson(`${support.url}/users/1`)).status).toBe(404);
  });

  it('pages through every user by page number', async () => {
    const seen: number[] = [];
    const first = await getJson(`${support.url}/users?page=1&per_page=20`);
    expect(first.body).toMatchObject({ page: 1, per_page: 20, total_pages: Math.ceil(users.length / 20) });
    for (let page = 1; page <= first.body.total_pages; page++) {
      const { body } = await getJson(`${support.url}/users?page=${page}&per_page=20`);
      seen.push(...body.users.map((u: { id: number }) => u.id));
    }
    expect(seen).toEqual(users.map((u) => u.id));
    expect((await getJson(`${support.url}/users?per_page=101`)).status).toBe(400);
  });

  it('pages a user’s tickets newest first and filters them by status', async () => {
    const requester = tickets[0]!.requester_id;
    const own = tickets.filter((t) => t.requester_id === requester);

    const { body } = await getJson(`${support.url}/users/${requester}/tickets?page=1&per_page=2`);
    expect(body).toMatchObject({ page: 1, per_page: 2, total_pages: Math.max(1, Math.ceil(own.length / 2)) });
    expect(body.tickets.length).toBe(Math.min(2, own.length));
    expect(body.tickets[0].created_at).toBe(own.map((t) => t.created_at).sort().at(-1));

    const status = own[0]!.status;
    const filtered = await getJson(`${support.url}/users/${requester}/tickets?status=${status}&per_page=100`);
    expect(filtered.body.tickets.length).toBe(own.filter((t) => t.status === status).length);
    expect((await getJson(`${support.url}/users/${requester}/tickets?status=bogus`)).status).toBe(400);
  });

  it('searches users by email or phone through one query parameter', async () => {
    const user = users.find((u) => u.email && u.phone && !u.email.toLowerCase().includes('noreply'))!;
    const byEmail = await getJson(`${support.url}/users/search?query=${encodeURIComponent(user.email!)}`);
    expect(byEmail.body.users.map((u: { id: number }) => u.id)).toEqual([user.id]);
    const byPhone = await getJson(`${support.url}/users/search?query=${encodeURIComponent(user.phone!)}`);
    expect(byPhone.body.users.map((u: { id: number }) => u.id)).toEqual([user.id]);
  });

  it('finds every placeholder user under the shared noreply address', async () => {
    const { body } = await getJson(`${support.url}/users/search?query=${PLACEHOLDER_EMAIL.toUpperCase()}`);
    expect(body.users.length).toBeGreaterThanOrEqual(3);
    for (const user of body.users) expect(user.phone).toBeTruthy();
  });
});
