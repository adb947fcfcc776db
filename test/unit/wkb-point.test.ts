// Point patches (centre-only tables) in WKB: byte-exact against the OGC layout and GEOS, read back
// in any byte order or with Z/M/SRID, while decodeWkb keeps refusing them as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import initGeosJs from 'geos-wasm';
import { decodeGeometry, decodeWkb, encodeWkb, wkbSize } from '../../src/geo/wkb.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { Point, Polygon } from '../../src/geo/geometry.ts';

const refusedWith = (code: string) => (e: unknown) => isWeipianError(e) && e.code === code;

const centre: Point = { type: 'Point', coordinates: [117.7948, 36.6953] };

test('encodes a point as 21 bytes of little-endian ISO WKB, laid out by hand', () => {
  const bytes = encodeWkb(centre);
  assert.equal(wkbSize(centre), 21);
  assert.equal(bytes.length, 21);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(v.getUint8(0), 1, 'little-endian marker');
  assert.equal(v.getUint32(1, true), 1, 'type 1 = Point');
  assert.equal(v.getFloat64(5, true), 117.7948);
  assert.equal(v.getFloat64(13, true), 36.6953);
});

test('round-trips points and still polygons through decodeGeometry', () => {
  assert.deepEqual(decodeGeometry(encodeWkb(centre)), centre);
  const gk: Point = { type: 'Point', coordinates: [39571050.125, 4063050.5] };
  assert.deepEqual(decodeGeometry(encodeWkb(gk)), gk);
  const square: Polygon = {
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
  assert.deepEqual(decodeGeometry(encodeWkb(square)), square);
});

test('reads big-endian, ISO Z and EWKB with SRID points, dropping the extra ordinates', () => {
  const be = new Uint8Array(21);
  const bv = new DataView(be.buffer);
  bv.setUint8(0, 0);
  bv.setUint32(1, 1, false);
  bv.setFloat64(5, 117.5, false);
  bv.setFloat64(13, 36.5, false);
  assert.deepEqual(decodeGeometry(be), { type: 'Point', coordinates: [117.5, 36.5] });

  const z = new Uint8Array(29);
  const zv = new DataView(z.buffer);
  zv.setUint8(0, 1);
  zv.setUint32(1, 1001, true);
  zv.setFloat64(5, 117.5, true);
  zv.setFloat64(13, 36.5, true);
  zv.setFloat64(21, 55.5, true);
  assert.deepEqual(decodeGeometry(z), { type: 'Point', coordinates: [117.5, 36.5] });

  const ewkb = new Uint8Array(25);
  const ev = new DataView(ewkb.buffer);
  ev.setUint8(0, 1);
  ev.setUint32(1, 0x20000001, true);
  ev.setUint32(5, 4490, true);
  ev.setFloat64(9, 117.5, true);
  ev.setFloat64(17, 36.5, true);
  assert.deepEqual(decodeGeometry(ewkb), { type: 'Point', coordinates: [117.5, 36.5] });
});

test('refuses truncated, padded and empty points; decodeWkb still refuses points as not polygons', () => {
  const full = encodeWkb(centre);
  for (let n = 0; n < full.length; n++)
    assert.throws(() => decodeGeometry(full.subarray(0, n)), refusedWith('wkb_invalid'), `prefix ${n}`);
  assert.throws(() => decodeGeometry(new Uint8Array([...full, 0])), refusedWith('wkb_invalid'));
  const empty = encodeWkb({ type: 'Point', coordinates: [NaN, NaN] });
  assert.throws(() => decodeGeometry(empty), refusedWith('wkb_invalid'));
  assert.throws(() => decodeWkb(full), refusedWith('geometry_not_polygon'));
});

interface RawGeos {
  Module: {
    HEAPU8: Uint8Array;
    HEAP32: Int32Array;
    _malloc(n: number): number;
    _free(p: number): void;
    stringToUTF8(s: string, p: number, max: number): void;
  };
  GEOS_init_r(): number;
  GEOS_finish_r(ctx: number): void;
  GEOSWKTReader_create_r(ctx: number): number;
  GEOSWKTReader_read_r(ctx: number, r: number, wkt: number): number;
  GEOSWKTReader_destroy_r(ctx: number, r: number): void;
  GEOSWKBWriter_create_r(ctx: number): number;
  GEOSWKBWriter_setByteOrder_r(ctx: number, w: number, order: number): void;
  GEOSWKBWriter_write_r(ctx: number, w: number, g: number, size: number): number;
  GEOSWKBWriter_destroy_r(ctx: number, w: number): void;
  GEOSGeom_destroy_r(ctx: number, g: number): void;
  GEOSFree_r(ctx: number, p: number): void;
}

test('writes the same bytes as GEOS for a point', async () => {
  const geos = (await initGeosJs()) as unknown as RawGeos;
  const M = geos.Module;
  const ctx = geos.GEOS_init_r();
  const reader = geos.GEOSWKTReader_create_r(ctx);
  const writer = geos.GEOSWKBWriter_create_r(ctx);
  geos.GEOSWKBWriter_setByteOrder_r(ctx, writer, 1);
  const sizePtr = M._malloc(4);
  try {
    const wkt = 'POINT (117.7948 36.6953)';
    const wktPtr = M._malloc(wkt.length + 1);
    M.stringToUTF8(wkt, wktPtr, wkt.length + 1);
    const g = geos.GEOSWKTReader_read_r(ctx, reader, wktPtr);
    M._free(wktPtr);
    assert.ok(g, 'GEOS read the WKT');
    const buf = geos.GEOSWKBWriter_write_r(ctx, writer, g, sizePtr);
    const theirs = M.HEAPU8.slice(buf, buf + M.HEAP32[sizePtr >> 2]!);
    geos.GEOSFree_r(ctx, buf);
    geos.GEOSGeom_destroy_r(ctx, g);
    assert.deepEqual([...encodeWkb(centre)], [...theirs]);
    assert.deepEqual(decodeGeometry(theirs), centre);
  } finally {
    M._free(sizePtr);
    geos.GEOSWKBWriter_destroy_r(ctx, writer);
    geos.GEOSWKTReader_destroy_r(ctx, reader);
    geos.GEOS_finish_r(ctx);
  }
});
