// Reference layers: each import is a new version of its type; unit boundaries become responsible
// units; invalid reference polygons are repaired at load (GEOS gives wrong overlays otherwise).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { writeShapefile, skipWithoutOgr, rect } from '../helpers/ogr.ts';
import { square, gaussToEllipsoid, DELIVERY_LAT } from '../helpers/delivery.ts';
import { importLayer, openLayerImportStream, type ImportLayerOptions } from '../../src/jobs/import-layer.ts';
import type { LayerStream } from '../../src/jobs/layer-stream.ts';
import { discardEarly, runOperatorCommand, startEarly } from '../../src/services/operator.ts';
import { currentLayers, listLayers } from '../../src/store/queries/layers.ts';
import { listUnits } from '../../src/store/queries/units.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { Db } from '../../src/store/db.ts';

const opts = (type: string): ImportLayerOptions => ({
  type,
  actor: 'tester',
  maxUnzippedBytes: 10 * 1024 * 1024,
});

const units = [
  { DWDM: '370306001', DWMC: '丝绸路街道', geom: rect(39570000, 4062000, 39572000, 4064000) },
  { DWDM: '370306101', DWMC: '北郊镇', geom: rect(39572000, 4062000, 39575000, 4064000) },
  { DWDM: '370306400', DWMC: '周村经济开发区', geom: rect(39575000, 4062000, 39576000, 4064000) },
];

async function tableCounts(db: Db) {
  const [r] = await db.query<{ l: number; f: number; u: number }>(
    `SELECT (SELECT count(*)::int FROM reference_layers) AS l, (SELECT count(*)::int FROM reference_features) AS f,
       (SELECT count(*)::int FROM responsible_units) AS u`,
  );
  return r!;
}

