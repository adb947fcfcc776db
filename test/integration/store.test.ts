import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { insertBatch, findBatchBySlug, listBatches } from '../../src/store/queries/batches.ts';
import {
  insertStagingLayer,
  publishLayer,
  currentLayers,
  listLayers,
} from '../../src/store/queries/layers.ts';
import { recoverInterruptedImports } from '../../src/jobs/recover.ts';

for (const engine of engines()) {
  describe(`store on ${engine}`, () => {
    let t: TestDb;
    before(async () => {
      t = await freshDb(engine);
    });
    after(() => t.drop());

    it('applies migrations once and is idempotent on restart', async () => {
      assert.deepEqual(await runMigrations(t.db), []);
      const rows = await t.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY 1');
      assert.deepEqual(
        rows.map((r) => r.version),
        migrations.map((m) => m.version),
      );
      assert.deepEqual(
        migrations.map((m) => m.version),
        migrations.map((_, i) => i + 1),
        'versions are 1, 2, 3, … in list order',
      );
    });

    it('stores a batch and returns dates, json and counts the same way on both engines', async () => {
      const b = await insertBatch(t.db, {
        slug: '2017-land',
        name: '2017年度土地卫片',
        kind: 'land',
        year: 2017,
        period: 'annual',
        rulePackId: '2017-land',
        rulePackVersion: '1.0.0',
        rulePackDigest: 'abc',
        milestones: [{ id: 'initial_report', date: '2018-03-14' }],
        createdBy: 'tester',
      });
      assert.equal(b.slug, '2017-land');
      assert.deepEqual(b.milestones, [{ id: 'initial_report', date: '2018-03-14' }]);
      const list = await listBatches(t.db);
      assert.equal(list.length, 1);
      assert.strictEqual(list[0]!.patch_count, 0);
      assert.strictEqual(list[0]!.total_area_m2, 0);
      assert.equal((await findBatchBySlug(t.db, '2017-land'))!.name, '2017年度土地卫片');
      const [d] = await t.db.query<{ d: string; n: number }>(
        "SELECT '2018-03-14'::date AS d, 5::bigint AS n",
      );
      assert.strictEqual(d!.d, '2018-03-14');
      assert.strictEqual(d!.n, 5);
    });

    it('refuses an invalid slug and rolls the whole transaction back', async () => {
      await assert.rejects(
        t.db.transaction(async (tx) => {
          await tx.query(
            "INSERT INTO reference_layers (type, version, name, source_file, source_sha256, src_crs, fields, feature_count, total_area_m2, imported_by) VALUES ('farmland', 1, 'x', 'f', 's', 'EPSG:4490', '[]', 0, 0, 't')",
          );
          await tx.query(
            "INSERT INTO batches (slug, name, kind, year, rule_pack_id, rule_pack_version, rule_pack_digest, milestones, created_by) VALUES ('Bad Slug', 'x', 'land', 2017, 'p', '1', 'd', '[]', 't')",
          );
        }),
      );
      const n = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reference_layers');
      assert.equal(n[0]!.n, 0);
    });

    it('numbers layer versions per type at publication and hides staging layers', async () => {
      const base = {
        name: '耕地',
        sourceFile: 'gd.shp',
        sourceSha256: 'x',
        srcCrs: 'EPSG:4527',
        encoding: 'gbk',
        fields: [],
        importedBy: 'tester',
        owner: 'nohost:1',
      };
      const totals = { featureCount: 0, repairedCount: 0, totalAreaM2: 0 };
      const publish = async (type: 'farmland' | 'planning') => {
        const s = await insertStagingLayer(t.db, { ...base, type });
        return t.db.transaction((tx) => publishLayer(tx, s.id, totals));
      };
      const v1 = await publish('farmland');
      const hidden = await insertStagingLayer(t.db, { ...base, type: 'farmland' });
      const v2 = await publish('farmland');
      const p1 = await publish('planning');
      assert.deepEqual([v1.version, v2.version, p1.version, hidden.version], [1, 2, 1, null]);
      const current = await currentLayers(t.db);
      assert.deepEqual(
        current.map((l) => [l.type, l.version]),
        [
          ['farmland', 2],
          ['planning', 1],
        ],
      );
      assert.equal((await listLayers(t.db)).length, 3, 'the staging layer is invisible');
      // Its owner (another host, no heartbeat for an hour) is gone: recovery removes it.
      assert.equal(await recoverInterruptedImports(t.db, Date.now() + 3_600_000), 1);
      const [n] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reference_layers');
      assert.equal(n!.n, 3);
    });
  });
}
