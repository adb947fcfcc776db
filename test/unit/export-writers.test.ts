// The export writers without a database: the .prj GDAL writes for every registry CRS, ring
// orientation in the .shp bytes, DBF column naming, and GDAL complaints failing the export.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { listCrs, getCrs, CGCS2000 } from '../../src/geo/crs.ts';
import { crsFromPrj } from '../../src/geo/prj.ts';
import { FIELDS } from '../../src/domain/fields.ts';
import {
  buildExportTable,
  nameColumns,
  columnTitle,
  type ExportColumn,
  type ExportTable,
} from '../../src/formats/export-table.ts';
import { writeShapefiles, LDID_GBK } from '../../src/formats/shapefile-writer.ts';
import { ogrWrite } from '../../src/formats/gdal-write.ts';
import { displayWidth } from '../../src/formats/xlsx.ts';
import { isWeipianError } from '../../src/domain/errors.ts';

const dictionaryColumns = (): ExportColumn[] => buildExportTable([], { batchSlug: 'x' }).columns;

/** A table of the dictionary columns (all null but jcbh) plus extra delivered columns. */
function table(
  records: { jcbh: string; geometry: { type: string; coordinates: unknown }; extra?: unknown[] }[],
  extra: ExportColumn[] = [],
): ExportTable {
  const columns = [...dictionaryColumns(), ...extra];
  return {
    columns,
    warnings: [],
    records: records.map((r, i) => ({
      id: i + 1,
      jcbh: r.jcbh,
      geometry: r.geometry,
      values: [
        ...columns.slice(0, FIELDS.length).map((c) => (c.field?.id === 'jcbh' ? r.jcbh : null)),
        ...((r.extra ?? []) as never[]),
      ],
    })),
  };
}

const delivered = (name: string, kind: ExportColumn['kind'] = 'string'): ExportColumn => ({
  field: null,
  delivered: name,
  kind,
  width: 0,
  decimals: kind === 'real' ? 2 : 0,
});

/** Parts of every polygon record of a .shp, as rings of [x, y]. */
function shpRings(shp: Uint8Array): [number, number][][][] {
  const b = Buffer.from(shp);
  const out: [number, number][][][] = [];
  for (let o = 100; o < b.length;) {
    const len = b.readInt32BE(o + 4) * 2;
    const c = o + 8;
    if (b.readInt32LE(c) === 5) {
      const parts = b.readInt32LE(c + 36);
      const points = b.readInt32LE(c + 40);
      const starts = Array.from({ length: parts }, (_, p) => b.readInt32LE(c + 44 + 4 * p));
      const at = c + 44 + 4 * parts;
      out.push(
        starts.map((s, p) =>
          Array.from({ length: (starts[p + 1] ?? points) - s }, (_, k): [number, number] => [
            b.readDoubleLE(at + 16 * (s + k)),
            b.readDoubleLE(at + 16 * (s + k) + 8),
          ]),
        ),
      );
    }
    o = c + len;
  }
  return out;
}

function signedArea(ring: [number, number][]): number {
  let s = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++)
    s += (ring[j]![0] - ring[i]![0]) * (ring[j]![1] + ring[i]![1]);
  return s / 2;
}

