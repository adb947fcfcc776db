// One entry point for every delivery: content decides the reader, an extension that lies is
// refused, folders and zips are searched for the one dataset, and GeoPackage / File Geodatabase
// layers come through GDAL with their Chinese text, dates and 64-bit codes intact.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import {
  openVectorSource,
  sniffContent,
  type VectorFeature,
  type VectorSource,
} from '../../src/formats/vector-source.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import { openArealSource } from '../../src/jobs/read-areal.ts';
import { skipWithoutOgr, type FixtureFeature } from '../helpers/ogr.ts';
import { ogrWrite, zipFiles } from '../helpers/formats.ts';
import { square } from '../helpers/delivery.ts';

const refusedWith = (code: string, message?: RegExp) => (e: unknown) => {
  assert.ok(isWeipianError(e), String(e));
  assert.equal(e.code, code, e.message);
  assert.match(e.message, /[\u4e00-\u9fff]/);
  if (message) assert.match(e.message, message);
  return true;
};

async function all(src: VectorSource): Promise<VectorFeature[]> {
  const out: VectorFeature[] = [];
  for await (const f of src.features()) out.push(f);
  return out;
}

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weipian-source-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const KML =
  '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>北郊镇</name><Point><coordinates>117.8,36.7</coordinates></Point></Placemark></kml>';
const OLE2 = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]);

test('content sniffing: the formats, whatever the file is called', async (t) => {
  const dir = await scratch(t);
  const cases: [string, string | Buffer, string][] = [
    ['a', '', 'empty'],
    ['b', 'SQLite format 3\0' + 'x'.repeat(100), 'sqlite'],
    ['c', '\uFEFF{"type": "FeatureCollection"}', 'json'],
    ['d', '\uFEFF' + KML, 'kml'],
    ['e', '<?xml version="1.0"?><gpx></gpx>', 'xml'],
    ['f', OLE2, 'xls'],
    ['g', '监测编号,X,Y\n1,2,3\n', 'text'],
    ['h', Buffer.from([0x01, 0x00, 0x02, 0x03]), 'binary'],
    ['i', Buffer.from([0xff, 0xfe, 0x4b, 0x00]), 'text'],
    ['j', Buffer.from('Rar!\x1a\x07\x00', 'latin1'), 'rar'],
  ];
  for (const [name, body, kind] of cases) {
    const f = path.join(dir, name);
    await writeFile(f, body);
    assert.equal(await sniffContent(f), kind, name);
  }
  const z = await zipFiles(path.join(dir, 'k'), [{ name: 'doc.kml', file: path.join(dir, 'd') }]);
  assert.equal(await sniffContent(z), 'zip');
});

test('extensions that lie are refused with both names; unsupported content is named', async (t) => {
  const dir = await scratch(t);
  const put = async (name: string, body: string | Buffer) => {
    const f = path.join(dir, name);
    await writeFile(f, body);
    return f;
  };
  await assert.rejects(
    openVectorSource(await put('图斑.gpkg', '监测编号,X,Y\n')),
    refusedWith('file_type_mismatch', /GeoPackage.*文本/),
  );
  await assert.rejects(
    openVectorSource(await put('图斑.geojson', KML)),
    refusedWith('file_type_mismatch', /GeoJSON.*KML/),
  );
  await assert.rejects(
    openVectorSource(await put('图斑.csv', OLE2)),
    refusedWith('file_type_mismatch', /另存为 \.xlsx/),
  );
  await assert.rejects(
    openVectorSource(await put('图斑.xls', OLE2)),
    refusedWith('source_unsupported_type', /另存为 \.xlsx 或 CSV/),
  );
  await assert.rejects(
    openVectorSource(await put('图斑.dat', Buffer.from('Rar!\x1a\x07\x00', 'latin1'))),
    refusedWith('source_unsupported_type', /RAR/),
  );
  await assert.rejects(openVectorSource(await put('空.kml', '')), refusedWith('source_empty', /空文件/));
  await assert.rejects(openVectorSource(path.join(dir, '没有.shp')), refusedWith('source_not_found'));
  const kml = await put('doc.kml', KML);
  const zip = await zipFiles(path.join(dir, 'x.zip'), [{ name: 'doc.kml', file: kml }]);
  const fakeXlsx = path.join(dir, '清单.xlsx');
  await copyFile(zip, fakeXlsx);
  await assert.rejects(
    openVectorSource(fakeXlsx),
    refusedWith('file_type_mismatch', /Excel 工作簿.*ZIP 压缩包/),
  );
});

test('an .xlsx renamed .zip is still read as the workbook it is', async (t) => {
  const dir = await scratch(t);
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('图斑');
  ws.addRow(['监测编号', '经度', '纬度']);
  ws.addRow(['1', 117.8, 36.7]);
  const f = path.join(dir, '图斑.zip');
  await wb.xlsx.writeFile(f);
  const src = await openVectorSource(f, { geometry: 'polygon-or-point' });
  try {
    assert.deepEqual([src.format, src.layer, src.featureCount], ['xlsx', '图斑', 1]);
  } finally {
    await src.close();
  }
});

