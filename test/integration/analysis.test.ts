// `weipian analyse` end to end on a hand-drawn district: results stored with the layer versions
// they used, the responsible unit moved to the largest share (never over a reassignment), exactly
// the affected results marked stale by a new layer version, and the fields in the API.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { geoArea, rect } from '../helpers/overlay-frame.ts';
import { importLayer } from '../../src/jobs/import-layer.ts';
import { importPatches } from '../../src/jobs/import-patches.ts';
import { analyseBatch } from '../../src/jobs/analyse-batch.ts';
import { createBatch } from '../../src/services/batches.ts';
import { listEvents } from '../../src/store/queries/events.ts';
import type { Polygon } from '../../src/geo/geometry.ts';
import { buildApp } from '../../src/server/app.ts';
import { exportPatches } from '../../src/jobs/export-patches.ts';
import { openShapefile } from '../../src/formats/shapefile.ts';
import { as, loginAs, seedAccounts } from '../helpers/session.ts';

const A = '370306101';
const B = '370306102';

function fc(features: { properties: Record<string, unknown>; geometry: Polygon }[]): string {
  return JSON.stringify({
    type: 'FeatureCollection',
    features: features.map((f) => ({ type: 'Feature', ...f })),
  });
}

function near(actual: unknown, expected: number, what: string): void {
  assert.equal(typeof actual, 'number', what);
  assert.ok(
    Math.abs((actual as number) - expected) <= 1e-6 * Math.max(expected, 1),
    `${what}: ${actual} ≠ ${expected}`,
  );
}

