// Reads the WKT1 text of a shapefile .prj (OGC form as GDAL writes it, ESRI form as ArcGIS and
// GDAL ≥ 3 write it) and returns the matching registry CRS. Identification goes by parameters —
// datum, ellipsoid, projection, central meridian, false easting — because names and even AUTHORITY
// codes in the wild are unreliable (Chinese software writes all sorts of names).

import proj4 from 'proj4';
import { WeipianError } from '../domain/errors.ts';
import { CGCS2000, ELLIPSOIDS, findGkCrs, getCrs, tmercProj4, type CrsDef, type Datum } from './crs.ts';

// ---------------------------------------------------------------------------------------------
// Tokenizer / parser: KEYWORD[arg, ...] with quoted strings, numbers, nested nodes and bare words
// (AXIS["Easting",EAST]). WKT1 also allows ( ) as brackets.

export interface WktNode {
  keyword: string;
  args: WktValue[];
}
/** Bare words (NORTH, EAST) parse as nodes without arguments. */
export type WktValue = WktNode | string | number;

function fail(message: string, details?: unknown): never {
  throw new WeipianError('prj_unsupported', message, details);
}

export function parseWkt(text: string): WktNode {
  // BOMs and trailing NULs come from editors and fixed-size buffers in some writers.
  const s = text.replace(/^\uFEFF/, '').replace(/\0+$/, '');
  let i = 0;
  const ws = (): void => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const here = (): string => JSON.stringify(s.slice(i, i + 20));
  const node = (): WktNode => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
    if (!m) fail(`无法解析 .prj 坐标系文本：第 ${i + 1} 个字符处应为关键字，实为 ${here()}`, { pos: i });
    i += m[0].length;
    ws();
    const open = s[i];
    if (open !== '[' && open !== '(') return { keyword: m[0].toUpperCase(), args: [] };
    const close = open === '[' ? ']' : ')';
    i++;
    const args: WktValue[] = [];
    ws();
    if (s[i] === close) {
      i++;
      return { keyword: m[0].toUpperCase(), args };
    }
    for (;;) {
      ws();
      args.push(value());
      ws();
      if (s[i] === ',') {
        i++;
        continue;
      }
      if (s[i] === close) {
        i++;
        return { keyword: m[0].toUpperCase(), args };
      }
      fail(`无法解析 .prj 坐标系文本：第 ${i + 1} 个字符处缺少 “,” 或 “${close}”，实为 ${here()}`, {
        pos: i,
      });
    }
  };
  const value = (): WktValue => {
    const c = s[i];
    if (c === '"') {
      let out = '';
      i++;
      for (;;) {
        if (i >= s.length) fail('无法解析 .prj 坐标系文本：引号未闭合', { pos: i });
        if (s[i] === '"') {
          // WKT escapes a quote by doubling it.
          if (s[i + 1] === '"') {
            out += '"';
            i += 2;
            continue;
          }
          i++;
          return out;
        }
        out += s[i++];
      }
    }
    const num = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(s.slice(i));
    if (num) {
      i += num[0].length;
      return Number(num[0]);
    }
    return node();
  };
  ws();
  if (i >= s.length) throw new WeipianError('prj_empty', '.prj 文件为空，没有坐标系定义');
  const root = node();
  ws();
  if (i < s.length) fail(`无法解析 .prj 坐标系文本：第 ${i + 1} 个字符处有多余内容 ${here()}`, { pos: i });
  return root;
}

function serializeWkt(n: WktNode): string {
  if (n.args.length === 0) return n.keyword;
  const arg = (v: WktValue): string =>
    typeof v === 'string'
      ? `"${v.replace(/"/g, '""')}"`
      : typeof v === 'number'
        ? String(v)
        : serializeWkt(v);
  return `${n.keyword}[${n.args.map(arg).join(',')}]`;
}

const children = (n: WktNode, kw: string): WktNode[] =>
  n.args.filter((a): a is WktNode => typeof a === 'object' && a.keyword === kw);
