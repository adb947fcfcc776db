import { test } from 'node:test';
import assert from 'node:assert/strict';
import initGeosJs from 'geos-wasm';
import { initGeos } from '../../src/geo/geos.ts';
import { ellipsoidalArea, planeArea } from '../../src/geo/area.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { MultiPolygon, Polygon, Ring } from '../../src/geo/geometry.ts';

const poly = (...rings: Ring[]): Polygon => ({ type: 'Polygon', coordinates: rings });
const square = (x: number, y: number, s: number): Ring => [
  [x, y],
  [x + s, y],
  [x + s, y + s],
  [x, y + s],
  [x, y],
];

test('initGeos is memoised', async () => {
  const [a, b] = await Promise.all([initGeos(), initGeos()]);
  assert.equal(a, b);
  assert.equal(await initGeos(), a);
  assert.match(a.version, /^3\.\d+/);
});

test('bowtie: invalid (Self-intersection), repaired into two triangles of the right area', async () => {
  const geos = await initGeos();
  const bowtie = poly([
    [0, 0],
    [2, 2],
    [2, 0],
    [0, 2],
    [0, 0],
  ]);
  const v = geos.validity(bowtie);
  assert.equal(v.valid, false);
  assert.equal(v.reason, 'Self-intersection');
  assert.deepEqual(v.location, [1, 1]);

  const fixed = geos.makeValid(bowtie);
  assert.ok(fixed && fixed.type === 'MultiPolygon', JSON.stringify(fixed));
  assert.equal(fixed.coordinates.length, 2);
  for (const p of fixed.coordinates) {
    assert.equal(p.length, 1);
    assert.equal(p[0]!.length, 4); // closed triangle
    assert.equal(planeArea({ type: 'Polygon', coordinates: p }), 1);
  }
  assert.equal(geos.validity(fixed).valid, true);

  // The same twist as a field near 周村: the two lobes keep their ellipsoidal area.
  const x = 117.8;
  const y = 36.8;
  const d = 0.001;
  const field = poly([
    [x, y],
    [x + d, y + d],
    [x + d, y],
    [x, y + d],
    [x, y],
  ]);
  const lobes = geos.makeValid(field) as MultiPolygon;
  const left = poly([
    [x, y],
    [x + d / 2, y + d / 2],
    [x, y + d],
    [x, y],
  ]);
  const right = poly([
    [x + d, y],
    [x + d, y + d],
    [x + d / 2, y + d / 2],
    [x + d, y],
  ]);
  const expected = ellipsoidalArea(left) + ellipsoidalArea(right);
  assert.ok(Math.abs(ellipsoidalArea(lobes) - expected) < 1e-6, `${ellipsoidalArea(lobes)} vs ${expected}`);
});

test('spike: invalid, repaired by dropping the spike', async () => {
  const geos = await initGeos();
  const spiky = poly([
    [0, 0],
    [10, 0],
    [10, 10],
    [5, 10],
    [5, 15],
    [5, 10],
    [0, 10],
    [0, 0],
  ]);
  const v = geos.validity(spiky);
  assert.equal(v.valid, false);
  assert.equal(v.reason, 'Self-intersection');
  const fixed = geos.makeValid(spiky);
  assert.ok(fixed && fixed.type === 'Polygon', JSON.stringify(fixed));
  assert.equal(planeArea(fixed), 100);
  assert.ok(!fixed.coordinates[0]!.some(([, y]) => y > 10), 'spike removed');
  assert.equal(geos.validity(fixed).valid, true);
});

test('duplicate vertices and a hole touching the shell are valid and stay identical', async () => {
  const geos = await initGeos();
  const dup = poly([
    [0, 0],
    [10, 0],
    [10, 0],
    [10, 10],
    [0, 10],
    [0, 10],
    [0, 0],
  ]);
  assert.deepEqual(geos.validity(dup), { valid: true });
  assert.equal(geos.makeValid(dup), dup);

  const touchingHole = poly(
    [
      [0, 0],
      [10, 0],
      [10, 10],
      [5, 10],
      [0, 10],
      [0, 0],
    ],
    [
      [5, 10],
      [7, 5],
      [3, 5],
      [5, 10],
    ],
  );
  assert.equal(geos.validity(touchingHole).valid, true);
  assert.equal(geos.makeValid(touchingHole), touchingHole);

  const plain = poly(square(117.8, 36.8, 0.001), square(117.8002, 36.8002, 0.0002));
  const copy = structuredClone(plain);
  assert.equal(geos.makeValid(plain), plain);
  assert.deepEqual(plain, copy);
});

