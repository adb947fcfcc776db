// Plane geometry of the demo generator: areas and hulls worked by hand, and the patch and record
// outlines it draws — simple polygons of the asked-for area.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/demo/prng.ts';
import {
  blobRing,
  blockRing,
  convexHull,
  convexRing,
  distanceToRing,
  oriented,
  pointInConvex,
  pointInRing,
  rectRing,
  ringIsSimple,
  signedArea,
  stripRing,
} from '../../src/demo/shapes.ts';
import type { Position } from '../../src/geo/geometry.ts';

const square: Position[] = [
  [0, 0],
  [4, 0],
  [4, 4],
  [0, 4],
  [0, 0],
];

describe('demo shapes', () => {
  it('measures signed areas and orients rings', () => {
    assert.equal(signedArea(square), 16);
    assert.equal(signedArea([...square].reverse()), -16);
    // Far from the origin (8-digit eastings) the area is still exact.
    assert.equal(signedArea(square.map(([x, y]) => [x + 39_573_000, y + 4_071_000])), 16);
    assert.equal(signedArea(oriented([...square].reverse(), true)), 16);
    assert.equal(signedArea(oriented(square, false)), -16);
  });

  it('finds convex hulls and tests points against rings', () => {
    const hull = convexHull([
      [0, 0],
      [4, 0],
      [2, 1],
      [4, 4],
      [1, 3],
      [0, 4],
    ]);
    assert.deepEqual(hull, square);
    assert.ok(pointInConvex([2, 2], hull));
    assert.ok(pointInConvex([4, 2], hull), 'on the boundary counts as inside');
    assert.ok(!pointInConvex([4.01, 2], hull));
    assert.ok(pointInRing([1, 1], square) && !pointInRing([5, 1], square));
    assert.equal(distanceToRing([1, 2], square), 1);
  });

  it('tells simple rings from self-crossing and self-touching ones', () => {
    assert.ok(ringIsSimple(square));
    const bowtie: Position[] = [
      [0, 0],
      [4, 4],
      [4, 0],
      [0, 4],
      [0, 0],
    ];
    assert.ok(!ringIsSimple(bowtie));
    const touching: Position[] = [
      [0, 0],
      [4, 0],
      [2, 2],
      [4, 4],
      [0, 4],
      [2, 2],
      [0, 0],
    ];
    assert.ok(!ringIsSimple(touching));
  });

  it('draws blobs, blocks and record outlines of the asked-for area, simple and counter-clockwise', () => {
    const r = new Rng(9);
    for (let i = 0; i < 300; i++) {
      const area = r.range(500, 50000);
      const cx = 39_573_000 + r.range(-5000, 5000);
      const cy = 4_071_000 + r.range(-5000, 5000);
      for (const ring of [
        blobRing(r, cx, cy, area),
        blockRing(r, cx, cy, area),
        convexRing(r, cx, cy, area),
      ]) {
        assert.ok(ringIsSimple(ring));
        // Coordinates are written to the millimetre, which moves the area by well under 1 m².
        assert.ok(Math.abs(signedArea(ring) - area) < 1, `${signedArea(ring)} vs ${area}`);
        assert.ok(pointInRing([cx, cy], ring), 'the centre lies inside');
      }
      const hull = convexRing(r, cx, cy, area);
      assert.deepEqual(convexHull(hull.slice(0, -1)), hull, 'record outlines are convex');
    }
  });

  it('draws a strip of length × width metres, bent once, and a rotated rectangle', () => {
    const ring = stripRing(39_573_000, 4_071_000, 400, 6, 0.3, 0.12);
    assert.ok(ringIsSimple(ring));
    // A mitred strip covers exactly width × centre-line length.
    assert.ok(Math.abs(signedArea(ring) - 2400) < 0.5, `${signedArea(ring)}`);
    const rect = rectRing(39_573_000, 4_071_000, 300, 200, 0.2);
    assert.ok(Math.abs(signedArea(rect) - 60000) < 0.5);
    assert.equal(rect.length, 5);
  });
});
