// Opens the database the CLI and server act on, from the environment (DATABASE_URL or WEIPIAN_DATA).
import { mkdirSync } from 'node:fs';
import { loadConfig, type Config } from '../config.ts';
import { openDb, type Db } from '../store/db.ts';

export async function openFromConfig(config: Config = loadConfig(), migrate = true): Promise<Db> {
  if (config.databaseUrl) return openDb({ url: config.databaseUrl, migrate });
  mkdirSync(config.pgliteDir, { recursive: true });
  return openDb({ dataDir: config.pgliteDir, migrate });
}

/** Runs fn with an open database and always closes it (PGlite must flush to its folder). */
export async function withDb<T>(fn: (db: Db, config: Config) => Promise<T>, migrate = true): Promise<T> {
  const config = loadConfig();
  const db = await openFromConfig(config, migrate);
  try {
    return await fn(db, config);
  } finally {
    await db.close();
  }
}
