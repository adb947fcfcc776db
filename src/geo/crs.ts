// Registry of the coordinate reference systems a Chinese county/district actually meets, and the
// transforms between them and CGCS2000 geographic (EPSG:4490), the system's storage CRS.
//
// Datum policy: 西安80 and 北京54 relate to CGCS2000 only through local 7-parameter sets that are
// not public. By default we treat their latitude/longitude as identical to CGCS2000 (an error of up
// to ~100 m) and flag the def with approximateDatum so the importer can warn; withTowgs84() attaches
// real parameters when the user has them. WGS84 is treated as identical to CGCS2000 (sub-metre).

import proj4 from 'proj4';
import { WeipianError } from '../domain/errors.ts';
import { mapCoords, type Areal, type Position } from './geometry.ts';

export type Datum = 'CGCS2000' | 'Xian80' | 'Beijing54' | 'WGS84';

export interface CrsDef {
  /** 'EPSG:4527' for registry entries, 'WKT:…' for definitions synthesized from a .prj. */
  readonly code: string;
  /** English + Chinese, e.g. 'CGCS2000 / 3-degree Gauss-Kruger zone 39 (CGCS2000 3度带 39带)'. */
  readonly name: string;
  /** A definition proj4js accepts: a proj4 string, or WKT for .prj files handed to proj4 as-is. */
  readonly proj4: string;
  readonly kind: 'geographic' | 'projected';
  readonly datum: Datum;
  readonly zoneWidth?: 3 | 6;
  readonly zone?: number;
  readonly centralMeridian?: number;
  /** True when the easting carries the zone number (8 integer digits, e.g. 39 571 396). */
  readonly zonePrefix?: boolean;
  readonly falseEasting?: number;
  /** Lat/lon taken as CGCS2000 without a datum shift: positions may be off by up to ~100 m. */
  readonly approximateDatum?: boolean;
  /** Bursa-Wolf parameters to WGS84/CGCS2000 in PROJ (position-vector) convention, when known. */
  readonly towgs84?: readonly number[];
}

interface Ellipsoid {
  a: number;
  rf: number;
}

export const ELLIPSOIDS: Readonly<Record<Datum, Ellipsoid>> = {
  CGCS2000: { a: 6378137, rf: 298.257222101 },
  WGS84: { a: 6378137, rf: 298.257223563 },
  // IAG 1975
  Xian80: { a: 6378140, rf: 298.257 },
  // Krassowsky 1940
  Beijing54: { a: 6378245, rf: 298.3 },
};

const DATUM_LABEL: Record<Datum, { en: string; zh: string; gk: string }> = {
  CGCS2000: { en: 'China Geodetic Coordinate System 2000', zh: 'CGCS2000', gk: 'CGCS2000' },
  Xian80: { en: 'Xian 1980', zh: '西安80', gk: 'Xian 1980' },
  Beijing54: { en: 'Beijing 1954', zh: '北京54', gk: 'Beijing 1954' },
  WGS84: { en: 'WGS 84', zh: 'WGS84', gk: 'WGS 84' },
};

/** proj4 ellipsoid clause; +a/+rf rather than +ellps so CGCS2000 is exact, not GRS80. */
export function ellipsoidProj4(e: Ellipsoid): string {
  return `+a=${e.a} +rf=${e.rf}`;
}

export function tmercProj4(
  e: Ellipsoid,
  p: { lon0: number; k?: number; x0: number; y0?: number; lat0?: number },
): string {
  return (
    `+proj=tmerc +lat_0=${p.lat0 ?? 0} +lon_0=${p.lon0} +k=${p.k ?? 1} +x_0=${p.x0} +y_0=${p.y0 ?? 0} ` +
    `${ellipsoidProj4(e)} +units=m +no_defs`
  );
}

function geographicDef(code: number, datum: Datum): CrsDef {
  const label = DATUM_LABEL[datum];
  return Object.freeze({
    code: `EPSG:${code}`,
    name: `${label.en} (${label.zh} 地理坐标)`,
    // WGS84 keeps +datum so proj4js knows it as the towgs84 pivot; the others carry no datum and
    // therefore never get shifted against each other (see the datum policy above).
    proj4:
      datum === 'WGS84'
        ? '+proj=longlat +datum=WGS84 +no_defs'
        : `+proj=longlat ${ellipsoidProj4(ELLIPSOIDS[datum])} +no_defs`,
    kind: 'geographic',
    datum,
    ...(isApproximate(datum) ? { approximateDatum: true } : {}),
  });
}