describe('export writers', () => {
  it('GDAL writes an ESRI .prj that crsFromPrj reads back as the same CRS, for every registry CRS', async () => {
    const empty = buildExportTable([], { batchSlug: 'x' });
    const wrong: string[] = [];
    for (const def of listCrs()) {
      const { sets } = await writeShapefiles(empty, { encoding: 'gbk', crs: def });
      const prj = new TextDecoder().decode(sets[0]!.files.get('prj'));
      assert.doesNotMatch(prj, /AUTHORITY|TOWGS84/, 'ESRI form');
      const back = crsFromPrj(prj);
      if (back.code !== def.code) wrong.push(`${def.code} → ${back.code}`);
    }
    assert.deepEqual(wrong, []);
    assert.ok(listCrs().length > 190);
  });

  it('writes outer rings clockwise and holes counter-clockwise, as the Shapefile spec requires', async () => {
    // RFC 7946 orientation in (outer CCW, hole CW): GDAL must turn both around.
    const outer: [number, number][] = [
      [117.8, 36.7],
      [117.81, 36.7],
      [117.81, 36.71],
      [117.8, 36.71],
      [117.8, 36.7],
    ];
    const hole: [number, number][] = [
      [117.802, 36.702],
      [117.802, 36.704],
      [117.804, 36.704],
      [117.804, 36.702],
      [117.802, 36.702],
    ];
    assert.ok(signedArea(outer) > 0 && signedArea(hole) < 0);
    const { sets } = await writeShapefiles(
      table([{ jcbh: 'R1', geometry: { type: 'Polygon', coordinates: [outer, hole] } }]),
      { encoding: 'gbk', crs: CGCS2000 },
    );
    const [rings] = shpRings(sets[0]!.files.get('shp')!);
    assert.equal(rings!.length, 2);
    assert.ok(signedArea(rings![0]!) < 0, 'outer ring clockwise');
    assert.ok(signedArea(rings![1]!) > 0, 'hole counter-clockwise');
    assert.deepEqual(new Set(rings![0]!.map((p) => p.join())), new Set(outer.map((p) => p.join())));
    const dbf = sets[0]!.files.get('dbf')!;
    assert.equal(dbf[29], LDID_GBK);
    assert.equal(new TextDecoder().decode(sets[0]!.files.get('cpg')), '936');
  });

  it('names DBF columns within 10 bytes in the chosen encoding, renaming clashes and long names', async () => {
    const extra = [
      delivered('监测面积（亩）', 'real'), // 14 bytes in GBK, 21 in UTF-8
      delivered('ZONE_AL_M2'), // a 10-byte dictionary alias
      delivered('jcbh'), // clashes case-insensitively with JCBH
      delivered('地块名称'), // 8 bytes in GBK, 12 in UTF-8
    ];
    const t = table(
      [{ jcbh: 'N1', geometry: { type: 'Point', coordinates: [117.8, 36.7] }, extra: [1.5, 'a', 'b', '东'] }],
      extra,
    );
    const gbk = await writeShapefiles(t, { encoding: 'gbk', crs: CGCS2000 });
    assert.deepEqual(gbk.fieldNames.slice(FIELDS.length), ['监测面积（', 'ZONE_AL__1', 'jcbh_1', '地块名称']);
    assert.deepEqual(
      gbk.renamed.map((r) => [r.from, r.to, r.reason]),
      [
        ['监测面积（亩）', '监测面积（', 'too_long'],
        ['ZONE_AL_M2', 'ZONE_AL__1', 'clash'],
        ['jcbh', 'jcbh_1', 'clash'],
      ],
    );
    const utf8 = await writeShapefiles(t, { encoding: 'utf-8', crs: CGCS2000 });
    assert.deepEqual(utf8.fieldNames.slice(FIELDS.length), ['监测面', 'ZONE_AL__1', 'jcbh_1', '地块名']);
    for (const n of utf8.fieldNames) assert.ok(Buffer.byteLength(n) <= 10, n);
    // Only point patches: the set is the _point one, with a Point .shp (shape type 1).
    assert.deepEqual(
      utf8.sets.map((s) => s.suffix),
      ['_point'],
    );
    assert.equal(Buffer.from(utf8.sets[0]!.files.get('shp')!).readInt32LE(32), 1);
  });

  it('nameColumns keeps dictionary names and suffixes delivered ones until unique', () => {
    const cols = [
      ...dictionaryColumns(),
      delivered('备注'),
      delivered('Note'),
      delivered('NOTE'),
      delivered(''),
    ];
    const { names, renamed } = nameColumns(cols, {
      dictionaryName: columnTitle,
      fits: (n) => n.trim() !== '',
      shorten: (n) => n.trim(),
    });
    assert.equal(names[0], '监测编号');
    assert.deepEqual(names.slice(FIELDS.length), ['备注_1', 'Note', 'NOTE_1', 'F']);
    assert.deepEqual(
      renamed.map((r) => r.reason),
      ['clash', 'clash', 'invalid'],
    );
  });

  it('titles and widths for people: 耕地面积 told apart, CJK counted double', () => {
    const title = (id: string) => columnTitle(FIELDS.find((f) => f.id === id)!);
    assert.equal(title('gdmj'), '耕地面积（下发，平方米）');
    assert.equal(title('farmland_m2'), '耕地面积（平方米）');
    assert.equal(title('jcbh'), '监测编号');
    assert.equal(displayWidth('备注ab'), 6);
    assert.equal(displayWidth('（，）'), 6);
  });

  it('fails the export when GDAL reports a problem (a number too wide) instead of writing a degraded file', async () => {
    await assert.rejects(
      ogrWrite('ESRI Shapefile', [
        {
          name: 't',
          geometryType: 'POINT',
          srs: getCrs('EPSG:4490').code,
          fields: [{ name: 'N', kind: 'real', width: 3, precision: 1 }],
          features: [{ geometry: { type: 'Point', coordinates: [117.8, 36.7] }, values: [123456.5] }],
          layerOptions: ['ENCODING=UTF-8'],
        },
      ]),
      (e: unknown) => {
        assert.ok(isWeipianError(e));
        assert.equal(e.code, 'export_gdal_failed');
        assert.match(
          e.message,
          /^GDAL 写出 ESRI Shapefile 失败：Warning 1: Value 123456\.5\d* of field N .*not successfully written/,
        );
        return true;
      },
    );
  });
});