const child = (n: WktNode, kw: string): WktNode | undefined => children(n, kw)[0];
const strArg = (n: WktNode | undefined, idx = 0): string | undefined => {
  const v = n?.args[idx];
  return typeof v === 'string' ? v : undefined;
};
const numArg = (n: WktNode | undefined, idx: number): number | undefined => {
  const v = n?.args[idx];
  return typeof v === 'number' ? v : undefined;
};
/** Lower-case alphanumerics only, so 'D_China_2000', 'China 2000' and 'china_2000' compare equal. */
const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9\u4e00-\u9fff]/g, '');

// ---------------------------------------------------------------------------------------------
// Identification

function datumFromName(name: string): Datum | undefined {
  const n = norm(name);
  if (/cgcs2000|china2000|chinageodeticcoordinatesystem2000|国家2000|2000国家/.test(n)) return 'CGCS2000';
  if (/xian1980|xian80|西安80|西安1980/.test(n)) return 'Xian80';
  if (/beijing1954|beijing54|bj54|北京54|北京1954/.test(n)) return 'Beijing54';
  if (/wgs1984|wgs84/.test(n)) return 'WGS84';
  return undefined;
}

function datumFromSpheroid(a: number, rf: number): Datum | undefined {
  // rf tolerance is tight because CGCS2000 and WGS84 differ only by 1.5e-6 in 1/f.
  for (const d of ['CGCS2000', 'WGS84', 'Xian80', 'Beijing54'] as const) {
    const e = ELLIPSOIDS[d];
    if (Math.abs(a - e.a) < 0.01 && Math.abs(rf - e.rf) < 5e-7) return d;
  }
  return undefined;
}

const nearlyGeocentricSame = (x: Datum, y: Datum): boolean =>
  x === y || ((x === 'CGCS2000' || x === 'WGS84') && (y === 'CGCS2000' || y === 'WGS84'));

interface GeogInfo {
  datum: Datum;
  /** The file's own ellipsoid when it is not the datum's standard one (local/elevated grids). */
  customEllipsoid?: { a: number; rf: number };
}

function readGeogcs(g: WktNode, warnings: string[]): GeogInfo {
  const datumNode = child(g, 'DATUM');
  const datumName = strArg(datumNode) ?? '';
  const sph = datumNode && (child(datumNode, 'SPHEROID') ?? child(datumNode, 'ELLIPSOID'));
  const a = numArg(sph, 1);
  const rf = numArg(sph, 2);
  if (a === undefined || rf === undefined) {
    fail(`.prj 中缺少椭球参数（DATUM["${datumName}"] 下没有 SPHEROID）`, { datum: datumName });
  }
  const byName = datumFromName(datumName) ?? datumFromName(strArg(g) ?? '');
  const bySpheroid = datumFromSpheroid(a, rf);
  const datum = byName ?? bySpheroid;
  if (!datum) {
    fail(
      `不支持的大地基准：DATUM["${datumName}"]，椭球 a=${a} 1/f=${rf}（支持 CGCS2000、西安80、北京54、WGS84）`,
      {
        datum: datumName,
        a,
        rf,
      },
    );
  }
  if (!byName) warnings.push(`基准名称“${datumName}”无法识别，按椭球参数判定为 ${datum}`);
  if (bySpheroid && !nearlyGeocentricSame(datum, bySpheroid)) {
    fail(
      `.prj 自相矛盾：基准名称“${datumName}”表示 ${datum}，但椭球参数 a=${a} 1/f=${rf} 属于 ${bySpheroid}`,
      {
        datum: datumName,
        a,
        rf,
      },
    );
  }
  const info: GeogInfo = { datum };
  if (!bySpheroid) {
    // Elevated projection surfaces change a by hundreds of metres, not more; spheres (1/f = 0) and
    // nonsense would only produce NaNs later.
    if (!(a > 6.3e6 && a < 6.45e6 && rf > 290 && rf < 305)) {
      fail(`不合理的椭球参数：a=${a} 1/f=${rf}（基准“${datumName}”）`, { datum: datumName, a, rf });
    }
    info.customEllipsoid = { a, rf };
    warnings.push(
      `椭球参数 a=${a} 1/f=${rf} 不是 ${datum} 的标准椭球（可能是抵偿投影面/地方坐标系），按文件参数计算`,
    );
  }
  const towgs = datumNode && child(datumNode, 'TOWGS84');
  if (towgs && towgs.args.some((v) => typeof v === 'number' && v !== 0)) {
    const params = towgs.args.filter((v): v is number => typeof v === 'number');
    warnings.push(`.prj 带有 TOWGS84[${params.join(',')}]，未采用；如确认可用请显式指定七参数`);
  }
  const pm = numArg(child(g, 'PRIMEM'), 1);
  if (pm !== undefined && pm !== 0) fail(`不支持非格林尼治本初子午线：PRIMEM ${pm}`, { primem: pm });
  const unit = child(g, 'UNIT');
  const f = numArg(unit, 1);
  if (f !== undefined && Math.abs(f - Math.PI / 180) > 1e-12) {
    fail(`不支持的角度单位：UNIT["${strArg(unit) ?? ''}",${f}]（只支持度）`, {
      unit: strArg(unit),
      factor: f,
    });
  }
  return info;
}

