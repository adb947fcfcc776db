// Where a photo was taken relative to its patch: geodesic distance on the CGCS2000 ellipsoid to the
// patch (0 inside), and the directions in which the patch lies as seen from the camera, to compare
// with the camera's heading. Vertices are placed on an azimuthal equidistant plane centred on the
// camera (exact distance and azimuth to every vertex from GeographicLib), where the nearest point
// of each edge is found; at patch scale (metres to a few kilometres) the edges' curvature on that
// plane is far below GPS accuracy.
import geographiclib from 'geographiclib-geodesic';
import type { PatchGeometry, Position } from '../geo/geometry.ts';

const geod = new geographiclib.Geodesic.Geodesic(6378137, 1 / 298.257222101);
const RAD = Math.PI / 180;

export interface PatchRelation {
  inside: boolean;
  /** Metres to the nearest point of the patch; 0 inside. */
  distanceM: number;
  /** The nearest point of the patch, [lon, lat]. */
  nearest: Position;
  /** Azimuth (degrees clockwise from north) to the nearest point; null inside. */
  bearingToNearest: number | null;
  /** Azimuth to the patch's centroid; null inside. */
  bearingToCentroid: number | null;
  /**
   * The arcs of directions in which the patch lies, one per ring: start azimuth and clockwise width
   * (≥ 360 when the ring surrounds the camera). Empty inside.
   */
  arcs: { from: number; width: number }[];
}

interface Local {
  x: number;
  y: number;
}

const norm360 = (a: number) => ((a % 360) + 360) % 360;

/** Geodesic distance (m) and initial azimuth (°, 0–360) from one lon/lat to another. */
export function inverse(from: Position, to: Position): { distanceM: number; azimuth: number } {
  const r = geod.Inverse(from[1], from[0], to[1], to[0]);
  return { distanceM: r.s12 ?? 0, azimuth: norm360(r.azi1 ?? 0) };
}

/** The point at distance and azimuth from a lon/lat. */
export function direct(from: Position, azimuth: number, distanceM: number): Position {
  const r = geod.Direct(from[1], from[0], azimuth, distanceM);
  return [r.lon2!, r.lat2!];
}

function toLocal(origin: Position, p: Position): Local {
  const { distanceM, azimuth } = inverse(origin, p);
  return { x: distanceM * Math.sin(azimuth * RAD), y: distanceM * Math.cos(azimuth * RAD) };
}

const azimuthOf = (p: Local) => norm360(Math.atan2(p.x, p.y) / RAD);

/** Even-odd test of the origin against one ring. */
function ringContainsOrigin(ring: Local[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[i]!;
    const b = ring[j]!;
    if (a.y > 0 !== b.y > 0 && 0 < ((b.x - a.x) * (0 - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/** The directions a ring covers as seen from the origin: unwrap the azimuth along the ring. */
function ringArc(ring: Local[]): { from: number; width: number } {
  let angle = azimuthOf(ring[0]!);
  let min = angle;
  let max = angle;
  for (let i = 1; i < ring.length; i++) {
    let d = azimuthOf(ring[i]!) - azimuthOf(ring[i - 1]!);
    if (d > 180) d -= 360;
    if (d < -180) d += 360;
    angle += d;
    min = Math.min(min, angle);
    max = Math.max(max, angle);
  }
  return { from: norm360(min), width: max - min };
}

/** How the point [lon, lat] lies relative to the patch geometry (lon/lat, EPSG:4490). */
export function relateToPatch(point: Position, g: PatchGeometry): PatchRelation {
  if (g.type === 'Point') {
    const { distanceM, azimuth } = inverse(point, g.coordinates);
    const inside = distanceM === 0;
    return {
      inside,
      distanceM,
      nearest: g.coordinates,
      bearingToNearest: inside ? null : azimuth,
      bearingToCentroid: inside ? null : azimuth,
      arcs: inside ? [] : [{ from: azimuth, width: 0 }],
    };
  }
  const polygons = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  let inside = false;
  let best = { d: Infinity, q: { x: 0, y: 0 } };
  let cx = 0;
  let cy = 0;
  let area = 0;
  const arcs: { from: number; width: number }[] = [];
  for (const poly of polygons) {
    const rings = poly.map((ring) => ring.map((p) => toLocal(point, p)));
    // Even-odd over all rings of one polygon: inside the shell and outside its holes.
    let inPoly = false;
    for (const ring of rings) if (ringContainsOrigin(ring)) inPoly = !inPoly;
    if (inPoly) inside = true;
    for (const ring of rings) {
      for (let i = 1; i < ring.length; i++) {
        const a = ring[i - 1]!;
        const b = ring[i]!;
        const dx = b.x - a.x;
        const dy = b.y - a.y;
        const len2 = dx * dx + dy * dy;
        const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(a.x * dx + a.y * dy) / len2));
        const q = { x: a.x + t * dx, y: a.y + t * dy };
        const d = Math.hypot(q.x, q.y);
        if (d < best.d) best = { d, q };
        // Shoelace centroid (holes, wound the other way, subtract).
        const cross = a.x * b.y - b.x * a.y;
        area += cross;
        cx += (a.x + b.x) * cross;
        cy += (a.y + b.y) * cross;
      }
      arcs.push(ringArc(ring));
    }
  }
  const centroid = area !== 0 ? { x: cx / (3 * area), y: cy / (3 * area) } : best.q;
  const nearest: Position = best.d === 0 ? point : direct(point, azimuthOf(best.q), best.d);
  if (inside)
    return {
      inside,
      distanceM: 0,
      nearest: point,
      bearingToNearest: null,
      bearingToCentroid: null,
      arcs: [],
    };
  return {
    inside,
    distanceM: best.d,
    nearest,
    bearingToNearest: azimuthOf(best.q),
    bearingToCentroid: azimuthOf(centroid),
    arcs,
  };
}

/**
 * How many degrees a heading points away from the patch: 0 when it points at any part of it (or
 * the camera stands inside it), else the angle to the nearest edge of the patch as seen.
 */
export function headingOffPatch(heading: number, rel: PatchRelation): number {
  if (rel.inside || rel.arcs.length === 0) return 0;
  let best = 180;
  for (const arc of rel.arcs) {
    if (arc.width >= 360) return 0;
    const d = norm360(heading - arc.from);
    if (d <= arc.width) return 0;
    best = Math.min(best, d - arc.width, 360 - d);
  }
  return best;
}
