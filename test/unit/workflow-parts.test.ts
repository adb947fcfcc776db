// Parts of a patch: a 批少占多 patch split by its approval into an approved and an unapproved part with
// areas worked by hand from Gauss-Krüger squares; drawn parts that must tile the patch within
// 0.01 m² (gaps, overlaps and overhangs refused, each with its area); counted areas of an
// overlapping patrol patch.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initGeos, type Geos } from '../../src/geo/geos.ts';
import { getCrs, toCgcs2000 } from '../../src/geo/crs.ts';
import { mapCoords, type Areal, type Polygon, type Position } from '../../src/geo/geometry.ts';
import { ellipsoidalArea } from '../../src/geo/area.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import {
  countedArea,
  coverParts,
  drawnParts,
  parseDrawnGeometry,
  tilingReport,
} from '../../src/domain/parts.ts';
import { gaussToEllipsoid, DELIVERY_LAT, CM } from '../helpers/delivery.ts';
import { rect } from '../helpers/ogr.ts';

let geos: Geos;
before(async () => {
  geos = await initGeos();
});

const toLonLat = toCgcs2000(getCrs('EPSG:4527'));
/** A rectangle in EPSG:4527 (metres) as a lon/lat polygon. */
function gk(x0: number, y0: number, x1: number, y1: number): Polygon {
  return mapCoords({ type: 'Polygon', coordinates: [rect(x0, y0, x1, y1)] }, toLonLat) as Polygon;
}
const E0 = 39571000;
const N0 = 4063000;
/** The hand-worked official area of a w × h rectangle whose centre lies dx metres east of E0. */
const handArea = (w: number, h: number, centreFromE0: number) =>
  gaussToEllipsoid(w * h, E0 + centreFromE0 - CM, DELIVERY_LAT);

