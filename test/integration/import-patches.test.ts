// A Ministry delivery written by a real GIS writer (GDAL, GBK, EPSG:4527) imported intact: every
// Chinese attribute, every polygon, hand-worked official areas, and refusals that change nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile, readFile, mkdir, mkdtemp, copyFile, truncate, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yazl from 'yazl';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { writeShapefile, skipWithoutOgr, type FixtureFiles } from '../helpers/ogr.ts';
import { deliveryFeatures, gaussToEllipsoid, CM, DELIVERY_LAT } from '../helpers/delivery.ts';
import { createBatch } from '../../src/services/batches.ts';
import { importPatches, type ImportPatchesOptions } from '../../src/jobs/import-patches.ts';
import { listPatches, type PatchRow } from '../../src/store/queries/patches.ts';
import { decodeWkb } from '../../src/geo/wkb.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { Db } from '../../src/store/db.ts';

const base = (batch: string): ImportPatchesOptions => ({
  batch,
  areaUnit: 'm2',
  source: '卫片',
  actor: 'tester',
  maxUnzippedBytes: 50 * 1024 * 1024,
});

async function counts(db: Db) {
  const [r] = await db.query<{ p: number; i: number }>(
    'SELECT (SELECT count(*)::int FROM patches) AS p, (SELECT count(*)::int FROM imports) AS i',
  );
  return r!;
}

async function zipFolder(dir: string, entries: { name: string; file: string }[], out: string) {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addFile(e.file, e.name);
  zip.end();
  const ws = createWriteStream(out);
  zip.outputStream.pipe(ws);
  await once(ws, 'close');
  return out;
}

function byJcbh(rows: PatchRow[]) {
  return new Map(rows.map((r) => [r.jcbh, r]));
}

