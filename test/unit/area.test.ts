import { test } from 'node:test';
import assert from 'node:assert/strict';
import geographiclib from 'geographiclib-geodesic';
import proj4 from 'proj4';
import {
  CGCS2000,
  XIAN80,
  ellipsoidalArea,
  ellipsoidalAreaProjected,
  planeArea,
  type Ellipsoid,
} from '../../src/geo/area.ts';
import {
  M2_PER_HA,
  M2_PER_MU,
  formatArea,
  m2ToHa,
  m2ToMu,
  muToM2,
  roundHalfAwayFromZero,
} from '../../src/geo/units.ts';
import type { Areal, MultiPolygon, Polygon, PolygonCoords, Position, Ring } from '../../src/geo/geometry.ts';

const RAD = Math.PI / 180;
const geod = new geographiclib.Geodesic.Geodesic(6378137, 1 / 298.257222101);

/** Exact area of the lon/lat cell by Simpson integration of M·N·cosB dB, independent of the series. */
function cellAreaSimpson(ell: Ellipsoid, lon1: number, lat1: number, lon2: number, lat2: number): number {
  const f = 1 / ell.invF;
  const e2 = f * (2 - f);
  const a = ell.a;
  const mn = (b: number): number => {
    const w2 = 1 - e2 * Math.sin(b) ** 2;
    const m = (a * (1 - e2)) / (w2 * Math.sqrt(w2));
    const n = a / Math.sqrt(w2);
    return m * n * Math.cos(b);
  };
  const b1 = lat1 * RAD;
  const b2 = lat2 * RAD;
  const steps = 2000; // even; error ~h⁴, far below 1e-12 relative here
  const h = (b2 - b1) / steps;
  let s = mn(b1) + mn(b2);
  for (let i = 1; i < steps; i++) s += (i % 2 ? 4 : 2) * mn(b1 + i * h);
  return ((s * h) / 3) * (lon2 - lon1) * RAD;
}

function rect(lon1: number, lat1: number, lon2: number, lat2: number): Polygon {
  return {
    type: 'Polygon',
    coordinates: [
      [
        [lon1, lat1],
        [lon2, lat1],
        [lon2, lat2],
        [lon1, lat2],
        [lon1, lat1],
      ],
    ],
  };
}

const rel = (x: number, ref: number): number => Math.abs(x - ref) / Math.abs(ref);

test('1°×1° cell and rectangles match Simpson integration of M·N·cosB to 1e-9', () => {
  // Edges along parallels and meridians: the 'raw' edge model is 32号 formula (2) as printed.
  const cells: [number, number, number, number][] = [
    [117, 36, 118, 37],
    [117.8, 36.8, 117.85, 36.81], // 4.5 km × 1.1 km
    [100, 0, 101, 1], // equator
    [120, 53, 121, 54], // 漠河
    [117.8, 36.8, 117.801, 36.801],
  ];
  for (const [a, b, c, d] of cells) {
    const exact = cellAreaSimpson(CGCS2000, a, b, c, d);
    const got = ellipsoidalArea(rect(a, b, c, d), CGCS2000, 'raw');
    assert.ok(rel(got, exact) <= 1e-9, `${a},${b}: ${got} vs ${exact} (rel ${rel(got, exact)})`);
  }
  // Independently reproducible: ≈ 9 941.64 km² (R² · ΔL · (sin 37° − sin 36°) with R ≈ 6371 km gives 9 940).
  const cell = ellipsoidalArea(rect(117, 36, 118, 37), CGCS2000, 'raw');
  assert.ok(Math.abs(cell - 9.94164e9) < 1e4, String(cell));

  // Patch-sized rectangles near 周村: the geodesic bulge of the two parallels cancels, so the
  // default edge model gives the same exact value.
  const small: [number, number, number, number][] = [
    [117.8, 36.8, 117.801, 36.801], // ~89 m × 111 m
    [117.8, 36.8, 117.8001, 36.8001], // ~9 m × 11 m
    [117.81234, 36.80567, 117.81235, 36.80568], // ~1 m²
    [117.8, 36.8, 117.81, 36.809], // ~0.9 km × 1 km
  ];
  for (const [a, b, c, d] of small) {
    const exact = cellAreaSimpson(CGCS2000, a, b, c, d);
    const got = ellipsoidalArea(rect(a, b, c, d));
    assert.ok(rel(got, exact) <= 1e-9, `${a},${b}: ${got} vs ${exact} (rel ${rel(got, exact)})`);
  }
});

