// The GEOS-free path for small convex features: hand-worked cases, the cases it must hand back to
// GEOS, and agreement with GEOS on thousands of random pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initGeos } from '../../src/geo/geos.ts';
import { ellipsoidalArea } from '../../src/geo/area.ts';
import type { Areal, Position } from '../../src/geo/geometry.ts';
import { convexOverlay, convexRingOf, simpleRingOf, type FlatRing } from '../../src/geo/convex-overlay.ts';
import { buildReferenceIndex } from '../../src/geo/reference-index.ts';
import { overlayPatch } from '../../src/geo/overlay.ts';
import { geoArea, poly, pt, rect, ring } from '../helpers/overlay-frame.ts';

const geos = await initGeos();
const flat = (g: Areal): FlatRing => simpleRingOf(g, 256)!;
const convex = (g: Areal): FlatRing => convexRingOf(g)!;
/** The clip's pieces as one geometry. */
const pieces = (rings: Position[][]): Areal =>
  rings.length === 1
    ? { type: 'Polygon', coordinates: [rings[0]!] }
    : { type: 'MultiPolygon', coordinates: rings.map((r) => [r]) };

test('two overlapping squares: the overlap is the common square, its corners exact', () => {
  const o = convexOverlay(flat(rect(0, 0, 20, 20)), convex(rect(10, 10, 30, 30)));
  assert.ok(o && o.kind === 'clip');
  assert.equal(o.rings.length, 1);
  const g = pieces(o.rings);
  // Axis-parallel in lon/lat: the crossing points are the corners (10,20) and (20,10) exactly.
  const corners = new Set(o.rings[0]!.map(([x, y]) => `${x},${y}`));
  for (const [x, y] of [
    [10, 10],
    [20, 10],
    [20, 20],
    [10, 20],
  ] as const) {
    const [lon, lat] = pt(x, y);
    assert.ok(corners.has(`${lon},${lat}`), `corner ${x},${y}`);
  }
  assert.ok(Math.abs(ellipsoidalArea(g) - geoArea(rect(10, 10, 20, 20))) < 1e-3);
});

test('apart, inside either way', () => {
  assert.deepEqual(convexOverlay(flat(rect(0, 0, 10, 10)), convex(rect(20, 0, 30, 10))), {
    kind: 'disjoint',
  });
  assert.deepEqual(convexOverlay(flat(rect(0, 0, 100, 100)), convex(rect(20, 20, 30, 30))), {
    kind: 'feature-inside',
  });
  assert.deepEqual(convexOverlay(flat(rect(20, 20, 30, 30)), convex(rect(0, 0, 100, 100))), {
    kind: 'patch-inside',
  });
});

test('a patch edge crossing a parcel twice on one edge: the chord cuts off the parcel corner', () => {
  // Triangle patch whose hypotenuse cuts the parcel's lower-right corner off.
  const patch = poly(ring([15, -10], [40, -10], [40, 15]));
  const o = convexOverlay(flat(patch), convex(rect(0, 0, 30, 30)));
  assert.ok(o && o.kind === 'clip');
  const g = pieces(o.rings);
  const want = geos.intersection(patch, rect(0, 0, 30, 30))!;
  assert.ok(Math.abs(ellipsoidalArea(g) - ellipsoidalArea(want)) < 1e-9 * ellipsoidalArea(want));
});

test('a U-shaped patch across a bar: two pieces, each valid, together as GEOS finds them', () => {
  const u = poly(ring([0, 0], [30, 0], [30, 20], [20, 20], [20, 5], [10, 5], [10, 20], [0, 20]));
  const bar = rect(-5, 10, 35, 15);
  const o = convexOverlay(flat(u), convex(bar));
  assert.ok(o && o.kind === 'clip');
  assert.equal(o.rings.length, 2);
  const g = pieces(o.rings);
  assert.equal(geos.validity(g).valid, true);
  // The two legs: x 0–10 and 20–30, y 10–15.
  assert.ok(
    Math.abs(ellipsoidalArea(g) - geoArea(rect(0, 10, 10, 15)) - geoArea(rect(20, 10, 30, 15))) < 1e-3,
  );
});

