// The GEOS-free overlay of two simple rings: hand-worked cases, the cases it must hand back to
// GEOS, and agreement with GEOS on thousands of random pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initGeos } from '../../src/geo/geos.ts';
import { ellipsoidalArea } from '../../src/geo/area.ts';
import type { Areal, Position } from '../../src/geo/geometry.ts';
import { featureRingOf, ringOverlay, simpleRingOf, type FlatRing } from '../../src/geo/ring-overlay.ts';
import { buildReferenceIndex } from '../../src/geo/reference-index.ts';
import { overlayPatch, setRingOverlay } from '../../src/geo/overlay.ts';
import { geoArea, poly, pt, rect, ring } from '../helpers/overlay-frame.ts';

const geos = await initGeos();
const flat = (g: Areal): FlatRing => simpleRingOf(g, 256)!;
const feat = (g: Areal): FlatRing => featureRingOf(g)!;
/** The clip's pieces as one geometry. */
const pieces = (rings: Position[][]): Areal =>
  rings.length === 1
    ? { type: 'Polygon', coordinates: [rings[0]!] }
    : { type: 'MultiPolygon', coordinates: rings.map((r) => [r]) };

test('two overlapping squares: the overlap is the common square, its corners exact', () => {
  const o = ringOverlay(flat(rect(0, 0, 20, 20)), feat(rect(10, 10, 30, 30)));
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
  assert.deepEqual(ringOverlay(flat(rect(0, 0, 10, 10)), feat(rect(20, 0, 30, 10))), {
    kind: 'disjoint',
  });
  assert.deepEqual(ringOverlay(flat(rect(0, 0, 100, 100)), feat(rect(20, 20, 30, 30))), {
    kind: 'feature-inside',
  });
  assert.deepEqual(ringOverlay(flat(rect(20, 20, 30, 30)), feat(rect(0, 0, 100, 100))), {
    kind: 'patch-inside',
  });
});

test('a patch edge crossing a parcel twice on one edge: the chord cuts off the parcel corner', () => {
  // Triangle patch whose hypotenuse cuts the parcel's lower-right corner off.
  const patch = poly(ring([15, -10], [40, -10], [40, 15]));
  const o = ringOverlay(flat(patch), feat(rect(0, 0, 30, 30)));
  assert.ok(o && o.kind === 'clip');
  const g = pieces(o.rings);
  const want = geos.intersection(patch, rect(0, 0, 30, 30))!;
  assert.ok(Math.abs(ellipsoidalArea(g) - ellipsoidalArea(want)) < 1e-9 * ellipsoidalArea(want));
});

test('a U-shaped patch across a bar: two pieces, each valid, together as GEOS finds them', () => {
  const u = poly(ring([0, 0], [30, 0], [30, 20], [20, 20], [20, 5], [10, 5], [10, 20], [0, 20]));
  const bar = rect(-5, 10, 35, 15);
  const o = ringOverlay(flat(u), feat(bar));
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
  assert.equal(ringOverlay(flat(rect(0, 0, 10, 10)), feat(rect(10, 0, 20, 10))), null);
  // A vertex on the other's edge.
  assert.equal(ringOverlay(flat(poly(ring([0, 0], [10, 5], [0, 10]))), feat(rect(10, 0, 20, 10))), null);
  // Holes or several parts: not taken at all.
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

/** A random star-shaped simple ring around (cx, cy): n vertices at radii r0·(0.5 … 1). */
function star(r: () => number, cx: number, cy: number, n: number, r0: number): [number, number][] {
  const pts: [number, number][] = [];
  for (let v = 0; v < n; v++) {
    const t = (2 * Math.PI * v) / n;
    const rr = r0 * (0.5 + 0.5 * r());
    pts.push([cx + rr * Math.cos(t), cy + rr * Math.sin(t)]);
  }
  return pts;
}

for (const features of ['jittered quadrilaterals', 'concave stars'] as const)
  test(`agrees with GEOS on 3,000 random star patches against ${features}`, () => {
    const r = rng(features === 'concave stars' ? 11 : 7);
    let decided = 0;
    let clipped = 0;
    let multipart = 0;
    for (let k = 0; k < 3000; k++) {
      const patch = poly(ring(...star(r, 0, 0, 8 + Math.floor(r() * 30), 10 + r() * 40)));
      const x = -60 + r() * 100;
      const y = -60 + r() * 100;
      const j = () => (r() - 0.5) * 8;
      const parcel =
        features === 'concave stars'
          ? poly(ring(...star(r, x + 20, y + 20, 5 + Math.floor(r() * 40), 10 + r() * 30)))
          : poly(
              ring(
                [x + j(), y + j()],
                [x + 40 + j(), y + j()],
                [x + 40 + j(), y + 40 + j()],
                [x + j(), y + 40 + j()],
              ),
            );
      const o = ringOverlay(flat(patch), feat(parcel));
      if (!o) continue;
      const want = geos.intersection(patch, parcel);
      const wantM2 = want ? ellipsoidalArea(want) : 0;
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
    assert.ok(decided > 2900, `decided ${decided}`);
    assert.ok(clipped > 500, `clipped ${clipped}`);
    assert.ok(multipart > 20, `multipart ${multipart}`);
  });

test('overlayPatch gives the same pieces with and without the ring path', () => {
  const r = rng(3);
  const features = Array.from({ length: 40 }, (_, i) => ({
    id: i,
    geometry: poly(
      ring(...star(r, -60 + r() * 120, -60 + r() * 120, 6 + Math.floor(r() * 20), 10 + r() * 30)),
    ),
  }));
  const idx = buildReferenceIndex(geos, features, { prepare: 'patch' });
  const patch = poly(ring(...star(r, 0, 0, 30, 60)));
  const a = overlayPatch(patch, idx);
  setRingOverlay(false);
  let b;
  try {
    b = overlayPatch(patch, idx);
  } finally {
    setRingOverlay(true);
  }
  assert.ok(a.pieces.length >= 5, `pieces ${a.pieces.length}`);
  assert.deepEqual(
    a.pieces.map((p) => [p.id, p.method]),
    b.pieces.map((p) => [p.id, p.method]),
  );
  for (let i = 0; i < a.pieces.length; i++)
    assert.ok(Math.abs(a.pieces[i]!.areaM2 - b.pieces[i]!.areaM2) <= 1e-9 * a.pieces[i]!.areaM2 + 1e-9);
});
