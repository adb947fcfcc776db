import assert from 'node:assert/strict';
import { open, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { Areal, Position, Ring } from '../../src/geo/geometry.ts';
import { assemblePolygon, openShapefile, type ShapefileFeature } from '../../src/formats/shapefile.ts';
import { resolveShapefileInput } from '../../src/formats/source.ts';
import { rect, rectCw, samplePatches, skipWithoutOgr, writeShapefile } from '../helpers/ogr.ts';
import { tmpDir } from '../helpers/tmp.ts';

function rejectsWith(code: string, check?: (e: { message: string; details?: unknown }) => void) {
  return (e: unknown) => {
    assert.ok(isWeipianError(e), `expected WeipianError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, /[\u4e00-\u9fff]/, 'message is in Chinese');
    check?.(e);
    return true;
  };
}

function signedArea(ring: Ring): number {
  let s = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[j] as Position;
    const b = ring[i] as Position;
    s += (a[0] - b[0]) * (a[1] + b[1]);
  }
  return s / 2;
}

/** A ring as a comparable key: open, rotated to its smallest vertex, counter-clockwise. */
function ringKey(ring: Ring): string {
  let r = ring.slice(0, -1);
  if (signedArea(ring) < 0) r = r.reverse();
  let k = 0;
  r.forEach((p, i) => {
    const q = r[k] as Position;
    if (p[0] < q[0] || (p[0] === q[0] && p[1] < q[1])) k = i;
  });
  return JSON.stringify([...r.slice(k), ...r.slice(0, k)]);
}

function shapeKey(g: Areal | { type: string; coordinates: unknown } | null): unknown {
  if (!g) return null;
  const polys = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as Ring[][];
  return { type: g.type, polys: polys.map((p) => p.map(ringKey)) };
}

/** RFC 7946: outer rings counter-clockwise, holes clockwise. */
function assertRfcOrientation(g: Areal): void {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const p of polys)
    p.forEach((ring, i) => assert.equal(signedArea(ring) > 0, i === 0, `ring ${i} orientation`));
}

async function readAll(shp: string): Promise<ShapefileFeature[]> {
  const out: ShapefileFeature[] = [];
  for await (const f of (await openShapefile(shp)).features()) out.push(f);
  return out;
}

async function patch(file: string, at: number, bytes: number[] | Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.from(bytes);
    await fh.write(b, 0, b.length, at);
  } finally {
    await fh.close();
  }
}

describe('ring assembly', () => {
  // Shapefile order: outer rings clockwise, holes counter-clockwise.
  const cw = (x0: number, y0: number, x1: number, y1: number) => rectCw(x0, y0, x1, y1);
  const ccw = (x0: number, y0: number, x1: number, y1: number) => rect(x0, y0, x1, y1);

  test('a hole listed after another outer ring goes to the outer that contains it', () => {
    const g = assemblePolygon([cw(0, 0, 10, 10), cw(20, 0, 30, 10), ccw(2, 2, 4, 4), ccw(22, 2, 24, 4)]);
    assert.deepEqual(
      shapeKey(g),
      shapeKey({
        type: 'MultiPolygon',
        coordinates: [
          [rect(0, 0, 10, 10), rect(2, 2, 4, 4)],
          [rect(20, 0, 30, 10), rect(22, 2, 24, 4)],
        ],
      }),
    );
    assertRfcOrientation(g as Areal);
  });

  test('an island inside a hole is its own polygon, and its hole goes to it, not to the big outer', () => {
    const g = assemblePolygon([
      cw(0, 0, 100, 100),
      ccw(10, 10, 90, 90),
      cw(20, 20, 80, 80),
      ccw(40, 40, 60, 60),
    ]);
    assert.equal(g?.type, 'MultiPolygon');
    assert.deepEqual(
      shapeKey(g),
      shapeKey({
        type: 'MultiPolygon',
        coordinates: [
          [rect(0, 0, 100, 100), rect(10, 10, 90, 90)],
          [rect(20, 20, 80, 80), rect(40, 40, 60, 60)],
        ],
      }),
    );
  });

  test('a hole inside no outer ring becomes an outer ring', () => {
    const g = assemblePolygon([cw(0, 0, 10, 10), ccw(50, 50, 60, 60)]);
    assert.equal(g?.type, 'MultiPolygon');
    assert.equal((g as { coordinates: unknown[] }).coordinates.length, 2);
  });

  test('all rings counter-clockwise (writer ignored the rule): organised by nesting', () => {
    const g = assemblePolygon([ccw(0, 0, 10, 10), ccw(2, 2, 4, 4)]);
    assert.deepEqual(
      shapeKey(g),
      shapeKey({ type: 'Polygon', coordinates: [rect(0, 0, 10, 10), rect(2, 2, 4, 4)] }),
    );
    assertRfcOrientation(g as Areal);
  });

  test('unclosed rings are closed; degenerate rings are dropped', () => {
    const open = cw(0, 0, 10, 10).slice(0, -1);
    const g = assemblePolygon([
      open,
      [
        [5, 5],
        [6, 6],
        [5, 5],
      ],
    ]);
    assert.equal(g?.type, 'Polygon');
    assert.equal((g as { coordinates: Ring[] }).coordinates.length, 1);
    assert.equal((g as { coordinates: Ring[] }).coordinates[0]?.length, 5);
    assert.equal(assemblePolygon([]), null);
  });

  test('a bowtie ring (zero signed area) is kept for validation, not dropped', () => {
    const bowtie: Ring = [
      [0, 0],
      [50, 40],
      [50, 0],
      [0, 40],
      [0, 0],
    ];
    const g = assemblePolygon([bowtie]);
    assert.equal(g?.type, 'Polygon');
    assert.equal((g as { coordinates: Ring[] }).coordinates[0]?.length, 5);
  });
});

describe('reading GDAL-written polygons', { skip: skipWithoutOgr() }, () => {
  const features = samplePatches();

  test('header, fields, CRS and record count', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'] });
    const src = await openShapefile(files.shp);
    assert.equal(src.path, files.shp);
    assert.equal(src.shapeType, 5);
    assert.equal(src.shapeTypeName, 'Polygon');
    assert.equal(src.featureCount, 4);
    assert.deepEqual(
      src.fields.map((f) => [f.name, f.type]),
      [
        ['JCBH', 'C'],
        ['XZQDM', 'C'],
        ['XZQMC', 'C'],
        ['TBLX', 'C'],
        ['JCMJ', 'N'],
        ['QSX', 'D'],
        ['HSX', 'D'],
        ['备注', 'C'],
      ],
    );
    assert.match(src.prj ?? '', /CGCS2000/);
    assert.match(src.prj ?? '', /Zone_39|zone 39|3_Degree_GK_Zone_39/i);
    assert.deepEqual(src.bbox, { minx: 39571000, miny: 4065000, maxx: 39588050, maxy: 4078010 });
  });

  test('polygon with a hole, multipolygon with holes, null geometry', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'] });
    const got = await readAll(files.shp);
    assert.deepEqual(
      got.map((f) => f.index),
      [0, 1, 2, 3],
    );
    got.forEach((f, i) =>
      assert.deepEqual(shapeKey(f.geometry), shapeKey(features[i]?.geometry ?? null), `#${i}`),
    );
    assert.equal(got[0]?.geometry?.type, 'Polygon');
    assert.equal(got[1]?.geometry?.type, 'MultiPolygon');
    assert.equal(got[2]?.geometry, null);
    assert.equal(got[2]?.attributes.XZQMC, '周村区王村镇', 'a null shape keeps its attributes');
    for (const f of got) if (f.geometry) assertRfcOrientation(f.geometry);
  });

  test('attribute types: numbers, UTC dates, trimmed strings, null', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'] });
    const [a, b, c] = await readAll(files.shp);
    assert.equal(a?.attributes.JCMJ, 4400);
    assert.equal(b?.attributes.JCMJ, 1234.56);
    assert.equal(c?.attributes.JCMJ, null);
    assert.deepEqual(a?.attributes.QSX, new Date(Date.UTC(2016, 9, 15)));
    assert.equal((a?.attributes.HSX as Date).toISOString(), '2017-04-20T00:00:00.000Z');
    assert.equal(c?.attributes.HSX, null);
    assert.equal(c?.attributes.备注, null);
    assert.equal(a?.attributes.JCBH, '3703062017001');
    assert.equal(a?.attributes.XZQDM, '370306101');
    assert.equal(a?.attributes.备注, '北郊镇东侧厂房，疑似未批先建');
  });

  test('features() can be read again and stopped early', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features);
    const src = await openShapefile(files.shp);
    for await (const f of src.features()) {
      assert.equal(f.index, 0);
      break;
    }
    let n = 0;
    for await (const _ of src.features()) n++;
    assert.equal(n, 4);
  });

  test('rows flagged deleted in the .dbf are skipped', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features);
    const fh = await open(files.dbf, 'r');
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    await fh.close();
    const headerBytes = head.readUInt16LE(8);
    const recordBytes = head.readUInt16LE(10);
    await patch(files.dbf, headerBytes + 1 * recordBytes, [0x2a]);
    assert.deepEqual(
      (await readAll(files.shp)).map((f) => f.index),
      [0, 2, 3],
    );
  });

  test('upper-case .SHP/.SHX/.DBF/.PRJ/.CPG names work', async (t) => {
    const dir = await tmpDir(t);
    const files = await writeShapefile(dir, features, { name: 'TB', lco: ['ENCODING=CP936'] });
    for (const f of await readdir(dir))
      await rename(
        path.join(dir, f),
        path.join(
          dir,
          f.replace(/\.\w+$/, (e) => e.toUpperCase()),
        ),
      );
    const shp = path.join(dir, 'TB.SHP');
    const src = await openShapefile(shp);
    assert.equal(src.encoding.source, 'cpg');
    assert.ok(src.prj);
    assert.equal((await readAll(shp))[0]?.attributes.XZQMC, '周村区北郊镇');
    assert.ok(files.shp.endsWith('TB.shp'));
  });
});