function isApproximate(datum: Datum): boolean {
  return datum === 'Xian80' || datum === 'Beijing54';
}

export function gkCentralMeridian(zone: number, width: 3 | 6): number {
  return width === 3 ? zone * 3 : zone * 6 - 3;
}

function gkDef(code: number, datum: Datum, width: 3 | 6, zone: number, prefix: boolean): CrsDef {
  const label = DATUM_LABEL[datum];
  const cm = gkCentralMeridian(zone, width);
  const fe = prefix ? zone * 1e6 + 500000 : 500000;
  const en = `${label.gk} / ${width === 3 ? '3-degree ' : ''}Gauss-Kruger ${prefix ? `zone ${zone}` : `CM ${cm}E`}`;
  const zh = `${label.zh} ${width}度带 ${prefix ? `${zone}带` : `中央经线${cm}°E 无带号`}`;
  return Object.freeze({
    code: `EPSG:${code}`,
    name: `${en} (${zh})`,
    proj4: tmercProj4(ELLIPSOIDS[datum], { lon0: cm, x0: fe }),
    kind: 'projected',
    datum,
    zoneWidth: width,
    zone,
    centralMeridian: cm,
    zonePrefix: prefix,
    falseEasting: fe,
    ...(isApproximate(datum) ? { approximateDatum: true } : {}),
  });
}

// First EPSG code of each family; codes run consecutively over zones 13–23 (6°) and 25–45 (3°).
// Checked against `gdalsrsinfo EPSG:n` (GDAL 3.6 / PROJ database) for every code.
const GK_FAMILIES: { datum: Datum; width: 3 | 6; prefix: boolean; first: number }[] = [
  { datum: 'CGCS2000', width: 6, prefix: true, first: 4491 },
  { datum: 'CGCS2000', width: 6, prefix: false, first: 4502 },
  { datum: 'CGCS2000', width: 3, prefix: true, first: 4513 },
  { datum: 'CGCS2000', width: 3, prefix: false, first: 4534 },
  { datum: 'Xian80', width: 6, prefix: true, first: 2327 },
  { datum: 'Xian80', width: 6, prefix: false, first: 2338 },
  { datum: 'Xian80', width: 3, prefix: true, first: 2349 },
  { datum: 'Xian80', width: 3, prefix: false, first: 2370 },
  { datum: 'Beijing54', width: 6, prefix: true, first: 21413 },
  { datum: 'Beijing54', width: 6, prefix: false, first: 21453 },
  { datum: 'Beijing54', width: 3, prefix: true, first: 2401 },
  { datum: 'Beijing54', width: 3, prefix: false, first: 2422 },
];
const ZONES: Record<3 | 6, { min: number; max: number }> = {
  6: { min: 13, max: 23 },
  3: { min: 25, max: 45 },
};

const REGISTRY = new Map<string, CrsDef>();
const GK_INDEX = new Map<string, CrsDef>();
const gkKey = (datum: Datum, width: 3 | 6, zone: number, prefix: boolean): string =>
  `${datum}/${width}/${zone}/${prefix ? 'p' : 'n'}`;

for (const [code, datum] of [
  [4490, 'CGCS2000'],
  [4610, 'Xian80'],
  [4214, 'Beijing54'],
  [4326, 'WGS84'],
] as const) {
  const def = geographicDef(code, datum);
  REGISTRY.set(def.code, def);
}
for (const f of GK_FAMILIES) {
  const { min, max } = ZONES[f.width];
  for (let zone = min; zone <= max; zone++) {
    const def = gkDef(f.first + zone - min, f.datum, f.width, zone, f.prefix);
    REGISTRY.set(def.code, def);
    GK_INDEX.set(gkKey(f.datum, f.width, zone, f.prefix), def);
  }
}

export const CGCS2000: CrsDef = REGISTRY.get('EPSG:4490')!;

/** Accepts 'EPSG:4527', 'epsg:4527', '4527' or 4527. */
export function getCrs(codeOrNumber: string | number): CrsDef {
  const m = /^\s*(?:EPSG:)?(\d+)\s*$/i.exec(String(codeOrNumber));
  const def = m ? REGISTRY.get(`EPSG:${m[1]}`) : undefined;
  if (!def) {
    throw new WeipianError('crs_unknown', `未知或不支持的坐标系：${String(codeOrNumber)}`, {
      code: codeOrNumber,
    });
  }
  return def;
}

export function listCrs(): CrsDef[] {
  return [...REGISTRY.values()];
}