function authorityCode(n: WktNode): string | undefined {
  const auth = child(n, 'AUTHORITY');
  const org = strArg(auth, 0);
  const v = auth?.args[1];
  if (!org || org.toUpperCase() !== 'EPSG' || v === undefined || typeof v === 'object') return undefined;
  return `EPSG:${String(v).trim()}`;
}

function registryDef(code: string | undefined): CrsDef | undefined {
  if (!code) return undefined;
  try {
    return getCrs(code);
  } catch {
    return undefined;
  }
}

/** Same CRS mathematically, e.g. 3° CM 117E and 6° CM 117E unprefixed zones. */
const sameMath = (x: CrsDef, y: CrsDef): boolean => x.proj4 === y.proj4;

/** Takes the AUTHORITY code when it agrees with the parameters; otherwise the parameters win. */
function reconcile(found: CrsDef, authCode: string | undefined, warnings: string[]): CrsDef {
  if (!authCode || authCode === found.code) return found;
  const auth = registryDef(authCode);
  if (auth && sameMath(auth, found)) return auth;
  warnings.push(`.prj 的 AUTHORITY 为 ${authCode}，但参数对应 ${found.code}，已按参数识别`);
  return found;
}

const geogName: Record<Datum, string> = {
  CGCS2000: 'EPSG:4490',
  Xian80: 'EPSG:4610',
  Beijing54: 'EPSG:4214',
  WGS84: 'EPSG:4326',
};

const TMERC_NAMES = new Set([
  'transversemercator',
  'gausskruger',
  'gausskrueger',
  'gausskrger', // Gauss_Krüger after norm() drops the umlaut
  '高斯克吕格',
  'tmerc',
  'transversemercatorcomplex',
]);

// Normalized parameter names of OGC and ESRI WKT1 → our keys.
const PARAM_KEYS: Record<string, 'lon0' | 'lat0' | 'k' | 'x0' | 'y0'> = {
  centralmeridian: 'lon0',
  longitudeofcenter: 'lon0',
  longitudeoforigin: 'lon0',
  longitudeofnaturalorigin: 'lon0',
  latitudeoforigin: 'lat0',
  latitudeofcenter: 'lat0',
  latitudeofnaturalorigin: 'lat0',
  scalefactor: 'k',
  scalefactoratnaturalorigin: 'k',
  falseeasting: 'x0',
  falsenorthing: 'y0',
};

export interface PrjOptions {
  /**
   * Projections other than Transverse Mercator are refused by default because no district data
   * should use them; with this set they are handed to proj4js when it can read them.
   */
  allowProj4Fallback?: boolean;
}

export interface PrjResult {
  crs: CrsDef;
  /** Chinese notes for the importer: AUTHORITY disagreeing, unrecognized names, ignored TOWGS84… */
  warnings: string[];
}

/** Identifies the CRS of a .prj text; throws prj_empty / prj_unsupported. */
export function crsFromPrj(wkt: string, options: PrjOptions = {}): CrsDef {
  return readPrj(wkt, options).crs;
}

