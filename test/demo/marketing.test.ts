// Contract of the simulated marketing tool: md5-keyed members, offset pagination, everything in a data envelope.
import { describe, expect, it } from 'vitest';
import { emailMd5 } from '../../src/demo/identifiers.js';
import { createMarketingServer } from '../../src/demo/marketing.js';
import { getJson, serve, smallDataset } from './helpers.js';

const { members } = smallDataset.marketing;
const marketing = serve(createMarketingServer(smallDataset));
const ids = (items: Array<{ id: string }>) => items.map((m) => m.id);

describe('Marketing', () => {
  it('marketing wraps responses in data envelope', async () => {
    const member = members[0]!;
    for (const path of [`/members/${member.id}`, `/members?ids=${member.id}`, '/members?count=5', `/members/search?email=${member.email_address}`]) {
      const { body } = await getJson(`${marketing.url}${path}`);
      expect(Object.keys(body), path).toEqual(['data']);
    }
    expect((await getJson(`${marketing.url}/members/${member.id}`)).body.data.member.id).toBe(member.id);
  });

  it('batch-reads members by md5 ids, up to 100', async () => {
    const wanted = [members[2]!.id, 'f'.repeat(32), members[1]!.id.toUpperCase()];
    const { body } = await getJson(`${marketing.url}/members?ids=${wanted.join(',')}`);
    expect(ids(body.data.members)).toEqual([members[2]!.id, members[1]!.id]);
    const tooMany = Array.from({ length: 101 }, (_, i) => String(i).padStart(32, '0'));
    expect((await getJson(`${marketing.url}/members?ids=${tooMany.join(',')}`)).status).toBe(400);
  });

  it('pages through every member by offset and count, reporting total_items', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < members.length; offset += 25) {
      const { body } = await getJson(`${marketing.url}/members?offset=${offset}&count=25`);
      expect(body.data.total_items).toBe(members.length);
      seen.push(...ids(body.data.members));
    }
    expect(seen).toEqual(ids(members));
    expect((await getJson(`${marketing.url}/members?count=1001`)).status).toBe(400);
  });

  it('finds a member by email in any case, keyed by md5 of the normalised address', async () => {
    const member = members[0]!;
    const messy = encodeURIComponent(` ${member.email_address.toUpperCase()} `);
    const { body } = await getJson(`${marketing.url}/members/search?email=${messy}`);
    expect(ids(body.data.members)).toEqual([emailMd5(member.email_address)]);
    expect(body.data.members[0]).not.toHaveProperty('personId');
  });

  it('404s an unknown member', async () => {
    expect((await getJson(`${marketing.url}/members/${'0'.repeat(32)}`)).status).toBe(404);
  });
});
