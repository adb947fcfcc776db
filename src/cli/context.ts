// Opens the database the CLI and server act on, from the environment (DATABASE_URL or WEIPIAN_DATA).
import { mkdirSync } from 'node:fs';
import { loadConfig, type Config } from '../config.ts';
import { openDb, type Db } from '../store/db.ts';

export async function openFromConfig(config: Config = loadConfig()): Promise<Db> {
  if (config.databaseUrl) return openDb({ url: config.databaseUrl });
  mkdirSync(config.dataDir, { recursive: true });
  return openDb({ dataDir: config.dataDir });
}

/** Runs fn with an open database and always closes it (PGlite must flush to its folder). */
export async function withDb<T>(fn: (db: Db, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openFromConfig(config);
  try {
    return await fn(db, config);
  } finally {
    await db.close();
  }
}