describe('refusals', { skip: skipWithoutOgr() }, () => {
  const features = samplePatches();
  const build = async (t: Parameters<typeof tmpDir>[0], opts = {}) =>
    writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'], ...opts });

  test('truncated .shp → shp_truncated with expected and actual sizes', async (t) => {
    const files = await build(t);
    const size = (await stat(files.shp)).size;
    await truncate(files.shp, size - 37);
    await assert.rejects(
      openShapefile(files.shp),
      rejectsWith('shp_truncated', (e) =>
        assert.deepEqual(e.details, { file: files.shp, expected: size, actual: size - 37 }),
      ),
    );
  });

  test('.shp whose header length was patched to match a cut-off last record → shp_truncated', async (t) => {
    const files = await build(t);
    const size = (await stat(files.shp)).size;
    await truncate(files.shp, size - 40);
    const words = Buffer.alloc(4);
    words.writeInt32BE((size - 40) / 2);
    await patch(files.shp, 24, words);
    await assert.rejects(openShapefile(files.shp), rejectsWith('shp_truncated'));
  });

  test('missing .shx → shp_missing_shx', async (t) => {
    const files = await build(t);
    await rm(files.shx);
    await assert.rejects(openShapefile(files.shp), rejectsWith('shp_missing_shx'));
  });

  test('missing .dbf → shp_missing_dbf', async (t) => {
    const files = await build(t);
    await rm(files.dbf);
    await assert.rejects(openShapefile(files.shp), rejectsWith('shp_missing_dbf'));
  });

  test('.dbf header record count smaller than .shx → shp_dbf_count_mismatch', async (t) => {
    const files = await build(t);
    const n = Buffer.alloc(4);
    n.writeUInt32LE(3);
    await patch(files.dbf, 4, n);
    await assert.rejects(
      openShapefile(files.shp),
      rejectsWith('shp_dbf_count_mismatch', (e) => {
        const d = e.details as { expected: number; actual: number };
        assert.deepEqual([d.expected, d.actual], [4, 3]);
      }),
    );
  });

  test('truncated .dbf → dbf_truncated', async (t) => {
    const files = await build(t);
    await truncate(files.dbf, (await stat(files.dbf)).size - 100);
    await assert.rejects(openShapefile(files.shp), rejectsWith('dbf_truncated'));
  });

  test('record length in .shp disagreeing with .shx → shp_record_invalid when read', async (t) => {
    const files = await build(t);
    // The first record header follows the 100-byte file header: patch its content length.
    await patch(files.shp, 104, [0, 0, 0, 3]);
    const src = await openShapefile(files.shp);
    await assert.rejects(async () => {
      for await (const _ of src.features());
    }, rejectsWith('shp_record_invalid'));
  });

  test('non-date text in a D field → dbf_invalid_value naming field and record', async (t) => {
    const files = await build(t);
    const src = await openShapefile(files.shp);
    const fh = await open(files.dbf, 'r');
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    await fh.close();
    // QSX is the sixth field: 1 flag byte + widths of the five before it.
    const offset = 1 + src.fields.slice(0, 5).reduce((s, f) => s + f.length, 0);
    await patch(files.dbf, head.readUInt16LE(8) + offset, Buffer.from('2017023X'));
    await assert.rejects(
      async () => {
        for await (const _ of src.features());
      },
      rejectsWith('dbf_invalid_value', (e) => assert.equal((e.details as { field: string }).field, 'QSX')),
    );
  });

  test('a points file → geometry_not_polygon naming the type', async (t) => {
    const pts = features.map((f, i) => ({
      properties: f.properties,
      geometry: { type: 'Point' as const, coordinates: [39571000 + i * 100, 4071000] },
    }));
    const files = await writeShapefile(await tmpDir(t), pts, { nlt: 'POINT', lco: ['ENCODING=CP936'] });
    await assert.rejects(
      openShapefile(files.shp),
      rejectsWith('geometry_not_polygon', (e) => assert.match(e.message, /点图层.*Point/)),
    );
  });

  test('a polyline file → geometry_not_polygon', async (t) => {
    const lines = [
      {
        properties: { TBLX: '农村道路' },
        geometry: {
          type: 'LineString' as const,
          coordinates: [
            [39571000, 4071000],
            [39571500, 4071200],
          ],
        },
      },
    ];
    const files = await writeShapefile(await tmpDir(t), lines, { nlt: 'LINESTRING' });
    await assert.rejects(
      openShapefile(files.shp),
      rejectsWith('geometry_not_polygon', (e) => assert.match(e.message, /线图层/)),
    );
  });

  test('an empty (0-byte) .shp → shp_empty', async (t) => {
    const files = await build(t);
    await truncate(files.shp, 0);
    await assert.rejects(openShapefile(files.shp), rejectsWith('shp_empty'));
  });

  test('a .shp shorter than its header → shp_empty', async (t) => {
    const files = await build(t);
    await truncate(files.shp, 60);
    await assert.rejects(openShapefile(files.shp), rejectsWith('shp_empty'));
  });

  test('a text file named .shp → shp_not_shapefile (and file_type_mismatch via the input resolver)', async (t) => {
    const dir = await tmpDir(t);
    const shp = path.join(dir, '图斑.shp');
    await writeFile(shp, '监测编号,行政区代码\n3703062017001,370306101\n');
    await assert.rejects(openShapefile(shp), rejectsWith('shp_not_shapefile'));
    await assert.rejects(resolveShapefileInput(shp), rejectsWith('file_type_mismatch'));
  });

  test('a missing .shp → shp_not_found', async (t) => {
    await assert.rejects(openShapefile(path.join(await tmpDir(t), 'nope.shp')), rejectsWith('shp_not_found'));
  });
});
