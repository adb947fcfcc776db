// Tables of patches (Excel, CSV): coordinate strings in every spelling surveyors use, centre
// values (numbers, text, 度分秒), the axis order and CRS read from the values, and the table's
// own shape (title rows, sheets, encodings, duplicate headers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import {
  decideAxes,
  findCoordinateColumns,
  formatCoordinateString,
  openTable,
  parseCoordinateCell,
  parseCoordinateString,
  parseCoordinateValue,
} from '../../src/formats/table.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { VectorFeature, VectorSource } from '../../src/formats/vector-common.ts';

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

const SQUARE: [number, number][] = [
  [39571000, 4063000],
  [39571100, 4063000],
  [39571100, 4063100],
  [39571000, 4063100],
];

test('coordinate strings: semicolons, "x y,x y", "x,y x,y", flat pairs, full-width, point numbers', () => {
  const want = [SQUARE];
  assert.deepEqual(
    parseCoordinateString('39571000,4063000;39571100,4063000;39571100,4063100;39571000,4063100;'),
    want,
  );
  assert.deepEqual(
    parseCoordinateString('39571000 4063000, 39571100 4063000, 39571100 4063100, 39571000 4063100'),
    want,
  );
  assert.deepEqual(
    parseCoordinateString('39571000,4063000 39571100,4063000 39571100,4063100 39571000,4063100'),
    want,
  );
  assert.deepEqual(
    parseCoordinateString('39571000,4063000,39571100,4063000,39571100,4063100,39571000,4063100'),
    want,
  );
  assert.deepEqual(
    parseCoordinateString(
      '３９５７１０００，４０６３０００；39571100,4063000；39571100,4063100；39571000,4063100',
    ),
    want,
  );
  assert.deepEqual(
    parseCoordinateString('J1,39571000,4063000;J2,39571100,4063000;J3,39571100,4063100;J4,39571000,4063100'),
    want,
  );
});

test('coordinate strings: rings separated by "|" or line breaks', () => {
  const hole: [number, number][] = [
    [39571020, 4063020],
    [39571020, 4063040],
    [39571040, 4063040],
  ];
  const text = (sep: string) => [SQUARE, hole].map((r) => r.map(([x, y]) => `${x},${y}`).join(';')).join(sep);
  assert.deepEqual(parseCoordinateString(text('|')), [SQUARE, hole]);
  assert.deepEqual(parseCoordinateString(text('\r\n')), [SQUARE, hole]);
  assert.deepEqual(parseCoordinateString(`${text('\n')}\n`), [SQUARE, hole]);
});

test('coordinate strings: unpaired numbers, too few vertices and words are refused with a reason', () => {
  assert.throws(() => parseCoordinateString('1,2,3,4,5,6,7'), /不成对/);
  assert.throws(() => parseCoordinateString('1,2;3,4;1,2'), /少于 3 个/);
  assert.throws(() => parseCoordinateString('1,2;三,4;5,6'), /应为两个数/);
});

test('a coordinate cell of one position is a point; anything longer stays rings', () => {
  assert.deepEqual(parseCoordinateCell('117.8051234567891,36.70598765432109'), {
    point: [117.8051234567891, 36.70598765432109],
  });
  assert.deepEqual(parseCoordinateCell(' 117.8 36.7 '), { point: [117.8, 36.7] });
  assert.deepEqual(parseCoordinateCell('１１７.８，３６.７'), { point: [117.8, 36.7] });
  assert.deepEqual(parseCoordinateCell('0,0;1,0;1,1'), {
    rings: [
      [
        [0, 0],
        [1, 0],
        [1, 1],
      ],
    ],
  });
  // A labelled point (J1,x,y) or one point followed by a separator is no point, and no ring.
  assert.throws(() => parseCoordinateCell('J1,1,2'), /不成对/);
  assert.throws(() => parseCoordinateCell('1,2;'), /少于 3 个/);
});

