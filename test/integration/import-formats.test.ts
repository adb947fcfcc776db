// Every format a district receives, imported as patches from the same realistic delivery
// (test/helpers/delivery.ts): each must give the Shapefile import's Chinese attributes and official
// areas; tables are read whichever way round the surveyor wrote X and Y; a centre-only table gives
// point patches with the delivered area; hostile files are refused and change nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { writeShapefile, skipWithoutOgr, type FixtureFeature } from '../helpers/ogr.ts';
import { deliveryFeatures } from '../helpers/delivery.ts';
import { ogrWrite, coordinateString, writeXlsx, writeCsv, zipFiles } from '../helpers/formats.ts';
import { createBatch } from '../../src/services/batches.ts';
import { importPatches, type ImportPatchesOptions } from '../../src/jobs/import-patches.ts';
import { importLayer } from '../../src/jobs/import-layer.ts';
import { decodeGeometry } from '../../src/geo/wkb.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { Db } from '../../src/store/db.ts';

const base = (batch: string): ImportPatchesOptions => ({
  batch,
  areaUnit: 'm2',
  source: '卫片',
  actor: 'tester',
  maxUnzippedBytes: 50 * 1024 * 1024,
});

interface Row {
  jcbh: string;
  attributes: Record<string, unknown>;
  area_m2: number;
  jcmj_m2: number | null;
  tblx: string | null;
  bz: string | null;
  src_crs: string;
  geometry_kind: string;
  geom: Uint8Array;
  validity_issue: string | null;
}

async function rowsOf(db: Db, batch: string): Promise<Map<string, Row>> {
  const rows = await db.query<Row>(
    `SELECT p.jcbh, p.attributes, p.area_m2, p.jcmj_m2, p.tblx, p.bz, p.src_crs, p.geometry_kind, p.geom, p.validity_issue
       FROM patches p JOIN batches b ON b.id = p.batch_id WHERE b.slug = $1 ORDER BY p.jcbh`,
    [batch],
  );
  return new Map(rows.map((r) => [r.jcbh, r]));
}

async function counts(db: Db) {
  const [r] = await db.query<{ p: number; i: number; l: number }>(
    `SELECT (SELECT count(*)::int FROM patches) AS p, (SELECT count(*)::int FROM imports) AS i,
       (SELECT count(*)::int FROM reference_layers) AS l`,
  );
  return r!;
}

