// OGC Well-Known Binary for the geometries weipian handles: Polygon and MultiPolygon, 2D, and the
// Point of a patch delivered only by its centre (decodeGeometry; decodeWkb stays polygon-only).
// Output is always little-endian ISO 2D (identical to what GEOS, PostGIS and GDAL write for 2D);
// input may be either byte order, ISO (1000/2000/3000) or EWKB (high-bit flags, optional SRID)
// Z/M variants, whose extra ordinates are dropped.

import type { Areal, PatchGeometry, Point, PolygonCoords, Position, Ring } from './geometry.ts';
import { WeipianError } from '../domain/errors.ts';

const WKB_POINT = 1;
const WKB_POLYGON = 3;
const WKB_MULTIPOLYGON = 6;
const EWKB_Z = 0x80000000;
const EWKB_M = 0x40000000;
const EWKB_SRID = 0x20000000;

const TYPE_NAMES: Record<number, string> = {
  1: 'Point',
  2: 'LineString',
  4: 'MultiPoint',
  5: 'MultiLineString',
  7: 'GeometryCollection',
};

/** Number of points a ring is written with: rings are closed on output, as WKB readers require. */
function ringPoints(ring: Ring): number {
  const n = ring.length;
  if (n === 0) return 0;
  const first = ring[0]!;
  const last = ring[n - 1]!;
  return first[0] === last[0] && first[1] === last[1] ? n : n + 1;
}

function polygonSize(poly: PolygonCoords): number {
  let size = 9;
  for (const ring of poly) size += 4 + 16 * ringPoints(ring);
  return size;
}

/** Byte length of the WKB encoding of g. */
export function wkbSize(g: PatchGeometry): number {
  if (g.type === 'Point') return 21;
  if (g.type === 'Polygon') return polygonSize(g.coordinates);
  let size = 9;
  for (const poly of g.coordinates) size += polygonSize(poly);
  return size;
}

function writePolygon(view: DataView, o: number, poly: PolygonCoords): number {
  view.setUint8(o, 1);
  view.setUint32(o + 1, WKB_POLYGON, true);
  view.setUint32(o + 5, poly.length, true);
  o += 9;
  for (const ring of poly) {
    const np = ringPoints(ring);
    view.setUint32(o, np, true);
    o += 4;
    for (const p of ring) {
      view.setFloat64(o, p[0], true);
      view.setFloat64(o + 8, p[1], true);
      o += 16;
    }
    if (np > ring.length) {
      const first = ring[0]!;
      view.setFloat64(o, first[0], true);
      view.setFloat64(o + 8, first[1], true);
      o += 16;
    }
  }
  return o;
}

/**
 * Writes the WKB of g into target at offset (which must have wkbSize(g) bytes free) and returns
 * the offset after it. Lets callers write straight into foreign memory such as a WASM heap.
 */
export function writeWkb(g: PatchGeometry, target: Uint8Array, offset = 0): number {
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  if (g.type === 'Point') {
    view.setUint8(offset, 1);
    view.setUint32(offset + 1, WKB_POINT, true);
    view.setFloat64(offset + 5, g.coordinates[0], true);
    view.setFloat64(offset + 13, g.coordinates[1], true);
    return offset + 21;
  }
  if (g.type === 'Polygon') return writePolygon(view, offset, g.coordinates);
  view.setUint8(offset, 1);
  view.setUint32(offset + 1, WKB_MULTIPOLYGON, true);
  view.setUint32(offset + 5, g.coordinates.length, true);
  let o = offset + 9;
  for (const poly of g.coordinates) o = writePolygon(view, o, poly);
  return o;
}

/** Little-endian 2D WKB of a Polygon, MultiPolygon or Point; unclosed rings are closed. */
export function encodeWkb(g: PatchGeometry): Uint8Array {
  const out = new Uint8Array(wkbSize(g));
  writeWkb(g, out, 0);
  return out;
}

function invalid(reason: string, offset: number): WeipianError {
  return new WeipianError('wkb_invalid', 'WKB 几何数据不完整或已损坏', { reason, offset });
}

interface Header {
  le: boolean;
  type: number;
  /** Ordinates per point (2, 3 or 4). */
  dims: number;
  offset: number;
}

