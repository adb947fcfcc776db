// What every vector reader hands to the importers (vector-source.ts dispatches to them): one shape
// whatever the delivery format, plus the GeoJSON-geometry conversion that GDAL output, GeoJSON
// files and KML share. Geometries come out as the Shapefile reader's do: 2D, rings closed, outer
// rings counter-clockwise and holes clockwise (RFC 7946), in the delivered CRS and axis order.

import { WeipianError } from '../domain/errors.ts';
import type { CrsDef } from '../geo/crs.ts';
import type { PatchGeometry, PolygonCoords, Position, Ring } from '../geo/geometry.ts';

export type VectorFormat = 'shapefile' | 'geopackage' | 'filegdb' | 'geojson' | 'kml' | 'xlsx' | 'csv';

export const FORMAT_NAMES: Record<VectorFormat, string> = {
  shapefile: 'Shapefile',
  geopackage: 'GeoPackage',
  filegdb: 'File Geodatabase',
  geojson: 'GeoJSON',
  kml: 'KML',
  xlsx: 'Excel 表格',
  csv: 'CSV 表格',
};

/** A column of the delivered attribute table (DbfField-compatible, so imports record it alike). */
export interface VectorField {
  name: string;
  /** The format's own type name: dBase letter, OGR type ('String', 'Real', 'Date' …), 'text' … */
  type: string;
  length: number;
  decimals: number;
}

/** Which geometries the caller accepts: reference layers only areas, patches also centre points. */
export type GeometryMode = 'polygon' | 'polygon-or-point';

export interface VectorFeature {
  /** 0-based position in the delivered layer, sheet or document. */
  index: number;
  /** null when the record has no usable geometry; `problem` then says why when it is not plain. */
  geometry: PatchGeometry | null;
  attributes: Record<string, unknown>;
  problem?: string;
}

export interface SourceEncoding {
  /** TextDecoder label: 'utf-8', 'gbk', … */
  encoding: string;
  /** 'option' | 'cpg' | 'ldid' | 'detected' | 'default' as for Shapefiles, or 'format' when the format fixes it. */
  source: string;
  notes?: string[];
}

export interface VectorSource {
  format: VectorFormat;
  /** The dataset actually read: the .shp, .gpkg, .gdb folder, .kml, .xlsx, .csv … */
  path: string;
  /** Layer, sheet or KML folder read, when the format has several; null otherwise. */
  layer: string | null;
  /** The delivered files of this dataset in a fixed order, hashed when the input is a folder. */
  files: string[];
  encoding: SourceEncoding;
  /** CRS as WKT (a .prj, or what GDAL reports), identified by crsFromPrj; null when absent. */
  prj: string | null;
  /** The CRS when the reader settled it itself (--crs, a GeoJSON crs member, KML, tables). */
  crs: CrsDef | null;
  /** True when the reader already put coordinates in easting/northing order (tables try both). */
  axisResolved: boolean;
  /** Chinese remarks on assumptions the reader made (CRS by convention, axis order chosen …). */
  notes: string[];
  fields: VectorField[];
  featureCount: number;
  /** Reads the features in order; each call starts again from the first. */
  features(): AsyncIterable<VectorFeature>;
  /** Removes anything extracted or converted for this source; safe to call more than once. */
  close(): Promise<void>;
}

export interface OpenVectorOptions {
  /** Layer (GeoPackage/FileGDB), sheet (Excel), folder (KML) or file in a folder/zip. */
  layer?: string;
  encoding?: string;
  /** Overrides whatever CRS the file declares: 'EPSG:4527', '4527'. */
  crs?: string;
  /** Tables: read X as the northing instead of trying both axis orders. */
  swapXY?: boolean;
  maxUnzippedBytes?: number;
  tmpRoot?: string;
  geometry?: GeometryMode;
}

export function setAttr(o: Record<string, unknown>, k: string, v: unknown): void {
  // A field literally named "__proto__" must become data, not the object's prototype.
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

const GEOMETRY_CHINESE: Record<string, string> = {
  Point: '点',
  MultiPoint: '多点',
  LineString: '线',
  MultiLineString: '线',
  LinearRing: '线',
  GeometryCollection: '几何集合',
};

/** The refusal of a non-polygon where a polygon is required, worded like the Shapefile reader's. */
export function notPolygon(
  file: string,
  what: string,
  actual: string,
  details: Record<string, unknown> = {},
): WeipianError {
  const zh = GEOMETRY_CHINESE[actual] ?? actual;
  const need = /Point$/.test(actual)
    ? '参考图层必须是面（Polygon）；点只能作为只有中心点坐标的图斑导入'
    : '图斑和参考图层都必须是面（Polygon）';
  return new WeipianError('geometry_not_polygon', `${file} ${what}是${zh}（${actual}），${need}。`, {
    file,
    expected: 'Polygon',
    actual,
    ...details,
  });
}

/** Shoelace sum; positive for counter-clockwise rings in a y-up system. */
export function signedArea(ring: Ring): number {
  let s = 0;
  for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) {
    const a = ring[j] as Position;
    const b = ring[i] as Position;
    s += (a[0] - b[0]) * (a[1] + b[1]);
  }
  return s / 2;
}