/** Asserts that a refusal has the given code and leaves the database as it was. */
async function refuses(db: Db, code: string, work: () => Promise<unknown>) {
  const before = await counts(db);
  await assert.rejects(work, (e: unknown) => {
    assert.ok(isWeipianError(e), `expected a WeipianError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, /[\u4e00-\u9fff]/, 'message is in Chinese');
    return true;
  });
  assert.deepEqual(await counts(db), before, 'nothing changed');
}

for (const engine of engines()) {
  describe(`import patches on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let t: TestDb;
    let dir: string;
    let gbk: FixtureFiles;
    before(async () => {
      t = await freshDb(engine);
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-import-'));
      gbk = await writeShapefile(path.join(dir), deliveryFeatures(), {
        name: '周村区2017年卫片图斑',
        lco: ['ENCODING=CP936'],
      });
      for (const slug of ['gbk', 'zip', 'nocpg', 'mu', 'refuse'])
        await createBatch(t.db, { slug, kind: 'land', year: 2017, actor: 'tester' });
    });
    after(async () => {
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('imports every polygon and every Chinese attribute of a GBK Shapefile intact', async () => {
      const s = await importPatches(t.db, gbk.shp, base('gbk'));
      assert.equal(s.encoding, 'gbk');
      assert.equal(s.encodingSource, 'cpg');
      assert.equal(s.crs, 'EPSG:4527');
      assert.deepEqual([s.read, s.imported, s.refused.length], [4, 4, 0]);
      assert.deepEqual(
        s.repaired.map((r) => [r.jcbh, r.issue]),
        [['370306201700004', 'Self-intersection']],
      );
      const rows = byJcbh(await listPatches(t.db, { batchId: 1 }));
      assert.equal(rows.size, 4);
      for (const f of deliveryFeatures()) {
        const row = rows.get(f.properties.JCBH as string)!;
        // Delivered attributes verbatim, in delivered order.
        assert.deepEqual(Object.keys(row.attributes), Object.keys(f.properties));
        for (const [k, v] of Object.entries(f.properties)) assert.equal(row.attributes[k], v, `${k}`);
        assert.equal(row.src_crs, 'EPSG:4527');
      }
      const p1 = rows.get('370306201700001')!;
      assert.equal(p1.xzqdm, '370306101001');
      assert.equal(p1.tblx, '新增建设用地');
      assert.equal(p1.qsx, '2016-10-15');
      assert.equal(p1.hsx, '2017-04-20');
      assert.equal(p1.jcmj_m2, 10000);
      assert.equal(p1.gdmj_m2, 6000.5);
      assert.equal(p1.center_x, 39571050);
      assert.equal(p1.bz, '北郊镇东侧厂房，疑似未批先建');
      assert.equal(p1.geom_repaired, null);
      assert.equal(p1.validity_issue, null);
    });

    it('computes hand-worked official (ellipsoidal) areas, smaller than the Gauss-plane areas', async () => {
      const rows = byJcbh(await listPatches(t.db, { batchId: 1 }));
      const expected: [string, number, number][] = [
        // jcbh, plane area, centroid distance from the central meridian
        ['370306201700001', 10000, 71050],
        ['370306201700002', 3200, 72030],
        ['370306201700003', 800, 73030],
        ['370306201700004', 1000, 74025],
      ];
      let total = 0;
      for (const [jcbh, plane, y] of expected) {
        const want = gaussToEllipsoid(plane, y, DELIVERY_LAT);
        const got = rows.get(jcbh)!.area_m2;
        assert.ok(Math.abs(got - want) < 0.01, `${jcbh}: ${got} vs hand-worked ${want}`);
        assert.ok(got < plane, `${jcbh}: ellipsoidal area must be below the plane area`);
        total += got;
      }
      const [sum] = await t.db.query<{ s: number }>(
        'SELECT sum(area_m2)::float8 AS s FROM patches WHERE batch_id = 1',
      );
      assert.ok(Math.abs(sum!.s - total) < 0.05);
      assert.equal(CM, 39_500_000);
    });

    it('keeps the delivered geometry and a separate repaired copy for an invalid polygon', async () => {
      const row = byJcbh(await listPatches(t.db, { batchId: 1 })).get('370306201700004')!;
      assert.equal(row.validity_issue, 'Self-intersection');
      const delivered = decodeWkb(row.geom_source);
      assert.equal(delivered.type, 'Polygon');
      const ring = delivered.type === 'Polygon' ? delivered.coordinates[0]! : [];
      for (const v of [
        [39574000, 4063000],
        [39574050, 4063040],
        [39574050, 4063000],
        [39574000, 4063040],
      ])
        assert.ok(
          ring.some((p) => p[0] === v[0] && p[1] === v[1]),
          `delivered vertex ${v} kept`,
        );
      const repaired = decodeWkb(row.geom_repaired!);
      assert.equal(repaired.type, 'MultiPolygon', 'the bowtie becomes two triangles');
      assert.equal(repaired.coordinates.length, 2);
      const geo = decodeWkb(row.geom);
      const [lon, lat] = geo.type === 'Polygon' ? geo.coordinates[0]![0]! : [0, 0];
      assert.ok(lon > 117.7 && lon < 117.9 && lat > 36.6 && lat < 36.8, `${lon}, ${lat} near 周村`);
    });

    it('imports the same delivery from a zip with a Chinese folder name inside', async () => {
      const zipPath = path.join(dir, 'delivery.zip');
      const folder = '周村区2017年度土地卫片图斑';
      await zipFolder(
        dir,
        ['shp', 'shx', 'dbf', 'prj', 'cpg'].map((ext) => ({
          name: `${folder}/周村区2017年卫片图斑.${ext}`,
          file: path.join(dir, `周村区2017年卫片图斑.${ext}`),
        })),
        zipPath,
      );
      const s = await importPatches(t.db, zipPath, base('zip'));
      assert.equal(s.imported, 4);
      const rows = byJcbh(await listPatches(t.db, { batchId: 2 }));
      assert.equal(rows.get('370306201700002')!.bz, '南郊镇（丝绸路街道交界）“设施农用地”');
    });

    it('reads GBK without a .cpg', async () => {
      const d2 = path.join(dir, 'nocpg');
      await mkdir(d2);
      for (const ext of ['shp', 'shx', 'dbf', 'prj'])
        await copyFile(path.join(dir, `周村区2017年卫片图斑.${ext}`), path.join(d2, `tb.${ext}`));
      const s = await importPatches(t.db, d2, base('nocpg'));
      assert.equal(s.encoding, 'gbk');
      assert.notEqual(s.encodingSource, 'cpg');
      const rows = byJcbh(await listPatches(t.db, { batchId: 3 }));
      assert.equal(rows.get('370306201700003')!.bz, '王村镇两处地块，中间隔农村道路');
    });

    it('converts delivered areas given in 亩 to m² (1 亩 = 2000/3 m²)', async () => {
      await importPatches(t.db, gbk.shp, { ...base('mu'), areaUnit: 'mu' });
      const rows = byJcbh(await listPatches(t.db, { batchId: 4 }));
      assert.equal(rows.get('370306201700002')!.jcmj_m2, 2_400_000); // 3600 亩
      assert.equal(rows.get('370306201700001')!.gdmj_m2, (6000.5 * 2000) / 3);
      assert.equal(rows.get('370306201700001')!.area_unit, 'mu');
    });

    it('refuses a delivery whose 监测编号 already exist in the batch, naming them', async () => {
      await refuses(t.db, 'duplicate_jcbh', () => importPatches(t.db, gbk.shp, base('gbk')));
    });

    it('refuses duplicate 监测编号 inside one file, naming them', async () => {
      const feats = deliveryFeatures();
      feats[2]!.properties.JCBH = feats[0]!.properties.JCBH!;
      const dup = await writeShapefile(path.join(dir), feats, { name: 'dup', lco: ['ENCODING=CP936'] });
      await assert.rejects(importPatches(t.db, dup.shp, base('refuse')), /370306201700001/);
      await refuses(t.db, 'duplicate_jcbh', () => importPatches(t.db, dup.shp, base('refuse')));
    });

    it('refuses an unknown batch, a missing CRS, swapped axes, wrong encoding and a truncated file', async () => {
      await refuses(t.db, 'batch_not_found', () => importPatches(t.db, gbk.shp, base('nope')));

      const noprj = path.join(dir, 'noprj');
      await mkdir(noprj);
      for (const ext of ['shp', 'shx', 'dbf', 'cpg'])
        await copyFile(path.join(dir, `周村区2017年卫片图斑.${ext}`), path.join(noprj, `tb.${ext}`));
      await refuses(t.db, 'crs_missing', () => importPatches(t.db, noprj, base('refuse')));
      // With --crs it goes through (dry run: nothing written).
      const dry = await importPatches(t.db, noprj, { ...base('refuse'), crs: 'EPSG:4527', dryRun: true });
      assert.equal(dry.imported, 4);
      assert.equal(dry.importId, null);

      await refuses(t.db, 'coords_swapped', () =>
        importPatches(t.db, gbk.shp, { ...base('refuse'), swapXY: true }),
      );
      await refuses(t.db, 'encoding_garbled', () =>
        importPatches(t.db, gbk.shp, { ...base('refuse'), encoding: 'utf-8' }),
      );

      const cut = path.join(dir, 'cut');
      await mkdir(cut);
      for (const ext of ['shp', 'shx', 'dbf', 'prj', 'cpg'])
        await copyFile(path.join(dir, `周村区2017年卫片图斑.${ext}`), path.join(cut, `tb.${ext}`));
      const size = (await stat(path.join(cut, 'tb.shp'))).size;
      await truncate(path.join(cut, 'tb.shp'), size - 40);
      await refuses(t.db, 'shp_truncated', () => importPatches(t.db, cut, base('refuse')));
    });

    it('refuses a user mapping that names a missing field, and honours a valid one', async () => {
      const bad = path.join(dir, 'bad-mapping.json');
      await writeFile(bad, JSON.stringify({ jcbh: 'NO_SUCH_FIELD' }));
      await refuses(t.db, 'mapping_invalid', () =>
        importPatches(t.db, gbk.shp, { ...base('refuse'), mapping: bad }),
      );
      const good = path.join(dir, 'mapping.json');
      await writeFile(good, JSON.stringify({ bz: 'TBLX' }));
      const s = await importPatches(t.db, gbk.shp, { ...base('refuse'), mapping: good, dryRun: true });
      assert.equal(s.imported, 4);
      assert.equal(JSON.parse(await readFile(good, 'utf8')).bz, 'TBLX');
      await rm(good);
    });
  });
}
