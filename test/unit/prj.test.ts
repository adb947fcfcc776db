import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fromCgcs2000, getCrs, toCgcs2000 } from '../../src/geo/crs.ts';
import { crsFromPrj, parseWkt, readPrj } from '../../src/geo/prj.ts';
import type { Position } from '../../src/geo/geometry.ts';

const DIR = new URL('../fixtures/prj/', import.meta.url);
const prj = (name: string): string => readFileSync(new URL(name, DIR), 'utf8');

function code(fn: () => unknown, expected: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as { code?: string; message?: string };
    assert.equal(err.code, expected);
    if (message) assert.match(err.message ?? '', message);
    return true;
  });
}

function near(actual: Position, expected: Position, tol: number): void {
  const d = Math.max(Math.abs(actual[0] - expected[0]), Math.abs(actual[1] - expected[1]));
  assert.ok(d <= tol, `got ${actual.join(', ')} expected ${expected.join(', ')} (off by ${d})`);
}

// *_esri.prj of registry CRSs were written by `ogr2ogr -f "ESRI Shapefile" -t_srs EPSG:n`,
// *_ogc.prj by `gdalsrsinfo -o wkt1 EPSG:n` (GDAL 3.6.2).
const REGISTRY_FIXTURES: Record<string, string> = {
  'cgcs2000_3deg_zone39_esri.prj': 'EPSG:4527',
  'cgcs2000_3deg_zone39_ogc.prj': 'EPSG:4527',
  'cgcs2000_3deg_cm117_esri.prj': 'EPSG:4548',
  'cgcs2000_3deg_cm117_ogc.prj': 'EPSG:4548',
  'cgcs2000_6deg_zone20_esri.prj': 'EPSG:4498',
  'cgcs2000_6deg_cm117_esri.prj': 'EPSG:4509',
  'cgcs2000_geographic_esri.prj': 'EPSG:4490',
  'cgcs2000_geographic_ogc.prj': 'EPSG:4490',
  'xian80_3deg_zone39_esri.prj': 'EPSG:2363',
  'xian80_3deg_zone39_ogc.prj': 'EPSG:2363',
  'xian80_3deg_cm117_esri.prj': 'EPSG:2384',
  'xian80_geographic_esri.prj': 'EPSG:4610',
  'xian80_geographic_ogc.prj': 'EPSG:4610',
  'beijing54_3deg_zone39_esri.prj': 'EPSG:2415',
  'beijing54_3deg_cm117_ogc.prj': 'EPSG:2436',
  'beijing54_6deg_zone20_esri.prj': 'EPSG:21420',
  'beijing54_6deg_cm117_ogc.prj': 'EPSG:21460',
  'beijing54_geographic_esri.prj': 'EPSG:4214',
  'beijing54_geographic_ogc.prj': 'EPSG:4214',
  'wgs84_geographic_esri.prj': 'EPSG:4326',
  'wgs84_geographic_ogc.prj': 'EPSG:4326',
  // Hand-written variants.
  'domestic_software_zone39.prj': 'EPSG:4527',
  'authority_mismatch_ogc.prj': 'EPSG:4527',
  'beijing54_3deg_zone39_towgs84_ogc.prj': 'EPSG:2415',
  'xian80_unnamed_datum_esri.prj': 'EPSG:2384',
};

const REFUSED_FIXTURES: Record<string, [string, RegExp]> = {
  'empty.prj': ['prj_empty', /为空/],
  'garbage.prj': ['prj_unsupported', /无法解析/],
  'truncated.prj': ['prj_unsupported', /无法解析/],
  'lcc_cgcs2000_esri.prj': ['prj_unsupported', /Lambert_Conformal_Conic/],
  'lcc_asia_wgs84_esri.prj': ['prj_unsupported', /Lambert_Conformal_Conic/],
  'tokyo_geographic_esri.prj': ['prj_unsupported', /D_Tokyo/],
  'wkt2_cgcs2000_3deg_zone39.prj': ['prj_unsupported', /WKT2/],
  'contradictory_datum_esri.prj': ['prj_unsupported', /自相矛盾/],
  'feet_unit_esri.prj': ['prj_unsupported', /Foot/],
};

