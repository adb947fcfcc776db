// Whether a polygon is certainly valid, decided without GEOS: most delivered parcels are one small
// ring, and asking GEOS (WKB into the WASM heap, GEOSisValidDetail) costs ~2.5 µs each where this
// costs a fraction of that — ~0.25 s of every 100,000 imported parcels. Only a "yes" is an answer:
// anything this cannot settle (holes, several parts, many vertices, repeated or collinear
// vertices, a vertex on another edge, coordinates too close to tell) goes to GEOS, which also
// names the problem of an invalid one.
//
// One ring is a valid polygon when it is closed, has at least three distinct corners, and no two
// of its edges meet except neighbours at their shared vertex. Edges are compared by the signs of
// orientation determinants, each used only when floating point cannot have flipped it (Shewchuk's
// error bound for orient2d), so every "yes" agrees with GEOS's exact predicates
// (test/unit/simple-polygon.test.ts checks it against GEOS on random rings).
import type { Areal, Position } from './geometry.ts';

/** Above this many edges the pairwise check (O(n²)) is left to GEOS's indexed one. */
export const MAX_EDGES = 64;

/** (3 + 16ε)ε: the relative error bound of the orientation determinant (Shewchuk, ccwerrboundA). */
const ORIENT_ERROR = 3.3306690738754716e-16;

/** Sign of the orientation of a→b→c (1 left turn, −1 right turn), or 0 when it cannot be told. */
function orientSign(a: Position, b: Position, c: Position): number {
  const left = (a[0] - c[0]) * (b[1] - c[1]);
  const right = (a[1] - c[1]) * (b[0] - c[0]);
  const det = left - right;
  const bound = ORIENT_ERROR * (Math.abs(left) + Math.abs(right));
  return det > bound ? 1 : det < -bound ? -1 : 0;
}

/** Whether closed intervals [a, b] and [c, d] (in any order) overlap or touch. */
function spansMeet(a: number, b: number, c: number, d: number): boolean {
  return Math.max(a, b) >= Math.min(c, d) && Math.max(c, d) >= Math.min(a, b);
}

/** The one ring of a polygon (or of a one-part multipolygon) without holes; null otherwise. */
function onlyRing(g: Areal): Position[] | null {
  const rings = g.type === 'Polygon' ? g.coordinates : g.coordinates.length === 1 ? g.coordinates[0]! : null;
  return rings && rings.length === 1 ? rings[0]! : null;
}

/** True when g is certainly a valid polygon; false when GEOS must decide. */
export function certainlyValid(g: Areal): boolean {
  const ring = onlyRing(g);
  if (!ring) return false;
  const n = ring.length - 1; // edges; the last vertex closes the ring
  if (n < 3 || n > MAX_EDGES) return false;
  const first = ring[0]!;
  const last = ring[n]!;
  if (first[0] !== last[0] || first[1] !== last[1]) return false;
  for (let i = 0; i < n; i++) {
    const p = ring[i]!;
    const q = ring[i + 1]!;
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) return false;
    if (p[0] === q[0] && p[1] === q[1]) return false;
  }
  // Neighbouring edges turn, neither going straight on nor folding back.
  for (let i = 0; i < n; i++) if (orientSign(ring[i]!, ring[i + 1]!, ring[(i + 2) % n]!) === 0) return false;
  // Other pairs of edges stay apart.
  for (let i = 0; i < n - 2; i++) {
    const a = ring[i]!;
    const b = ring[i + 1]!;
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue; // neighbours through the closing vertex
      const c = ring[j]!;
      const d = ring[j + 1]!;
      if (!spansMeet(a[0], b[0], c[0], d[0]) || !spansMeet(a[1], b[1], c[1], d[1])) continue;
      const abc = orientSign(a, b, c);
      const abd = orientSign(a, b, d);
      const cda = orientSign(c, d, a);
      const cdb = orientSign(c, d, b);
      if (abc === 0 || abd === 0 || cda === 0 || cdb === 0) return false;
      if (abc !== abd && cda !== cdb) return false; // they cross
    }
  }
  return true;
}
