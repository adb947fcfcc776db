// Geometry types shared by every module: GeoJSON-shaped polygons only, since patches and
// reference features are areas. Coordinates are [x, y] = [longitude, latitude] once in EPSG:4490,
// or [easting, northing] while still in a projected source CRS.

export type Position = [number, number];
export type Ring = Position[];
export type PolygonCoords = Ring[];

export interface Polygon {
  type: 'Polygon';
  coordinates: PolygonCoords;
}
export interface MultiPolygon {
  type: 'MultiPolygon';
  coordinates: PolygonCoords[];
}
export type Areal = Polygon | MultiPolygon;

export interface BBox {
  minx: number;
  miny: number;
  maxx: number;
  maxy: number;
}

/** The polygons of an areal geometry, so callers need not branch on the type. */
export function polygonsOf(g: Areal): PolygonCoords[] {
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
}

export function bboxOf(g: Areal): BBox {
  let minx = Infinity;
  let miny = Infinity;
  let maxx = -Infinity;
  let maxy = -Infinity;
  for (const poly of polygonsOf(g))
    for (const ring of poly)
      for (const [x, y] of ring) {
        if (x < minx) minx = x;
        if (y < miny) miny = y;
        if (x > maxx) maxx = x;
        if (y > maxy) maxy = y;
      }
  return { minx, miny, maxx, maxy };
}

/** Applies a coordinate transform to every vertex, returning a new geometry. */
export function mapCoords(g: Areal, f: (p: Position) => Position): Areal {
  const mapPoly = (poly: PolygonCoords): PolygonCoords => poly.map((ring) => ring.map(f));
  return g.type === 'Polygon'
    ? { type: 'Polygon', coordinates: mapPoly(g.coordinates) }
    : { type: 'MultiPolygon', coordinates: g.coordinates.map(mapPoly) };
}

/** A single position: a patch delivered only as a centre point (tables with 中心点X/Y). */
export interface Point {
  type: 'Point';
  coordinates: Position;
}

/** What a patch may be: an area, or — when the delivery gives only a centre — a point. */
export type PatchGeometry = Areal | Point;

export function isPoint(g: PatchGeometry): g is Point {
  return g.type === 'Point';
}

export function bboxOfGeometry(g: PatchGeometry): BBox {
  if (g.type !== 'Point') return bboxOf(g);
  const [x, y] = g.coordinates;
  return { minx: x, miny: y, maxx: x, maxy: y };
}

/** mapCoords for any patch geometry. */
export function mapGeometry<G extends PatchGeometry>(g: G, f: (p: Position) => Position): G {
  if (g.type === 'Point') return { type: 'Point', coordinates: f(g.coordinates) } as G;
  return mapCoords(g, f) as G;
}