for (const engine of engines()) {
  describe(`import layers on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let t: TestDb;
    let dir: string;
    before(async () => {
      t = await freshDb(engine);
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-layer-'));
    });
    after(async () => {
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('turns a unit boundary layer into responsible units with kinds from their names', async () => {
      const files = await writeShapefile(
        dir,
        units.map((u) => ({
          properties: { DWDM: u.DWDM, DWMC: u.DWMC },
          geometry: { type: 'Polygon', coordinates: [u.geom] },
        })),
        { name: '责任单位界线', lco: ['ENCODING=CP936'] },
      );
      const s = await importLayer(t.db, files.shp, opts('unit'));
      assert.equal(s.version, 1);
      assert.equal(s.typeLabel, '镇街/责任单位界线');
      const rows = await listUnits(t.db);
      assert.deepEqual(
        rows.map((u) => [u.code, u.name, u.kind]),
        [
          ['370306001', '丝绸路街道', 'street'],
          ['370306101', '北郊镇', 'town'],
          ['370306400', '周村经济开发区', 'zone'],
        ],
      );
      // 2 km × 2 km street centred 71 km east of the central meridian.
      const want = gaussToEllipsoid(4_000_000, 71_000, DELIVERY_LAT);
      assert.ok(Math.abs(rows[0]!.area_m2! - want) < 0.5, `${rows[0]!.area_m2} vs ${want}`);
    });

    it('repairs invalid reference polygons at load and numbers versions per type', async () => {
      const bowtie = [
        [39571000, 4063000],
        [39571050, 4063040],
        [39571050, 4063000],
        [39571000, 4063040],
        [39571000, 4063000],
      ];
      const farmland = [
        {
          properties: { DLBM: '0101', DLMC: '水田', TBBH: '1' },
          geometry: { type: 'Polygon' as const, coordinates: [square(39570000, 4062000, 100)] },
        },
        {
          properties: { DLBM: '0103', DLMC: '旱地', TBBH: '2' },
          geometry: { type: 'Polygon' as const, coordinates: [bowtie] },
        },
      ];
      const f1 = await writeShapefile(dir, farmland, { name: '耕地', lco: ['ENCODING=CP936'] });
      const s1 = await importLayer(t.db, f1.shp, opts('farmland'));
      assert.deepEqual([s1.version, s1.imported, s1.repaired.length], [1, 2, 1]);
      const s2 = await importLayer(t.db, f1.shp, opts('farmland'));
      assert.equal(s2.version, 2);
      const current = (await currentLayers(t.db)).find((l) => l.type === 'farmland')!;
      assert.equal(current.version, 2);
      assert.equal(current.feature_count, 2);
      assert.equal(current.repaired_count, 1);
      const [f] = await t.db.query<{ attributes: Record<string, unknown>; repaired: boolean }>(
        `SELECT attributes, geom_repaired IS NOT NULL AS repaired FROM reference_features
         WHERE layer_id = $1 AND feature_index = 1`,
        [current.id],
      );
      assert.equal(f!.attributes.DLMC, '旱地');
      assert.equal(f!.repaired, true);
      assert.equal((await listLayers(t.db)).length, 3);
    });

    it('refuses a unit layer without codes, and an unknown type, changing nothing', async () => {
      const files = await writeShapefile(
        dir,
        [
          {
            properties: { NAME: '萌水镇' },
            geometry: { type: 'Polygon', coordinates: [rect(39576000, 4062000, 39577000, 4063000)] },
          },
        ],
        { name: 'nocode', lco: ['ENCODING=CP936'] },
      );
      for (const [type, code] of [
        ['unit', 'unit_fields_missing'],
        ['parcels', 'layer_type_unknown'],
      ] as const) {
        const before = await tableCounts(t.db);
        await assert.rejects(
          importLayer(t.db, files.shp, opts(type)),
          (e: unknown) => isWeipianError(e) && e.code === code,
        );
        assert.deepEqual(await tableCounts(t.db), before);
      }
    });

    it('closes a delivery opened while the database opened, whether the import runs or not', async () => {
      const files = await writeShapefile(
        dir,
        [
          {
            properties: { DLMC: '水田' },
            geometry: { type: 'Polygon', coordinates: [square(39571000, 4063000, 40)] },
          },
        ],
        { name: 'ahead', lco: ['ENCODING=CP936'] },
      );
      // A stream that counts its closes, opened as the CLI opens it (services/operator.ts startEarly).
      const closes: string[] = [];
      const counted = async (what: string, stream: Promise<LayerStream>) => {
        const s = await stream;
        const close = s.close;
        return { ...s, close: () => (closes.push(what), close()) };
      };
      const ctx = { actor: 'tester', filesDir: dir, maxUnzippedBytes: 1 << 24 };
      const args = { file: files.shp, type: 'land-use', readInWorker: true };
      // The import runs, in a worker opened ahead, and closes the stream when done.
      const ran = await counted(
        'imported',
        openLayerImportStream(files.shp, { ...args, ...opts('land-use') }, t.db.engine),
      );
      const s = await runOperatorCommand(t.db, 'import.layer', args, {
        ...ctx,
        early: { layerStream: Promise.resolve(ran) },
      });
      assert.equal(s.imported, 1);
      // An unknown type is refused before anything is written, and the stream is closed too.
      const bad = await counted(
        'refused',
        openLayerImportStream(files.shp, { ...args, ...opts('parcels') }, t.db.engine),
      );
      await assert.rejects(
        runOperatorCommand(
          t.db,
          'import.layer',
          { ...args, type: 'parcels' },
          { ...ctx, early: { layerStream: Promise.resolve(bad) } },
        ),
        (e: unknown) => isWeipianError(e) && e.code === 'layer_type_unknown',
      );
      // A command that never runs (the database did not open) releases what was started for it.
      const early = await startEarly('import.layer', args, ctx, t.db.engine);
      const unused = await counted('discarded', early!.layerStream!);
      await discardEarly({ layerStream: Promise.resolve(unused) });
      assert.deepEqual(closes, ['imported', 'refused', 'discarded']);
    });
  });
}
