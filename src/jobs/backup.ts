// Backup and restore of the whole system — every table and the attachment store — in one zip with
// a manifest of SHA-256 checksums. The format is logical (rows as JSON lines), so one backup
// restores on either engine: a district can move from PGlite to a PostgreSQL server this way.
// Reads happen in one REPEATABLE READ transaction, so the tables are a consistent snapshot.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import yazl from 'yazl';
import yauzl from 'yauzl';
import type { Db, Queryable } from '../store/db.ts';
import { runMigrations } from '../store/migrate.ts';
import { migrations } from '../store/migrations/index.ts';
import { WeipianError, isWeipianError } from '../domain/errors.ts';
import { noProgress, type ProgressFn } from './progress.ts';

export const BACKUP_FORMAT = 'weipian-backup/1';
const PAGE = 2000;

export interface TableInfo {
  name: string;
  /** Primary-key columns, for a stable row order. */
  key: string[];
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  engine: string;
  schemaVersion: number;
  tables: { name: string; rows: number; sha256: string }[];
  files: { path: string; bytes: number; sha256: string }[];
}

export interface BackupSummary {
  file: string;
  sha256: string;
  tables: number;
  rows: number;
  files: number;
}

/** Application tables in foreign-key order (parents first), with their primary keys. */
export async function tablesInOrder(q: Queryable): Promise<TableInfo[]> {
  const tables = await q.query<{ name: string; key: string[] | null }>(
    `SELECT c.relname AS name,
       (SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
         WHERE i.indrelid = c.oid AND i.indisprimary) AS key
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind = 'r'
     ORDER BY c.relname`,
  );
  const deps = await q.query<{ child: string; parent: string }>(
    `SELECT cl.relname AS child, pl.relname AS parent
     FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid JOIN pg_class pl ON pl.oid = k.confrelid
     JOIN pg_namespace n ON n.oid = cl.relnamespace
     WHERE k.contype = 'f' AND n.nspname = current_schema() AND cl.relname <> pl.relname`,
  );
  const parents = new Map<string, Set<string>>(tables.map((t) => [t.name, new Set()]));
  for (const d of deps) parents.get(d.child)?.add(d.parent);
  const ordered: TableInfo[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    const next = tables.find(
      (t) => !placed.has(t.name) && [...parents.get(t.name)!].every((p) => placed.has(p)),
    );
    if (!next) throw new Error('foreign keys form a cycle');
    placed.add(next.name);
    ordered.push({ name: next.name, key: next.key ?? [] });
  }
  return ordered;
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function* tableRows(q: Queryable, t: TableInfo): AsyncIterable<string[]> {
  const order = t.key.length ? t.key.map(ident).join(', ') : '1';
  for (let offset = 0; ; offset += PAGE) {
    const rows = await q.query<{ j: string }>(
      `SELECT row_to_json(t)::text AS j FROM ${ident(t.name)} t ORDER BY ${order} LIMIT ${PAGE} OFFSET ${offset}`,
    );
    if (rows.length) yield rows.map((r) => r.j);
    if (rows.length < PAGE) return;
  }
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string) {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  }
  await walk(root);
  return out;
}

