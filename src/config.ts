// Runtime settings from the environment, read in one place.
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';

export interface Config {
  /** postgres:// URL of a PostgreSQL server; when unset the embedded PGlite is used. */
  databaseUrl?: string;
  /** The data folder: PGlite's database in db/, attachments in files/, the lock file. */
  dataDir: string;
  /** PGlite's own folder inside dataDir (unused with databaseUrl). */
  pgliteDir: string;
  host: string;
  port: number;
  /** Who the CLI acts as until logins exist: recorded on every import. */
  actor: string;
  /** Attachment store (photos, documents): a directory. */
  filesDir: string;
  /** Zip imports: refuse archives that inflate past this many bytes. */
  maxUnzippedBytes: number;
  /** Uploads through the API: refuse bodies past this many bytes. */
  maxUploadBytes: number;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.WEIPIAN_DATA ?? 'data');
  const port = Number(env.WEIPIAN_PORT ?? env.PORT ?? 8080);
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    pgliteDir: join(dataDir, 'db'),
    filesDir: resolve(env.WEIPIAN_FILES ?? join(dataDir, 'files')),
    host: env.WEIPIAN_HOST ?? '127.0.0.1',
    port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 8080,
    actor: env.WEIPIAN_ACTOR ?? `cli:${osUser()}`,
    maxUnzippedBytes: Number(env.WEIPIAN_MAX_UNZIPPED_BYTES ?? 4 * 1024 ** 3),
    maxUploadBytes: Number(env.WEIPIAN_MAX_UPLOAD_BYTES ?? 1024 ** 3),
  };
}
