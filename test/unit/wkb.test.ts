import { test } from 'node:test';
import assert from 'node:assert/strict';
import initGeosJs from 'geos-wasm';
import { decodeWkb, encodeWkb, wkbSize, writeWkb } from '../../src/geo/wkb.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { MultiPolygon, Polygon, Position } from '../../src/geo/geometry.ts';

const withHole: Polygon = {
  type: 'Polygon',
  coordinates: [
    [
      [117.8, 36.8],
      [117.81, 36.8],
      [117.81, 36.81],
      [117.8, 36.81],
      [117.8, 36.8],
    ],
    [
      [117.802, 36.802],
      [117.802, 36.804],
      [117.804, 36.804],
      [117.802, 36.802],
    ],
  ],
};

const multi: MultiPolygon = {
  type: 'MultiPolygon',
  coordinates: [
    withHole.coordinates,
    [
      [
        [39571000.125, 4074000.5],
        [39571100, 4074000],
        [39571100, 4074100],
        [39571000.125, 4074000.5],
      ],
    ],
  ],
};

function refusedWith(code: string) {
  return (e: unknown): boolean => {
    assert.ok(isWeipianError(e), `expected WeipianError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  };
}

/** Hand-built WKB: byte order, type word, then uint32 counts and float64 ordinates. */
function build(le: boolean, parts: ({ u8: number } | { u32: number } | { f64: number })[]): Uint8Array {
  const size = parts.reduce((n, p) => n + ('u8' in p ? 1 : 'u32' in p ? 4 : 8), 0);
  const view = new DataView(new ArrayBuffer(size));
  let o = 0;
  for (const p of parts) {
    if ('u8' in p) {
      view.setUint8(o, p.u8);
      o += 1;
    } else if ('u32' in p) {
      view.setUint32(o, p.u32, le);
      o += 4;
    } else {
      view.setFloat64(o, p.f64, le);
      o += 8;
    }
  }
  return new Uint8Array(view.buffer);
}
const pts = (coords: number[]): { f64: number }[] => coords.map((f64) => ({ f64 }));

test('round trip: polygon with hole, multipolygon', () => {
  assert.deepEqual(decodeWkb(encodeWkb(withHole)), withHole);
  assert.deepEqual(decodeWkb(encodeWkb(multi)), multi);
  assert.equal(encodeWkb(withHole).length, wkbSize(withHole));
  assert.equal(wkbSize(withHole), 9 + (4 + 5 * 16) + (4 + 4 * 16));
  assert.deepEqual(decodeWkb(encodeWkb({ type: 'Polygon', coordinates: [] })), {
    type: 'Polygon',
    coordinates: [],
  });
  assert.deepEqual(decodeWkb(encodeWkb({ type: 'MultiPolygon', coordinates: [] })), {
    type: 'MultiPolygon',
    coordinates: [],
  });
});

test('little-endian layout, unclosed rings closed on output', () => {
  const open: Polygon = {
    type: 'Polygon',
    coordinates: [
      [
        [0, 0],
        [1, 0],
        [1, 1],
      ],
    ],
  };
  const bytes = encodeWkb(open);
  assert.deepEqual([...bytes.subarray(0, 13)], [1, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0]);
  const back = decodeWkb(bytes) as Polygon;
  assert.deepEqual(back.coordinates[0], [...open.coordinates[0]!, [0, 0]]);
  // writeWkb at an offset inside a larger buffer (as into a WASM heap).
  const big = new Uint8Array(100 + wkbSize(open));
  assert.equal(writeWkb(open, big, 100), big.length);
  assert.deepEqual(big.subarray(100), bytes);
});

test('big-endian input (hand-built), and members of mixed byte order', () => {
  const ring = [0, 0, 10, 0, 10, 10, 0, 0];
  const be = build(false, [{ u8: 0 }, { u32: 3 }, { u32: 1 }, { u32: 4 }, ...pts(ring)]);
  assert.deepEqual(decodeWkb(be), {
    type: 'Polygon',
    coordinates: [
      [
        [0, 0],
        [10, 0],
        [10, 10],
        [0, 0],
      ],
    ],
  });
  const beMember = build(false, [{ u8: 0 }, { u32: 3 }, { u32: 1 }, { u32: 4 }, ...pts(ring)]);
  const leMember = build(true, [
    { u8: 1 },
    { u32: 3 },
    { u32: 1 },
    { u32: 4 },
    ...pts(ring.map((v) => v + 100)),
  ]);
  const head = build(false, [{ u8: 0 }, { u32: 6 }, { u32: 2 }]);
  const mixed = new Uint8Array([...head, ...beMember, ...leMember]);
  const g = decodeWkb(mixed) as MultiPolygon;
  assert.equal(g.type, 'MultiPolygon');
  assert.deepEqual(g.coordinates[1]![0]![1], [110, 100]);
});

test('Z and M ordinates dropped: ISO 1003/2003/3003, EWKB flags and SRID', () => {
  const xyz = [0, 0, 5, 1, 0, 5, 1, 1, 5, 0, 0, 5];
  const xyzm = [0, 0, 5, 7, 1, 0, 5, 7, 1, 1, 5, 7, 0, 0, 5, 7];
  const expected = {
    type: 'Polygon',
    coordinates: [
      [
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 0],
      ],
    ],
  };
  const cases = [
    build(true, [{ u8: 1 }, { u32: 1003 }, { u32: 1 }, { u32: 4 }, ...pts(xyz)]), // ISO Z
    build(true, [{ u8: 1 }, { u32: 2003 }, { u32: 1 }, { u32: 4 }, ...pts(xyz)]), // ISO M
    build(true, [{ u8: 1 }, { u32: 3003 }, { u32: 1 }, { u32: 4 }, ...pts(xyzm)]), // ISO ZM
    build(false, [{ u8: 0 }, { u32: 0x80000003 }, { u32: 1 }, { u32: 4 }, ...pts(xyz)]), // EWKB Z, big-endian
    build(true, [{ u8: 1 }, { u32: 0xe0000003 }, { u32: 4490 }, { u32: 1 }, { u32: 4 }, ...pts(xyzm)]), // EWKB ZM + SRID
    build(true, [
      { u8: 1 },
      { u32: 0x20000003 },
      { u32: 4490 },
      { u32: 1 },
      { u32: 4 },
      ...pts([0, 0, 1, 0, 1, 1, 0, 0]),
    ]),
  ];
  for (const bytes of cases) assert.deepEqual(decodeWkb(bytes), expected);
  // MultiPolygon Z whose member is Polygon Z.
  const mz = build(true, [
    { u8: 1 },
    { u32: 1006 },
    { u32: 1 },
    { u8: 1 },
    { u32: 1003 },
    { u32: 1 },
    { u32: 4 },
    ...pts(xyz),
  ]);
  assert.deepEqual(decodeWkb(mz), { type: 'MultiPolygon', coordinates: [expected.coordinates] });
});

test('other geometry types are refused as geometry_not_polygon', () => {
  const point = build(true, [{ u8: 1 }, { u32: 1 }, ...pts([117.8, 36.8])]);
  const line = build(true, [{ u8: 1 }, { u32: 2 }, { u32: 2 }, ...pts([0, 0, 1, 1])]);
  const pointZ = build(true, [{ u8: 1 }, { u32: 1001 }, ...pts([1, 2, 3])]);
  const collection = build(true, [{ u8: 1 }, { u32: 7 }, { u32: 0 }]);
  const multiLine = build(false, [{ u8: 0 }, { u32: 5 }, { u32: 0 }]);
  for (const bytes of [point, line, pointZ, collection, multiLine])
    assert.throws(() => decodeWkb(bytes), refusedWith('geometry_not_polygon'));
});

test('truncated, padded or corrupt buffers are refused as wkb_invalid', () => {
  const full = encodeWkb(multi);
  // Every strict prefix is refused, never misread.
  for (let n = 0; n < full.length; n++)
    assert.throws(() => decodeWkb(full.subarray(0, n)), refusedWith('wkb_invalid'), `prefix ${n}`);
  assert.throws(() => decodeWkb(new Uint8Array([...full, 0])), refusedWith('wkb_invalid'));
  const badOrder = full.slice();
  badOrder[0] = 7;
  assert.throws(() => decodeWkb(badOrder), refusedWith('wkb_invalid'));
  // A huge ring count must not allocate gigabytes before failing.
  const huge = build(true, [{ u8: 1 }, { u32: 3 }, { u32: 0xffffffff }]);
  assert.throws(() => decodeWkb(huge), refusedWith('wkb_invalid'));
  // A MultiPolygon member that is not a polygon.
  const badMember = build(true, [{ u8: 1 }, { u32: 6 }, { u32: 1 }, { u8: 1 }, { u32: 1 }, ...pts([0, 0])]);
  assert.throws(() => decodeWkb(badMember), refusedWith('wkb_invalid'));
});

test('Node Buffers and views with a byte offset are read in place', () => {
  const bytes = encodeWkb(withHole);
  assert.deepEqual(decodeWkb(Buffer.from(bytes)), withHole);
  const padded = Buffer.alloc(bytes.length + 13);
  padded.set(bytes, 13);
  assert.deepEqual(decodeWkb(padded.subarray(13)), withHole);
});

// The GEOS C API as far as this test uses it (geos-wasm's own typings are loose).
interface RawGeos {
  Module: {
    HEAPU8: Uint8Array;
    HEAP32: Int32Array;
    _malloc(n: number): number;
    _free(p: number): void;
    stringToUTF8(s: string, p: number, max: number): void;
    UTF8ToString(p: number): string;
  };
  GEOS_init_r(): number;
  GEOS_finish_r(ctx: number): void;
  GEOSWKTReader_create_r(ctx: number): number;
  GEOSWKTReader_read_r(ctx: number, r: number, wkt: number): number;
  GEOSWKTReader_destroy_r(ctx: number, r: number): void;
  GEOSWKTWriter_create_r(ctx: number): number;
  GEOSWKTWriter_setTrim_r(ctx: number, w: number, trim: number): void;
  GEOSWKTWriter_write_r(ctx: number, w: number, g: number): number;
  GEOSWKTWriter_destroy_r(ctx: number, w: number): void;
  GEOSWKBWriter_create_r(ctx: number): number;
  GEOSWKBWriter_setByteOrder_r(ctx: number, w: number, order: number): void;
  GEOSWKBWriter_write_r(ctx: number, w: number, g: number, size: number): number;
  GEOSWKBWriter_destroy_r(ctx: number, w: number): void;
  GEOSWKBReader_create_r(ctx: number): number;
  GEOSWKBReader_read_r(ctx: number, r: number, wkb: number, size: number): number;
  GEOSWKBReader_destroy_r(ctx: number, r: number): void;
  GEOSGeom_destroy_r(ctx: number, g: number): void;
  GEOSFree_r(ctx: number, p: number): void;
}

test("encoder bytes equal GEOS's own WKB writer; GEOS reads ours back", async () => {
  const geos = (await initGeosJs()) as unknown as RawGeos;
  const M = geos.Module;
  const ctx = geos.GEOS_init_r();
  const wktReader = geos.GEOSWKTReader_create_r(ctx);
  const wktWriter = geos.GEOSWKTWriter_create_r(ctx);
  geos.GEOSWKTWriter_setTrim_r(ctx, wktWriter, 1);
  const wkbWriter = geos.GEOSWKBWriter_create_r(ctx);
  geos.GEOSWKBWriter_setByteOrder_r(ctx, wkbWriter, 1);
  const wkbReader = geos.GEOSWKBReader_create_r(ctx);
  const sizePtr = M._malloc(4);
  const fmt = (p: Position): string => `${p[0]} ${p[1]}`;
  const wktOf = (g: Polygon | MultiPolygon): string => {
    const poly = (rings: Position[][]): string =>
      `(${rings.map((r) => `(${r.map(fmt).join(', ')})`).join(', ')})`;
    return g.type === 'Polygon'
      ? `POLYGON ${poly(g.coordinates)}`
      : `MULTIPOLYGON (${g.coordinates.map(poly).join(', ')})`;
  };
  try {
    for (const g of [withHole, multi]) {
      const wkt = wktOf(g);
      const wktPtr = M._malloc(wkt.length + 1);
      M.stringToUTF8(wkt, wktPtr, wkt.length + 1);
      const geom = geos.GEOSWKTReader_read_r(ctx, wktReader, wktPtr);
      M._free(wktPtr);
      assert.ok(geom, 'GEOS read the WKT');
      const buf = geos.GEOSWKBWriter_write_r(ctx, wkbWriter, geom, sizePtr);
      const size = M.HEAP32[sizePtr >> 2]!;
      const theirs = M.HEAPU8.slice(buf, buf + size);
      geos.GEOSFree_r(ctx, buf);
      geos.GEOSGeom_destroy_r(ctx, geom);
      assert.deepEqual(encodeWkb(g), theirs, `bytes of ${g.type}`);
      assert.deepEqual(decodeWkb(theirs), g);

      const ours = encodeWkb(g);
      const p = M._malloc(ours.length);
      M.HEAPU8.set(ours, p);
      const back = geos.GEOSWKBReader_read_r(ctx, wkbReader, p, ours.length);
      M._free(p);
      assert.ok(back, 'GEOS read our WKB');
      const out = geos.GEOSWKTWriter_write_r(ctx, wktWriter, back);
      const text = M.UTF8ToString(out);
      geos.GEOSFree_r(ctx, out);
      geos.GEOSGeom_destroy_r(ctx, back);
      assert.equal(text, wkt);
    }
  } finally {
    M._free(sizePtr);
    geos.GEOSWKBReader_destroy_r(ctx, wkbReader);
    geos.GEOSWKBWriter_destroy_r(ctx, wkbWriter);
    geos.GEOSWKTWriter_destroy_r(ctx, wktWriter);
    geos.GEOSWKTReader_destroy_r(ctx, wktReader);
    geos.GEOS_finish_r(ctx);
  }
});