function readHeader(view: DataView, o: number): Header {
  if (o + 5 > view.byteLength) throw invalid('truncated header', o);
  const order = view.getUint8(o);
  if (order > 1) throw invalid(`bad byte order marker ${order}`, o);
  const le = order === 1;
  const raw = view.getUint32(o + 1, le);
  o += 5;
  let hasZ = (raw & EWKB_Z) !== 0;
  let hasM = (raw & EWKB_M) !== 0;
  if (raw & EWKB_SRID) {
    if (o + 4 > view.byteLength) throw invalid('truncated SRID', o);
    o += 4;
  }
  const iso = raw & 0x0fffffff;
  const type = iso % 1000;
  const flavour = Math.floor(iso / 1000);
  if (flavour > 3) throw invalid(`unknown geometry type ${iso}`, o - 5);
  if (flavour === 1 || flavour === 3) hasZ = true;
  if (flavour === 2 || flavour === 3) hasM = true;
  return { le, type, dims: 2 + (hasZ ? 1 : 0) + (hasM ? 1 : 0), offset: o };
}

function notPolygon(type: number): WeipianError {
  const name = TYPE_NAMES[type] ?? `type ${type}`;
  return new WeipianError('geometry_not_polygon', `几何类型为 ${name}，不是面`, { type: name });
}

function readPolygonBody(view: DataView, h: Header): { poly: PolygonCoords; offset: number } {
  const { le, dims } = h;
  let o = h.offset;
  const len = view.byteLength;
  if (o + 4 > len) throw invalid('truncated ring count', o);
  const nRings = view.getUint32(o, le);
  o += 4;
  // Bound counts by the bytes left so garbage cannot trigger huge allocations.
  if (nRings * 4 > len - o) throw invalid('ring count exceeds buffer', o - 4);
  const poly: PolygonCoords = new Array<Ring>(nRings);
  const stride = 8 * dims;
  for (let r = 0; r < nRings; r++) {
    if (o + 4 > len) throw invalid('truncated point count', o);
    const n = view.getUint32(o, le);
    o += 4;
    if (n * stride > len - o) throw invalid('point count exceeds buffer', o - 4);
    const ring: Ring = new Array<Position>(n);
    for (let i = 0; i < n; i++, o += stride) ring[i] = [view.getFloat64(o, le), view.getFloat64(o + 8, le)];
    poly[r] = ring;
  }
  return { poly, offset: o };
}

/**
 * Decodes WKB/EWKB holding a Polygon or MultiPolygon (any byte order; Z and M dropped).
 * Other geometry types → 'geometry_not_polygon'; truncated or malformed bytes → 'wkb_invalid'.
 */
export function decodeWkb(buf: Uint8Array): Areal {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = readHeader(view, 0);
  let result: Areal;
  let end: number;
  if (h.type === WKB_POLYGON) {
    const { poly, offset } = readPolygonBody(view, h);
    result = { type: 'Polygon', coordinates: poly };
    end = offset;
  } else if (h.type === WKB_MULTIPOLYGON) {
    let o = h.offset;
    if (o + 4 > view.byteLength) throw invalid('truncated polygon count', o);
    const n = view.getUint32(o, h.le);
    o += 4;
    if (n * 9 > view.byteLength - o) throw invalid('polygon count exceeds buffer', o - 4);
    const polys: PolygonCoords[] = new Array<PolygonCoords>(n);
    for (let i = 0; i < n; i++) {
      const ph = readHeader(view, o);
      if (ph.type !== WKB_POLYGON) throw invalid(`MultiPolygon member of type ${ph.type}`, o);
      const { poly, offset } = readPolygonBody(view, ph);
      polys[i] = poly;
      o = offset;
    }
    result = { type: 'MultiPolygon', coordinates: polys };
    end = o;
  } else {
    throw notPolygon(h.type);
  }
  // Trailing bytes mean the buffer is not one geometry (wrong slice or corrupt blob).
  if (end !== view.byteLength) throw invalid(`${view.byteLength - end} trailing bytes`, end);
  return result;
}

function readPoint(view: DataView, h: Header): Point {
  const o = h.offset;
  if (o + 8 * h.dims > view.byteLength) throw invalid('truncated point', o);
  const x = view.getFloat64(o, h.le);
  const y = view.getFloat64(o + 8, h.le);
  // POINT EMPTY is written as NaN NaN; a patch cannot be nowhere.
  if (!Number.isFinite(x) || !Number.isFinite(y)) throw invalid('empty or non-finite point', o);
  if (o + 8 * h.dims !== view.byteLength)
    throw invalid(`${view.byteLength - o - 8 * h.dims} trailing bytes`, o);
  return { type: 'Point', coordinates: [x, y] };
}

/**
 * Decodes WKB/EWKB holding a Point, Polygon or MultiPolygon (any byte order; Z and M dropped):
 * what a patch's geometry columns may hold. Other types → 'geometry_not_polygon' (as decodeWkb),
 * malformed bytes → 'wkb_invalid'.
 */
export function decodeGeometry(buf: Uint8Array): PatchGeometry {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = readHeader(view, 0);
  if (h.type === WKB_POINT) return readPoint(view, h);
  return decodeWkb(buf);
}