export function readPrj(wkt: string, options: PrjOptions = {}): PrjResult {
  if (wkt.replace(/^\uFEFF/, '').replace(/[\s\0]+/g, '') === '') {
    throw new WeipianError('prj_empty', '.prj 文件为空，没有坐标系定义');
  }
  const warnings: string[] = [];
  let root = parseWkt(wkt);
  // A compound CRS carries the horizontal CRS inside; heights do not matter for areas.
  if (root.keyword === 'COMPD_CS') {
    const horiz = child(root, 'PROJCS') ?? child(root, 'GEOGCS');
    if (!horiz) fail('COMPD_CS 中没有平面坐标系（PROJCS/GEOGCS）');
    root = horiz;
  }
  if (root.keyword === 'GEOGCS') {
    const info = readGeogcs(root, warnings);
    return { crs: reconcile(getCrs(geogName[info.datum]), authorityCode(root), warnings), warnings };
  }
  if (root.keyword !== 'PROJCS') {
    const wkt2 = /CRS$/.test(root.keyword) ? '（WKT2 格式，请导出为 WKT1/ESRI 格式）' : '';
    fail(`不支持的坐标系类型：${root.keyword}${wkt2}`, { keyword: root.keyword });
  }
  const projName = strArg(root) ?? '';
  const geog = child(root, 'GEOGCS');
  if (!geog) fail(`投影坐标系“${projName}”中缺少 GEOGCS`, { name: projName });
  const info = readGeogcs(geog, warnings);

  const unit = child(root, 'UNIT');
  const unitFactor = numArg(unit, 1);
  if (unitFactor !== undefined && unitFactor !== 1) {
    fail(`不支持的长度单位：UNIT["${strArg(unit) ?? ''}",${unitFactor}]（只支持米）`, {
      unit: strArg(unit),
      factor: unitFactor,
    });
  }

  const projection = strArg(child(root, 'PROJECTION')) ?? '';
  if (!TMERC_NAMES.has(norm(projection))) {
    if (options.allowProj4Fallback) return { crs: viaProj4(root, projName, projection, info), warnings };
    fail(
      `不支持的投影方式：${projection || '（未注明）'}（坐标系“${projName}”）；只支持高斯-克吕格/横轴墨卡托投影`,
      {
        name: projName,
        projection,
      },
    );
  }

  const p: { lon0?: number; lat0?: number; k?: number; x0?: number; y0?: number } = {};
  for (const param of children(root, 'PARAMETER')) {
    const name = strArg(param) ?? '';
    const v = numArg(param, 1);
    const key = PARAM_KEYS[norm(name)];
    if (key && v !== undefined) p[key] = v;
    else if (v !== 0) warnings.push(`忽略未知的投影参数 ${name}=${String(param.args[1])}`);
  }
  if (p.lon0 === undefined) fail(`投影坐标系“${projName}”缺少中央经线参数`, { name: projName });
  const tm = { lon0: p.lon0, lat0: p.lat0 ?? 0, k: p.k ?? 1, x0: p.x0 ?? 0, y0: p.y0 ?? 0 };

  const gk =
    !info.customEllipsoid && tm.lat0 === 0 && tm.k === 1 && tm.y0 === 0
      ? matchGk(tm, info, projName)
      : undefined;
  if (gk) return { crs: reconcile(gk, authorityCode(root), warnings), warnings };

  // A valid Transverse Mercator outside the registry (local central meridian, UTM, elevated
  // projection surface): we build the proj4 string ourselves, so it is as safe as a registry entry.
  const ell = info.customEllipsoid ?? ELLIPSOIDS[info.datum];
  const isGk = tm.k === 1 && tm.lat0 === 0;
  const code =
    `WKT:${info.datum}/tmerc/lon_0=${tm.lon0}/lat_0=${tm.lat0}/k=${tm.k}/x_0=${tm.x0}/y_0=${tm.y0}` +
    (info.customEllipsoid ? `/a=${ell.a}/rf=${ell.rf}` : '');
  const auth = authorityCode(root);
  if (auth) warnings.push(`.prj 的 AUTHORITY 为 ${auth}，但参数不对应任何登记的坐标系，已按参数自建定义`);
  const crs: CrsDef = Object.freeze({
    code,
    name: `${projName} (${isGk ? '自定义高斯-克吕格投影' : '横轴墨卡托投影'}，中央经线 ${tm.lon0}°E)`,
    proj4: tmercProj4(ell, tm),
    kind: 'projected',
    datum: info.datum,
    centralMeridian: tm.lon0,
    falseEasting: tm.x0,
    ...(info.datum === 'Xian80' || info.datum === 'Beijing54' ? { approximateDatum: true } : {}),
  });
  return { crs, warnings };
}

