// The overlay engine on hand-worked geometries: every expected area is GeographicLib's area of the
// intersection polygon written out by hand (test/helpers/overlay-frame.ts), not area.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initGeos } from '../../src/geo/geos.ts';
import { ellipsoidalArea } from '../../src/geo/area.ts';
import type { Areal, Polygon, Ring } from '../../src/geo/geometry.ts';
import { buildReferenceIndex, type ReferenceFeature } from '../../src/geo/reference-index.ts';
import {
  areaNoise,
  coverArea,
  overlayPatch,
  PatchShape,
  remainder,
  setRingOverlay,
} from '../../src/geo/overlay.ts';
import { bufferMetres } from '../../src/geo/metric-buffer.ts';
import {
  geoArea,
  lonEastOf,
  multi,
  poly,
  pt,
  rect,
  rectRing,
  ring,
  xOfLon,
} from '../helpers/overlay-frame.ts';

const geos = await initGeos();

/** GeographicLib and area.ts agree to ~1e-4 m² on these sizes (README); 1e-3 leaves room. */
const EXACT = 1e-3;

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (Δ ${actual - expected})`);
}

const feature = (
  id: string | number,
  geometry: Areal,
  attributes: Record<string, unknown> = {},
): ReferenceFeature => ({
  id,
  geometry,
  attributes,
});

test('a patch across two units: one piece in each, the areas of the hand-cut halves', () => {
  for (const prepare of ['reference', 'patch'] as const) {
    const units = buildReferenceIndex(
      geos,
      [feature('A', rect(-1000, -1000, 0, 1000)), feature('B', rect(0, -1000, 1000, 1000))],
      { prepare },
    );
    const patch = rect(-30, 0, 70, 50);
    const r = overlayPatch(patch, units);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.pieces.map((p) => [p.id, p.method]),
      [
        ['A', 'clip'],
        ['B', 'clip'],
      ],
    );
    close(r.pieces[0]!.areaM2, geoArea(rect(-30, 0, 0, 50)), EXACT, `${prepare}: A`);
    close(r.pieces[1]!.areaM2, geoArea(rect(0, 0, 70, 50)), EXACT, `${prepare}: B`);
    close(r.patchAreaM2, geoArea(patch), EXACT, 'patch');
    units.dispose();
  }
});

test('a unit containing the whole patch contributes the patch area itself (reference prepared)', (t) => {
  // Through GEOS's prepared geometry (small simple rings would take the ring path).
  setRingOverlay(false);
  t.after(() => setRingOverlay(true));
  const units = buildReferenceIndex(geos, [feature('A', rect(-1000, -1000, 1000, 1000))]);
  assert.equal(units.prepareSide, 'reference');
  const patch = rect(10, 10, 60, 40);
  const r = overlayPatch(patch, units);
  assert.equal(r.pieces.length, 1);
  assert.equal(r.pieces[0]!.method, 'covers_patch');
  assert.equal(r.pieces[0]!.areaM2, r.patchAreaM2);
  close(r.patchAreaM2, geoArea(patch), EXACT, 'patch');
  assert.equal(units.cachedCount, 1); // prepared once, kept for the next patch
  overlayPatch(rect(100, 100, 150, 150), units);
  assert.equal(units.cachedCount, 1);
  units.dispose();
});

test('a patch with a hole: the hole is not covered', () => {
  const patch = poly(rectRing(0, 0, 100, 100), rectRing(40, 40, 60, 60));
  const farmland = buildReferenceIndex(geos, [feature(1, rect(50, -50, 150, 150))]);
  const r = overlayPatch(patch, farmland);
  assert.equal(r.pieces.length, 1);
  const expected = geoArea(rect(50, 0, 100, 100)) - geoArea(rect(50, 40, 60, 60));
  close(r.pieces[0]!.areaM2, expected, EXACT, 'piece');
  close(r.patchAreaM2, geoArea(rect(0, 0, 100, 100)) - geoArea(rect(40, 40, 60, 60)), EXACT, 'patch');
});

test('a multipart patch: one piece per feature, holding both parts', () => {
  const patch = multi(rect(0, 0, 50, 50), rect(100, 0, 150, 50));
  const idx = buildReferenceIndex(geos, [feature(1, rect(25, -10, 125, 60))]);
  const r = overlayPatch(patch, idx);
  assert.equal(r.pieces.length, 1);
  assert.equal(r.pieces[0]!.geometry.type, 'MultiPolygon');
  close(r.pieces[0]!.areaM2, geoArea(rect(25, 0, 50, 50)) + geoArea(rect(100, 0, 125, 50)), EXACT, 'piece');
});

test('two overlapping approvals: covered area is the union, not the sum; the remainder is the rest', () => {
  const patch = rect(0, 0, 100, 100);
  const approvals = buildReferenceIndex(geos, [
    feature('A', rect(-50, -50, 60, 150), { PZWH: '鲁政土字〔2016〕1号' }),
    feature('B', rect(40, -50, 80, 150), { PZWH: '鲁政土字〔2016〕2号' }),
  ]);
  const cov = coverArea(patch, approvals);
  assert.equal(cov.pieces.length, 2);
  const sum = cov.pieces[0]!.areaM2 + cov.pieces[1]!.areaM2;
  close(sum, geoArea(rect(0, 0, 60, 100)) + geoArea(rect(40, 0, 80, 100)), EXACT, 'pieces');
  close(cov.coveredM2, geoArea(rect(0, 0, 80, 100)), EXACT, 'union');
  assert.ok(sum - cov.coveredM2 > 1000, 'the 20 m overlap is counted once');
  const rest = remainder(patch, approvals);
  assert.ok(rest);
  close(rest.areaM2, geoArea(rect(80, 0, 100, 100)), EXACT, 'remainder');
  close(ellipsoidalArea(rest.geometry), rest.areaM2, 1e-9, 'remainder geometry');
  // Fully covered: no remainder at all.
  assert.equal(remainder(rect(10, 10, 50, 50), approvals), null);
});

test('a filter keeps features out of the cover', () => {
  const patch = rect(0, 0, 100, 100);
  const idx = buildReferenceIndex(geos, [
    feature('A', rect(-50, -50, 60, 150)),
    feature('B', rect(40, -50, 80, 150)),
  ]);
  const cov = coverArea(patch, idx, (i) => idx.ids[i] === 'B');
  assert.deepEqual(
    cov.pieces.map((p) => p.id),
    ['B'],
  );
  close(cov.coveredM2, geoArea(rect(40, 0, 80, 100)), EXACT, 'B only');
});

test('a bowtie patch is repaired into its two lobes and overlaid without error', () => {
  const bowtie = poly(ring([0, 0], [100, 100], [100, 0], [0, 100]));
  const shape = new PatchShape(geos, bowtie);
  try {
    assert.equal(shape.repaired, true);
    assert.equal(shape.issue, 'Self-intersection');
    const left = poly(ring([0, 0], [50, 50], [0, 100]));
    const right = poly(ring([100, 0], [100, 100], [50, 50]));
    close(shape.areaM2, geoArea(left) + geoArea(right), EXACT, 'lobes');
    const strip = buildReferenceIndex(geos, [feature(1, rect(-10, -10, 30, 110))]);
    const r = overlayPatch(shape, strip);
    assert.deepEqual(r.errors, []);
    assert.equal(r.pieces.length, 1);
    close(
      r.pieces[0]!.areaM2,
      geoArea(poly(ring([0, 0], [30, 30], [30, 70], [0, 100]))),
      EXACT,
      'clipped lobe',
    );
  } finally {
    shape.dispose();
  }
});

test('slivers below the tolerance are dropped and counted; above it they are kept', () => {
  const patch = rect(0, 0, 100, 100);
  // Strips 1 mm and 4 mm wide along the east edge, 5 m long: ≈ 0.005 m² and ≈ 0.02 m².
  const idx = buildReferenceIndex(geos, [
    feature('thin', rect(99.999, 10, 120, 15)),
    feature('thick', rect(99.996, 50, 120, 55)),
  ]);
  const r = overlayPatch(patch, idx);
  assert.equal(r.slivers, 1);
  assert.deepEqual(
    r.pieces.map((p) => p.id),
    ['thick'],
  );
  close(r.pieces[0]!.areaM2, geoArea(rect(99.996, 50, 100, 55)), 1e-4, 'thick strip');
  assert.ok(r.pieces[0]!.areaM2 > 0.01 && r.pieces[0]!.areaM2 < 0.03);
  // A custom tolerance keeps the thin strip too.
  assert.equal(overlayPatch(patch, idx, { sliverM2: 0.001 }).pieces.length, 2);
});

test('a feature wholly inside the patch takes its stored area, equal to clipping', () => {
  const patch = rect(0, 0, 100, 100);
  const parcel = rect(20, 20, 40, 45);
  const stored = ellipsoidalArea(parcel);
  const clipped = ellipsoidalArea(geos.intersection(patch, parcel)!);
  close(stored, clipped, 1e-6, 'stored vs clipped');
  close(stored, geoArea(parcel), EXACT, 'stored vs GeographicLib');
  for (const prepare of ['patch', 'reference'] as const) {
    const idx = buildReferenceIndex(geos, [{ id: 7, geometry: parcel, areaM2: stored }], { prepare });
    const r = overlayPatch(patch, idx);
    assert.equal(r.pieces.length, 1);
    assert.equal(r.pieces[0]!.method, 'inside', prepare);
    assert.equal(r.pieces[0]!.areaM2, stored);
    idx.dispose();
  }
  // The stored value really is what is used: a marker value comes back unchanged.
  const marked = buildReferenceIndex(geos, [{ id: 8, geometry: parcel, areaM2: stored - 0.5 }]);
  assert.equal(overlayPatch(patch, marked).pieces[0]!.areaM2, stored - 0.5);
});

test('metric buffer: a rectangle grown by 10 m has its east edge 10 geodesic metres further', () => {
  const g = rect(0, 0, 200, 200);
  const grown = bufferMetres(geos, g, 10)!;
  let maxLon = -Infinity;
  for (const r of grown.type === 'Polygon' ? grown.coordinates : grown.coordinates.flat())
    for (const [lon] of r) maxLon = Math.max(maxLon, lon);
  close(maxLon, lonEastOf(200, 100, 10), 1e-9, 'east edge (degrees)'); // 1e-9° ≈ 0.1 mm
  assert.equal(bufferMetres(geos, g, 0), g);
});

// ---------------------------------------------------------------------------------------------
// Dirty data

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random polygon around (cx, cy), made dirty in one of several ways. */
function dirtyPolygon(rand: () => number, cx: number, cy: number): Polygon {
  const n = 5 + Math.floor(rand() * 20);
  const r0 = 10 + rand() * 60;
  const xy: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    const t = (2 * Math.PI * k) / n;
    const r = r0 * (0.5 + 0.5 * rand());
    xy.push([cx + r * Math.cos(t), cy + r * Math.sin(t)]);
  }
  const kind = Math.floor(rand() * 6);
  const at = Math.floor(rand() * (n - 2)) + 1;
  const p = xy[at]!;
  switch (kind) {
    case 0: // spike out and back
      xy.splice(at + 1, 0, [p[0] + 40 * (rand() - 0.5), p[1] + 40 * (rand() - 0.5)], [p[0], p[1]]);
      break;
    case 1: // duplicate vertices
      xy.splice(at, 0, [p[0], p[1]], [p[0], p[1]]);
      break;
    case 2: // bowtie: swap two vertices
      [xy[at], xy[at + 1]] = [xy[at + 1]!, xy[at]!];
      break;
    case 3: {
      // ring touching itself: a loop that comes back to vertex `at`
      const loop: [number, number][] = [
        [p[0] + 15, p[1] + 5],
        [p[0] + 15, p[1] - 5],
        [p[0], p[1]],
      ];
      xy.splice(at + 1, 0, ...loop);
      break;
    }
    case 4: {
      // a hole touching the shell at one point, and a hole crossing it
      const outer = ring(...xy);
      const hole: Ring = ring([p[0], p[1]], [cx, cy + 3], [cx + 3, cy]);
      const crossing: Ring = rectRing(cx - r0, cy - 2, cx + r0 * 2, cy + 2);
      return poly(outer, hole, ...(rand() < 0.5 ? [crossing] : []));
    }
    default: // collapsed: all on a line for part of the ring
      xy.splice(at, 0, [p[0] + 30, p[1]], [p[0] + 60, p[1]], [p[0] + 30, p[1]]);
  }
  return poly(ring(...xy));
}

test('random dirty data: never throws, no intersection exceeds either input', () => {
  const rand = rng(4242);
  const refsDirty: ReferenceFeature[] = [];
  for (let i = 0; i < 200; i++) refsDirty.push(feature(i, dirtyPolygon(rand, rand() * 700, rand() * 700)));
  // As imported: repaired, polygonal parts only.
  const refsRepaired: ReferenceFeature[] = refsDirty
    .map((f) => ({ ...f, geometry: geos.makeValid(f.geometry) }))
    .filter((f): f is ReferenceFeature => f.geometry !== null);
  const trueArea = new Map(refsRepaired.map((f) => [f.id, ellipsoidalArea(f.geometry)]));
  const patches: Polygon[] = [];
  for (let i = 0; i < 60; i++) patches.push(dirtyPolygon(rand, rand() * 700, rand() * 700));

  let pieces = 0;
  for (const [label, refs] of [
    ['repaired', refsRepaired],
    ['unrepaired', refsDirty],
  ] as const)
    for (const prepare of ['patch', 'reference'] as const) {
      const idx = buildReferenceIndex(geos, refs, { prepare });
      let errors = 0;
      for (const patch of patches) {
        const shape = new PatchShape(geos, patch);
        try {
          const r = overlayPatch(shape, idx);
          errors += r.errors.length;
          for (const p of r.pieces) {
            pieces++;
            const refM2 = trueArea.get(p.id) ?? Infinity;
            assert.ok(
              p.areaM2 <= shape.areaM2 + areaNoise(shape.areaM2),
              `${label}: piece ${p.areaM2} > patch ${shape.areaM2}`,
            );
            assert.ok(p.areaM2 <= refM2 + areaNoise(refM2), `${label}: piece ${p.areaM2} > feature ${refM2}`);
            assert.ok(p.areaM2 >= 0.01);
          }
          const cov = coverArea(shape, idx);
          assert.ok(cov.coveredM2 <= shape.areaM2);
          const rest = remainder(shape, idx);
          if (rest) assert.ok(rest.areaM2 <= shape.areaM2 - cov.coveredM2 + areaNoise(shape.areaM2) + 0.01);
        } finally {
          shape.dispose();
        }
      }
      // Repaired reference data overlays cleanly; unrepaired data may report pairs, never throw.
      if (label === 'repaired') assert.equal(errors, 0, `${prepare}: ${errors} pair errors`);
      idx.dispose();
    }
  assert.ok(pieces > 200, `the random data should overlap (${pieces} pieces)`);
});

test('garbage reference features (collapsed ring, NaN coordinates) neither throw nor count', () => {
  const collapsed: Polygon = { type: 'Polygon', coordinates: [[pt(0, 0), pt(10, 0)]] };
  const nan: Polygon = { type: 'Polygon', coordinates: [[pt(0, 0), [NaN, NaN], pt(10, 10), pt(0, 0)]] };
  for (const prepare of ['patch', 'reference'] as const) {
    const idx = buildReferenceIndex(
      geos,
      [feature('ok', rect(0, 0, 50, 50)), feature('collapsed', collapsed), feature('nan', nan)],
      {
        prepare,
      },
    );
    const r = overlayPatch(rect(-5, -5, 20, 20), idx);
    assert.deepEqual(
      r.pieces.map((p) => p.id),
      ['ok'],
    );
    close(r.pieces[0]!.areaM2, geoArea(rect(0, 0, 20, 20)), EXACT, prepare);
    for (const e of r.errors) assert.notEqual(e.id, 'ok');
    idx.dispose();
  }
});

test('the reference index keeps geometry as packed WKB and skips empty features', () => {
  const empty: Polygon = { type: 'Polygon', coordinates: [] };
  const idx = buildReferenceIndex(geos, [
    feature(1, rect(0, 0, 10, 10)),
    feature(2, empty),
    feature(3, rect(20, 0, 30, 10)),
  ]);
  assert.equal(idx.size, 2);
  assert.deepEqual(idx.skipped, [{ id: 2, reason: '几何为空' }]);
  assert.deepEqual(idx.ids, [1, 3]);
  assert.deepEqual(idx.geometry(1), rect(20, 0, 30, 10));
  close(idx.areas[0]!, geoArea(rect(0, 0, 10, 10)), EXACT, 'computed area');
  assert.deepEqual(
    idx.search({ minx: pt(25, 0)[0], miny: pt(0, 5)[1], maxx: pt(26, 0)[0], maxy: pt(0, 6)[1] }),
    [1],
  );
  // An empty layer overlays to nothing.
  assert.deepEqual(overlayPatch(rect(0, 0, 10, 10), buildReferenceIndex(geos, [])).pieces, []);
  assert.equal(xOfLon(pt(12.5, 0)[0]).toFixed(6), '12.500000');
});