test('another ellipsoid (西安80) can be passed', () => {
  const exact = cellAreaSimpson(XIAN80, 117.8, 36.8, 117.81, 36.81);
  const got = ellipsoidalArea(rect(117.8, 36.8, 117.81, 36.81), XIAN80);
  assert.ok(
    rel(ellipsoidalArea(rect(117, 36, 118, 37), XIAN80, 'raw'), cellAreaSimpson(XIAN80, 117, 36, 118, 37)) <=
      1e-9,
  );
  assert.ok(rel(got, exact) <= 1e-9, 'rel(got, exact) <= 1e-9');
  assert.notEqual(got, ellipsoidalArea(rect(117.8, 36.8, 117.81, 36.81)));
});

test('closed or unclosed, CW or CCW, any start vertex: same area', () => {
  const ring: Ring = [
    [117.8, 36.8],
    [117.803, 36.8002],
    [117.8035, 36.8031],
    [117.8011, 36.8024],
    [117.7998, 36.8019],
  ];
  const closed: Ring = [...ring, ring[0]!];
  const ref = ellipsoidalArea({ type: 'Polygon', coordinates: [closed] });
  const variants: Ring[] = [
    ring,
    [...closed].reverse(),
    [...ring].reverse(),
    [...ring.slice(2), ...ring.slice(0, 2)],
  ];
  for (const r of variants) {
    const a = ellipsoidalArea({ type: 'Polygon', coordinates: [r] });
    assert.ok(rel(a, ref) < 1e-12, `${a} vs ${ref}`);
  }
});

test('holes subtract, multipolygons add, degenerate rings give 0', () => {
  const outer = rect(117.8, 36.8, 117.81, 36.81);
  const hole = rect(117.802, 36.802, 117.804, 36.804);
  const withHole: Polygon = {
    type: 'Polygon',
    coordinates: [outer.coordinates[0]!, [...hole.coordinates[0]!].reverse()],
  };
  const expected = ellipsoidalArea(outer) - ellipsoidalArea(hole);
  assert.ok(
    rel(ellipsoidalArea(withHole), expected) < 1e-12,
    'rel(ellipsoidalArea(withHole), expected) < 1e-12',
  );
  // Hole orientation is irrelevant: only |ring| counts.
  const holeSameWay: Polygon = {
    type: 'Polygon',
    coordinates: [outer.coordinates[0]!, hole.coordinates[0]!],
  };
  assert.ok(
    rel(ellipsoidalArea(holeSameWay), expected) < 1e-12,
    'rel(ellipsoidalArea(holeSameWay), expected) < 1e-12',
  );

  const other = rect(117.82, 36.8, 117.83, 36.805);
  const multi: MultiPolygon = {
    type: 'MultiPolygon',
    coordinates: [withHole.coordinates, other.coordinates],
  };
  assert.ok(
    rel(ellipsoidalArea(multi), expected + ellipsoidalArea(other)) < 1e-12,
    'rel(ellipsoidalArea(multi), expected + ellipsoidalArea(other)) < 1e-12',
  );

  const zero: Areal[] = [
    { type: 'Polygon', coordinates: [] },
    { type: 'Polygon', coordinates: [[]] },
    { type: 'Polygon', coordinates: [[[117.8, 36.8]]] },
    {
      type: 'Polygon',
      coordinates: [
        [
          [117.8, 36.8],
          [117.81, 36.81],
          [117.8, 36.8],
        ],
      ],
    },
    { type: 'MultiPolygon', coordinates: [] },
  ];
  for (const g of zero) {
    assert.equal(ellipsoidalArea(g), 0);
    assert.equal(planeArea(g), 0);
  }
  // Vertices collinear in longitude/latitude: geodesic edges still enclose a lens, since the
  // 1.4 km diagonal geodesic bulges away from the lon/lat line.
  const line: Ring = [
    [117.8, 36.8],
    [117.805, 36.805],
    [117.81, 36.81],
    [117.8, 36.8],
  ];
  const lens = ellipsoidalArea({ type: 'Polygon', coordinates: [line] });
  assert.ok(Math.abs(lens - geodesicRingArea(line)) < 1e-4, `lens ${lens} vs ${geodesicRingArea(line)}`);
  assert.ok(lens > 21 && lens < 22, `lens ${lens}`);
});