function matchGk(tm: { lon0: number; x0: number }, info: GeogInfo, projName: string): CrsDef | undefined {
  if (tm.x0 === 500000) {
    // 3° and 6° zones share central meridians such as 117°E; the name is the only hint, and the
    // two are the same CRS mathematically, so defaulting to 3° (what districts use) is harmless.
    const n = norm(projName);
    const says6 =
      /6degree|6度/.test(n) || (!/3degree|3度/.test(n) && /gk(cm|zone)|gausskruger(cm|zone)/.test(n));
    const order: (3 | 6)[] = says6 ? [6, 3] : [3, 6];
    for (const width of order) {
      const zone = width === 3 ? tm.lon0 / 3 : (tm.lon0 + 3) / 6;
      const def = Number.isInteger(zone) ? findGkCrs(info.datum, width, zone, false) : undefined;
      if (def) return def;
    }
    return undefined;
  }
  const zone = (tm.x0 - 500000) / 1e6;
  if (!Number.isInteger(zone)) return undefined;
  const width: 3 | 6 = zone <= 23 ? 6 : 3;
  const def = findGkCrs(info.datum, width, zone, true);
  // The zone prefix must agree with the central meridian.
  return def && def.centralMeridian === tm.lon0 ? def : undefined;
}

function viaProj4(root: WktNode, projName: string, projection: string, info: GeogInfo): CrsDef {
  // AXIS is dropped because shapefile coordinates are always easting-first whatever WKT1 says,
  // and TOWGS84 because datum shifts follow the registry policy, not whatever the writer added.
  const strip = (n: WktNode): WktNode => ({
    keyword: n.keyword,
    args: n.args
      .filter((a) => typeof a !== 'object' || (a.keyword !== 'AXIS' && a.keyword !== 'TOWGS84'))
      .map((a) => (typeof a === 'object' ? strip(a) : a)),
  });
  const wkt = serializeWkt(strip(root));
  try {
    // proj4js drops what it does not understand instead of failing; insist that it built the
    // declared projection on the declared ellipsoid.
    const parsed = proj4.Proj(wkt) as unknown as { names?: string[]; a?: number };
    if (!parsed.names?.some((n) => norm(n) === norm(projection)))
      throw new Error('projection not understood');
    const a = info.customEllipsoid?.a ?? ELLIPSOIDS[info.datum].a;
    if (parsed.a === undefined || Math.abs(parsed.a - a) > 0.01) throw new Error('ellipsoid not understood');
    const conv = proj4(CGCS2000.proj4, wkt);
    // proj4js accepts some texts it cannot really use; demand a clean round trip in China.
    const xy = conv.forward([110, 35]);
    const back = conv.inverse(xy);
    if (!xy.every(Number.isFinite) || Math.abs(back[0]! - 110) > 1e-7 || Math.abs(back[1]! - 35) > 1e-7) {
      throw new Error('round trip failed');
    }
  } catch (e) {
    fail(`不支持的投影方式：${projection || '（未注明）'}（坐标系“${projName}”），proj4 也无法处理`, {
      name: projName,
      projection,
      cause: String(e),
    });
  }
  return Object.freeze({
    code: `WKT:${projName || projection}`,
    name: `${projName} (${projection}，经 proj4 解析)`,
    proj4: wkt,
    kind: 'projected',
    datum: info.datum,
    ...(info.datum === 'Xian80' || info.datum === 'Beijing54' ? { approximateDatum: true } : {}),
  });
}
