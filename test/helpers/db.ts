// Databases for integration tests. Every suite that touches storage runs once per engine:
// PGlite always, and PostgreSQL when TEST_DATABASE_URL points at a server (.ci/run starts one).
// Each test database is fresh: PGlite in memory, or a new PostgreSQL database dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDb, type Db, type Engine } from '../../src/store/db.ts';

export function engines(): Engine[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export interface TestDb {
  db: Db;
  /** The URL of the PostgreSQL test database (undefined on PGlite). */
  url?: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database on the given engine: migrated, or (migrate = false) with no tables at all. */
export async function freshDb(engine: Engine, migrate = true): Promise<TestDb> {
  if (engine === 'pglite') {
    const db = await openDb({ migrate });
    return { db, drop: () => db.close() };
  }
  const name = `weipian_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = withDatabase(process.env.TEST_DATABASE_URL!, name);
  const db = await openDb({ url, migrate });
  return {
    db,
    url,
    drop: async () => {
      await db.close();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Fresh empty database for a command-line run (PGlite folder or PostgreSQL database). */
export async function freshTarget(
  engine: Engine,
  dir: string,
): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (engine === 'pglite') return { env: { WEIPIAN_DATA: dir }, drop: async () => undefined };
  const name = `weipian_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  return {
    env: { DATABASE_URL: withDatabase(process.env.TEST_DATABASE_URL!, name) },
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