test('coordinate strings as the Excel export writes them: every double exactly, rings by |, points as x,y', () => {
  // Hand-written expectations: closed rings, outer then holes then the next part.
  const outer = [
    [0.1, 0.2],
    [3.0000000000000004, 0.2],
    [3.0000000000000004, 2],
    [0.1, 0.2],
  ] as [number, number][];
  const hole = [
    [1, 0.5],
    [1.5, 1],
    [2, 0.5],
  ] as [number, number][];
  const island = [
    [117.80000000000001, -36.70000000000001],
    [117.9, -36.70000000000001],
    [117.9, -36.6],
  ] as [number, number][];
  const multi = { type: 'MultiPolygon' as const, coordinates: [[outer, hole], [island]] };
  const text = formatCoordinateString(multi);
  assert.equal(
    text,
    '0.1,0.2;3.0000000000000004,0.2;3.0000000000000004,2;0.1,0.2|1,0.5;1.5,1;2,0.5;1,0.5|' +
      '117.80000000000001,-36.70000000000001;117.9,-36.70000000000001;117.9,-36.6;117.80000000000001,-36.70000000000001',
  );
  const back = parseCoordinateCell(text);
  assert.ok('rings' in back);
  assert.deepEqual(back.rings, [outer, [...hole, hole[0]!], [...island, island[0]!]]);
  assert.equal(formatCoordinateString({ type: 'Point', coordinates: [117.8, 1e-7] }), '117.8,1e-7');
  assert.deepEqual(parseCoordinateCell('117.8,1e-7'), { point: [117.8, 1e-7] });
});

test('coordinate values: thousands separators, full-width digits, 度分秒 and hemispheres', () => {
  assert.equal(parseCoordinateValue('39,571,050.5'), 39571050.5);
  assert.equal(parseCoordinateValue(' ３９５７１０５０ '), 39571050);
  assert.equal(parseCoordinateValue(4063050.25), 4063050.25);
  assert.equal(parseCoordinateValue('117°48′30″'), 117 + 48 / 60 + 30 / 3600);
  assert.equal(parseCoordinateValue('36度41分51.6秒'), 36 + 41 / 60 + 51.6 / 3600);
  assert.equal(parseCoordinateValue("70°30'W"), -70.5);
  assert.equal(parseCoordinateValue('北郊镇'), null);
  assert.equal(parseCoordinateValue(''), null);
  assert.equal(parseCoordinateValue(null), null);
});

test('coordinate columns: centre pairs (with units), coordinate strings, degrees', () => {
  assert.deepEqual(findCoordinateColumns(['监测编号', '中心点X（米）', '中心点Y（米）']), {
    centre: { x: 1, y: 2, lonLat: false },
  });
  assert.deepEqual(findCoordinateColumns(['JCBH', 'ZXDX', 'ZXDY', '界址点坐标']), {
    ring: 3,
    centre: { x: 1, y: 2, lonLat: false },
  });
  assert.deepEqual(findCoordinateColumns(['名称', '纬度', '经度']), { centre: { x: 2, y: 1, lonLat: true } });
  assert.deepEqual(findCoordinateColumns(['监测编号', '面积']), {});
});

const file = '图斑.csv';

test('axis order and CRS from the values: zone-prefixed eastings and degrees, either way round', () => {
  const normal = decideAxes([{ row: 2, x: 39571050, y: 4063050 }], { preferSurveyor: true, file });
  assert.deepEqual([normal.swapped, normal.crs.code], [false, 'EPSG:4527']);
  assert.match(normal.notes.join(''), /带号判定为 EPSG:4527/);
  const surveyor = decideAxes([{ row: 2, x: 4063050, y: 39571050 }], { preferSurveyor: true, file });
  assert.deepEqual([surveyor.swapped, surveyor.crs.code], [true, 'EPSG:4527']);
  assert.match(surveyor.notes.join(''), /X 为北坐标/);
  const zone20 = decideAxes([{ row: 2, x: 4063050, y: 20571050 }], { preferSurveyor: true, file });
  assert.deepEqual([zone20.swapped, zone20.crs.code], [true, 'EPSG:4498']);
  const degrees = decideAxes([{ row: 2, x: 117.8, y: 36.7 }], { preferSurveyor: false, file });
  assert.deepEqual([degrees.swapped, degrees.crs.code], [false, 'EPSG:4490']);
  const latFirst = decideAxes([{ row: 2, x: 36.7, y: 117.8 }], { preferSurveyor: false, file });
  assert.deepEqual([latFirst.swapped, latFirst.crs.code], [true, 'EPSG:4490']);
});

