// A patch against a small reference polygon (a field parcel, an approval) without GEOS: most pairs
// of the analysis are such, and a GEOS intersection through WASM costs tens of microseconds where
// this costs a few. Both sides must be one simple ring (valid, no holes, one part: the analysis
// repairs patches and imports repair features), and the answer is given only when it is certain —
// no vertex of either lies within NEAR_DEG of the other's edges (generic position) — otherwise null,
// and the caller asks GEOS. In generic position the intersection is traced from the boundary
// crossings (as Greiner–Hormann): the patch's arcs inside the feature and the feature's arcs inside
// the patch, both walked counter-clockwise; every loop is one piece, and pieces of two simply
// connected polygons have no holes. The vertices are the inputs' own plus the crossing points,
// which GEOS computes to the same last bit or two: areas agree with the GEOS path to ~1e-12 of the
// piece (test/unit/ring-overlay.test.ts).

import type { Areal, Position } from './geometry.ts';

/** Vertices closer than this (degrees, ~0.1 mm) to the other ring's edges: GEOS decides. */
export const NEAR_DEG = 1e-9;
/** Above these sizes the O(n·m) walk loses to GEOS's indexed overlay. */
export const MAX_PATCH_VERTICES = 256;
export const MAX_FEATURE_VERTICES = 64;
const MAX_CROSSINGS = 64;

/**
 * A ring as [x0, y0, x1, y1, …] without the closing vertex, counter-clockwise, without repeated
 * consecutive vertices.
 */
export type FlatRing = Float64Array;

export type RingOverlay =
  | { kind: 'disjoint' }
  /** The feature lies inside the patch. */
  | { kind: 'feature-inside' }
  /** The patch lies inside the feature. */
  | { kind: 'patch-inside' }
  /** The intersection: one closed counter-clockwise ring per piece (pieces are apart). */
  | { kind: 'clip'; rings: Position[][] };

/** The outer ring of a one-ring polygon as a FlatRing; null for holes, several parts or too many vertices. */
export function simpleRingOf(g: Areal, maxVertices: number): FlatRing | null {
  let rings;
  if (g.type === 'Polygon') rings = g.coordinates;
  else if (g.coordinates.length === 1) rings = g.coordinates[0]!;
  else return null;
  if (rings.length !== 1) return null;
  const ring = rings[0]!;
  const pts: number[] = [];
  for (let i = 0; i < ring.length; i++) {
    const [x, y] = ring[i]!;
    const n = pts.length;
    if (n >= 2 && pts[n - 2] === x && pts[n - 1] === y) continue;
    pts.push(x, y);
  }
  if (pts.length >= 4 && pts[0] === pts[pts.length - 2] && pts[1] === pts[pts.length - 1]) pts.length -= 2;
  const n = pts.length / 2;
  if (n < 3 || n > maxVertices) return null;
  let twice = 0;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    twice +=
      (pts[2 * i]! - pts[0]!) * (pts[2 * j + 1]! - pts[1]!) -
      (pts[2 * j]! - pts[0]!) * (pts[2 * i + 1]! - pts[1]!);
  }
  if (twice === 0) return null;
  const out = new Float64Array(pts);
  if (twice < 0)
    for (let i = 0; i < n; i++) {
      out[2 * i] = pts[2 * (n - 1 - i)]!;
      out[2 * i + 1] = pts[2 * (n - 1 - i) + 1]!;
    }
  return out;
}

/** A reference feature's ring for ringOverlay; null when it has holes, parts or too many vertices. */
export function featureRingOf(g: Areal): FlatRing | null {
  return simpleRingOf(g, MAX_FEATURE_VERTICES);
}

/** Twice the signed area of triangle abc: positive when c lies left of a→b. */
function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

interface Crossing {
  /** Patch edge (from vertex k) and position along it. */
  k: number;
  t: number;
  /** Feature edge (from vertex e) and position along it. */
  e: number;
  u: number;
  x: number;
  y: number;
  /** The patch boundary enters the feature here. */
  entering: boolean;
}

/** Crossing-number test of (x, y) against ring r (no vertex of r is near the point's ray here). */
function inside(r: FlatRing, x: number, y: number): boolean {
  const n = r.length / 2;
  let odd = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = r[2 * i]!;
    const yi = r[2 * i + 1]!;
    const xj = r[2 * j]!;
    const yj = r[2 * j + 1]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) odd = !odd;
  }
  return odd;
}

/**
 * Patch p against feature c (simple counter-clockwise rings); null when the configuration is not
 * certain enough to decide without GEOS.
 */
