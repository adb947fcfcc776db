// Buffering a lon/lat polygon by a distance in metres (the boundary tolerance of mining licences).
// GEOS buffers in coordinate units, and a degree of longitude is shorter than a degree of latitude
// (×cos B), so a buffer "in degrees" would be an ellipse. Instead the polygon is mapped into a local
// equirectangular frame centred on its bounding box, x = ΔL·N·cosB₀, y = ΔB·M (CGCS2000 radii of
// curvature at the centre latitude B₀): metres to ~1e-3 relative across a few kilometres (the scale
// of x drifts by tan B·ΔB away from B₀), i.e. millimetres on a 10 m tolerance. GEOS buffers there
// with round joins, and the result is mapped back.

import type { Areal, Position } from './geometry.ts';
import { bboxOf, mapCoords } from './geometry.ts';
import { CGCS2000 } from './area.ts';
import type { Geos } from './geos.ts';

const RAD = Math.PI / 180;

/** Metres per degree of longitude and of latitude at latitude lat (degrees) on CGCS2000. */
export function metresPerDegree(lat: number): { x: number; y: number } {
  const f = 1 / CGCS2000.invF;
  const e2 = f * (2 - f);
  const s = Math.sin(lat * RAD);
  const w2 = 1 - e2 * s * s;
  const n = CGCS2000.a / Math.sqrt(w2);
  const m = (n * (1 - e2)) / w2;
  return { x: n * Math.cos(lat * RAD) * RAD, y: m * RAD };
}

/**
 * g grown outward by metres (round joins, quadSegs segments per quarter circle); g itself when
 * metres is 0; null when GEOS fails or nothing polygonal results. g should be valid.
 */
export function bufferMetres(geos: Geos, g: Areal, metres: number, quadSegs = 8): Areal | null {
  if (!(metres > 0)) return g;
  const b = bboxOf(g);
  if (!Number.isFinite(b.minx)) return null;
  const lon0 = (b.minx + b.maxx) / 2;
  const lat0 = (b.miny + b.maxy) / 2;
  const k = metresPerDegree(lat0);
  const toLocal = ([lon, lat]: Position): Position => [(lon - lon0) * k.x, (lat - lat0) * k.y];
  const toLonLat = ([x, y]: Position): Position => [lon0 + x / k.x, lat0 + y / k.y];
  const raw = geos.raw;
  const local = raw.read(mapCoords(g, toLocal));
  if (!local) return null;
  try {
    const grown = raw.buffer(local, metres, quadSegs);
    if (!grown) return null;
    try {
      const a = raw.toAreal(grown);
      return a ? mapCoords(a, toLonLat) : null;
    } finally {
      raw.destroy(grown);
    }
  } finally {
    raw.destroy(local);
  }
}
