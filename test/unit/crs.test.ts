import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CGCS2000,
  converter,
  diagnoseCoordinates,
  fromCgcs2000,
  getCrs,
  gkCrsFor,
  gkZoneFor,
  inChina,
  listCrs,
  toCgcs2000,
  transformAreal,
  withTowgs84,
  type CrsDef,
} from '../../src/geo/crs.ts';
import type { Polygon, Position } from '../../src/geo/geometry.ts';

const MM = 1e-3;
const DEG_MM = 1e-8; // ~1 mm in degrees

function near(actual: Position, expected: Position, tol: number, label = ''): void {
  const d = Math.max(Math.abs(actual[0] - expected[0]), Math.abs(actual[1] - expected[1]));
  assert.ok(d <= tol, `${label} got ${actual.join(', ')} expected ${expected.join(', ')} (off by ${d})`);
}

function code(fn: () => unknown, expected: string): void {
  assert.throws(fn, (e: unknown) => (e as { code?: string }).code === expected);
}

// Points around 周村 (~117.8°E 36.8°N) and one near the eastern edge of zone 39.
const LONLAT: Position[] = [
  [117.8, 36.8],
  [117.85, 36.82],
  [117.62, 36.91],
  [118.45, 36.6],
];

// Expected values from `gdaltransform -s_srs EPSG:4490 -t_srs EPSG:xxxx -output_xy` (GDAL 3.6.2).
const GDAL: Record<string, Position[]> = {
  'EPSG:4527': [
    [39571396.0705687, 4074614.40851549],
    [39575838.6850209, 4076872.4515977],
    [39555252.5160144, 4086702.60111415],
    [39629743.8937141, 4053100.37727076],
  ],
  'EPSG:4548': [
    [571396.070568683, 4074614.40851549],
    [575838.685020858, 4076872.4515977],
    [555252.516014379, 4086702.60111415],
    [629743.893714108, 4053100.37727076],
  ],
  'EPSG:4498': [
    [20571396.0705687, 4074614.40851549],
    [20575838.6850209, 4076872.4515977],
    [20555252.5160144, 4086702.60111415],
    [20629743.8937141, 4053100.37727076],
  ],
  // Source EPSG:4610 for Xian 80 and EPSG:4214 for Beijing 54, i.e. on their own ellipsoids.
  'EPSG:2363': [
    [39571396.1042142, 4074616.30848488],
    [39575838.72076, 4076874.35262405],
    [39555252.5420525, 4086704.5067409],
    [39629743.9548551, 4053102.26717335],
  ],
  'EPSG:2415': [
    [39571397.2671999, 4074686.59114723],
    [39575839.9561, 4076944.67345111],
    [39555253.4420234, 4086774.99390355],
    [39629746.068487, 4053172.18550122],
  ],
};

test('getCrs accepts the usual spellings and refuses unknown codes', () => {
  assert.equal(getCrs('EPSG:4527').code, 'EPSG:4527');
  assert.equal(getCrs('epsg:4527'), getCrs(4527));
  assert.equal(getCrs(' 4527 '), getCrs('EPSG:4527'));
  code(() => getCrs('EPSG:3857'), 'crs_unknown');
  code(() => getCrs('CGCS2000'), 'crs_unknown');
  code(() => getCrs(4527.5), 'crs_unknown');
  assert.match(getCrs(4527).name, /3度带 39带/);
});

test('registry holds every zone once', () => {
  const all = listCrs();
  // 4 geographic + 3 datums × (2 × 11 six-degree + 2 × 21 three-degree)
  assert.equal(all.length, 4 + 3 * (22 + 42));
  assert.equal(new Set(all.map((d) => d.code)).size, all.length);
  assert.ok(Object.isFrozen(getCrs(4527)));
});