test('a shell touching itself (inverted hole) is invalid and repaired with its area', async () => {
  const geos = await initGeos();
  // Two triangles sharing the vertex (0,0), drawn as one ring.
  const selfTouching = poly([
    [0, 0],
    [10, 0],
    [10, 10],
    [0, 0],
    [0, 10],
    [-10, 10],
    [0, 0],
  ]);
  const v = geos.validity(selfTouching);
  assert.equal(v.valid, false);
  assert.equal(v.reason, 'Ring Self-intersection');
  assert.deepEqual(v.location, [0, 0]);
  const fixed = geos.makeValid(selfTouching);
  assert.ok(fixed, 'repaired');
  assert.equal(planeArea(fixed), 100);
  assert.equal(geos.validity(fixed).valid, true);

  // Overlapping members of a multipolygon are merged (structure method), not cancelled.
  const overlapping: MultiPolygon = {
    type: 'MultiPolygon',
    coordinates: [[square(0, 0, 2)], [square(1, 1, 2)]],
  };
  assert.equal(geos.validity(overlapping).valid, false);
  const merged = geos.makeValid(overlapping);
  assert.ok(merged, 'merged');
  assert.equal(planeArea(merged), 7);
});

test('nothing polygonal left → null', async () => {
  const geos = await initGeos();
  const flat = poly([
    [0, 0],
    [10, 0],
    [5, 0],
    [0, 0],
  ]);
  assert.equal(geos.validity(flat).valid, false);
  assert.equal(geos.makeValid(flat), null);
  const tooFew = poly([
    [0, 0],
    [1, 1],
    [0, 0],
  ]);
  assert.equal(geos.validity(tooFew).reason, 'Too few points in geometry component');
  assert.equal(geos.makeValid(tooFew), null);
  const onePoint = poly([[3, 4]]);
  assert.equal(geos.validity(onePoint).valid, false);
  assert.equal(geos.makeValid(onePoint), null);
  assert.equal(geos.makeValid(poly()), null);
  assert.equal(geos.makeValid({ type: 'MultiPolygon', coordinates: [] }), null);
});

test('intersection: polygonal part only, null when no area', async () => {
  const geos = await initGeos();
  const a = poly(square(0, 0, 10));
  const inter = geos.intersection(a, poly(square(5, 5, 10)));
  assert.ok(inter && inter.type === 'Polygon', JSON.stringify(inter));
  assert.equal(planeArea(inter), 25);
  assert.equal(geos.intersection(a, poly(square(20, 20, 1))), null); // disjoint
  assert.equal(geos.intersection(a, poly(square(10, 0, 10))), null); // shared edge only
  // Touching along an edge and overlapping elsewhere: the line part is dropped.
  const l: Polygon = poly([
    [10, 0],
    [20, 0],
    [20, 20],
    [5, 20],
    [5, 8],
    [10, 8],
    [10, 0],
  ]);
  const mixed = geos.intersection(a, l);
  assert.ok(mixed, 'overlap found');
  assert.equal(planeArea(mixed), 10);
  // Multipolygon result.
  const two: MultiPolygon = { type: 'MultiPolygon', coordinates: [[square(-1, -1, 2)], [square(9, 9, 2)]] };
  const both = geos.intersection(a, two);
  assert.ok(both && both.type === 'MultiPolygon', JSON.stringify(both));
  assert.equal(planeArea(both), 2);
});

test('WKB GEOS cannot read in intersection → WeipianError', async () => {
  const geos = await initGeos();
  assert.throws(
    () => geos.intersection(poly([[3, 4]]), poly(square(0, 0, 1))),
    (e: unknown) => isWeipianError(e) && e.code === 'geometry_operation_failed',
  );
});

/** A star with `n` points whose ring crosses itself (every vertex joined to the one 2 steps on). */
function tangledStar(n: number): Polygon {
  const ring: Ring = [];
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * ((i * 2) % n)) / n + (i % 7) * 1e-3;
    const r = 100 + (i % 5);
    ring.push([39571000 + r * Math.cos(t), 4074000 + r * Math.sin(t)]);
  }
  ring.push(ring[0]!);
  return poly(ring);
}

test('no WASM memory growth over 20,000 makeValid calls (plus validity and intersection)', async () => {
  const geos = await initGeos();
  // The WASM module is shared with geos-wasm's own export; HEAPU8 is replaced when memory grows.
  const module = (await initGeosJs()).Module as unknown as { HEAPU8: Uint8Array };
  const heapSize = (): number => module.HEAPU8.byteLength;

  const tangled = tangledStar(201); // ~3 kB of WKB, ~20 kB of GEOS objects per call
  assert.equal(geos.validity(tangled).valid, false);
  const clip = poly(square(39571000 - 50, 4074000 - 50, 100));
  const work = (i: number): void => {
    const fixed = geos.makeValid(tangled);
    assert.ok(fixed, 'repaired');
    if (i % 4 === 0) {
      geos.validity(tangled);
      geos.intersection(fixed, clip);
      geos.makeValid(poly([[1, 2]])); // error path
    }
  };
  for (let i = 0; i < 2000; i++) work(i);
  const before = heapSize();
  for (let i = 0; i < 20000; i++) work(i);
  const after = heapSize();
  // A leak of even 1 kB per call would need 20 MB more than the heap had.
  assert.equal(after, before, `WASM heap grew from ${before} to ${after} bytes`);
});