test('folders and zips: one dataset is taken, several need --layer, a KMZ has its doc.kml', async (t) => {
  const dir = await scratch(t);
  const a = path.join(dir, '交付');
  await mkdir(path.join(a, '北郊镇'), { recursive: true });
  await writeFile(path.join(a, '北郊镇', '图斑.kml'), KML);
  await writeFile(path.join(a, '南郊镇.kml'), KML.replace('北郊镇', '南郊镇'));
  await writeFile(path.join(a, '说明.txt'), '说明');
  await assert.rejects(
    openVectorSource(a, { geometry: 'polygon-or-point' }),
    refusedWith('source_ambiguous', /2 个数据文件：北郊镇\/图斑\.kml、南郊镇\.kml/),
  );
  const chosen = await openVectorSource(a, { layer: '南郊镇', geometry: 'polygon-or-point' });
  assert.equal((await all(chosen))[0]!.attributes.Name, '南郊镇');
  await chosen.close();
  await assert.rejects(
    openVectorSource(a, { layer: '王村镇' }),
    refusedWith('source_layer_not_found', /北郊镇\/图斑\.kml、南郊镇\.kml/),
  );

  const kmz = await zipFiles(path.join(dir, '周村.kmz'), [
    { name: 'doc.kml', file: path.join(a, '南郊镇.kml') },
    { name: 'files/北郊镇.kml', file: path.join(a, '北郊镇', '图斑.kml') },
  ]);
  const k = await openVectorSource(kmz, { geometry: 'polygon-or-point' });
  assert.deepEqual([k.format, (await all(k))[0]!.attributes.Name], ['kml', '南郊镇']);
  await k.close();
  assert.deepEqual(
    await readdir(path.dirname(k.path)).catch(() => 'removed'),
    'removed',
    'close() removes the extraction',
  );

  const empty = path.join(dir, '空文件夹');
  await mkdir(empty);
  await writeFile(path.join(empty, '说明.txt'), '说明');
  await assert.rejects(openVectorSource(empty), refusedWith('source_no_data', /没有找到可导入的数据/));
});

const FEATURES: FixtureFeature[] = [
  {
    properties: {
      JCBH: '370306201700001',
      备注: '北郊镇东侧厂房，“疑似”未批先建\n第二行',
      QSX: '2016-10-15',
      DM: 123,
      JCMJ: 0.1,
    },
    geometry: { type: 'Polygon', coordinates: [square(39571000.12345679, 4063000.987654321, 100)] },
  },
  { properties: { JCBH: '370306201700002', 备注: null, QSX: null, DM: 7, JCMJ: null }, geometry: null },
];