test('zone codes map to the right central meridian and false easting (checked with gdalsrsinfo)', () => {
  // [code, datum, width, zone, cm, falseEasting]
  const cases: [number, string, 3 | 6, number, number, number][] = [
    [4491, 'CGCS2000', 6, 13, 75, 13500000],
    [4498, 'CGCS2000', 6, 20, 117, 20500000],
    [4501, 'CGCS2000', 6, 23, 135, 23500000],
    [4502, 'CGCS2000', 6, 13, 75, 500000],
    [4509, 'CGCS2000', 6, 20, 117, 500000],
    [4512, 'CGCS2000', 6, 23, 135, 500000],
    [4513, 'CGCS2000', 3, 25, 75, 25500000],
    [4527, 'CGCS2000', 3, 39, 117, 39500000],
    [4533, 'CGCS2000', 3, 45, 135, 45500000],
    [4534, 'CGCS2000', 3, 25, 75, 500000],
    [4548, 'CGCS2000', 3, 39, 117, 500000],
    [4554, 'CGCS2000', 3, 45, 135, 500000],
    [2327, 'Xian80', 6, 13, 75, 13500000],
    [2337, 'Xian80', 6, 23, 135, 23500000],
    [2338, 'Xian80', 6, 13, 75, 500000],
    [2348, 'Xian80', 6, 23, 135, 500000],
    [2349, 'Xian80', 3, 25, 75, 25500000],
    [2363, 'Xian80', 3, 39, 117, 39500000],
    [2364, 'Xian80', 3, 40, 120, 40500000],
    [2369, 'Xian80', 3, 45, 135, 45500000],
    [2370, 'Xian80', 3, 25, 75, 500000],
    [2384, 'Xian80', 3, 39, 117, 500000],
    [2385, 'Xian80', 3, 40, 120, 500000],
    [2390, 'Xian80', 3, 45, 135, 500000],
    [21413, 'Beijing54', 6, 13, 75, 13500000],
    [21420, 'Beijing54', 6, 20, 117, 20500000],
    [21423, 'Beijing54', 6, 23, 135, 23500000],
    [21453, 'Beijing54', 6, 13, 75, 500000],
    [21460, 'Beijing54', 6, 20, 117, 500000],
    [21463, 'Beijing54', 6, 23, 135, 500000],
    [2401, 'Beijing54', 3, 25, 75, 25500000],
    [2415, 'Beijing54', 3, 39, 117, 39500000],
    [2421, 'Beijing54', 3, 45, 135, 45500000],
    [2422, 'Beijing54', 3, 25, 75, 500000],
    [2436, 'Beijing54', 3, 39, 117, 500000],
    [2442, 'Beijing54', 3, 45, 135, 500000],
  ];
  for (const [c, datum, width, zone, cm, fe] of cases) {
    const d = getCrs(c);
    assert.equal(d.kind, 'projected', String(c));
    assert.equal(d.datum, datum, String(c));
    assert.equal(d.zoneWidth, width, String(c));
    assert.equal(d.zone, zone, String(c));
    assert.equal(d.centralMeridian, cm, String(c));
    assert.equal(d.falseEasting, fe, String(c));
    assert.equal(d.zonePrefix, fe !== 500000, String(c));
    assert.ok(d.proj4.includes(`+lon_0=${cm} `) && d.proj4.includes(`+x_0=${fe} `), d.proj4);
    assert.equal(d.approximateDatum, datum === 'CGCS2000' ? undefined : true, String(c));
  }
});

test('geographic CRSs and their ellipsoids', () => {
  assert.equal(CGCS2000.code, 'EPSG:4490');
  assert.equal(CGCS2000.kind, 'geographic');
  assert.match(CGCS2000.proj4, /\+a=6378137 \+rf=298\.257222101/);
  assert.match(getCrs(4610).proj4, /\+a=6378140 \+rf=298\.257 /);
  assert.match(getCrs(4214).proj4, /\+a=6378245 \+rf=298\.3 /);
  assert.match(getCrs(2363).proj4, /\+a=6378140 \+rf=298\.257 /);
  assert.match(getCrs(2415).proj4, /\+a=6378245 \+rf=298\.3 /);
  assert.equal(getCrs(4326).datum, 'WGS84');
  assert.equal(getCrs(4326).approximateDatum, undefined);
  assert.equal(getCrs(4610).approximateDatum, true);
  assert.equal(getCrs(4214).approximateDatum, true);
});

test('forward transforms match gdaltransform to 1 mm', () => {
  for (const [c, expected] of Object.entries(GDAL)) {
    const f = fromCgcs2000(getCrs(c));
    LONLAT.forEach((p, i) => near(f(p), expected[i]!, MM, c));
  }
});

test('inverse transforms match gdaltransform to ~1 mm', () => {
  // gdaltransform -s_srs EPSG:4527 -t_srs EPSG:4490 gives back exactly the input lon/lat.
  for (const c of ['EPSG:4527', 'EPSG:4548', 'EPSG:4498']) {
    const inv = toCgcs2000(getCrs(c));
    GDAL[c]!.forEach((xy, i) => near(inv(xy), LONLAT[i]!, DEG_MM, c));
  }
  // Xian 80 / Beijing 54 lat/lon are taken as CGCS2000 lat/lon (no datum shift by default).
  for (const c of ['EPSG:2363', 'EPSG:2415']) {
    const inv = toCgcs2000(getCrs(c));
    GDAL[c]!.forEach((xy, i) => near(inv(xy), LONLAT[i]!, DEG_MM, c));
  }
});

