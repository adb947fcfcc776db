// Backup and restore: every table and every attachment comes back identical, on either engine and
// across engines; a damaged backup or a non-empty target is refused and changes nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { writeShapefile, skipWithoutOgr } from '../helpers/ogr.ts';
import { deliveryFeatures } from '../helpers/delivery.ts';
import { createBatch } from '../../src/services/batches.ts';
import { importPatches } from '../../src/jobs/import-patches.ts';
import { backup, restore, tablesInOrder } from '../../src/jobs/backup.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { Db } from '../../src/store/db.ts';

/** Every table's rows as JSON text in key order: equal snapshots mean equal databases. */
async function snapshot(db: Db): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of await tablesInOrder(db)) {
    const order = t.key.length ? t.key.map((k) => `"${k}"`).join(', ') : '1';
    const rows = await db.query<{ j: string }>(
      `SELECT row_to_json(t)::text AS j FROM "${t.name}" t ORDER BY ${order}`,
    );
    out[t.name] = rows.map((r) => r.j);
  }
  // applied_at differs between databases by design; the versions must not.
  out.schema_migrations = out.schema_migrations!.map((j) => String(JSON.parse(j).version));
  return out;
}

for (const engine of engines()) {
  describe(`backup and restore from ${engine}`, { skip: skipWithoutOgr() }, () => {
    let src: TestDb;
    let dir: string;
    let file: string;
    let filesDir: string;
    before(async () => {
      src = await freshDb(engine);
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-backup-'));
      const shp = (await writeShapefile(dir, deliveryFeatures(), { name: 'tb', lco: ['ENCODING=CP936'] }))
        .shp;
      await createBatch(src.db, { slug: '2017-land', kind: 'land', year: 2017, actor: 'tester' });
      await importPatches(src.db, shp, {
        batch: '2017-land',
        areaUnit: 'm2',
        source: '卫片',
        actor: 'tester',
        maxUnzippedBytes: 1e8,
      });
      filesDir = path.join(dir, 'files');
      await mkdir(path.join(filesDir, 'ab'), { recursive: true });
      await writeFile(
        path.join(filesDir, 'ab', '现场照片.jpg'),
        Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]),
      );
      file = path.join(dir, 'weipian.backup.zip');
      const s = await backup(src.db, filesDir, file);
      assert.equal(s.files, 1);
      assert.ok(s.rows >= 6);
      assert.match(await readFile(`${file}.sha256`, 'utf8'), new RegExp(`^${s.sha256}  weipian.backup.zip`));
    });
    after(async () => {
      await src.drop();
      await rm(dir, { recursive: true, force: true });
    });

    for (const target of engines()) {
      it(`restores into an empty ${target} database with every table and file identical`, async () => {
        const dst = await freshDb(target, false);
        try {
          const restoredFiles = path.join(dir, `files-${target}`);
          const r = await restore(dst.db, restoredFiles, file);
          assert.deepEqual(await snapshot(dst.db), await snapshot(src.db));
          assert.deepEqual(
            await readFile(path.join(restoredFiles, 'ab', '现场照片.jpg')),
            Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]),
          );
          assert.equal(r.files, 1);
          // Sequences continue after the restored ids: a new batch gets the next id.
          const b = await createBatch(dst.db, {
            slug: '2017-mineral',
            kind: 'mineral',
            year: 2017,
            actor: 't',
          });
          assert.equal(b.id, 2);
        } finally {
          await dst.drop();
        }
      });
    }

    it('refuses a damaged backup and leaves the target empty', async () => {
      const bytes = await readFile(file);
      // Flip a byte inside the stored (uncompressed size unknown) data of the first entry.
      const bad = Buffer.from(bytes);
      bad[60] = bad[60]! ^ 0xff;
      const badFile = path.join(dir, 'bad.zip');
      await writeFile(badFile, bad);
      const dst = await freshDb(engine, false);
      try {
        await assert.rejects(restore(dst.db, path.join(dir, 'files-bad'), badFile), (e: unknown) => {
          assert.ok(isWeipianError(e), String(e));
          assert.ok(['backup_invalid', 'backup_checksum'].includes(e.code), e.code);
          return true;
        });
        const [n] = await dst.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'public' AND c.relkind = 'r'",
        );
        assert.equal(n!.n, 0, 'no table was created');
      } finally {
        await dst.drop();
      }
    });

    it('refuses to restore over existing data', async () => {
      await assert.rejects(restore(src.db, path.join(dir, 'files-x'), file), (e: unknown) => {
        assert.ok(isWeipianError(e));
        assert.equal(e.code, 'restore_target_not_empty');
        return true;
      });
    });
  });
}