export function ringOverlay(p: FlatRing, c: FlatRing): RingOverlay | null {
  const n = p.length / 2;
  const m = c.length / 2;
  const crossings: Crossing[] = [];
  for (let k = 0; k < n; k++) {
    const ax = p[2 * k]!;
    const ay = p[2 * k + 1]!;
    const k1 = (k + 1) % n;
    const bx = p[2 * k1]!;
    const by = p[2 * k1 + 1]!;
    const pMinX = Math.min(ax, bx) - NEAR_DEG;
    const pMaxX = Math.max(ax, bx) + NEAR_DEG;
    const pMinY = Math.min(ay, by) - NEAR_DEG;
    const pMaxY = Math.max(ay, by) + NEAR_DEG;
    const lenP = Math.hypot(bx - ax, by - ay);
    for (let e = 0; e < m; e++) {
      const cx = c[2 * e]!;
      const cy = c[2 * e + 1]!;
      const e1 = (e + 1) % m;
      const dx = c[2 * e1]!;
      const dy = c[2 * e1 + 1]!;
      if (Math.max(cx, dx) < pMinX || Math.min(cx, dx) > pMaxX) continue;
      if (Math.max(cy, dy) < pMinY || Math.min(cy, dy) > pMaxY) continue;
      const lenC = Math.hypot(dx - cx, dy - cy);
      const o1 = orient(cx, cy, dx, dy, ax, ay);
      const o2 = orient(cx, cy, dx, dy, bx, by);
      const o3 = orient(ax, ay, bx, by, cx, cy);
      const o4 = orient(ax, ay, bx, by, dx, dy);
      // A vertex (nearly) on the other's edge line, where the edges are close: not certain.
      const nearC = NEAR_DEG * lenC;
      const nearP = NEAR_DEG * lenP;
      if (Math.abs(o1) <= nearC || Math.abs(o2) <= nearC || Math.abs(o3) <= nearP || Math.abs(o4) <= nearP)
        return null;
      if (o1 > 0 === o2 > 0 || o3 > 0 === o4 > 0) continue;
      if (crossings.length === MAX_CROSSINGS) return null;
      const t = o1 / (o1 - o2);
      crossings.push({
        k,
        t,
        e,
        u: o3 / (o3 - o4),
        x: ax + t * (bx - ax),
        y: ay + t * (by - ay),
        // The feature's inside is left of its (counter-clockwise) edges: right to left is entering.
        entering: o1 < 0,
      });
    }
  }
  if (crossings.length === 0) {
    if (inside(p, c[0]!, c[1]!)) return { kind: 'feature-inside' };
    if (inside(c, p[0]!, p[1]!)) return { kind: 'patch-inside' };
    return { kind: 'disjoint' };
  }
  return trace(p, c, crossings);
}

/**
 * The pieces of p ∩ c from the crossings of their boundaries: from each entry, along the patch to
 * the next crossing (an exit), along the feature to the next crossing in its order (an entry), and
 * so on back to the start. Each loop is one piece, a simple polygon. null when the crossings do
 * not alternate between entering and leaving, which valid rings in generic position rule out.
 */
function trace(p: FlatRing, c: FlatRing, crossings: Crossing[]): RingOverlay | null {
  const n = p.length / 2;
  const m = c.length / 2;
  const count = crossings.length;
  if (count % 2 !== 0) return null;
  const alongP = crossings
    .map((_, i) => i)
    .sort((a, b) => crossings[a]!.k + crossings[a]!.t - (crossings[b]!.k + crossings[b]!.t));
  const alongC = crossings
    .map((_, i) => i)
    .sort((a, b) => crossings[a]!.e + crossings[a]!.u - (crossings[b]!.e + crossings[b]!.u));
  const nextOnP = new Int32Array(count);
  const nextOnC = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    const a = crossings[alongP[s]!]!;
    const b = crossings[alongP[(s + 1) % count]!]!;
    if (a.entering === b.entering) return null;
    nextOnP[alongP[s]!] = alongP[(s + 1) % count]!;
    nextOnC[alongC[s]!] = alongC[(s + 1) % count]!;
  }
  const rings: Position[][] = [];
  const used = new Uint8Array(count);
  for (let start = 0; start < count; start++) {
    if (used[start] || !crossings[start]!.entering) continue;
    const ring: Position[] = [];
    let at = start;
    for (let guard = 0; ; guard++) {
      if (guard > count) return null;
      const inX = crossings[at]!;
      used[at] = 1;
      ring.push([inX.x, inX.y]);
      // Along the patch to the exit: its vertices k_in+1 … k_out.
      const out = nextOnP[at]!;
      const outX = crossings[out]!;
      if (outX.entering) return null;
      used[out] = 1;
      const pCount = inX.k === outX.k ? (inX.t < outX.t ? 0 : n) : (outX.k - inX.k + n) % n;
      for (let s = 1; s <= pCount; s++) {
        const v = (inX.k + s) % n;
        ring.push([p[2 * v]!, p[2 * v + 1]!]);
      }
      ring.push([outX.x, outX.y]);
      // Along the feature to the next crossing, an entry: its vertices e_out+1 … e_next.
      at = nextOnC[out]!;
      const next = crossings[at]!;
      if (!next.entering) return null;
      const cCount = next.e === outX.e ? (outX.u < next.u ? 0 : m) : (next.e - outX.e + m) % m;
      for (let s = 1; s <= cCount; s++) {
        const v = (outX.e + s) % m;
        ring.push([c[2 * v]!, c[2 * v + 1]!]);
      }
      if (at === start) break;
    }
    ring.push(ring[0]!);
    rings.push(ring);
  }
  return { kind: 'clip', rings };
}