test('round trips through every CGCS2000 3° prefixed zone', () => {
  for (let zone = 25; zone <= 45; zone++) {
    const def = getCrs(4513 + zone - 25);
    const fwd = fromCgcs2000(def);
    const inv = toCgcs2000(def);
    for (const [dl, lat] of [
      [0, 20],
      [-1.4, 30],
      [1.49, 45],
      [0.3, 4],
    ] as const) {
      const p: Position = [zone * 3 + dl, lat];
      const xy = fwd(p);
      assert.equal(Math.floor(xy[0] / 1e6), zone, `zone ${zone} prefix`);
      near(inv(xy), p, 1e-10, `zone ${zone}`);
    }
  }
});

test('geographic to geographic is the identity under the aligned-datum policy', () => {
  for (const c of [4490, 4610, 4214, 4326]) {
    assert.deepEqual(toCgcs2000(getCrs(c))([117.8, 36.8]), [117.8, 36.8]);
    assert.deepEqual(fromCgcs2000(getCrs(c))([117.8, 36.8]), [117.8, 36.8]);
  }
  // Converters are cached, not rebuilt per call.
  assert.equal(toCgcs2000(getCrs(4527)), toCgcs2000(getCrs(4527)));
});

test('GK to GK goes through CGCS2000 lon/lat', () => {
  const f = converter(getCrs(4527), getCrs(4498));
  GDAL['EPSG:4527']!.forEach((xy, i) => near(f(xy), GDAL['EPSG:4498']![i]!, MM));
});

test('transformAreal maps every vertex of polygons and multipolygons', () => {
  const [a, b, c] = GDAL['EPSG:4527']!;
  const poly: Polygon = { type: 'Polygon', coordinates: [[a!, b!, c!, a!]] };
  const out = transformAreal(poly, getCrs(4527));
  assert.equal(out.type, 'Polygon');
  const ring = (out as Polygon).coordinates[0]!;
  assert.equal(ring.length, 4);
  near(ring[0]!, LONLAT[0]!, DEG_MM);
  near(ring[2]!, LONLAT[2]!, DEG_MM);
  // Input left untouched.
  assert.equal(poly.coordinates[0]![0]![0], 39571396.0705687);
  const multi = transformAreal(
    { type: 'MultiPolygon', coordinates: [[[...LONLAT, LONLAT[0]!]]] },
    CGCS2000,
    getCrs(4548),
  );
  assert.equal(multi.type, 'MultiPolygon');
  near((multi.coordinates[0] as Position[][])[0]![1]!, GDAL['EPSG:4548']![1]!, MM);
});

test('withTowgs84 applies a 7-parameter shift like PROJ does', () => {
  const def = withTowgs84(getCrs(2363), [-30.5, 120.2, 60.1, 1.2, -0.8, 2.5, 3.1]);
  assert.equal(def.approximateDatum, false);
  assert.equal(def.code, 'EPSG:2363');
  assert.equal(getCrs(2363).approximateDatum, true, 'registry entry untouched');
  // cs2cs/gdaltransform with the same +towgs84 to '+a=6378137 +rf=298.257222101 +towgs84=0,0,0'.
  const inv = toCgcs2000(def);
  near(inv([39571396.1042142, 4074616.30848488]), [117.800630178932, 36.7999737154388], DEG_MM);
  near(inv([39555252.5420525, 4086704.5067409]), [117.620634561992, 36.9099720374265], DEG_MM);
  // Round trip back through the shift.
  near(fromCgcs2000(def)([117.800630178932, 36.7999737154388]), [39571396.1042142, 4074616.30848488], MM);
  code(() => withTowgs84(getCrs(2363), [1, 2]), 'crs_towgs84_invalid');
  code(() => withTowgs84(getCrs(2363), [1, 2, NaN]), 'crs_towgs84_invalid');
});

test('failed transforms throw instead of returning NaN', () => {
  code(() => toCgcs2000(getCrs(4527))([NaN, 4074614]), 'crs_transform_failed');
  code(() => fromCgcs2000(getCrs(4527))([117.8, Infinity]), 'crs_transform_failed');
});