// Deterministic PRNG so failures reproduce.
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A star-shaped ring of n vertices around (lon, lat) with radii in metres, optionally clockwise. */
function starRing(
  rnd: () => number,
  lon: number,
  lat: number,
  rMin: number,
  rMax: number,
  n: number,
  cw: boolean,
): Ring {
  const angles = Array.from({ length: n }, () => rnd() * 2 * Math.PI).sort((a, b) => a - b);
  const mPerDegLat = 110940;
  const mPerDegLon = 111320 * Math.cos(lat * RAD);
  const ring: Ring = angles.map((t) => {
    const r = rMin + (rMax - rMin) * rnd();
    return [lon + (r * Math.cos(t)) / mPerDegLon, lat + (r * Math.sin(t)) / mPerDegLat];
  });
  if (cw) ring.reverse();
  ring.push(ring[0]!);
  return ring;
}

function geodesicRingArea(ring: Ring): number {
  const p = geod.Polygon(false);
  for (let i = 0; i < ring.length - 1; i++) p.AddPoint(ring[i]![1], ring[i]![0]);
  return Math.abs(p.Compute(false, true).area!);
}

function geodesicArea(g: Areal): number {
  let total = 0;
  for (const poly of g.type === 'Polygon' ? [g.coordinates] : g.coordinates)
    poly.forEach((ring, i) => (total += (i === 0 ? 1 : -1) * geodesicRingArea(ring)));
  return total;
}

function randomPatch(rnd: () => number, lonMin = 117.7, lonSpan = 0.2): Areal {
  const patch = (lon: number, lat: number): PolygonCoords => {
    // 0.05–5 ha: mean radius ≈ 13–126 m.
    const r = 13 + 113 * rnd();
    const n = 10 + Math.floor(rnd() * 31);
    const rings: PolygonCoords = [starRing(rnd, lon, lat, 0.6 * r, 1.2 * r, n, rnd() < 0.5)];
    if (rnd() < 0.3)
      rings.push(starRing(rnd, lon, lat, 0.1 * r, 0.4 * r, 10 + Math.floor(rnd() * 10), rnd() < 0.5));
    return rings;
  };
  const lon = lonMin + lonSpan * rnd();
  const lat = 36.7 + 0.2 * rnd();
  if (rnd() < 0.2)
    return { type: 'MultiPolygon', coordinates: [patch(lon, lat), patch(lon + 0.01, lat + 0.005)] };
  return { type: 'Polygon', coordinates: patch(lon, lat) };
}

/** Ring with k points per edge: along the geodesic, or along the straight lon/lat line. */
function densify(ring: Ring, k: number, along: 'geodesic' | 'lonlat'): Ring {
  const out: Ring = [];
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i]!;
    const [x2, y2] = ring[i + 1]!;
    const line = geod.InverseLine(y1, x1, y2, x2);
    for (let j = 0; j < k; j++) {
      if (along === 'lonlat') out.push([x1 + ((x2 - x1) * j) / k, y1 + ((y2 - y1) * j) / k]);
      else {
        const p = line.Position((line.s13 * j) / k);
        out.push([p.lon2!, p.lat2!]);
      }
    }
  }
  out.push(out[0]!);
  return out;
}

test('the geodesic edge model is the limit of 32号 trapezoids over ever finer subdivisions', () => {
  const rnd = mulberry32(11);
  // A 4.6 ha triangle with 300 m edges shows the difference between the two edge models clearly.
  const tri: Ring = [
    [117.8, 36.8],
    [117.8035, 36.8],
    [117.80175, 36.8027],
    [117.8, 36.8],
  ];
  const rings: Ring[] = [
    tri,
    ...Array.from({ length: 10 }, () => starRing(rnd, 117.8, 36.8, 60, 150, 12, rnd() < 0.5)),
  ];
  const poly = (r: Ring): Polygon => ({ type: 'Polygon', coordinates: [r] });
  for (const ring of rings) {
    const geodesic = ellipsoidalArea(poly(ring));
    // Raw per-vertex trapezoids of ever finer geodesic subdivisions converge to the geodesic model
    // with error ∝ 1/k², so one Richardson step from k = 64 and 128 lands on the limit.
    const a64 = ellipsoidalArea(poly(densify(ring, 64, 'geodesic')), CGCS2000, 'raw');
    const a128 = ellipsoidalArea(poly(densify(ring, 128, 'geodesic')), CGCS2000, 'raw');
    const limit = (4 * a128 - a64) / 3;
    assert.ok(Math.abs(limit - geodesic) < 1e-6, `geodesic: ${limit} vs ${geodesic}`);
    // Once edges are short the model no longer matters.
    const fine = densify(ring, 64, 'lonlat');
    const d = ellipsoidalArea(poly(fine)) - ellipsoidalArea(poly(fine), CGCS2000, 'raw');
    assert.ok(
      Math.abs(d) < 1e-3 * Math.abs(geodesic - ellipsoidalArea(poly(ring), CGCS2000, 'raw')) + 1e-6,
      `fine: ${d}`,
    );
  }
  const diff = ellipsoidalArea(poly(tri)) - ellipsoidalArea(poly(tri), CGCS2000, 'raw');
  assert.ok(Math.abs(diff - 0.598) < 0.001, `triangle: models differ by ${diff} m²`);
});