test('axis order with --crs; a tie in the South China Sea goes to the column names’ convention', () => {
  const given = decideAxes([{ row: 2, x: 4063050, y: 571050 }], {
    crs: 'EPSG:4548',
    preferSurveyor: true,
    file,
  });
  assert.deepEqual([given.swapped, given.crs.code], [true, 'EPSG:4548']);
  // Northing 600 km, easting 500 km: both readings land near 5°N, 117°E.
  const tie = [{ row: 2, x: 600000, y: 500000 }];
  assert.equal(decideAxes(tie, { crs: 'EPSG:4548', preferSurveyor: true, file }).swapped, true);
  const lonLat = decideAxes(tie, { crs: 'EPSG:4548', preferSurveyor: false, file });
  assert.equal(lonLat.swapped, false);
  assert.match(lonLat.notes.join(''), /两种轴序/);
});

test('axis order: refuses 6-digit eastings without --crs, mixed zones, and positions outside China', () => {
  assert.throws(
    () => decideAxes([{ row: 2, x: 4063050, y: 571050 }], { preferSurveyor: true, file }),
    refusedWith('crs_missing', /--crs EPSG:4548/),
  );
  assert.throws(
    () =>
      decideAxes(
        [
          { row: 2, x: 39571050, y: 4063050 },
          { row: 3, x: 40571050, y: 4063050 },
        ],
        { preferSurveyor: true, file },
      ),
    refusedWith('table_crs_mixed', /EPSG:4527、EPSG:4528/),
  );
  assert.throws(
    () => decideAxes([{ row: 7, x: 1000, y: 2000 }], { preferSurveyor: true, file }),
    refusedWith(
      'coords_outside_china',
      /第 7 行.*无论按 X 为东坐标、还是按测绘习惯 X 为北坐标解读，都不在中国境内/,
    ),
  );
  assert.throws(
    () => decideAxes([{ row: 2, x: 39571050, y: 4063050 }], { preferSurveyor: true, swapXY: true, file }),
    refusedWith('coords_outside_china', /--swap-xy/),
  );
  assert.throws(
    () => decideAxes([{ row: 2, x: 39571050, y: 4063050 }], { crs: 'EPSG:4548', preferSurveyor: true, file }),
    refusedWith('coords_outside_china', /按 EPSG:4548 换算后/),
  );
});

test('CSV: GBK or UTF-8 detected, title row skipped, tabs, bad rows kept as refusable features', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'weipian-table-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const text = [
    '周村区2017年卫片图斑（只有中心点）',
    '监测编号\t备注\t中心点X\t中心点Y',
    '3703062017001\t北郊镇“设施农用地”\t4063050\t39571050',
    '3703062017002\t南郊镇\t四百万\t39572030',
    '3703062017003\t王村镇\t\t',
    '',
  ].join('\r\n');
  for (const [name, bytes, enc] of [
    ['gbk.csv', iconv.encode(text, 'gbk'), 'gbk'],
    ['utf8.csv', Buffer.from(text, 'utf8'), 'utf-8'],
  ] as const) {
    const f = path.join(dir, name);
    await writeFile(f, bytes);
    const src = await openTable(f, 'csv');
    assert.deepEqual(
      [src.encoding.encoding, src.encoding.source, src.crs?.code, src.axisResolved],
      [enc, 'detected', 'EPSG:4527', true],
    );
    assert.deepEqual(
      src.fields.map((x) => x.name),
      ['监测编号', '备注', '中心点X', '中心点Y'],
    );
    const [a, b, c] = await all(src);
    assert.deepEqual(a!.geometry, { type: 'Point', coordinates: [39571050, 4063050] });
    assert.equal(a!.attributes.备注, '北郊镇“设施农用地”');
    assert.equal(a!.attributes.中心点X, '4063050', 'delivered text kept as text');
    assert.equal(b!.geometry, null);
    assert.match(b!.problem!, /第 4 行的中心点坐标（四百万, 39572030）不是数值/);
    assert.equal(c!.geometry, null);
    assert.match(c!.problem!, /第 5 行没有坐标/);
  }
});

