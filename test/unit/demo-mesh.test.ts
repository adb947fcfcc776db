// The cell mesh the demo district is cut from: outlines traced along cell edges, hand-worked on a
// plain 10 m grid, valid even where cells touch only at a corner, and tiling exactly on the
// jittered mesh.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/demo/prng.ts';
import {
  buildMesh,
  cellRing,
  components,
  sharedEdge,
  traceComponent,
  type Mesh,
} from '../../src/demo/mesh.ts';
import { ringIsSimple, signedArea } from '../../src/demo/shapes.ts';
import { initGeos, type Geos } from '../../src/geo/geos.ts';

/** A plain grid of 10 m cells with straight edges, so outlines can be worked out by hand. */
function plainGrid(nx: number, ny: number): Mesh {
  const vx = new Float64Array((nx + 1) * (ny + 1));
  const vy = new Float64Array((nx + 1) * (ny + 1));
  for (let j = 0; j <= ny; j++)
    for (let i = 0; i <= nx; i++) {
      vx[j * (nx + 1) + i] = i * 10;
      vy[j * (nx + 1) + i] = j * 10;
    }
  return {
    nx,
    ny,
    x0: 0,
    y0: 0,
    cell: 10,
    vx,
    vy,
    hPts: new Array(nx * (ny + 1)).fill(null),
    vPts: new Array((nx + 1) * ny).fill(null),
  };
}

function trace(m: Mesh, cells: number[]) {
  const set = new Set(cells);
  return traceComponent(m, cells, (k) => set.has(k));
}

describe('demo mesh', () => {
  let geos: Geos;
  before(async () => {
    geos = await initGeos();
  });

  it('traces an L of three cells counter-clockwise along their outer edges', () => {
    const m = plainGrid(2, 2);
    // Cells (0,0), (1,0) and (0,1): indices 0, 1, 2.
    assert.deepEqual(trace(m, [0, 1, 2]), [
      [
        [0, 0],
        [10, 0],
        [20, 0],
        [20, 10],
        [10, 10],
        [10, 20],
        [0, 20],
        [0, 10],
        [0, 0],
      ],
    ]);
  });

  it('keeps a ring that closes on itself at a corner valid: the hole touches the shell at one point', () => {
    const m = plainGrid(3, 3);
    // Eight cells round the centre, minus the north-east corner: the empty centre meets the
    // outside only at the point (20, 20), where cells (2,1) and (1,2) touch diagonally.
    const cells = [0, 1, 2, 3, 5, 6, 7];
    const rings = trace(m, cells);
    assert.equal(rings.length, 2);
    assert.equal(signedArea(rings[0]!), 800);
    assert.equal(signedArea(rings[1]!), -100);
    for (const r of rings) assert.ok(ringIsSimple(r), JSON.stringify(r));
    assert.ok(rings.every((r) => r.some(([x, y]) => x === 20 && y === 20)));
    const v = geos.validity({ type: 'Polygon', coordinates: rings });
    assert.ok(v.valid, v.reason);
  });

  it('finds 4-connected components: diagonal neighbours are separate', () => {
    const m = plainGrid(2, 2);
    const label = Int32Array.from([5, -1, -1, 5]);
    const comps = components(m, label);
    assert.deepEqual(
      comps.map((c) => [c.label, c.cells]),
      [
        [5, [0]],
        [5, [3]],
      ],
    );
  });

  it('builds cells that are simple polygons of 4–12 vertices sharing their edges', () => {
    const m = buildMesh(new Rng(11), 39570000, 4070000, 30, 25, 90);
    for (let j = 0; j < m.ny; j++)
      for (let i = 0; i < m.nx; i++) {
        const r = cellRing(m, i, j);
        assert.ok(r.length - 1 >= 4 && r.length - 1 <= 12, `${r.length - 1} vertices`);
        assert.ok(ringIsSimple(r));
        assert.ok(signedArea(r) > 0.4 * 90 * 90, 'counter-clockwise, not degenerate');
      }
    // The edge between two cells is the same points in both cells, in opposite directions.
    const line = sharedEdge(m, 5, 6);
    const left = cellRing(m, 5, 0);
    const right = cellRing(m, 6, 0);
    const key = (p: number[]) => `${p[0]},${p[1]}`;
    for (const p of line) {
      assert.ok(left.some((q) => key(q) === key(p)));
      assert.ok(right.some((q) => key(q) === key(p)));
    }
  });

  it('cuts any labelling of the jittered mesh into valid polygons that add up to the cells exactly', () => {
    const m = buildMesh(new Rng(5), 39570000, 4070000, 40, 40, 100);
    const r = new Rng(6);
    // Random labels make every awkward configuration: holes, corner touches, enclaves.
    const label = Int32Array.from({ length: m.nx * m.ny }, () => (r.chance(0.6) ? r.int(3) : -1));
    let total = 0;
    let cellsTotal = 0;
    for (const comp of components(m, label)) {
      const rings = traceComponent(m, comp.cells, (k) => label[k] === comp.label);
      const v = geos.validity({ type: 'Polygon', coordinates: rings });
      assert.ok(v.valid, `${v.reason} at ${JSON.stringify(v.location)}`);
      assert.ok(signedArea(rings[0]!) > 0 && rings.slice(1).every((h) => signedArea(h) < 0));
      total += rings.reduce((s, ring) => s + signedArea(ring), 0);
      for (const k of comp.cells) cellsTotal += signedArea(cellRing(m, k % m.nx, Math.floor(k / m.nx)));
    }
    assert.ok(Math.abs(total - cellsTotal) < 1e-6, `${total} vs ${cellsTotal}`);
  });
});
