// The box searches over reference features must go through the box index whatever the planner
// knows: PGlite never gathers statistics, and without them the planner ANDed the box index with the
// (layer_id, feature_index) index — reading every feature id of a layer for each patch, which made
// publishing a land-use version over 5,000 analysed patches take 36–50 s (0.3–0.65 s now). The
// plans are read with EXPLAIN through the queries' own code.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import type { Queryable } from '../../src/store/db.ts';
import { markStaleForLayer } from '../../src/store/queries/analysis.ts';
import { approvalCoverNear } from '../../src/store/queries/workflow.ts';
import type { LayerRow } from '../../src/store/queries/layers.ts';

/** Runs fn against a connection that explains each query instead of running it; returns the plans. */
async function plans(t: TestDb, fn: (q: Queryable) => Promise<unknown>): Promise<string> {
  const out: string[] = [];
  await t.db.transaction(async (tx) => {
    await tx.query('SET LOCAL enable_seqscan = off'); // tiny test tables would be scanned whole
    await fn({
      query: async <T>(sql: string, params?: unknown[]) => {
        const rows = await tx.query<Record<string, string>>(`EXPLAIN ${sql}`, params);
        out.push(...rows.map((r) => r['QUERY PLAN']!));
        return [] as T[];
      },
      exec: (sql) => tx.exec(sql),
    });
  });
  return out.join('\n');
}

for (const engine of engines()) {
  describe(`box searches over reference features on ${engine}`, () => {
    let t: TestDb;
    before(async () => {
      t = await freshDb(engine);
      // Two versions of 20,000 parcels, and no statistics (as on PGlite, or before autovacuum).
      await t.db.exec(`ALTER TABLE reference_features SET (autovacuum_enabled = false);
        INSERT INTO reference_layers (type, version, name, source_file, source_sha256, src_crs, fields,
          feature_count, total_area_m2, imported_by, status)
        SELECT 'land-use', v, 'v' || v, 'f.shp', 'x', 'EPSG:4527', '[]', 20000, 0, 'tester', 'published'
        FROM generate_series(1, 2) v;
        INSERT INTO reference_features (layer_id, feature_index, attributes, geom, area_m2, minx, miny, maxx, maxy)
        SELECT l.id, g, '{}', '\\x00', 1, 117.8 + (g % 150) * 0.0005, 36.7 + (g / 150) * 0.0004,
          117.8004 + (g % 150) * 0.0005, 36.7003 + (g / 150) * 0.0004
        FROM reference_layers l, generate_series(0, 19999) g;`);
    });
    after(() => t.drop());

    it('marks results stale through the box index alone', async () => {
      const [layer] = await t.db.query<LayerRow>('SELECT * FROM reference_layers WHERE version = 2');
      const plan = await plans(t, (q) => markStaleForLayer(q, layer!));
      assert.match(plan, /reference_features_bbox/, plan);
      assert.doesNotMatch(plan, /reference_features_layer_id_feature_index_key/, plan);
    });

    it('finds approval cover near a patch through the box index alone', async () => {
      const box = { minx: 117.9, miny: 36.7, maxx: 117.91, maxy: 36.71 };
      const plan = await plans(t, (q) => approvalCoverNear(q, ['approval', 'supply'], box));
      assert.match(plan, /reference_features_bbox/, plan);
      assert.doesNotMatch(plan, /reference_features_layer_id_feature_index_key/, plan);
    });
  });
}