export function closeRing(ring: Ring): Ring {
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (!first || !last) return ring;
  return first[0] === last[0] && first[1] === last[1] ? ring : [...ring, [first[0], first[1]]];
}

export function orient(ring: Ring, counterClockwise: boolean): Ring {
  return signedArea(ring) > 0 === counterClockwise ? ring : [...ring].reverse();
}

export interface GeometryContext {
  file: string;
  index: number;
  /** Error code for malformed input, e.g. 'geojson_invalid'. */
  invalidCode: string;
}

export interface ConvertedGeometry {
  geometry: PatchGeometry | null;
  problem?: string;
}

function malformed(ctx: GeometryContext, what: string): WeipianError {
  return new WeipianError(ctx.invalidCode, `${ctx.file} 第 ${ctx.index + 1} 个要素的几何格式错误：${what}`, {
    file: ctx.file,
    index: ctx.index,
  });
}

function position(v: unknown, ctx: GeometryContext): Position {
  if (!Array.isArray(v) || v.length < 2) throw malformed(ctx, '坐标应为 [x, y] 数组');
  const x: unknown = v[0];
  const y: unknown = v[1];
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y))
    throw malformed(ctx, `坐标 ${JSON.stringify(v).slice(0, 80)} 不是有限数值`);
  return [x, y];
}

function polygon(v: unknown, ctx: GeometryContext): PolygonCoords | null {
  if (!Array.isArray(v)) throw malformed(ctx, '面的坐标应为环的数组');
  const rings: Ring[] = [];
  for (let r = 0; r < v.length; r++) {
    const raw: unknown = v[r];
    if (!Array.isArray(raw)) throw malformed(ctx, '环应为坐标数组');
    const ring = closeRing(raw.map((p) => position(p, ctx)));
    // Fewer than four positions is no ring; a missing outer ring leaves nothing to keep.
    if (ring.length < 4) {
      if (r === 0) return null;
      continue;
    }
    rings.push(orient(ring, r === 0));
  }
  return rings.length ? rings : null;
}

/**
 * Converts a GeoJSON geometry object (as GDAL writes it, or as a file holds it) into a patch
 * geometry. Lines, collections and multi-points are refused with 'geometry_not_polygon';
 * a polygon without a usable outer ring becomes null with a problem.
 */
export function geometryFromGeoJson(g: unknown, ctx: GeometryContext): ConvertedGeometry {
  if (g === null || g === undefined) return { geometry: null };
  if (typeof g !== 'object' || Array.isArray(g)) throw malformed(ctx, '几何应为对象');
  const { type, coordinates } = g as { type?: unknown; coordinates?: unknown };
  const degenerate = { geometry: null, problem: '面的外环不足 3 个顶点' };
  switch (type) {
    case 'Point':
      return { geometry: { type: 'Point', coordinates: position(coordinates, ctx) } };
    case 'MultiPoint': {
      if (Array.isArray(coordinates) && coordinates.length === 1)
        return { geometry: { type: 'Point', coordinates: position(coordinates[0], ctx) } };
      throw notPolygon(ctx.file, `第 ${ctx.index + 1} 个要素`, 'MultiPoint', { index: ctx.index });
    }
    case 'Polygon': {
      const p = polygon(coordinates, ctx);
      return p ? { geometry: { type: 'Polygon', coordinates: p } } : degenerate;
    }
    case 'MultiPolygon': {
      if (!Array.isArray(coordinates)) throw malformed(ctx, '多面的坐标应为面的数组');
      const parts = coordinates.map((c) => polygon(c, ctx)).filter((p): p is PolygonCoords => p !== null);
      return parts.length ? { geometry: { type: 'MultiPolygon', coordinates: parts } } : degenerate;
    }
    case 'LineString':
    case 'MultiLineString':
    case 'GeometryCollection':
      throw notPolygon(ctx.file, `第 ${ctx.index + 1} 个要素`, type, { index: ctx.index });
    default:
      throw malformed(ctx, `未知的几何类型 ${JSON.stringify(type)}`);
  }
}