for (const engine of engines()) {
  describe(`analyse a batch on ${engine}`, () => {
    let t: TestDb;
    let dir: string;
    const actor = 'cli:tester';
    const layer = async (type: string, name: string, body: string) => {
      const file = path.join(dir, name);
      await writeFile(file, body);
      return importLayer(t.db, file, { type, actor, maxUnzippedBytes: 1 << 20 });
    };
    const result = async (jcbh: string) =>
      (
        await t.db.query<{
          fields: Record<string, unknown>;
          stale: boolean;
          stale_reason: string | null;
          unit_code: string;
          layer_ids: Record<string, number>;
        }>(
          `SELECT r.fields, r.stale, r.stale_reason, p.unit_code, r.layer_ids
           FROM patches p JOIN analysis_results r ON r.patch_id = p.id WHERE p.jcbh = $1`,
          [jcbh],
        )
      )[0]!;

    before(async () => {
      t = await freshDb(engine);
      dir = await mkdtemp(path.join(os.tmpdir(), 'weipian-analyse-'));
      // Unit A west of x = 1000 m, unit B east of it; farmland along the south.
      await layer(
        'unit',
        'units.geojson',
        fc([
          { properties: { DWDM: A, DWMC: '北郊镇' }, geometry: rect(0, 0, 1000, 1000) },
          { properties: { DWDM: B, DWMC: '南郊镇' }, geometry: rect(1000, 0, 2000, 1000) },
        ]),
      );
      await layer(
        'farmland',
        'farmland-v1.geojson',
        fc([{ properties: { DLBM: '0103' }, geometry: rect(0, 0, 1500, 500) }]),
      );
      await createBatch(t.db, { slug: 'b1', kind: 'land', year: 2017, actor });
      const patches = path.join(dir, 'patches.geojson');
      await writeFile(
        patches,
        fc([
          // Delivered as unit B, but two thirds of it lie in A.
          {
            properties: { JCBH: 'P1', XZQDM: `${B}001`, TBLX: '新增建设用地', HSX: '2017-10-01' },
            geometry: rect(800, 400, 1100, 600),
          },
          {
            properties: { JCBH: 'P2', XZQDM: `${B}001`, TBLX: '新增建设用地', HSX: '2017-10-01' },
            geometry: rect(1200, 700, 1300, 800),
          },
          // Far from everything: no layer change may touch it.
          {
            properties: { JCBH: 'P3', XZQDM: `${A}001`, TBLX: '新增建设用地', HSX: '2017-10-01' },
            geometry: rect(5000, 5000, 5100, 5100),
          },
        ]),
      );
      await importPatches(t.db, patches, {
        batch: 'b1',
        areaUnit: 'm2',
        source: '卫片',
        actor,
        maxUnzippedBytes: 1 << 20,
      });
    });
    after(async () => {
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('computes every patch, with unit shares and farmland from the layers in force', async () => {
      const s = await analyseBatch(t.db, { batch: 'b1', actor });
      assert.equal(s.analysed, 3);
      assert.equal(s.unitsChanged, 1);
      const p1 = await result('P1');
      near(p1.fields.area_m2, geoArea(rect(800, 400, 1100, 600)), 'P1 area');
      near(p1.fields.farmland_m2, geoArea(rect(800, 400, 1100, 500)), 'P1 farmland');
      assert.equal(p1.fields.unit_code, A);
      assert.equal(p1.fields.unit_name, '北郊镇');
      assert.equal(p1.unit_code, A, 'the patch moved to the unit with the largest share');
      assert.equal(p1.stale, false);
      assert.deepEqual(Object.keys(p1.layer_ids).sort(), ['farmland', 'unit']);
      const p2 = await result('P2');
      assert.equal(p2.fields.farmland_m2, 0);
      assert.equal(p2.unit_code, B);
      // The basic-farmland layer is missing: unknown, not zero.
      assert.equal(p2.fields.basic_farmland_m2, null);
      const moved = await listEvents(t.db, { recordType: 'patch' });
      assert.equal(moved.filter((e) => e.action === 'patch.unit_assign').length, 1);
      assert.equal(moved[0]!.before && (moved[0]!.before as { unit_code: string }).unit_code, B);
    });

    it('recomputes nothing when nothing changed', async () => {
      const s = await analyseBatch(t.db, { batch: 'b1', actor });
      assert.equal(s.analysed, 0);
      assert.equal(s.patches, 3);
    });

    it('marks stale only the results a new layer version can change, and recomputes those', async () => {
      const v2 = await layer(
        'farmland',
        'farmland-v2.geojson',
        fc([
          { properties: { DLBM: '0103' }, geometry: rect(0, 0, 1500, 500) },
          { properties: { DLBM: '0101' }, geometry: rect(1200, 700, 1300, 750) },
        ]),
      );
      assert.equal(v2.version, 2);
      const p2 = await result('P2');
      assert.equal(p2.stale, true);
      assert.equal(p2.stale_reason, '耕地图层更新为第 2 版');
      assert.equal((await result('P1')).stale, true, 'P1 meets the new version’s features');
      assert.equal((await result('P3')).stale, false, 'P3 is far from both versions');
      const s = await analyseBatch(t.db, { batch: 'b1', actor });
      assert.equal(s.analysed, 2);
      const after2 = await result('P2');
      near(after2.fields.farmland_m2, geoArea(rect(1200, 700, 1300, 750)), 'P2 farmland after v2');
      assert.equal(after2.stale, false);
      assert.equal(after2.layer_ids.farmland, v2.layerId);
      assert.notEqual((await result('P3')).layer_ids.farmland, v2.layerId, 'P3 keeps the version it used');
    });

    it('marks every result stale when a layer type that was missing arrives', async () => {
      await layer(
        'basic-farmland',
        'basic.geojson',
        fc([{ properties: { DLBM: '0103' }, geometry: rect(0, 0, 100, 100) }]),
      );
      for (const j of ['P1', 'P2', 'P3']) assert.equal((await result(j)).stale, true, j);
      const steps: string[] = [];
      const s = await analyseBatch(t.db, { batch: 'b1', actor, onStep: (l) => steps.push(l) });
      assert.equal(s.analysed, 3);
      // The units and farmland v2 are kept from the previous run of this process: only the new layer is read.
      assert.deepEqual(
        steps.filter((l) => l.startsWith('读入')),
        ['读入永久基本农田（第 1 版，1 个要素）'],
      );
      assert.equal((await result('P3')).fields.basic_farmland_m2, 0);
    });

    it('never moves a patch the bureau reassigned', async () => {
      await t.db.query("UPDATE patches SET unit_code = $1, unit_source = 'reassigned' WHERE jcbh = 'P1'", [
        B,
      ]);
      const s = await analyseBatch(t.db, { batch: 'b1', all: true, actor });
      assert.equal(s.analysed, 3);
      assert.equal(s.unitsChanged, 0);
      const p1 = await result('P1');
      assert.equal(p1.unit_code, B);
      assert.equal(p1.fields.unit_code, A, 'the analysis still reports where the largest share lies');
    });

    it('refuses an unknown batch in Chinese and records nothing', async () => {
      const [{ n: before }] = (await t.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM analysis_runs',
      )) as [{ n: number }];
      await assert.rejects(analyseBatch(t.db, { batch: 'nope', actor }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'batch_not_found');
        assert.match(e.message, /批次不存在/);
        return true;
      });
      const [{ n: after }] = (await t.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM analysis_runs',
      )) as [{ n: number }];
      assert.equal(after, before);
    });

    it('refuses a second run while one is alive, and takes over a dead one', async () => {
      const [batch] = await t.db.query<{ id: number }>("SELECT id FROM batches WHERE slug = 'b1'");
      await t.db.query(
        `INSERT INTO analysis_runs (batch_id, mode, status, total, layer_ids, rule_pack_id, rule_pack_version, started_by)
         VALUES ($1, 'stale', 'running', 3, '{}', '2017-land', '1.0.0', 'other')`,
        [batch!.id],
      );
      await assert.rejects(analyseBatch(t.db, { batch: 'b1', actor }), /分析正在进行/);
      await t.db.query(
        "UPDATE analysis_runs SET heartbeat_at = now() - interval '1 hour' WHERE status = 'running'",
      );
      const s = await analyseBatch(t.db, { batch: 'b1', actor });
      assert.equal(s.analysed, 0);
      const [dead] = await t.db.query<{ status: string; error: string }>(
        "SELECT status, error FROM analysis_runs WHERE started_by = 'other'",
      );
      assert.equal(dead!.status, 'failed');
      assert.match(dead!.error, /中断/);
    });

    it('serves the fields in the patch API, scoped to the unit, and runs only for the bureau', async () => {
      await seedAccounts(t.db);
      const app = await buildApp({ db: t.db });
      try {
        const unit1 = await loginAs(app, 'unit1'); // unit A: after the reassignment it holds P3 only
        const reviewer = await loginAs(app, 'reviewer');
        const admin = await loginAs(app, 'admin');
        const mine = (await app.inject(as(unit1, { url: '/api/batches/b1/patches' }))).json();
        assert.deepEqual(
          mine.features.map((f: { properties: { jcbh: string } }) => f.properties.jcbh),
          ['P3'],
        );
        const all = (await app.inject(as(reviewer, { url: '/api/batches/b1/patches' }))).json();
        const p1 = all.features.find((f: { properties: { jcbh: string } }) => f.properties.jcbh === 'P1');
        near(p1.properties.farmland_m2, geoArea(rect(800, 400, 1100, 500)), 'API farmland');
        assert.equal(p1.properties.unit_code, B, 'the patch’s own (reassigned) unit');
        assert.equal(p1.properties.unit_name, '南郊镇');
        assert.equal(typeof p1.properties.prejudgement, 'string');
        assert.equal(p1.properties.analysis_stale, false);
        const one = (await app.inject(as(reviewer, { url: `/api/patches/${p1.id}` }))).json();
        assert.deepEqual(
          one.analysis.detail.units.map((u: { code: string }) => u.code),
          [A, B],
        );
        near(one.analysis.detail.units[0].areaM2, geoArea(rect(800, 400, 1000, 600)), 'area in A');
        const counts = (await app.inject(as(unit1, { url: '/api/batches/b1/analysis' }))).json();
        assert.equal(counts.counts.patches, 1);
        assert.equal(counts.counts.analysed, 1);
        const last = counts.runs[0];
        assert.equal(last.status, 'done');
        assert.equal(last.progress.done, last.total);
        assert.equal(last.progress.etaSeconds, null);
        assert.ok(last.progress.rate >= 0);
        const denied = await app.inject(
          as(unit1, { method: 'POST', url: '/api/batches/b1/analysis', payload: {} }),
        );
        assert.equal(denied.statusCode, 403);
        const ran = await app.inject(
          as(admin, { method: 'POST', url: '/api/batches/b1/analysis', payload: { all: true } }),
        );
        assert.equal(ran.statusCode, 200, ran.body);
        assert.equal(ran.json().summary.analysed, 3);
      } finally {
        await app.close();
      }
    });

    it('exports the fields under their ids (GeoJSON) and dictionary aliases (Shapefile)', async () => {
      const gj = path.join(dir, 'out.geojson');
      await exportPatches(t.db, { batch: 'b1', format: 'geojson', out: gj });
      const fcOut = JSON.parse(await readFile(gj, 'utf8')) as {
        features: { properties: Record<string, unknown> }[];
      };
      const p1 = fcOut.features.find((f) => f.properties.jcbh === 'P1')!;
      near(p1.properties.farmland_m2, geoArea(rect(800, 400, 1100, 500)), 'GeoJSON farmland_m2');
      assert.equal(typeof p1.properties.prejudgement_reason, 'string');
      // The judgement columns come from the workflow: nothing judged yet.
      assert.equal(p1.properties.workflow_state, 'issued');
      assert.equal(p1.properties.verdict, 'undetermined');
      assert.equal(p1.properties.verdict_subtype, null);
      const shp = path.join(dir, 'out.shp');
      await exportPatches(t.db, { batch: 'b1', format: 'shp', out: shp });
      const src = await openShapefile(shp);
      assert.ok(src.fields.some((f) => f.name === 'FARM_M2'));
      for await (const f of src.features())
        if (f.attributes.JCBH === 'P1' || f.attributes.jcbh === 'P1')
          assert.ok(Math.abs(Number(f.attributes.FARM_M2) - geoArea(rect(800, 400, 1100, 500))) < 0.01);
    });

    it('links a later batch’s patch to the earlier patch on the same ground', async () => {
      await createBatch(t.db, { slug: 'b2', kind: 'land', year: 2018, rules: '2017-land', actor });
      const later = path.join(dir, 'later.geojson');
      await writeFile(
        later,
        fc([
          {
            properties: { JCBH: 'Q1', XZQDM: `${A}001`, TBLX: '新增建设用地', HSX: '2018-10-01' },
            geometry: rect(900, 450, 1000, 650),
          },
        ]),
      );
      await importPatches(t.db, later, {
        batch: 'b2',
        areaUnit: 'm2',
        source: '卫片',
        actor,
        maxUnzippedBytes: 1 << 20,
      });
      await analyseBatch(t.db, { batch: 'b2', actor });
      const [r] = await t.db.query<{
        detail: { history: { batch: string; jcbh: string; overlapM2: number }[] };
      }>("SELECT r.detail FROM analysis_results r JOIN patches p ON p.id = r.patch_id WHERE p.jcbh = 'Q1'");
      assert.equal(r!.detail.history.length, 1);
      assert.equal(r!.detail.history[0]!.batch, 'b1');
      assert.equal(r!.detail.history[0]!.jcbh, 'P1');
      near(r!.detail.history[0]!.overlapM2, geoArea(rect(900, 450, 1000, 600)), 'overlap with P1');
      // The earlier batch does not look forward.
      const p1 = await t.db.query<{ detail: { history: unknown[] } }>(
        "SELECT r.detail FROM analysis_results r JOIN patches p ON p.id = r.patch_id WHERE p.jcbh = 'P1'",
      );
      assert.deepEqual(p1[0]!.detail.history, []);
    });
  });
}