/** The registry GK def with these parameters, if any (used to match .prj files). */
export function findGkCrs(datum: Datum, width: 3 | 6, zone: number, prefix: boolean): CrsDef | undefined {
  return GK_INDEX.get(gkKey(datum, width, zone, prefix));
}

/** Zone number for a longitude; a longitude on a zone boundary belongs to the eastern zone. */
export function gkZoneFor(lon: number, width: 3 | 6): number {
  return width === 3 ? Math.floor(lon / 3 + 0.5) : Math.floor(lon / 6) + 1;
}

export function gkCrsFor(lon: number, width: 3 | 6, prefix: boolean, datum: Datum = 'CGCS2000'): CrsDef {
  const zone = gkZoneFor(lon, width);
  const def = Number.isFinite(lon) ? findGkCrs(datum, width, zone, prefix) : undefined;
  if (!def) {
    throw new WeipianError(
      'crs_zone_out_of_range',
      `经度 ${lon} 不在中国范围内的 ${width} 度带（${datum}）`,
      { lon, width, datum },
    );
  }
  return def;
}

/** Returns a copy of def that applies the given Bursa-Wolf parameters instead of aligned datums. */
export function withTowgs84(def: CrsDef, towgs84: readonly number[]): CrsDef {
  if ((towgs84.length !== 3 && towgs84.length !== 7) || !towgs84.every(Number.isFinite)) {
    throw new WeipianError('crs_towgs84_invalid', '七参数（或三参数）格式不正确，应为 3 或 7 个数字', {
      towgs84,
    });
  }
  if (!def.proj4.startsWith('+')) {
    throw new WeipianError('crs_towgs84_invalid', `坐标系 ${def.code} 不是 proj4 定义，无法附加七参数`);
  }
  const base = def.proj4.replace(/\s*\+towgs84=\S+/, '').replace(/\s*\+no_defs\b/, '');
  return Object.freeze({
    ...def,
    proj4: `${base} +towgs84=${towgs84.join(',')} +no_defs`,
    towgs84: Object.freeze([...towgs84]),
    approximateDatum: false,
  });
}

type Fn = (p: Position) => Position;
const CONVERTERS = new Map<string, Fn>();

// Geographic defs without towgs84 are all aligned to CGCS2000 by policy, so the transform is the
// identity; skipping proj4 here also avoids its degree→radian→degree rounding noise.
function isAlignedGeographic(def: CrsDef): boolean {
  return def.kind === 'geographic' && !def.towgs84;
}

/** A cached point transform between two CRS defs; throws crs_transform_failed on failure. */
export function converter(from: CrsDef, to: CrsDef): Fn {
  const key = `${from.proj4}\u0000${to.proj4}`;
  let fn = CONVERTERS.get(key);
  if (fn) return fn;
  if (from.proj4 === to.proj4 || (isAlignedGeographic(from) && isAlignedGeographic(to))) {
    fn = (p) => [p[0], p[1]];
  } else {
    let conv: proj4.Converter;
    try {
      conv = proj4(from.proj4, to.proj4);
    } catch (e) {
      throw new WeipianError('crs_unknown', `无法建立坐标转换：${from.code} → ${to.code}`, {
        from: from.code,
        to: to.code,
        cause: String(e),
      });
    }
    fn = (p) => {
      let out: number[] | undefined;
      try {
        out = conv.forward([p[0], p[1]]);
      } catch {
        out = undefined;
      }
      const x = out?.[0];
      const y = out?.[1];
      if (x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y)) {
        throw new WeipianError(
          'crs_transform_failed',
          `坐标 (${p[0]}, ${p[1]}) 无法从 ${from.code} 转换到 ${to.code}`,
          { from: from.code, to: to.code, point: [p[0], p[1]] },
        );
      }
      return [x, y];
    };
  }
  CONVERTERS.set(key, fn);
  return fn;
}

/** Source CRS → CGCS2000 lon/lat (EPSG:4490). Positions are [x, y] = [easting, northing]. */
export function toCgcs2000(def: CrsDef): Fn {
  return converter(def, CGCS2000);
}

/** CGCS2000 lon/lat → target CRS. */
export function fromCgcs2000(def: CrsDef): Fn {
  return converter(CGCS2000, def);
}

/** Transforms every vertex; by default into CGCS2000 lon/lat. */
export function transformAreal(g: Areal, from: CrsDef, to: CrsDef = CGCS2000): Areal {
  return mapCoords(g, converter(from, to));
}

/** Generous bounding box of China incl. the South China Sea islands. */
export function inChina(lon: number, lat: number): boolean {
  return lon >= 73 && lon <= 136 && lat >= 3 && lat <= 54;
}

