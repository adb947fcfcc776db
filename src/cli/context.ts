// How the CLI reaches the data. With DATABASE_URL it opens the PostgreSQL server (any number of
// processes may). With the embedded PGlite folder it must be the folder's only owner: it takes the
// lock, or — when `weipian serve` owns the folder — acts through the server's API as the local
// operator, or refuses in one line naming the fix. It never opens the folder a second time.
import { mkdirSync } from 'node:fs';
import { loadConfig, type Config } from '../config.ts';
import { openDb, type Db } from '../store/db.ts';
import { acquireLock, type LockInfo } from '../store/lock.ts';
import { WeipianError } from '../domain/errors.ts';
import { OPERATOR_HEADER, readOperatorToken } from '../server/operator-token.ts';
import {
  discardEarly,
  runOperatorCommand,
  startEarly,
  type OperatorArgs,
  type OperatorCommand,
  type OperatorResult,
} from '../services/operator.ts';
import type { ProgressFn } from '../jobs/progress.ts';
import { recoverInterruptedImports } from '../jobs/recover.ts';

/** PGlite's shared buffers for a one-shot command (the server keeps PostgreSQL's 128 MB). */
export const COMMAND_SHARED_BUFFERS_MB = 32;

export async function openFromConfig(
  config: Config = loadConfig(),
  migrate = true,
  use: 'command' | 'server' = 'command',
): Promise<Db> {
  let db: Db;
  if (config.databaseUrl) db = await openDb({ url: config.databaseUrl, migrate });
  else {
    mkdirSync(config.pgliteDir, { recursive: true });
    db = await openDb({
      dataDir: config.pgliteDir,
      migrate,
      sharedBuffersMB: use === 'command' ? COMMAND_SHARED_BUFFERS_MB : undefined,
    });
  }
  // Imports killed mid-way left invisible staging rows: clear those whose process is gone.
  if (migrate) await recoverInterruptedImports(db);
  return db;
}

function busy(owner: LockInfo, dataDir: string, what: string): WeipianError {
  return owner.kind === 'server'
    ? new WeipianError(
        'data_in_use_by_server',
        `数据目录 ${dataDir} 正由 weipian serve（进程 ${owner.pid}，${owner.url ?? ''}）使用，${what}前请先停止服务`,
        { owner },
        409,
      )
    : new WeipianError(
        'data_in_use',
        `另一个 weipian 命令（进程 ${owner.pid}）正在使用数据目录 ${dataDir}，请等它结束后再试`,
        { owner },
        409,
      );
}

/** Takes the folder for this process (PGlite), or returns the live owner that holds it. */
function takeFolder(config: Config): { release(): void } | LockInfo {
  if (config.databaseUrl) return { release: () => {} };
  mkdirSync(config.dataDir, { recursive: true });
  return acquireLock(config.dataDir, 'cli');
}

async function runOwned<T>(
  config: Config,
  release: () => void,
  fn: (db: Db, config: Config) => Promise<T>,
  migrate: boolean,
): Promise<T> {
  try {
    const db = await openFromConfig(config, migrate);
    try {
      return await fn(db, config);
    } finally {
      await db.close();
    }
  } finally {
    release();
  }
}

/**
 * Runs fn with the database, as the folder's only owner (PGlite) or as one client of the server
 * (PostgreSQL). For commands that cannot go through a running server: refuses while it runs.
 */
export async function withDb<T>(
  fn: (db: Db, config: Config) => Promise<T>,
  migrate = true,
  what = '执行该命令',
): Promise<T> {
  const config = loadConfig();
  const owned = takeFolder(config);
  if (!('release' in owned)) throw busy(owned, config.dataDir, what);
  return runOwned(config, owned.release, fn, migrate);
}

async function remote<K extends OperatorCommand>(
  owner: LockInfo,
  config: Config,
  name: K,
  args: OperatorArgs<K>,
): Promise<OperatorResult<K>> {
  const token = readOperatorToken(config.dataDir);
  if (!token || !owner.url)
    throw new WeipianError(
      'operator_token_missing',
      `weipian serve（进程 ${owner.pid}）正在使用数据目录，但读不到本地操作员凭据 ${config.dataDir}/operator.token：请用运行服务的同一账号执行，或先停止服务`,
    );
  let res: Response;
  try {
    res = await fetch(new URL(`api/operator/${name}`, owner.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', [OPERATOR_HEADER]: token },
      body: JSON.stringify({ actor: config.actor, args }),
    });
  } catch (e) {
    throw new WeipianError(
      'server_unreachable',
      `数据目录由 weipian serve（进程 ${owner.pid}）占用，但连不上 ${owner.url}：${String(e)}`,
    );
  }
  const body = (await res.json()) as {
    result?: OperatorResult<K>;
    error?: { code: string; message: string; details?: unknown };
  };
  if (!res.ok || body.error)
    throw new WeipianError(
      body.error?.code ?? 'server_error',
      body.error?.message ?? `服务返回 ${res.status}`,
      body.error?.details,
      res.status,
    );
  return body.result as OperatorResult<K>;
}

/**
 * Runs an operator command: in-process when this CLI may own the data, through the running server
 * otherwise. Results that crossed the API are JSON (dates as strings).
 */
export async function operate<K extends OperatorCommand>(
  name: K,
  args: OperatorArgs<K>,
  onProgress?: ProgressFn,
): Promise<OperatorResult<K>> {
  const config = loadConfig();
  const owned = takeFolder(config);
  if (!('release' in owned)) {
    if (owned.kind === 'server') return remote(owned, config, name, args);
    throw busy(owned, config.dataDir, '执行该命令');
  }
  const ctx = {
    actor: config.actor,
    filesDir: config.filesDir,
    maxUnzippedBytes: config.maxUnzippedBytes,
    onProgress,
  };
  let early: Awaited<ReturnType<typeof startEarly>>;
  try {
    early = await startEarly(name, args, ctx, config.databaseUrl ? 'postgres' : 'pglite');
  } catch (e) {
    owned.release();
    throw e;
  }
  let ran = false;
  try {
    return await runOwned(
      config,
      owned.release,
      (db) => {
        ran = true;
        return runOperatorCommand(db, name, args, { ...ctx, early });
      },
      true,
    );
  } finally {
    if (!ran) await discardEarly(early);
  }
}