/** Asserts that a refusal has the given code, a Chinese message, and leaves the database as it was. */
async function refuses(db: Db, code: string, work: () => Promise<unknown>, message?: RegExp): Promise<void> {
  const before = await counts(db);
  await assert.rejects(work, (e: unknown) => {
    assert.ok(isWeipianError(e), `expected a WeipianError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, /[\u4e00-\u9fff]/, 'message is in Chinese');
    if (message) assert.match(e.message, message);
    return true;
  });
  assert.deepEqual(await counts(db), before, 'nothing changed');
}

const CJK = /[\u4e00-\u9fff]/;

/** Table columns as a district's list of patches names them, in the delivery's order. */
const TABLE_COLUMNS: [string, string][] = [
  ['监测编号', 'JCBH'],
  ['行政区代码', 'XZQDM'],
  ['图斑类型', 'TBLX'],
  ['监测面积', 'JCMJ'],
  ['备注', '备注'],
];

function tableRows(feats: FixtureFeature[], coords: (f: FixtureFeature) => unknown[]): unknown[][] {
  return feats.map((f) => [...TABLE_COLUMNS.map(([, k]) => f.properties[k]), ...coords(f)]);
}

for (const engine of engines()) {
  describe(`import of every delivery format on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let t: TestDb;
    let dir: string;
    let shp: Map<string, Row>;
    const feats = deliveryFeatures();

    before(async () => {
      t = await freshDb(engine);
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-formats-'));
      const files = await writeShapefile(dir, feats, {
        name: '周村区2017年卫片图斑',
        lco: ['ENCODING=CP936'],
      });
      await createBatch(t.db, { slug: 'shp', kind: 'land', year: 2017, actor: 'tester' });
      await importPatches(t.db, files.shp, base('shp'));
      shp = await rowsOf(t.db, 'shp');
      assert.equal(shp.size, 4);
    });
    after(async () => {
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    });

    async function batch(slug: string) {
      await createBatch(t.db, { slug, kind: 'land', year: 2017, actor: 'tester' });
    }

    /** Same patches, same Chinese attributes (by Shapefile field name unless renamed), same official areas. */
    function sameAsShapefile(got: Map<string, Row>, tolerance: number, rename: Record<string, string> = {}) {
      assert.deepEqual([...got.keys()], [...shp.keys()]);
      for (const [jcbh, want] of shp) {
        const row = got.get(jcbh)!;
        for (const [k, v] of Object.entries(want.attributes)) {
          if (typeof v !== 'string' || !CJK.test(v)) continue;
          const key = Object.entries(rename).find(([, from]) => from === k)?.[0] ?? k;
          assert.strictEqual(row.attributes[key], v, `${jcbh} ${k}`);
        }
        assert.equal(row.tblx, want.tblx);
        assert.equal(row.bz, want.bz);
        assert.equal(row.jcmj_m2, want.jcmj_m2);
        assert.equal(row.validity_issue, want.validity_issue);
        assert.equal(row.geometry_kind, 'polygon');
        const rel = Math.abs(row.area_m2 - want.area_m2) / want.area_m2;
        assert.ok(
          rel <= tolerance,
          `${jcbh}: area ${row.area_m2} vs Shapefile ${want.area_m2} (relative ${rel})`,
        );
      }
    }

    it('imports a GeoPackage layer with every attribute and area of the Shapefile', async () => {
      const gpkg = await ogrWrite(path.join(dir, '图斑.gpkg'), feats, { driver: 'GPKG', name: '周村区图斑' });
      await batch('gpkg');
      const s = await importPatches(t.db, gpkg, base('gpkg'));
      assert.deepEqual(
        [s.format, s.layer, s.crs, s.encoding, s.imported],
        ['geopackage', '周村区图斑', 'EPSG:4527', 'utf-8', 4],
      );
      const got = await rowsOf(t.db, 'gpkg');
      sameAsShapefile(got, 1e-9);
      // Typed like the Shapefile: numbers stay numbers, dates are the delivered calendar dates.
      for (const [jcbh, want] of shp) assert.deepEqual(got.get(jcbh)!.attributes, want.attributes, jcbh);
    });

    it('refuses a GeoPackage with two layers and no --layer, naming both, then imports the chosen one', async () => {
      const gpkg = path.join(dir, '两个图层.gpkg');
      await ogrWrite(gpkg, feats, { driver: 'GPKG', name: '图斑' });
      await ogrWrite(gpkg, feats.slice(0, 1), { driver: 'GPKG', name: '往年图斑', update: true });
      await batch('gpkg2');
      await refuses(
        t.db,
        'source_ambiguous',
        () => importPatches(t.db, gpkg, base('gpkg2')),
        /往年图斑.*图斑|图斑.*往年图斑/,
      );
      await refuses(t.db, 'source_layer_not_found', () =>
        importPatches(t.db, gpkg, { ...base('gpkg2'), layer: '没有' }),
      );
      const s = await importPatches(t.db, gpkg, { ...base('gpkg2'), layer: '图斑' });
      assert.deepEqual([s.layer, s.imported], ['图斑', 4]);
      sameAsShapefile(await rowsOf(t.db, 'gpkg2'), 1e-9);
    });

    it('imports a File Geodatabase folder and the same folder zipped', async () => {
      const gdb = await ogrWrite(path.join(dir, '周村区.gdb'), feats, {
        driver: 'OpenFileGDB',
        name: '图斑',
      });
      await batch('gdb');
      const s = await importPatches(t.db, gdb, base('gdb'));
      assert.deepEqual([s.format, s.layer, s.crs, s.imported], ['filegdb', '图斑', 'EPSG:4527', 4]);
      const got = await rowsOf(t.db, 'gdb');
      sameAsShapefile(got, 1e-9);
      // A File Geodatabase stores dates as midnight date-times: kept as the delivered dates.
      assert.equal(got.get('370306201700001')!.attributes.QSX, shp.get('370306201700001')!.attributes.QSX);

      const { readdir } = await import('node:fs/promises');
      const zip = await zipFiles(
        path.join(dir, '周村区gdb.zip'),
        (await readdir(gdb)).map((n) => ({ name: `成果/周村区.gdb/${n}`, file: path.join(gdb, n) })),
      );
      await batch('gdbzip');
      const z = await importPatches(t.db, zip, base('gdbzip'));
      assert.deepEqual([z.format, z.imported], ['filegdb', 4]);
      sameAsShapefile(await rowsOf(t.db, 'gdbzip'), 1e-9);
    });

    it('imports GeoJSON with a crs member, and RFC 7946 longitude/latitude as CGCS2000 (saying so)', async () => {
      const projected = await ogrWrite(path.join(dir, '图斑.geojson'), feats, {
        driver: 'GeoJSON',
        name: '图斑',
      });
      await batch('geojson');
      const s = await importPatches(t.db, projected, base('geojson'));
      assert.deepEqual([s.format, s.crs, s.notes], ['geojson', 'EPSG:4527', []]);
      sameAsShapefile(await rowsOf(t.db, 'geojson'), 1e-9);

      const lonlat = await ogrWrite(path.join(dir, '图斑wgs84.geojson'), feats, {
        driver: 'GeoJSON',
        name: '图斑',
        toSrs: 'EPSG:4326',
      });
      await batch('rfc7946');
      const r = await importPatches(t.db, lonlat, base('rfc7946'));
      assert.equal(r.crs, 'EPSG:4326');
      assert.match(r.notes.join(''), /RFC 7946.*CGCS2000/);
      // GDAL reprojected with PROJ, we measure on CGCS2000: the same areas to far below a millimetre².
      sameAsShapefile(await rowsOf(t.db, 'rfc7946'), 1e-9);
    });

    it('imports KML written by GDAL: Chinese placemark names, folder as layer, ExtendedData attributes', async () => {
      const named = feats.map((f) => ({
        ...f,
        properties: { 名称: `${String(f.properties.JCBH)}号图斑（周村区）`, ...f.properties },
      }));
      const kml = await ogrWrite(path.join(dir, '周村区图斑.kml'), named, {
        driver: 'KML',
        name: '周村区2017年卫片图斑',
        toSrs: 'EPSG:4326',
        dsco: ['NameField=名称'],
      });
      await batch('kml');
      const s = await importPatches(t.db, kml, { ...base('kml'), layer: '周村区2017年卫片图斑' });
      assert.deepEqual([s.format, s.crs, s.imported], ['kml', 'EPSG:4326', 4]);
      assert.match(s.notes.join(''), /WGS84/);
      const got = await rowsOf(t.db, 'kml');
      // KML holds degrees with 15 significant digits (~0.1 µm), so 20 m squares agree to ~1e-9.
      sameAsShapefile(got, 1e-8);
      assert.equal(got.get('370306201700002')!.attributes.Name, '370306201700002号图斑（周村区）');
      await refuses(t.db, 'source_layer_not_found', () =>
        importPatches(t.db, kml, { ...base('kml'), layer: '不存在的文件夹' }),
      );
    });

    it('imports an Excel table with coordinate strings under a title row', async () => {
      const header = [...TABLE_COLUMNS.map(([n]) => n), '界址点坐标'];
      const rows = tableRows(feats, (f) => [coordinateString(f, { open: true })]);
      const xlsx = await writeXlsx(path.join(dir, '图斑清单.xlsx'), [
        { name: '说明', rows: [['本表为周村区2017年度土地卫片图斑清单']] },
        { name: '图斑', rows: [['周村区2017年度土地卫片图斑'], header, ...rows] },
      ]);
      await batch('xlsx');
      const s = await importPatches(t.db, xlsx, base('xlsx'));
      assert.deepEqual([s.format, s.layer, s.crs, s.imported], ['xlsx', '图斑', 'EPSG:4527', 4]);
      assert.match(s.notes.join(''), /带号判定为 EPSG:4527/);
      sameAsShapefile(await rowsOf(t.db, 'xlsx'), 1e-9, { 备注: '备注', 图斑类型: 'TBLX' });
    });

    it('reads a surveyor’s table (X = northing) in GBK and in UTF-8 with BOM, the same way', async () => {
      const header = [...TABLE_COLUMNS.map(([n]) => n), '坐标串'];
      const rows = tableRows(feats, (f) => [
        coordinateString(f, { northingFirst: true, style: 'space-comma', ringSeparator: '\n' }),
      ]);
      for (const [slug, enc] of [
        ['csvgbk', 'gbk'],
        ['csvbom', 'utf-8-bom'],
      ] as const) {
        const csv = await writeCsv(path.join(dir, `${slug}.csv`), [header, ...rows], enc);
        await batch(slug);
        const s = await importPatches(t.db, csv, base(slug));
        assert.deepEqual(
          [s.format, s.encoding, s.crs, s.imported],
          ['csv', enc === 'gbk' ? 'gbk' : 'utf-8', 'EPSG:4527', 4],
        );
        assert.match(s.notes.join(''), /X 为北坐标/);
        const got = await rowsOf(t.db, slug);
        sameAsShapefile(got, 1e-9, { 备注: '备注', 图斑类型: 'TBLX' });
        // The coordinate string is a delivered attribute too, kept as written.
        assert.equal(got.get('370306201700003')!.attributes.坐标串, rows[2]![5]);
      }
    });

    it('refuses, in Chinese, a table whose coordinates are outside China whichever way round', async () => {
      const csv = await writeCsv(
        path.join(dir, '错误坐标.csv'),
        [
          ['监测编号', '监测面积', '坐标串'],
          ['370306201700009', 100, '1000,2000;1010,2000;1010,2010;1000,2010'],
        ],
        'utf-8',
      );
      await batch('outside');
      await refuses(
        t.db,
        'coords_outside_china',
        () => importPatches(t.db, csv, base('outside')),
        /都不在中国境内/,
      );
      await refuses(
        t.db,
        'coords_outside_china',
        () => importPatches(t.db, csv, { ...base('outside'), crs: 'EPSG:4527' }),
        /按 EPSG:4527 换算后都不在中国境内/,
      );
    });

    it('asks for --crs when a table has 6-digit Gauss-Krüger coordinates, and imports with it', async () => {
      const csv = await writeCsv(
        path.join(dir, '无带号.csv'),
        [
          ['监测编号', '监测面积', '坐标串'],
          ['370306201700011', 10000, '4063000,571000;4063000,571100;4063100,571100;4063100,571000'],
        ],
        'utf-8',
      );
      await batch('nozone');
      await refuses(t.db, 'crs_missing', () => importPatches(t.db, csv, base('nozone')), /--crs/);
      const s = await importPatches(t.db, csv, { ...base('nozone'), crs: 'EPSG:4548' });
      assert.deepEqual([s.crs, s.imported], ['EPSG:4548', 1]);
      // The same square as patch 1 of the delivery (zone 39 without its prefix): the same area.
      const got = await rowsOf(t.db, 'nozone');
      const want = shp.get('370306201700001')!.area_m2;
      assert.ok(Math.abs(got.get('370306201700011')!.area_m2 - want) / want < 1e-9);
    });

    it('stores a centre-only table as point patches whose area is the delivered 监测面积', async () => {
      const csv = await writeCsv(
        path.join(dir, '中心点.csv'),
        [
          ['监测编号', '图斑类型', '监测面积（亩）', '中心点X', '中心点Y', '备注'],
          ['370306201700021', '新增建设用地', '1.5', '4063050', '39571050', '北郊镇，只有中心点'],
          ['370306201700022', '其他', '0.75', '4063030', '39572030', '南郊镇'],
        ],
        'gbk',
      );
      await batch('points');
      const s = await importPatches(t.db, csv, { ...base('points'), areaUnit: 'mu' });
      assert.deepEqual([s.imported, s.points, s.crs], [2, 2, 'EPSG:4527']);
      assert.equal(s.totalAreaM2, (1.5 + 0.75) * (2000 / 3));
      const got = await rowsOf(t.db, 'points');
      const p = got.get('370306201700021')!;
      assert.equal(p.geometry_kind, 'point');
      assert.equal(p.area_m2, 1000); // 1.5 亩 × 2000/3
      assert.equal(p.jcmj_m2, 1000);
      assert.equal(p.attributes.备注, '北郊镇，只有中心点');
      const g = decodeGeometry(p.geom);
      assert.equal(g.type, 'Point');
      const [lon, lat] = g.type === 'Point' ? g.coordinates : [0, 0];
      assert.ok(lon > 117.79 && lon < 117.8 && lat > 36.69 && lat < 36.7, `${lon}, ${lat} at 北郊镇`);

      // Without a delivered area there is nothing to measure: refused, nothing stored.
      const noArea = await writeCsv(
        path.join(dir, '中心点无面积.csv'),
        [
          ['监测编号', '中心点X', '中心点Y'],
          ['370306201700023', '4063050', '39571050'],
        ],
        'utf-8',
      );
      await refuses(
        t.db,
        'features_refused',
        () => importPatches(t.db, noArea, base('points')),
        /缺少监测面积/,
      );
    });

    it('refuses a .gpkg that is text, an empty file and a .kml that is a zip; imports a zip holding a KML', async () => {
      await batch('hostile');
      const fake = path.join(dir, '图斑.gpkg.txt');
      await writeFile(fake, '监测编号,坐标串\n1,2\n');
      const gpkg = path.join(dir, '伪装.gpkg');
      await copyFile(fake, gpkg);
      await refuses(
        t.db,
        'file_type_mismatch',
        () => importPatches(t.db, gpkg, base('hostile')),
        /GeoPackage.*文本/,
      );
      const empty = path.join(dir, '空.geojson');
      await writeFile(empty, '');
      await refuses(t.db, 'source_empty', () => importPatches(t.db, empty, base('hostile')));

      const kml = await ogrWrite(path.join(dir, 'doc.kml'), feats, {
        driver: 'KML',
        name: '图斑',
        toSrs: 'EPSG:4326',
      });
      const zip = await zipFiles(path.join(dir, '周村区kml.zip'), [{ name: '周村区/doc.kml', file: kml }]);
      const renamed = path.join(dir, '其实是zip.kml');
      await copyFile(zip, renamed);
      await refuses(
        t.db,
        'file_type_mismatch',
        () => importPatches(t.db, renamed, base('hostile')),
        /KML.*ZIP/,
      );
      const s = await importPatches(t.db, zip, base('hostile'));
      assert.deepEqual([s.format, s.imported], ['kml', 4]);
      sameAsShapefile(await rowsOf(t.db, 'hostile'), 1e-8);
    });

    it('imports a GeoPackage as a reference layer, and refuses points as one', async () => {
      const gpkg = await ogrWrite(path.join(dir, '耕地.gpkg'), feats.slice(0, 3), {
        driver: 'GPKG',
        name: '耕地',
      });
      const s = await importLayer(t.db, gpkg, { type: 'farmland', actor: 'tester', maxUnzippedBytes: 1e7 });
      assert.deepEqual([s.imported, s.crs], [3, 'EPSG:4527']);
      const total = ['370306201700001', '370306201700002', '370306201700003'].reduce(
        (a, j) => a + shp.get(j)!.area_m2,
        0,
      );
      assert.ok(Math.abs(s.totalAreaM2 - total) / total < 1e-9);

      const centres = await writeCsv(
        path.join(dir, '点.csv'),
        [
          ['名称', 'X', 'Y'],
          ['北郊镇', '39571050', '4063050'],
        ],
        'utf-8',
      );
      await refuses(t.db, 'geometry_not_polygon', () =>
        importLayer(t.db, centres, { type: 'farmland', actor: 'tester', maxUnzippedBytes: 1e7 }),
      );
      const points = await ogrWrite(
        path.join(dir, '点.gpkg'),
        [{ properties: { 名称: '北郊镇' }, geometry: { type: 'Point', coordinates: [39571050, 4063050] } }],
        { driver: 'GPKG', name: '点', nlt: 'POINT' },
      );
      await refuses(t.db, 'geometry_not_polygon', () =>
        importLayer(t.db, points, { type: 'farmland', actor: 'tester', maxUnzippedBytes: 1e7 }),
      );
      // A point among polygons is found feature by feature.
      const mixed = path.join(dir, '混合.geojson');
      await writeFile(
        mixed,
        JSON.stringify({
          type: 'FeatureCollection',
          features: [
            {
              type: 'Feature',
              properties: { 名称: '北郊镇' },
              geometry: {
                type: 'Polygon',
                coordinates: [
                  [
                    [117.79, 36.69],
                    [117.8, 36.69],
                    [117.8, 36.7],
                    [117.79, 36.69],
                  ],
                ],
              },
            },
            {
              type: 'Feature',
              properties: { 名称: '南郊镇' },
              geometry: { type: 'Point', coordinates: [117.8, 36.7] },
            },
          ],
        }),
      );
      await refuses(
        t.db,
        'geometry_not_polygon',
        () => importLayer(t.db, mixed, { type: 'farmland', actor: 'tester', maxUnzippedBytes: 1e7 }),
        /第 2 个要素是点/,
      );
    });

    it('takes the map layer of a folder that also holds a list of the patches', async () => {
      const folder = path.join(dir, '交付');
      await mkdir(folder);
      await ogrWrite(path.join(folder, '图斑.gpkg'), feats, { driver: 'GPKG', name: '图斑' });
      await writeXlsx(path.join(folder, '图斑清单.xlsx'), [
        {
          name: '清单',
          rows: [
            ['监测编号', 'X', 'Y'],
            ['1', 39571050, 4063050],
          ],
        },
      ]);
      await batch('folder');
      const s = await importPatches(t.db, folder, { ...base('folder'), dryRun: true });
      assert.deepEqual([s.format, s.imported, s.importId], ['geopackage', 4, null]);
    });
  });
}