function close(actual: number, expected: number, tol: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (±${tol})`);
}

function refuses(fn: () => unknown, code: string, message?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isWeipianError(e), String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

test('批少占多: a 100 m square approved for its west 60 m splits into 6000 and 4000 m² (plane)', () => {
  const patch = gk(E0, N0, E0 + 100, N0 + 100);
  // The approval reaches beyond the patch to the west, north and south, but only 60 m into it.
  const approval = gk(E0 - 50, N0 - 50, E0 + 60, N0 + 150);
  const parts = coverParts(geos, patch, [approval]);
  assert.deepEqual(
    parts.map((p) => p.origin),
    ['approved', 'unapproved'],
  );
  const approved = handArea(60, 100, 30);
  const unapproved = handArea(40, 100, 80);
  close(parts[0]!.areaM2, approved, 0.01, 'approved part');
  close(parts[1]!.areaM2, unapproved, 0.01, 'unapproved part');
  // Both below the plane areas (ellipsoid area < Gauss-plane area inside a 3° zone).
  assert.ok(parts[0]!.areaM2 < 6000 && parts[1]!.areaM2 < 4000);
  // The parts tile the patch: their sum is the patch area within the tolerance.
  close(parts[0]!.areaM2 + parts[1]!.areaM2, handArea(100, 100, 50), 0.01, 'sum of parts');
  const r = tilingReport(
    geos,
    patch,
    parts.map((p) => p.geometry),
  );
  assert.ok(r.ok && r.gapM2 <= 0.01 && r.overlapM2 <= 0.01 && r.outsideM2 <= 0.01, JSON.stringify(r));
});

test('approval cover: several overlapping approvals count once; nothing to split is refused', () => {
  const patch = gk(E0, N0, E0 + 100, N0 + 100);
  // Two approvals overlapping each other: together they cover the west 70 m.
  const parts = coverParts(geos, patch, [
    gk(E0 - 10, N0 - 10, E0 + 50, N0 + 110),
    gk(E0 + 30, N0 - 10, E0 + 70, N0 + 110),
  ]);
  close(parts[0]!.areaM2, handArea(70, 100, 35), 0.01, 'approved (union)');
  close(parts[1]!.areaM2, handArea(30, 100, 85), 0.01, 'unapproved');
  refuses(() => coverParts(geos, patch, []), 'split_nothing_approved');
  refuses(() => coverParts(geos, patch, [gk(E0 + 200, N0, E0 + 300, N0 + 100)]), 'split_nothing_approved');
  refuses(() => coverParts(geos, patch, [gk(E0 - 1, N0 - 1, E0 + 101, N0 + 101)]), 'split_all_approved');
});

test('drawn parts must tile the patch: gaps, overlaps and overhangs are refused with their areas', () => {
  const patch = gk(E0, N0, E0 + 100, N0 + 100);
  const west = gk(E0, N0, E0 + 60, N0 + 100);
  const east = gk(E0 + 60, N0, E0 + 100, N0 + 100);
  const ok = drawnParts(geos, patch, [west, east]);
  close(ok[0]!.areaM2, handArea(60, 100, 30), 0.01, 'west');
  close(ok[1]!.areaM2, handArea(40, 100, 80), 0.01, 'east');
  // A 1 m gap (100 m²), a 1 m overlap, a 1 m overhang.
  refuses(
    () => drawnParts(geos, patch, [west, gk(E0 + 61, N0, E0 + 100, N0 + 100)]),
    'parts_not_tiling',
    /未被任何部分覆盖/,
  );
  refuses(
    () => drawnParts(geos, patch, [west, gk(E0 + 59, N0, E0 + 100, N0 + 100)]),
    'parts_not_tiling',
    /重叠/,
  );
  refuses(
    () => drawnParts(geos, patch, [west, gk(E0 + 60, N0, E0 + 101, N0 + 100)]),
    'parts_not_tiling',
    /超出图斑/,
  );
  try {
    drawnParts(geos, patch, [west, gk(E0 + 61, N0, E0 + 100, N0 + 100)]);
  } catch (e) {
    const gap = (e as { details: { gapM2: number } }).details.gapM2;
    close(gap, handArea(1, 100, 60.5), 0.01, 'reported gap');
  }
  // One part alone is not a split; the rest option completes it, clipping cuts an overhang.
  refuses(() => drawnParts(geos, patch, [patch]), 'split_too_few_parts');
  const withRest = drawnParts(geos, patch, [west], { rest: true });
  assert.deepEqual(
    withRest.map((p) => p.origin),
    ['drawn', 'rest'],
  );
  close(withRest[1]!.areaM2, handArea(40, 100, 80), 0.01, 'rest');
  const clipped = drawnParts(geos, patch, [gk(E0 - 20, N0 - 20, E0 + 60, N0 + 120), east], {
    clipToPatch: true,
  });
  close(clipped[0]!.areaM2, handArea(60, 100, 30), 0.01, 'clipped west');
  refuses(
    () => drawnParts(geos, patch, [west, gk(E0 + 500, N0, E0 + 600, N0 + 100)], { clipToPatch: true }),
    'part_empty',
  );
});

test('hand-drawn GeoJSON: closed if open, checked for validity and position', () => {
  const [a, b, c, d] = gk(E0, N0, E0 + 10, N0 + 10).coordinates[0] as [
    Position,
    Position,
    Position,
    Position,
  ];
  const open = parseDrawnGeometry({ type: 'Polygon', coordinates: [[a, b, c, d]] }, '第 1 部分');
  assert.equal((open as Polygon).coordinates[0]!.length, 5);
  assert.deepEqual(
    parseDrawnGeometry(
      { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[a, b, c, d, a]] } },
      'x',
    ).type,
    'Polygon',
  );
  refuses(
    () => parseDrawnGeometry({ type: 'Point', coordinates: a }, '第 1 部分'),
    'geometry_invalid',
    /第 1 部分/,
  );
  refuses(
    () => parseDrawnGeometry({ type: 'Polygon', coordinates: [[[39571000, 4063000], b, c, a]] }, 'x'),
    'geometry_invalid',
    /不在中国范围内/,
  );
  refuses(
    () => parseDrawnGeometry({ type: 'Polygon', coordinates: [[a, b, a]] }, 'x'),
    'geometry_invalid',
    /3 个不同的顶点/,
  );
  // A bowtie is refused with GEOS's reason.
  const bowtie: Areal = { type: 'Polygon', coordinates: [[a, c, b, d, a]] };
  const patch = gk(E0, N0, E0 + 10, N0 + 10);
  refuses(() => drawnParts(geos, patch, [bowtie, patch]), 'geometry_invalid', /Self-intersection/);
});

test('counted area: a patrol patch over a satellite patch counts only what lies outside it', () => {
  const satellite = gk(E0, N0, E0 + 100, N0 + 100);
  const patrol = gk(E0 + 80, N0, E0 + 130, N0 + 100); // 20 m inside, 30 m outside
  close(countedArea(geos, patrol, [satellite]), handArea(30, 100, 115), 0.01, 'counted');
  close(countedArea(geos, patrol, []), ellipsoidalArea(patrol), 1e-9, 'alone');
  assert.equal(countedArea(geos, gk(E0 + 10, N0 + 10, E0 + 20, N0 + 20), [satellite]), 0);
});
