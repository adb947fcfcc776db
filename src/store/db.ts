// One interface over the two engines that run the same PostgreSQL SQL: PGlite (embedded, WASM,
// data in a folder) by default, a PostgreSQL server when DATABASE_URL is set. Everything above
// this module writes plain PostgreSQL and never asks which engine it is on.
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import pg from 'pg';
import { runMigrations } from './migrate.ts';
import { copyStatement } from './bulk.ts';
import { pgCopyIn } from './pg-copy.ts';

export type Engine = 'pglite' | 'postgres';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Bulk load of binary COPY data (store/bulk.ts CopyWriter) into table (columns). Optional, so
   * that wrappers may leave it out: store/bulk.ts copyRows falls back to INSERT.
   */
  copyBinary?(table: string, columns: readonly string[], data: Uint8Array, opts?: CopyOptions): Promise<void>;
}

export interface CopyOptions {
  /**
   * The caller vouches that every foreign key of the rows holds (rows of a staging layer it
   * created and alone writes). PGlite then skips the per-row check — a trigger per row, ~0.5 s of
   * the main thread per 100,000 parcels — for this COPY only; a PostgreSQL server checks as always.
   */
  referencesKnown?: boolean;
}

export interface Db extends Queryable {
  readonly engine: Engine;
  /** Where the data lives, for messages: a folder or a redacted URL. */
  readonly location: string;
  /** Runs fn in one transaction: all of it commits or none of it does. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// Both engines return the same JS values: dates as 'YYYY-MM-DD' strings (no time-zone shift),
// bigint and numeric as numbers (counts and areas here stay far below 2^53).
const DATE_OID = 1082;
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const passDate = (v: string) => v;
const toNumber = (v: string) => Number(v);

/**
 * COPY of binary rows on PGlite, from a Blob it reads as '/dev/blob'. Without the foreign-key
 * checks when the caller vouches for them: session_replication_role = replica for this statement
 * alone (SET LOCAL in the same simple query: its own implicit transaction, or reset to the
 * session's value before the caller's transaction goes on).
 */
async function pgliteCopy(
  q: Pick<PGlite, 'query' | 'exec'>,
  table: string,
  columns: readonly string[],
  data: Uint8Array,
  opts?: CopyOptions,
): Promise<void> {
  const blob = new Blob([data as BlobPart]);
  const copy = copyStatement(table, columns, "'/dev/blob'");
  if (opts?.referencesKnown)
    await q.exec(
      `SET LOCAL session_replication_role = replica; ${copy}; SET LOCAL session_replication_role = DEFAULT`,
      { blob },
    );
  else await q.query(copy, [], { blob });
}

class PgliteDb implements Db {
  readonly engine = 'pglite' as const;
  constructor(
    private readonly pgl: PGlite,
    readonly location: string,
  ) {}
  async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    return (await this.pgl.query<T>(sql, params)).rows;
  }
  async exec(sql: string): Promise<void> {
    await this.pgl.exec(sql);
  }
  copyBinary(table: string, columns: readonly string[], data: Uint8Array, opts?: CopyOptions): Promise<void> {
    return pgliteCopy(this.pgl, table, columns, data, opts);
  }
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.pgl.transaction(async (tx) =>
      fn({
        query: async <R>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params)).rows,
        exec: async (sql: string) => {
          await tx.exec(sql);
        },
        copyBinary: (table, columns, data, opts) => pgliteCopy(tx, table, columns, data, opts),
      }),
    );
  }
  async close(): Promise<void> {
    await this.pgl.close();
  }
}

class PostgresDb implements Db {
  readonly engine = 'postgres' as const;
  constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {}
  async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    return (await this.pool.query(sql, params as unknown[])).rows as T[];
  }
  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }
  async copyBinary(table: string, columns: readonly string[], data: Uint8Array): Promise<void> {
    const client = await this.pool.connect();
    try {
      await pgCopyIn(client, copyStatement(table, columns, 'STDIN'), data);
    } finally {
      client.release();
    }
  }
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <R>(sql: string, params?: unknown[]) =>
          (await client.query(sql, params as unknown[])).rows as R[],
        exec: async (sql: string) => {
          await client.query(sql);
        },
        copyBinary: (table, columns, data) => pgCopyIn(client, copyStatement(table, columns, 'STDIN'), data),
      });
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }
  async close(): Promise<void> {
    await this.pool.end();
  }
}

export interface OpenOptions {
  /** postgres:// URL; when absent, PGlite is used. */
  url?: string;
  /** PGlite data folder; undefined with no url = in memory (tests). */
  dataDir?: string;
  /** Skip migrations (only for tools that inspect a database as it is). */
  migrate?: boolean;
  /**
   * PGlite's shared buffers in MB (PostgreSQL's default, 128, when absent). A one-shot command
   * wants fewer: setting up 128 MB is ~0.4 s of opening the folder, and the files it reads stay in
   * the operating system's cache anyway.
   */
  sharedBuffersMB?: number;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

export async function openDb(opts: OpenOptions): Promise<Db> {
  let db: Db;
  if (opts.url) {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: 8,
      types: {
        getTypeParser: ((oid: number, format?: string) => {
          if (oid === DATE_OID) return passDate;
          if (oid === INT8_OID || oid === NUMERIC_OID) return toNumber;
          return pg.types.getTypeParser(oid, format as 'text');
        }) as typeof pg.types.getTypeParser,
      },
    });
    db = new PostgresDb(pool, redactUrl(opts.url));
  } else {
    const pgl = await PGlite.create({
      dataDir: opts.dataDir,
      startParams: opts.sharedBuffersMB
        ? [...PGlite.defaultStartParams, '-c', `shared_buffers=${opts.sharedBuffersMB}MB`]
        : undefined,
      parsers: {
        [pgliteTypes.DATE]: passDate,
        [pgliteTypes.INT8]: toNumber,
        [pgliteTypes.NUMERIC]: toNumber,
      },
    });
    db = new PgliteDb(pgl, opts.dataDir ?? 'memory://');
  }
  if (opts.migrate !== false) {
    try {
      await runMigrations(db);
    } catch (e) {
      await db.close();
      throw e;
    }
  }
  return db;
}