test('uncertain configurations go to GEOS', () => {
  // Shared edge (a patch snapped to the parcel).
  assert.equal(convexOverlay(flat(rect(0, 0, 10, 10)), convex(rect(10, 0, 20, 10))), null);
  // A vertex on the other's edge.
  assert.equal(convexOverlay(flat(poly(ring([0, 0], [10, 5], [0, 10]))), convex(rect(10, 0, 20, 10))), null);
  // Not convex, holes, several parts: not taken at all.
  assert.equal(convexRingOf(poly(ring([0, 0], [10, 0], [5, 2], [10, 10], [0, 10]))), null);
  assert.equal(
    simpleRingOf(poly(ring([0, 0], [10, 0], [10, 10], [0, 10]), ring([2, 2], [4, 2], [4, 4])), 256),
    null,
  );
});

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('agrees with GEOS on 3,000 random star patches against jittered parcels', () => {
  const r = rng(7);
  let decided = 0;
  let clipped = 0;
  let multipart = 0;
  for (let k = 0; k < 3000; k++) {
    const n = 8 + Math.floor(r() * 30);
    const r0 = 10 + r() * 40;
    const pts: [number, number][] = [];
    for (let v = 0; v < n; v++) {
      const t = (2 * Math.PI * v) / n;
      const rr = r0 * (0.5 + 0.5 * r());
      pts.push([rr * Math.cos(t), rr * Math.sin(t)]);
    }
    const patch = poly(ring(...pts));
    const x = -60 + r() * 100;
    const y = -60 + r() * 100;
    const j = () => (r() - 0.5) * 8;
    const parcel = poly(
      ring(
        [x + j(), y + j()],
        [x + 40 + j(), y + j()],
        [x + 40 + j(), y + 40 + j()],
        [x + j(), y + 40 + j()],
      ),
    );
    const cr = convexRingOf(parcel);
    if (!cr) continue;
    const o = convexOverlay(flat(patch), cr);
    const want = geos.intersection(patch, parcel);
    const wantM2 = want ? ellipsoidalArea(want) : 0;
    if (!o) continue;
    decided++;
    let got = 0;
    if (o.kind === 'clip') {
      clipped++;
      if (o.rings.length > 1) multipart++;
      got = ellipsoidalArea(pieces(o.rings));
      assert.equal(geos.validity(pieces(o.rings)).valid, true, `pair ${k}: valid piece`);
    } else if (o.kind === 'feature-inside') got = ellipsoidalArea(parcel);
    else if (o.kind === 'patch-inside') got = ellipsoidalArea(patch);
    assert.ok(
      Math.abs(got - wantM2) <= 1e-9 * ellipsoidalArea(patch) + 1e-9,
      `pair ${k} (${o.kind}): ${got} vs GEOS ${wantM2}`,
    );
  }
  // The fast path must actually carry most pairs, or it is dead code.
  assert.ok(decided > 2800, `decided ${decided}`);
  assert.ok(clipped > 500, `clipped ${clipped}`);
  assert.ok(multipart > 20, `multipart ${multipart}`);
});

test('overlayPatch gives the same pieces with convex parcels as GEOS gives with their concave twins', () => {
  // The same parcel once as a convex quadrilateral, once with a collinear extra vertex on an edge
  // (not strictly convex, so it goes through GEOS): identical areas.
  const patch = poly(ring([0, 0], [50, 5], [45, 40], [5, 35]));
  const quad = poly(ring([20, 20], [60, 20], [60, 60], [20, 60]));
  const twin = poly(ring([20, 20], [60, 20], [60, 40], [60, 60], [20, 60]));
  const a = overlayPatch(patch, buildReferenceIndex(geos, [{ id: 1, geometry: quad }]));
  const b = overlayPatch(patch, buildReferenceIndex(geos, [{ id: 1, geometry: twin }]));
  assert.equal(a.pieces.length, 1);
  assert.equal(b.pieces.length, 1);
  assert.equal(a.pieces[0]!.method, 'clip');
  assert.ok(Math.abs(a.pieces[0]!.areaM2 - b.pieces[0]!.areaM2) < 1e-9 * a.pieces[0]!.areaM2);
});