describe('GeoPackage and File Geodatabase through GDAL', { skip: skipWithoutOgr() }, () => {
  test('GeoPackage: Chinese text exact, dates as dates, 64-bit codes kept, coordinates to the last bit', async (t) => {
    const dir = await scratch(t);
    // JSON.stringify cannot write a 19-digit integer: put it into the GeoJSON text GDAL reads.
    const text = JSON.stringify({
      type: 'FeatureCollection',
      features: FEATURES.map((f) => ({ type: 'Feature', ...f })),
    });
    const gpkg = await ogrWrite(path.join(dir, 'a.gpkg'), [], {
      driver: 'GPKG',
      name: '图斑',
      nlt: 'POLYGON',
      sourceText: text.replace('"DM":123', '"DM":1234567890123456789'),
    });
    const src = await openVectorSource(gpkg);
    try {
      assert.deepEqual(
        [src.format, src.layer, src.featureCount, src.encoding.encoding],
        ['geopackage', '图斑', 2, 'utf-8'],
      );
      assert.match(src.prj!, /^PROJCS\["CGCS2000 \/ 3-degree Gauss-Kruger zone 39"/);
      const [a, b] = await all(src);
      assert.equal(a!.attributes.备注, '北郊镇东侧厂房，“疑似”未批先建\n第二行');
      assert.deepEqual(a!.attributes.QSX, new Date(Date.UTC(2016, 9, 15)));
      assert.equal(a!.attributes.DM, '1234567890123456789', 'beyond 2^53: text, not a rounded number');
      assert.equal(a!.attributes.JCMJ, 0.1);
      assert.equal(b!.attributes.DM, 7, 'small 64-bit integers stay numbers');
      const ring = a!.geometry?.type === 'Polygon' ? a!.geometry.coordinates[0]! : [];
      assert.ok(
        ring.some(([x, y]) => x === 39571000.12345679 && y === 4063000.987654321),
        'exact doubles',
      );
      assert.equal(b!.geometry, null);
    } finally {
      await src.close();
    }
  });

  test('GeoPackage layers: attribute tables are not layers; points only where points are allowed', async (t) => {
    const dir = await scratch(t);
    const gpkg = path.join(dir, 'b.gpkg');
    await ogrWrite(gpkg, [{ properties: { 名称: '北郊镇' }, geometry: null }], {
      driver: 'GPKG',
      name: '属性表',
      nlt: 'NONE',
    });
    await assert.rejects(openVectorSource(gpkg), refusedWith('source_no_layer', /没有带图形的图层/));
    await ogrWrite(
      gpkg,
      [{ properties: { 名称: '北郊镇' }, geometry: { type: 'Point', coordinates: [39571050, 4063050] } }],
      {
        driver: 'GPKG',
        name: '中心点',
        nlt: 'POINT',
        update: true,
      },
    );
    await assert.rejects(openVectorSource(gpkg), refusedWith('geometry_not_polygon', /图层“中心点”是点/));
    const points = await openVectorSource(gpkg, { geometry: 'polygon-or-point' });
    assert.deepEqual((await all(points))[0]!.geometry, { type: 'Point', coordinates: [39571050, 4063050] });
    await points.close();
    await assert.rejects(
      openVectorSource(gpkg, { layer: '属性表' }),
      refusedWith('source_layer_not_spatial'),
    );
    await ogrWrite(
      gpkg,
      [
        {
          properties: {},
          geometry: {
            type: 'LineString',
            coordinates: [
              [39571050, 4063050],
              [39571150, 4063050],
            ],
          },
        },
      ],
      {
        driver: 'GPKG',
        name: '道路',
        nlt: 'LINESTRING',
        update: true,
      },
    );
    await assert.rejects(
      openVectorSource(gpkg, { layer: '道路', geometry: 'polygon-or-point' }),
      refusedWith('geometry_not_polygon', /线/),
    );
    await assert.rejects(
      openVectorSource(gpkg, { geometry: 'polygon-or-point' }),
      refusedWith('source_ambiguous', /中心点、道路/),
    );
  });

  test('a zipped GeoPackage named like one of its layers: --layer picks the file and that layer', async (t) => {
    const dir = await scratch(t);
    const gpkg = path.join(dir, '图斑.gpkg');
    await ogrWrite(gpkg, FEATURES, { driver: 'GPKG', name: '往年图斑' });
    await ogrWrite(gpkg, FEATURES, { driver: 'GPKG', name: '图斑', update: true });
    const zip = await zipFiles(path.join(dir, '交付.zip'), [{ name: '成果/图斑.gpkg', file: gpkg }]);
    await assert.rejects(openVectorSource(zip), refusedWith('source_ambiguous', /往年图斑、图斑/));
    for (const layer of ['图斑', '往年图斑']) {
      const src = await openVectorSource(zip, { layer });
      assert.equal(src.layer, layer);
      await src.close();
    }
  });

  test('a GeoPackage layer without a CRS has no .prj text; a damaged GeoPackage is refused', async (t) => {
    const dir = await scratch(t);
    const gpkg = await ogrWrite(path.join(dir, 'c.gpkg'), FEATURES, {
      driver: 'GPKG',
      name: '图斑',
      srs: 'NONE',
    });
    const src = await openVectorSource(gpkg);
    assert.equal(src.prj, null);
    await src.close();
    await assert.rejects(
      openArealSource(gpkg, { maxUnzippedBytes: 1e7 }),
      refusedWith('crs_missing', /GeoPackage 图层“图斑”没有坐标系定义，请用 --crs 指定/),
    );
    const withCrs = await openArealSource(gpkg, { maxUnzippedBytes: 1e7, crs: 'EPSG:4527' });
    assert.equal(withCrs.crs.code, 'EPSG:4527');
    await withCrs.close();
    const broken = path.join(dir, 'broken.gpkg');
    await writeFile(
      broken,
      Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(2000, 0x41)]),
    );
    await assert.rejects(openVectorSource(broken), refusedWith('source_unreadable'));
  });

  test('File Geodatabase: a .gdb folder, its files listed for hashing in a fixed order', async (t) => {
    const dir = await scratch(t);
    const gdb = await ogrWrite(path.join(dir, '周村区.gdb'), FEATURES, {
      driver: 'OpenFileGDB',
      name: '图斑',
    });
    const src = await openVectorSource(gdb);
    try {
      assert.deepEqual([src.format, src.layer, src.featureCount], ['filegdb', '图斑', 2]);
      const names = (await readdir(gdb)).sort();
      assert.deepEqual(
        src.files,
        names.map((n) => path.join(gdb, n)),
      );
      const [a] = await all(src);
      assert.equal(a!.attributes.备注, '北郊镇东侧厂房，“疑似”未批先建\n第二行');
      assert.deepEqual(
        a!.attributes.QSX,
        new Date(Date.UTC(2016, 9, 15)),
        'a midnight date-time is the date',
      );
    } finally {
      await src.close();
    }
  });
});