const SYNTHESIZED_FIXTURES = [
  'wgs84_utm50n_esri.prj',
  'cgcs2000_local_cm117_8333_esri.prj',
  'cgcs2000_elevated_surface_esri.prj',
  'prefix_cm_mismatch_esri.prj',
];

test('every fixture is covered by a test', () => {
  const covered = new Set([
    ...Object.keys(REGISTRY_FIXTURES),
    ...Object.keys(REFUSED_FIXTURES),
    ...SYNTHESIZED_FIXTURES,
  ]);
  for (const f of readdirSync(DIR)) assert.ok(covered.has(f), `fixture ${f} has no expectation`);
});

test('registry CRSs are recognized from OGC and ESRI WKT', () => {
  for (const [file, expected] of Object.entries(REGISTRY_FIXTURES)) {
    const crs = crsFromPrj(prj(file));
    assert.equal(crs.code, expected, file);
    assert.equal(crs, getCrs(expected), `${file} returns the registry object`);
  }
});

test('clean GDAL/ArcGIS texts produce no warnings', () => {
  for (const file of Object.keys(REGISTRY_FIXTURES).filter((f) => /_(esri|ogc)\.prj$/.test(f))) {
    if (file.includes('towgs84') || file.includes('mismatch') || file.includes('unnamed')) continue;
    assert.deepEqual(readPrj(prj(file)).warnings, [], file);
  }
});

test('Xian 80 / Beijing 54 are flagged as approximate datums', () => {
  assert.equal(crsFromPrj(prj('xian80_3deg_zone39_esri.prj')).approximateDatum, true);
  assert.equal(crsFromPrj(prj('beijing54_geographic_ogc.prj')).approximateDatum, true);
  assert.equal(crsFromPrj(prj('cgcs2000_3deg_zone39_esri.prj')).approximateDatum, undefined);
});

test('AUTHORITY disagreeing with the parameters: parameters win, with a warning', () => {
  const r = readPrj(prj('authority_mismatch_ogc.prj'));
  assert.equal(r.crs.code, 'EPSG:4527');
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /EPSG:4528/);
});

test('TOWGS84 in the file is reported, not applied', () => {
  const r = readPrj(prj('beijing54_3deg_zone39_towgs84_ogc.prj'));
  assert.equal(r.crs.code, 'EPSG:2415');
  assert.equal(r.crs.towgs84, undefined);
  assert.ok(r.warnings.some((w) => w.includes('TOWGS84[15.8,-154.4,-82.3')));
});

test('a datum name nobody knows falls back to the spheroid, with a warning', () => {
  const r = readPrj(prj('xian80_unnamed_datum_esri.prj'));
  assert.equal(r.crs.code, 'EPSG:2384');
  assert.ok(r.warnings.some((w) => w.includes('D_XA80')));
});

test('3° and 6° unprefixed zones with the same central meridian are told apart by name', () => {
  assert.equal(crsFromPrj(prj('cgcs2000_6deg_cm117_esri.prj')).zoneWidth, 6);
  assert.equal(crsFromPrj(prj('cgcs2000_3deg_cm117_esri.prj')).zoneWidth, 3);
  // Nothing in the name: 3° is assumed (same maths either way).
  const anon = prj('cgcs2000_3deg_cm117_esri.prj').replace('CGCS2000_3_Degree_GK_CM_117E', 'My_Grid');
  assert.equal(crsFromPrj(anon).code, 'EPSG:4548');
});

// Expected values from gdaltransform -s_srs EPSG:4490 -t_srs <the .prj text> for 117.8°E 36.8°N.
const P: Position = [117.8, 36.8];

test('UTM (scale 0.9996) gets a synthesized Transverse Mercator def', () => {
  const crs = crsFromPrj(prj('wgs84_utm50n_esri.prj'));
  assert.equal(crs.code, 'WKT:WGS84/tmerc/lon_0=117/lat_0=0/k=0.9996/x_0=500000/y_0=0');
  assert.equal(crs.kind, 'projected');
  assert.equal(crs.datum, 'WGS84');
  assert.equal(crs.zone, undefined);
  near(fromCgcs2000(crs)(P), [571367.512140035, 4072984.562861], 1e-3);
});

