// The import's GEOS-free validity check (src/geo/simple-polygon.ts): hand-made rings it must settle
// or leave to GEOS, and thousands of random rings on which every "certainly valid" must be what
// GEOS says — including rings built to sit on the edge of floating point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initGeos } from '../../src/geo/geos.ts';
import { certainlyValid, MAX_EDGES } from '../../src/geo/simple-polygon.ts';
import type { Areal, Position } from '../../src/geo/geometry.ts';
import { Rng } from '../../src/demo/prng.ts';
import { multi, poly, pt, rect, ring } from '../helpers/overlay-frame.ts';

const geos = await initGeos();

test('settles plain parcels as valid, as GEOS does', () => {
  const cases: [string, Areal][] = [
    ['a square', rect(0, 0, 40, 40)],
    ['a triangle', poly(ring([0, 0], [30, 0], [0, 20]))],
    ['a concave L, clockwise', poly(ring([0, 0], [0, 30], [10, 30], [10, 10], [30, 10], [30, 0]))],
    ['a one-part multipolygon', multi(rect(0, 0, 5, 5))],
    ['a vertex 1 µm from another edge', poly(ring([0, 0], [10, 0], [10, 10], [5, 0.000001], [0, 10]))],
  ];
  for (const [name, g] of cases) {
    assert.equal(geos.validity(g).valid, true, name);
    assert.equal(certainlyValid(g), true, name);
  }
});

test('leaves to GEOS every ring it cannot settle, valid or not', () => {
  const many: [number, number][] = Array.from({ length: MAX_EDGES + 1 }, (_, i) => {
    const t = (2 * Math.PI * i) / (MAX_EDGES + 1);
    return [20 * Math.cos(t), 20 * Math.sin(t)];
  });
  const open = rect(0, 0, 10, 10);
  open.coordinates[0]!.pop();
  const cases: [string, Areal, boolean][] = [
    ['a bow tie', poly(ring([0, 0], [10, 10], [10, 0], [0, 10])), false],
    ['a spike folding back', poly(ring([0, 0], [10, 0], [20, 0], [10, 0], [10, 10])), false],
    ['a straight vertex', poly(ring([0, 0], [5, 0], [10, 0], [10, 10], [0, 10])), true],
    ['a repeated vertex', poly(ring([0, 0], [10, 0], [10, 0], [10, 10], [0, 10])), true],
    ['a ring touching itself', poly(ring([0, 0], [10, 0], [5, 5], [10, 10], [0, 10], [5, 5])), false],
    ['a vertex on another edge', poly(ring([0, 0], [10, 0], [10, 10], [5, 0], [0, 10])), false],
    ['a hole', poly(ring([0, 0], [10, 0], [10, 10], [0, 10]), ring([2, 2], [2, 4], [4, 4], [4, 2])), true],
    ['two parts', multi(rect(0, 0, 5, 5), rect(10, 10, 15, 15)), true],
    [`${MAX_EDGES + 1} edges`, poly(ring(...many)), true],
    ['a ring not closed', open, false],
    ['a zero-area ring', poly(ring([0, 0], [10, 0], [20, 0])), false],
  ];
  for (const [name, g, valid] of cases) {
    assert.equal(certainlyValid(g), false, name);
    if (name !== 'a ring not closed') assert.equal(geos.validity(g).valid, valid, name);
  }
  const nan = rect(0, 0, 10, 10);
  nan.coordinates[0]![2] = [NaN, 36.8];
  assert.equal(certainlyValid(nan), false, 'a coordinate that is not a number');
});

/** A random ring of n vertices in a box of `size` metres, snapped to a grid of `grid` metres. */
function randomRing(r: Rng, n: number, size: number, grid: number): Position[] {
  const pts: Position[] = [];
  for (let i = 0; i < n; i++) {
    const x = Math.round((r.next() * size) / grid) * grid;
    const y = Math.round((r.next() * size) / grid) * grid;
    pts.push(pt(x, y));
  }
  pts.push([...pts[0]!] as Position);
  return pts;
}

/** A star-shaped (so simple) ring: sorted angles, random radii; nearly degenerate when flat. */
function starRing(r: Rng, n: number, flat: number): Position[] {
  const pts: Position[] = [];
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * (i + 0.9 * r.next())) / n;
    const rr = 20 * (0.3 + 0.7 * r.next());
    pts.push(pt(rr * Math.cos(t), flat * rr * Math.sin(t)));
  }
  pts.push([...pts[0]!] as Position);
  return pts;
}

test('agrees with GEOS on 20,000 random rings, and settles most simple ones itself', () => {
  const r = new Rng(20261126, 'simple-polygon');
  let settled = 0;
  let valid = 0;
  let simpleStars = 0;
  let settledStars = 0;
  for (let k = 0; k < 20_000; k++) {
    const kind = k % 4;
    const rng =
      kind === 0
        ? randomRing(r, r.intIn(3, 8), 40, 1e-3) // arbitrary: mostly self-crossing
        : kind === 1
          ? randomRing(r, r.intIn(3, 6), 4, 1) // on a coarse grid: shared vertices, collinear edges
          : starRing(r, r.intIn(3, MAX_EDGES), kind === 2 ? 1 : 1e-9); // simple; the last nearly flat
    const g: Areal = { type: 'Polygon', coordinates: [rng] };
    const fast = certainlyValid(g);
    const exact = geos.validity(g).valid;
    if (fast)
      assert.equal(exact, true, `ring ${k} settled as valid but GEOS says not: ${JSON.stringify(rng)}`);
    if (fast) settled++;
    if (exact) valid++;
    if (kind === 2 && exact) {
      simpleStars++;
      if (fast) settledStars++;
    }
  }
  assert.ok(valid > 5_000 && valid < 20_000, `a mix of valid and invalid rings (${valid} valid)`);
  assert.ok(settled > 0);
  assert.ok(settledStars / simpleStars > 0.99, `settled ${settledStars} of ${simpleStars} simple stars`);
});
