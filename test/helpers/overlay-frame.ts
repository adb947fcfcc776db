// Shared by the overlay tests: geometries drawn in a local metric frame near 周村 (117.8°E 36.8°N)
// and converted to lon/lat, and their exact areas from GeographicLib — independent of area.ts.
import geographiclib from 'geographiclib-geodesic';
import type { Areal, MultiPolygon, Polygon, Position, Ring } from '../../src/geo/geometry.ts';
import { polygonsOf } from '../../src/geo/geometry.ts';

export const LON0 = 117.8;
export const LAT0 = 36.8;
// Any fixed scales define the test geometry; these are close to metres there. The frame is
// separable (lon from x only, lat from y only), so axis-parallel rectangles stay axis-parallel in
// lon/lat and the corners of their intersections are exact in floating point.
const KX = 89_180;
const KY = 110_960;

export const geod = new geographiclib.Geodesic.Geodesic(6378137, 1 / 298.257222101);

export function pt(x: number, y: number): Position {
  return [LON0 + x / KX, LAT0 + y / KY];
}

/** Closed ring through the given frame points. */
export function ring(...xy: [number, number][]): Ring {
  const r = xy.map(([x, y]) => pt(x, y));
  r.push(r[0]!);
  return r;
}

export function rectRing(x0: number, y0: number, x1: number, y1: number): Ring {
  return ring([x0, y0], [x1, y0], [x1, y1], [x0, y1]);
}

export function rect(x0: number, y0: number, x1: number, y1: number): Polygon {
  return { type: 'Polygon', coordinates: [rectRing(x0, y0, x1, y1)] };
}

export function poly(...rings: Ring[]): Polygon {
  return { type: 'Polygon', coordinates: rings };
}

export function multi(...polys: Polygon[]): MultiPolygon {
  return { type: 'MultiPolygon', coordinates: polys.map((p) => p.coordinates) };
}

/** |area| of a lon/lat ring with geodesic edges, by GeographicLib. */
export function ringAreaGeodesic(r: Ring): number {
  const p = geod.Polygon(false);
  const n =
    r.length > 1 && r[0]![0] === r[r.length - 1]![0] && r[0]![1] === r[r.length - 1]![1]
      ? r.length - 1
      : r.length;
  for (let i = 0; i < n; i++) p.AddPoint(r[i]![1], r[i]![0]);
  return Math.abs(p.Compute(false, true).area!);
}

/** Exact area (m²) of an areal geometry: outer rings minus holes, by GeographicLib. */
export function geoArea(g: Areal): number {
  let s = 0;
  for (const pl of polygonsOf(g)) pl.forEach((r, i) => (s += (i === 0 ? 1 : -1) * ringAreaGeodesic(r)));
  return s;
}

/** The longitude reached going distance metres due east from frame point (x, y). */
export function lonEastOf(x: number, y: number, metres: number): number {
  const [lon, lat] = pt(x, y);
  return geod.Direct(lat, lon, 90, metres).lon2!;
}

/** Frame x of a longitude. */
export function xOfLon(lon: number): number {
  return (lon - LON0) * KX;
}