async function sha256OfFile(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

export async function backup(db: Db, filesDir: string, out: string, onProgress: ProgressFn = noProgress) {
  const tmp = `${out}.part-${process.pid}`;
  const zip = new yazl.ZipFile();
  const ws = createWriteStream(tmp);
  const archiveHash = createHash('sha256');
  zip.outputStream.on('data', (c: Buffer) => archiveHash.update(c));
  zip.outputStream.pipe(ws);
  try {
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      createdAt: new Date().toISOString(),
      engine: db.engine,
      schemaVersion: 0,
      tables: [],
      files: [],
    };
    let totalRows = 0;
    await db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const [v] = await tx.query<{ v: number }>('SELECT max(version)::int AS v FROM schema_migrations');
      manifest.schemaVersion = v?.v ?? 0;
      const tables = await tablesInOrder(tx);
      for (const [i, t] of tables.entries()) {
        const h = createHash('sha256');
        const chunks: Buffer[] = [];
        let rows = 0;
        for await (const page of tableRows(tx, t)) {
          const buf = Buffer.from(page.map((l) => `${l}\n`).join(''), 'utf8');
          h.update(buf);
          chunks.push(buf);
          rows += page.length;
        }
        zip.addBuffer(Buffer.concat(chunks), `tables/${t.name}.jsonl`);
        manifest.tables.push({ name: t.name, rows, sha256: h.digest('hex') });
        totalRows += rows;
        onProgress(i + 1, tables.length);
      }
    });
    for (const f of await listFiles(filesDir)) {
      const rel = path.relative(filesDir, f).split(path.sep).join('/');
      const st = await stat(f);
      manifest.files.push({ path: rel, bytes: st.size, sha256: await sha256OfFile(f) });
      zip.addFile(f, `files/${rel}`);
    }
    zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json');
    zip.end();
    await once(ws, 'close');
    await rename(tmp, out);
    const summary: BackupSummary = {
      file: out,
      sha256: archiveHash.digest('hex'),
      tables: manifest.tables.length,
      rows: totalRows,
      files: manifest.files.length,
    };
    await writeFile(`${out}.sha256`, `${summary.sha256}  ${path.basename(out)}\n`);
    return summary;
  } catch (e) {
    ws.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, z) => (err ? reject(err) : resolve(z!))),
  );
}