test('random patches (0.05–5 ha, 10–40 vertices, holes, multipolygons) agree with GeographicLib to 1e-6', (t) => {
  // GeographicLib's own rounding is ~1e-5 m² here, so that is the floor of this comparison.
  const rnd = mulberry32(20261126);
  let maxRel = 0;
  let maxAbs = 0;
  for (let i = 0; i < 500; i++) {
    const g = randomPatch(rnd);
    const ours = ellipsoidalArea(g);
    const ref = geodesicArea(g);
    assert.ok(ref > 100 && ref < 2 * 55000, `unexpected patch size ${ref}`);
    maxRel = Math.max(maxRel, rel(ours, ref));
    maxAbs = Math.max(maxAbs, Math.abs(ours - ref));
    assert.ok(rel(ours, ref) <= 1e-6, `patch ${i}: ${ours} vs ${ref}`);
  }
  t.diagnostic(
    `max relative difference ${maxRel.toExponential(2)}, max absolute ${maxAbs.toExponential(2)} m²`,
  );
});

// EPSG:4527, CGCS2000 / 3-degree Gauss-Kruger zone 39.
const EPSG4527 = '+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=39500000 +y_0=0 +ellps=GRS80 +units=m +no_defs';
const gk = proj4('EPSG:4326', EPSG4527);
const inverse = (p: Position): Position => gk.inverse(p) as Position;
const forward = (p: Position): Position => gk.forward(p) as Position;

test('projected (Gauss-Krüger zone 39): same as geographic, and slightly below the plane area', () => {
  const rnd = mulberry32(7);
  for (let i = 0; i < 50; i++) {
    const g = randomPatch(rnd, 117.78, 0.04);
    const projected: Areal =
      g.type === 'Polygon'
        ? { type: 'Polygon', coordinates: g.coordinates.map((r) => r.map(forward)) }
        : { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map((r) => r.map(forward))) };
    const viaProjection = ellipsoidalAreaProjected(projected, inverse);
    assert.ok(rel(viaProjection, ellipsoidalArea(g)) < 1e-9, `${viaProjection} vs ${ellipsoidalArea(g)}`);
    const plane = planeArea(projected);
    assert.ok(viaProjection < plane, 'ellipsoidal area must not exceed the Gauss plane area');
    const diff = (plane - viaProjection) / plane;
    // ≈0.8° east of the central meridian the plane is ~0.0125 % larger.
    assert.ok(diff > 0.0001 && diff < 0.0002, `relative difference ${diff}`);
  }
});

test('100 m × 100 m Gauss square: hand-checkable ellipsoidal area', () => {
  const x0 = 39571000; // ≈ 117.8°E
  const y0 = 4074000;
  const square: Polygon = {
    type: 'Polygon',
    coordinates: [
      [
        [x0, y0],
        [x0 + 100, y0],
        [x0 + 100, y0 + 100],
        [x0, y0 + 100],
        [x0, y0],
      ],
    ],
  };
  assert.equal(planeArea(square), 10000);
  // Point scale of transverse Mercator at the centre: k = 1 + ½(1+η²)l²cos²B + (1/24)(5−4t²)l⁴cos⁴B,
  // l = longitude from the central meridian. Ellipsoidal area = plane area / k².
  const [lon, lat] = inverse([x0 + 50, y0 + 50]);
  const f = 1 / 298.257222101;
  const ep2 = (f * (2 - f)) / (1 - f) ** 2;
  const B = lat * RAD;
  const l = (lon - 117) * RAD;
  const lc2 = (l * Math.cos(B)) ** 2;
  const eta2 = ep2 * Math.cos(B) ** 2;
  const t2 = Math.tan(B) ** 2;
  const k = 1 + 0.5 * (1 + eta2) * lc2 + ((5 - 4 * t2) / 24) * lc2 * lc2;
  const expected = 10000 / (k * k);
  const got = ellipsoidalAreaProjected(square, inverse);
  assert.ok(Math.abs(got - expected) < 1e-4, `${got} vs ${expected}`);
  // ≈ 9 998.75 m²: 1.25 m² (0.0125 %) smaller than in the plane.
  assert.ok(Math.abs(got - 9998.75) < 0.01, String(got));
});