test('gkZoneFor / gkCrsFor pick the zone of a longitude', () => {
  assert.equal(gkZoneFor(117.8, 3), 39);
  assert.equal(gkZoneFor(118.49, 3), 39);
  assert.equal(gkZoneFor(118.5, 3), 40); // boundary belongs to the eastern zone
  assert.equal(gkZoneFor(115.5, 3), 39);
  assert.equal(gkZoneFor(117.8, 6), 20);
  assert.equal(gkZoneFor(120, 6), 21);
  assert.equal(gkZoneFor(73.6, 6), 13);
  assert.equal(gkCrsFor(117.8, 3, true).code, 'EPSG:4527');
  assert.equal(gkCrsFor(117.8, 3, false).code, 'EPSG:4548');
  assert.equal(gkCrsFor(117.8, 6, true).code, 'EPSG:4498');
  assert.equal(gkCrsFor(117.8, 6, false).code, 'EPSG:4509');
  assert.equal(gkCrsFor(117.8, 3, true, 'Xian80').code, 'EPSG:2363');
  assert.equal(gkCrsFor(117.8, 3, false, 'Beijing54').code, 'EPSG:2436');
  code(() => gkCrsFor(10, 3, true), 'crs_zone_out_of_range');
  code(() => gkCrsFor(117.8, 3, true, 'WGS84'), 'crs_zone_out_of_range');
});

test('inChina is a generous bbox', () => {
  assert.ok(inChina(117.8, 36.8));
  assert.ok(inChina(112.3, 3.9)); // 曾母暗沙
  assert.ok(inChina(73.5, 39.4));
  assert.ok(!inChina(36.8, 117.8));
  assert.ok(!inChina(2.35, 48.85));
});

test('diagnoseCoordinates: degrees, prefixed, unprefixed, swapped', () => {
  const deg = diagnoseCoordinates(117.8, 36.8);
  assert.equal(deg.kind, 'geographic');
  assert.equal(deg.swapped, false);
  assert.equal(deg.suggested, 'EPSG:4490');

  const degSw = diagnoseCoordinates(36.8, 117.8);
  assert.equal(degSw.kind, 'geographic');
  assert.equal(degSw.swapped, true);
  assert.match(degSw.message, /--swap-xy/);

  const pre = diagnoseCoordinates(39571396.07, 4074614.41);
  assert.deepEqual(
    {
      kind: pre.kind,
      swapped: pre.swapped,
      zone: pre.zone,
      w: pre.zoneWidth,
      cm: pre.centralMeridian,
      s: pre.suggested,
    },
    { kind: 'gk-prefixed', swapped: false, zone: 39, w: 3, cm: 117, s: 'EPSG:4527' },
  );

  const preSw = diagnoseCoordinates(4074614.41, 39571396.07);
  assert.equal(preSw.kind, 'gk-prefixed');
  assert.equal(preSw.swapped, true);
  assert.equal(preSw.zone, 39);
  assert.match(preSw.message, /--swap-xy/);

  const six = diagnoseCoordinates(20571396.07, 4074614.41);
  assert.equal(six.kind, 'gk-prefixed');
  assert.equal(six.zoneWidth, 6);
  assert.equal(six.zone, 20);
  assert.equal(six.suggested, 'EPSG:4498');

  const un = diagnoseCoordinates(571396.07, 4074614.41);
  assert.equal(un.kind, 'gk-unprefixed');
  assert.equal(un.swapped, false);
  assert.equal(un.zone, undefined);

  const unSw = diagnoseCoordinates(4074614.41, 571396.07);
  assert.equal(unSw.kind, 'gk-unprefixed');
  assert.equal(unSw.swapped, true);
  assert.match(unSw.message, /--swap-xy/);

  // A prefix that is not a Chinese zone (zone 24, or a remainder far outside any zone).
  assert.equal(diagnoseCoordinates(24500000, 4074614).kind, 'unknown');
  assert.equal(diagnoseCoordinates(39990000, 4074614).kind, 'unknown');
  assert.equal(diagnoseCoordinates(2.35, 48.85).kind, 'unknown');
  assert.equal(diagnoseCoordinates(NaN, 1).kind, 'unknown');
});

test('every registry def transforms a point of its own zone', () => {
  for (const d of listCrs()) {
    const lon = d.centralMeridian ?? 117;
    const p: Position = [lon + 0.5, 35];
    const back = toCgcs2000(d as CrsDef)(fromCgcs2000(d)(p));
    near(back, p, 1e-10, d.code);
  }
});
