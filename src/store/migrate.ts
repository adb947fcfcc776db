// Versioned migrations, applied in order at every start on either engine. Each runs in its own
// transaction under an advisory lock, so two servers starting together on one PostgreSQL cannot
// apply the same migration twice.
import type { Db } from './db.ts';
import { migrations } from './migrations/index.ts';

const LOCK_KEY = 7_421_100; // arbitrary, constant: "weipian migrations"

/** Applies pending migrations (up to `upTo` when given: restore loads a backup at its own version). */
export async function runMigrations(db: Db, upTo = Infinity): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version > upTo) break;
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      const seen = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (seen.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}