/** Reads every entry of the archive into memory keyed by name (tables) or streams files to disk. */
async function readArchive(file: string, filesStage: string): Promise<Map<string, Buffer>> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(file);
  } catch (e) {
    throw new WeipianError('backup_invalid', `不是有效的备份文件：${file}`, { error: String(e) });
  }
  const entries = new Map<string, Buffer>();
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = entry.fileName;
        if (name.includes('..') || name.startsWith('/') || name.endsWith('/')) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (err, rs) => {
          if (err || !rs) return reject(err ?? new Error('no stream'));
          if (name.startsWith('files/')) {
            const target = path.join(filesStage, name.slice('files/'.length));
            mkdir(path.dirname(target), { recursive: true })
              .then(() => {
                const ws = createWriteStream(target);
                rs.pipe(ws);
                ws.on('close', () => zip.readEntry());
                ws.on('error', reject);
              })
              .catch(reject);
          } else {
            const parts: Buffer[] = [];
            rs.on('data', (c: Buffer) => parts.push(c));
            rs.on('end', () => {
              entries.set(name, Buffer.concat(parts));
              zip.readEntry();
            });
            rs.on('error', reject);
          }
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return entries;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface RestoreSummary {
  tables: number;
  rows: number;
  files: number;
  schemaVersion: number;
}

/**
 * Restores a backup into a new, empty database (no tables at all) and an empty attachment folder.
 * Every checksum is verified before anything is written.
 */
export async function restore(db: Db, filesDir: string, file: string, onProgress: ProgressFn = noProgress) {
  const [{ n } = { n: 0 }] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'schema_migrations'`,
  );
  if (n > 0)
    throw new WeipianError(
      'restore_target_not_empty',
      `恢复目标不是空数据库（已有 ${n} 张表）：请恢复到新的数据目录（WEIPIAN_DATA）或新建的 PostgreSQL 数据库`,
      { location: db.location },
    );
  const existing = await listFiles(filesDir);
  if (existing.length > 0)
    throw new WeipianError('restore_files_not_empty', `附件目录不是空的：${filesDir}`, { filesDir });
  const stage = `${filesDir}.restore-${process.pid}`;
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  try {
    const entries = await readArchive(file, stage).catch((e: unknown) => {
      if (isWeipianError(e)) throw e;
      throw new WeipianError('backup_invalid', `备份文件已损坏，无法读取：${file}`, { error: String(e) });
    });
    const mbuf = entries.get('manifest.json');
    if (!mbuf) throw new WeipianError('backup_invalid', `备份文件缺少 manifest.json：${file}`);
    const manifest = JSON.parse(mbuf.toString('utf8')) as BackupManifest;
    if (manifest.format !== BACKUP_FORMAT)
      throw new WeipianError('backup_invalid', `不认识的备份格式：${String(manifest.format)}`);
    const latest = migrations[migrations.length - 1]!.version;
    if (manifest.schemaVersion > latest)
      throw new WeipianError(
        'backup_too_new',
        `备份来自更新的程序版本（数据库结构 ${manifest.schemaVersion}，本程序 ${latest}），请先升级 weipian`,
      );
    for (const t of manifest.tables) {
      const buf = entries.get(`tables/${t.name}.jsonl`) ?? Buffer.alloc(0);
      if (sha256(buf) !== t.sha256)
        throw new WeipianError('backup_checksum', `备份文件已损坏：表 ${t.name} 的校验和不符`, {
          table: t.name,
        });
    }
    for (const f of manifest.files) {
      const p = path.join(stage, f.path);
      if ((await sha256OfFile(p).catch(() => '')) !== f.sha256)
        throw new WeipianError('backup_checksum', `备份文件已损坏：附件 ${f.path} 的校验和不符`, {
          file: f.path,
        });
    }

    // Schema as it was when the backup was made, then the rows, then the newer migrations. The
    // target was empty, so on any failure the schema is dropped again: nothing is left half-done.
    let rows = 0;
    try {
      await runMigrations(db, manifest.schemaVersion);
      rows = await loadTables(db, manifest, entries, onProgress);
      await runMigrations(db);
    } catch (e) {
      await db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;').catch(() => undefined);
      throw e;
    }
    await mkdir(path.dirname(filesDir), { recursive: true });
    await rm(filesDir, { recursive: true, force: true });
    await rename(stage, filesDir);
    const summary: RestoreSummary = {
      tables: manifest.tables.length,
      rows,
      files: manifest.files.length,
      schemaVersion: manifest.schemaVersion,
    };
    return summary;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function loadTables(
  db: Db,
  manifest: BackupManifest,
  entries: Map<string, Buffer>,
  onProgress: ProgressFn,
): Promise<number> {
  let rows = 0;
  await db.transaction(async (tx) => {
    const tables = (await tablesInOrder(tx)).filter((t) => t.name !== 'schema_migrations');
    const known = new Set(tables.map((t) => t.name));
    for (const t of manifest.tables)
      if (t.name !== 'schema_migrations' && !known.has(t.name))
        throw new WeipianError('backup_invalid', `备份中的表 ${t.name} 在该结构版本中不存在`);
    // Rows seeded by migrations (e.g. the audit chain head) are replaced by the backup's, with
    // the guard triggers off for the duration: a restore is a copy, not a sequence of changes.
    for (const t of tables) await tx.query(`ALTER TABLE ${ident(t.name)} DISABLE TRIGGER USER`);
    for (const t of [...tables].reverse()) await tx.query(`DELETE FROM ${ident(t.name)}`);
    for (const [i, t] of tables.entries()) {
      const lines = (entries.get(`tables/${t.name}.jsonl`) ?? Buffer.alloc(0))
        .toString('utf8')
        .split('\n')
        .filter((l) => l.length > 0);
      for (let s = 0; s < lines.length; s += PAGE) {
        await tx.query(
          `INSERT INTO ${ident(t.name)} SELECT * FROM json_populate_recordset(NULL::${ident(t.name)}, $1::json)`,
          [`[${lines.slice(s, s + PAGE).join(',')}]`],
        );
      }
      rows += lines.length;
      onProgress(i + 1, tables.length);
    }
    // Deferred foreign keys (an old evidence version points at a newer row) are checked now that
    // every row is in: ALTER TABLE refuses while their checks are pending.
    await tx.query('SET CONSTRAINTS ALL IMMEDIATE');
    for (const t of tables) await tx.query(`ALTER TABLE ${ident(t.name)} ENABLE TRIGGER USER`);
    // Sequences continue after the restored ids.
    const serials = await tx.query<{ t: string; c: string }>(
      `SELECT table_name AS t, column_name AS c FROM information_schema.columns
         WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'`,
    );
    for (const s of serials)
      await tx.query(
        `SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(${ident(s.c)}) FROM ${ident(s.t)}), 1),
             (SELECT max(${ident(s.c)}) FROM ${ident(s.t)}) IS NOT NULL)`,
        [s.t, s.c],
      );
  });
  return rows;
}