test('plane area: shoelace, holes subtract, large Gauss coordinates keep precision', () => {
  const sq = (x: number, y: number, s: number): Ring => [
    [x, y],
    [x + s, y],
    [x + s, y + s],
    [x, y + s],
  ];
  assert.equal(planeArea({ type: 'Polygon', coordinates: [sq(39500000.25, 4000000.5, 3)] }), 9);
  assert.equal(
    planeArea({ type: 'Polygon', coordinates: [sq(39500000, 4000000, 100), sq(39500010, 4000010, 10)] }),
    9900,
  );
  assert.equal(
    planeArea({ type: 'MultiPolygon', coordinates: [[sq(0, 0, 2)], [[...sq(10, 10, 3)].reverse()]] }),
    13,
  );
});

test('unit constants and conversions', () => {
  assert.equal(M2_PER_MU, 2000 / 3);
  assert.equal(M2_PER_HA, 10000);
  assert.equal(muToM2(15), 10000); // 15 亩 = 1 公顷
  assert.equal(m2ToMu(10000), 15);
  assert.equal(m2ToMu(1000), 1.5);
  assert.equal(m2ToHa(10000), 1);
  assert.ok(
    Math.abs(muToM2(1) - 666.6666666666666) < 1e-12,
    'Math.abs(muToM2(1) - 666.6666666666666) < 1e-12',
  );
  assert.ok(Math.abs(m2ToMu(muToM2(7.3)) - 7.3) < 1e-14, 'Math.abs(m2ToMu(muToM2(7.3)) - 7.3) < 1e-14');
});

test('formatArea rounds half away from zero, immune to binary noise', () => {
  assert.equal(formatArea(0.125, 'm2', 2), '0.13');
  assert.equal(formatArea(-0.125, 'm2', 2), '-0.13');
  assert.equal(formatArea(2.5, 'm2', 0), '3');
  assert.equal(formatArea(-2.5, 'm2', 0), '-3');
  assert.equal(formatArea(1.005, 'm2', 2), '1.01'); // (1.005).toFixed(2) === '1.00'
  assert.equal(formatArea(2.675, 'm2', 2), '2.68');
  assert.equal(formatArea(2.4999999999999996, 'm2', 0), '3'); // arithmetic noise around 2.5
  assert.equal(formatArea(-0.004, 'm2', 2), '0.00'); // no "-0.00"
  assert.equal(formatArea(M2_PER_MU, 'mu', 2), '1.00');
  assert.equal(formatArea(10000, 'mu', 4), '15.0000');
  assert.equal(formatArea(M2_PER_MU, 'ha', 4), '0.0667');
  assert.equal(formatArea(1000, 'mu', 0), '2'); // 1.5 亩
  assert.equal(formatArea(123456789.5, 'm2', 0), '123456790');
  assert.equal(formatArea(0.00000049, 'ha', 2), '0.00');
  assert.equal(formatArea(5e-7, 'm2', 6), '0.000001');
  assert.equal(formatArea(1e22, 'm2', 1), '10000000000000000000000.0');
  assert.equal(formatArea(99.995, 'm2', 2), '100.00');
  assert.equal(formatArea(0, 'mu', 3), '0.000');
  assert.equal(roundHalfAwayFromZero(-1.5), -2);
  assert.equal(roundHalfAwayFromZero(1.045, 2), 1.05);
  assert.throws(() => formatArea(1, 'm2', -1), RangeError);
});

test('speed: ellipsoidalArea of a 20-vertex polygon', (t) => {
  const rnd = mulberry32(3);
  const polys: Polygon[] = Array.from({ length: 1000 }, () => ({
    type: 'Polygon',
    coordinates: [starRing(rnd, 117.8, 36.8, 50, 100, 19, false)], // 19 + closing vertex
  }));
  let sink = 0;
  for (const p of polys) sink += ellipsoidalArea(p); // warm-up
  const rounds = 200;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const p of polys) sink += ellipsoidalArea(p);
  const ns = Number(process.hrtime.bigint() - start) / (rounds * polys.length);
  t.diagnostic(`${(ns / 1000).toFixed(2)} µs per 20-vertex polygon`);
  assert.ok(sink > 0, 'sink > 0');
});