test('a local central meridian gets a synthesized GK def', () => {
  const crs = crsFromPrj(prj('cgcs2000_local_cm117_8333_esri.prj'));
  assert.match(crs.code, /^WKT:CGCS2000\/tmerc\/lon_0=117\.833333/);
  assert.equal(crs.datum, 'CGCS2000');
  assert.match(crs.name, /自定义高斯-克吕格投影/);
  near(fromCgcs2000(crs)(P), [497025.191235275, 4074316.33922197], 1e-3);
  near(toCgcs2000(crs)([497025.191235275, 4074316.33922197]), P, 1e-8);
});

test('an elevated projection surface keeps the file ellipsoid', () => {
  const r = readPrj(prj('cgcs2000_elevated_surface_esri.prj'));
  assert.match(r.crs.code, /\/a=6378437\/rf=298\.257222101$/);
  assert.ok(r.warnings.some((w) => w.includes('6378437')));
  near(fromCgcs2000(r.crs)(P), [571399.428731289, 4074806.06076795], 1e-3);
});

test('a zone prefix disagreeing with the central meridian is not forced into the registry', () => {
  const crs = crsFromPrj(prj('prefix_cm_mismatch_esri.prj'));
  assert.equal(crs.code, 'WKT:CGCS2000/tmerc/lon_0=120/lat_0=0/k=1/x_0=39500000/y_0=0');
});

test('unsupported, garbage and empty texts are refused with the right code', () => {
  for (const [file, [c, msg]] of Object.entries(REFUSED_FIXTURES)) {
    code(() => crsFromPrj(prj(file)), c, msg);
  }
  code(() => crsFromPrj(''), 'prj_empty');
  code(() => crsFromPrj('\uFEFF \r\n\0'), 'prj_empty');
  code(() => crsFromPrj('PROJCS["x"] trailing'), 'prj_unsupported', /多余内容/);
  code(
    () => crsFromPrj('LOCAL_CS["Construction grid",LOCAL_DATUM["x",0],UNIT["metre",1]]'),
    'prj_unsupported',
    /LOCAL_CS/,
  );
  code(() => crsFromPrj('PROJCS["x",PROJECTION["Transverse_Mercator"]]'), 'prj_unsupported', /GEOGCS/);
  const sphere = prj('cgcs2000_3deg_cm117_esri.prj').replace('6378137.0,298.257222101', '6371000.0,0.0');
  code(() => crsFromPrj(sphere), 'prj_unsupported', /不合理的椭球参数/);
});

test('other projections can be handed to proj4 on request', () => {
  const crs = crsFromPrj(prj('lcc_cgcs2000_esri.prj'), { allowProj4Fallback: true });
  assert.equal(crs.code, 'WKT:CGCS2000_Lambert_Conformal_Conic');
  assert.equal(crs.datum, 'CGCS2000');
  near(fromCgcs2000(crs)(P), [1118170.92320099, 4333307.86467768], 1e-3);
  near(fromCgcs2000(crs)([117.85, 36.82]), [1122224.95811259, 4336045.93554776], 1e-3);
  // Still refused when proj4 does not know the projection.
  const weird = prj('lcc_cgcs2000_esri.prj').replace(
    'PROJECTION["Lambert_Conformal_Conic"]',
    'PROJECTION["Nonexistent_Projection"]',
  );
  code(() => crsFromPrj(weird, { allowProj4Fallback: true }), 'prj_unsupported', /Nonexistent_Projection/);
});

test('parseWkt handles brackets, parentheses, escaped quotes, bare words and exponents', () => {
  const n = parseWkt(' GEOGCS("a ""b""", AXIS["Lat", NORTH], X[1.5e3,-.5,+2]) ');
  assert.equal(n.keyword, 'GEOGCS');
  assert.equal(n.args[0], 'a "b"');
  assert.deepEqual(n.args[1], { keyword: 'AXIS', args: ['Lat', { keyword: 'NORTH', args: [] }] });
  assert.deepEqual(n.args[2], { keyword: 'X', args: [1500, -0.5, 2] });
  code(() => parseWkt('GEOGCS["unterminated'), 'prj_unsupported', /引号/);
  code(() => parseWkt('GEOGCS["a" "b"]'), 'prj_unsupported');
  code(() => parseWkt('GEOGCS["a",]'), 'prj_unsupported');
});