export interface CoordDiagnosis {
  kind: 'geographic' | 'gk-prefixed' | 'gk-unprefixed' | 'unknown';
  /** x holds the northing/latitude and y the easting/longitude (surveyors' X = north convention). */
  swapped: boolean;
  zoneWidth?: 3 | 6;
  zone?: number;
  centralMeridian?: number;
  /** CGCS2000 candidate CRS when the coordinates determine one (the datum itself cannot be told). */
  suggested?: string;
  /** Chinese explanation for the importer to show. */
  message: string;
}

// Northings of China (3°–54°N) lie between ~330 km and ~6 000 km.
const NORTHING_MIN = 300_000;
const NORTHING_MAX = 6_100_000;
// Eastings within a 6° zone at the equator stay within ±340 km of the 500 km false easting.
const EAST_MIN = 100_000;
const EAST_MAX = 900_000;

function asPrefixed(e: number, n: number): CoordDiagnosis | undefined {
  if (!(e >= 13e6 && e < 46e6) || !(n >= NORTHING_MIN && n <= NORTHING_MAX)) return undefined;
  const zone = Math.floor(e / 1e6);
  const width: 3 | 6 | undefined = zone >= 13 && zone <= 23 ? 6 : zone >= 25 ? 3 : undefined;
  if (!width || e - zone * 1e6 < EAST_MIN || e - zone * 1e6 > EAST_MAX) return undefined;
  const def = findGkCrs('CGCS2000', width, zone, true)!;
  // The prefix must put the point in (or just beside) its own zone, inside China.
  const [lon, lat] = toCgcs2000(def)([e, n]);
  if (!inChina(lon, lat) || Math.abs(lon - def.centralMeridian!) > width / 2 + 1) return undefined;
  return {
    kind: 'gk-prefixed',
    swapped: false,
    zoneWidth: width,
    zone,
    centralMeridian: def.centralMeridian!,
    suggested: def.code,
    message: `像带带号的高斯投影坐标：${width}度带 ${zone}带（中央经线 ${def.centralMeridian}°E），如 CGCS2000 对应 ${def.code}`,
  };
}

function asUnprefixed(e: number, n: number): CoordDiagnosis | undefined {
  if (!(e >= EAST_MIN && e <= EAST_MAX) || !(n >= NORTHING_MIN && n <= NORTHING_MAX)) return undefined;
  return {
    kind: 'gk-unprefixed',
    swapped: false,
    message: '像不带带号的高斯投影坐标（6 位横坐标），无法从坐标本身判断中央经线，请指定坐标系',
  };
}

/**
 * Guesses what kind of coordinates (x, y) are when the CRS is unknown or suspicious: degrees,
 * Gauss-Krüger with or without zone prefix, or any of these with the axes swapped.
 */
export function diagnoseCoordinates(x: number, y: number): CoordDiagnosis {
  if (!Number.isFinite(x) || !Number.isFinite(y)) {
    return { kind: 'unknown', swapped: false, message: '坐标不是有限数值' };
  }
  if (inChina(x, y)) {
    return {
      kind: 'geographic',
      swapped: false,
      suggested: CGCS2000.code,
      message: '像经纬度（度），经度在前',
    };
  }
  if (inChina(y, x)) {
    return {
      kind: 'geographic',
      swapped: true,
      suggested: CGCS2000.code,
      message: '像经纬度（度），但纬度在前、经度在后，请使用 --swap-xy 交换坐标轴',
    };
  }
  const pre = asPrefixed(x, y);
  if (pre) return pre;
  const preSwapped = asPrefixed(y, x);
  if (preSwapped) {
    return {
      ...preSwapped,
      swapped: true,
      message: `${preSwapped.message}；但 X、Y 轴颠倒（X 为北坐标），请使用 --swap-xy 交换坐标轴`,
    };
  }
  // Normal order first: both orders fit only for northings below ~900 km (South China Sea).
  const un = asUnprefixed(x, y);
  if (un) return un;
  const unSwapped = asUnprefixed(y, x);
  if (unSwapped) {
    return {
      ...unSwapped,
      swapped: true,
      message: `${unSwapped.message}；且 X、Y 轴颠倒（X 为北坐标），请使用 --swap-xy 交换坐标轴`,
    };
  }
  return {
    kind: 'unknown',
    swapped: false,
    message: `坐标 (${x}, ${y}) 既不像中国范围内的经纬度，也不像高斯投影坐标`,
  };
}
