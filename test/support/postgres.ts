// Isolated PostgreSQL schemas for tests: each store under test gets its own schema in database `test`, dropped afterwards.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The PostgreSQL every machine of this project runs (trust auth); overridable to point tests elsewhere. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export class TestSchemas {
  private readonly created: string[] = [];

  /** A schema name no other test (or parallel test file) uses; the store creates it when it opens. */
  next(): string {
    const name = `rosetta_test_${randomBytes(6).toString('hex')}`;
    this.created.push(name);
    return name;
  }

  /** Runs one statement with `search_path` set to `schema`, as a store in that schema would see it. */
  async query<R extends Record<string, unknown>>(schema: string, sql: string, params: unknown[] = []): Promise<R[]> {
    const client = new Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  async dropAll(): Promise<void> {
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      for (const schema of this.created.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  }
}