test('CSV: refuses duplicate headers, tables without coordinate columns, and polygons-only use of centres', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'weipian-table-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const dup = path.join(dir, 'dup.csv');
  await writeFile(dup, '监测编号,X,Y,监测编号\n1,39571050,4063050,2\n');
  await assert.rejects(
    openTable(dup, 'csv'),
    refusedWith('table_invalid', /“监测编号”重复（第 1 列和第 4 列）/),
  );
  const none = path.join(dir, 'none.csv');
  await writeFile(none, '监测编号,面积\n1,2\n');
  await assert.rejects(openTable(none, 'csv'), refusedWith('table_no_coordinates', /表头：监测编号、面积/));
  const centres = path.join(dir, 'centres.csv');
  await writeFile(centres, 'X,Y\n39571050,4063050\n');
  await assert.rejects(
    openTable(centres, 'csv', { geometry: 'polygon' }),
    refusedWith('geometry_not_polygon'),
  );
});

test('CSV: a coordinate string in either axis order nests holes by containment, not by direction', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'weipian-table-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'rings.csv');
  // Both rings clockwise in the (northing, easting) order written: orientation says nothing.
  const outer = '4063000,39571000;4063100,39571000;4063100,39571100;4063000,39571100';
  const hole = '4063020,39571020;4063040,39571020;4063040,39571040;4063020,39571040';
  await writeFile(f, `监测编号,拐点坐标\n1,"${outer}|${hole}"\n`);
  const src = await openTable(f, 'csv');
  const [feature] = await all(src);
  const g = feature!.geometry;
  assert.equal(g?.type, 'Polygon');
  const rings = g?.type === 'Polygon' ? g.coordinates : [];
  assert.equal(rings.length, 2, 'one outer ring with one hole');
  assert.deepEqual(rings[0]![0], [39571000, 4063000]);
  assert.ok(rings[1]!.every(([x]) => x >= 39571020 && x <= 39571040));
});

test('Excel: the sheet with coordinates is found; several need --layer; rich text and formulas read', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'weipian-xlsx-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet('封面').addRow(['周村区卫片图斑']);
  const a = wb.addWorksheet('北郊镇');
  a.addRow(['监测编号', '备注', '经度', '纬度']);
  a.addRow([
    '3703062017001',
    { richText: [{ text: '北郊镇' }, { text: '东侧厂房' }] },
    '117°47′41.3″',
    36.6953,
  ]);
  const b = wb.addWorksheet('南郊镇');
  b.addRow(['监测编号', '备注', '经度', '纬度']);
  b.addRow(['3703062017002', { formula: '"南郊"&"镇"', result: '南郊镇' }, 117.81, 36.69]);
  const f = path.join(dir, 'two.xlsx');
  await wb.xlsx.writeFile(f);
  await assert.rejects(openTable(f, 'xlsx'), refusedWith('source_ambiguous', /北郊镇、南郊镇/));
  await assert.rejects(
    openTable(f, 'xlsx', { layer: '王村镇' }),
    refusedWith('source_layer_not_found', /封面、北郊镇、南郊镇/),
  );
  const north = await openTable(f, 'xlsx', { layer: '北郊镇' });
  assert.deepEqual([north.layer, north.crs?.code], ['北郊镇', 'EPSG:4490']);
  const [n] = await all(north);
  assert.equal(n!.attributes.备注, '北郊镇东侧厂房');
  const p: [number, number] = n!.geometry?.type === 'Point' ? n!.geometry.coordinates : [0, 0];
  assert.ok(Math.abs(p[0] - (117 + 47 / 60 + 41.3 / 3600)) < 1e-12 && p[1] === 36.6953);
  const south = await openTable(f, 'xlsx', { layer: '南郊镇' });
  assert.equal((await all(south))[0]!.attributes.备注, '南郊镇');
});
