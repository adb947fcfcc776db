// `weipian demo generate`: writes the demo district's delivery into a folder — the Ministry's land
// and mineral patches, the district's reference data and a manifest.json with the ground truth of
// every patch and the SHA-256 of every file. Deterministic: the same seed and scale give the same
// bytes on every run (no clock, no locale, no Math.random).
import { createHash } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WeipianError } from '../domain/errors.ts';
import { getCrs, toCgcs2000 } from '../geo/crs.ts';
import { ellipsoidalArea } from '../geo/area.ts';
import type { Areal } from '../geo/geometry.ts';
import { initGeos } from '../geo/geos.ts';
import { roundHalfAwayFromZero } from '../geo/units.ts';
import { noProgress, type ProgressFn } from '../jobs/progress.ts';
import { Rng } from './prng.ts';
import {
  COUNTY_CODE,
  COUNTY_NAME,
  LAND_CLASSES,
  PLAN_ZONES,
  UNITS,
  buildDistrict,
  type District,
} from './district.ts';
import { Measurer } from './measure.ts';
import {
  LAND_CATEGORIES,
  MINERAL_CATEGORIES,
  buildScenario,
  type PatchFeature,
  type PatchTruth,
  type RecordLayer,
  type Scenario,
} from './scenario.ts';
import {
  geoPackageBytes,
  shapefileBytes,
  toGeographic,
  workbookBytes,
  type ColumnSpec,
  type Day,
  type LayerData,
} from './output.ts';

export const DEFAULT_SEED = 2017;
export const DEFAULT_SCALE = 1;
export const MIN_SCALE = 0.02;
export const MAX_SCALE = 2;

export const LAND_DIR = '周村区2017年度土地卫片图斑';
export const MINERAL_DIR = '周村区2017年度矿产卫片图斑';
export const REFERENCE_DIR = '参考数据';
export const MANIFEST = 'manifest.json';

/** The DBF header dates: the Ministry's delivery, the district's reference data. */
const DELIVERY_DAY: Day = [2018, 2, 28];
const REFERENCE_DAY: Day = [2017, 12, 31];
/** The plan's mineral initial-report date (4/9): the 一张表 is dated then. */
const TABLE_DAY: Day = [2018, 4, 9];

export interface GenerateOptions {
  /** 0 … 4294967295 (default 2017); text is accepted as typed on the command line. */
  seed?: number | string;
  /** 0.02 … 2 (default 1). */
  scale?: number | string;
  onProgress?: ProgressFn;
}

export interface ManifestLayer {
  /** Path of the .shp (or .gpkg/.xlsx) relative to the folder, '/'-separated. */
  file: string;
  title: string;
  /**
   * `weipian import layer --type …` for reference layers, 'patches' for deliveries, null for the
   * district outline (no layer type; it is there to check the district's total area against).
   */
  importAs: string | null;
  format: 'shapefile' | 'geopackage' | 'xlsx';
  features: number;
  fields: string[];
  /** Units of the area fields. */
  units: Record<string, string>;
}

export interface DemoManifest {
  generator: string;
  formatVersion: 1;
  seed: number;
  scale: number;
  district: {
    code: string;
    name: string;
    crs: string;
    encoding: string;
    areaM2: number;
    cellSizeM: number;
    units: { code: string; name: string; kind: string; areaM2: number }[];
  };
  conventions: Record<string, string>;
  layers: ManifestLayer[];
  counts: {
    land: {
      total: number;
      byCategory: Record<string, number>;
      bySubtype: Record<string, number>;
      byTrait: Record<string, number>;
    };
    mineral: {
      total: number;
      byCategory: Record<string, number>;
      bySubtype: Record<string, number>;
      byTrait: Record<string, number>;
    };
    records: Record<RecordLayer, number>;
  };
  patches: PatchTruth[];
  files: { path: string; bytes: number; sha256: string }[];
}

export interface DemoResult {
  dir: string;
  manifest: DemoManifest;
}

/** A number option as given (the command line passes its text, so a message can quote it). */
function numberOf(v: number | string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  return v.trim() === '' ? Number.NaN : Number(v);
}

function checkOptions(o: GenerateOptions): { seed: number; scale: number } {
  const seed = numberOf(o.seed, DEFAULT_SEED);
  const scale = numberOf(o.scale, DEFAULT_SCALE);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new WeipianError(
      'demo_seed_invalid',
      `随机种子应为 0 到 4294967295 之间的整数：${String(o.seed)}`,
      { seed: o.seed },
    );
  if (!Number.isFinite(scale) || scale < MIN_SCALE || scale > MAX_SCALE)
    throw new WeipianError(
      'demo_scale_invalid',
      `规模应在 ${MIN_SCALE} 到 ${MAX_SCALE} 之间（1 为全区约 3 万个地类图斑、600 个土地图斑）：${String(o.scale)}`,
      {
        scale: o.scale,
      },
    );
  return { seed, scale };
}

async function checkTarget(dir: string): Promise<void> {
  let s;
  try {
    s = await stat(dir);
  } catch {
    return; // created later
  }
  if (!s.isDirectory())
    throw new WeipianError('demo_dir_not_directory', `${dir} 已存在且不是目录，请指定一个新目录`, { dir });
  if ((await readdir(dir)).length > 0)
    throw new WeipianError('demo_dir_not_empty', `目录 ${dir} 不为空，示例数据只写入新目录或空目录`, { dir });
}

const str = (name: string, width: number): ColumnSpec => ({ name, kind: 'string', width });
const real = (name: string, width: number, decimals: number): ColumnSpec => ({
  name,
  kind: 'real',
  width,
  decimals,
});
const date = (name: string): ColumnSpec => ({ name, kind: 'date', width: 8 });
const int64 = (name: string, width: number): ColumnSpec => ({ name, kind: 'integer64', width });

const RECORD_COLUMNS: Record<RecordLayer, ColumnSpec[]> = {
  approval: [
    str('XMMC', 80),
    str('PZWH', 40),
    str('PZJG', 30),
    date('PZRQ'),
    str('SPLX', 30),
    real('PZMJ', 14, 4),
  ],
  supply: [
    str('电子监管号', 20),
    str('项目名称', 60),
    str('用地单位', 60),
    str('供地方式', 10),
    str('土地用途', 20),
    str('供地文号', 40),
    date('供地日期'),
    real('供地面积', 14, 4),
  ],
  linkage: [str('XMMC', 100), str('PFWH', 40), date('PFRQ'), real('JXMJ', 14, 4)],
  facility: [str('BABH', 40), str('SSLX', 20), str('JSDW', 80), date('BARQ'), real('YDMJ', 14, 2)],
  temporary: [str('PWH', 40), str('YT', 20), str('SQDW', 60), date('QSRQ'), date('ZZRQ'), real('MJ', 14, 2)],
  mining: [
    str('XKZH', 30),
    str('KSMC', 80),
    str('CKQR', 60),
    str('KZ', 20),
    str('KCFS', 10),
    real('SCGM', 10, 2),
    date('YXQQ'),
    date('YXQZ'),
    real('KQMJ', 12, 4),
  ],
  exploration: [
    str('XKZH', 30),
    str('XMMC', 100),
    str('TKQR', 60),
    str('KZ', 20),
    date('YXQQ'),
    date('YXQZ'),
    real('KQMJ', 12, 4),
  ],
};

const RECORD_FILES: Record<
  RecordLayer,
  { file: string; title: string; importAs: string; units: Record<string, string> }
> = {
  approval: {
    file: '农用地转用征收批准',
    title: '农用地转用/土地征收批准范围',
    importAs: 'approval',
    units: { PZMJ: '公顷' },
  },
  supply: { file: '供地', title: '供地', importAs: 'supply', units: { 供地面积: '公顷' } },
  linkage: {
    file: '增减挂钩',
    title: '城乡建设用地增减挂钩建新区',
    importAs: 'linkage',
    units: { JXMJ: '公顷' },
  },
  facility: { file: '设施农用地', title: '设施农用地备案', importAs: 'facility', units: { YDMJ: '平方米' } },
  temporary: { file: '临时用地', title: '临时用地批准', importAs: 'temporary', units: { MJ: '平方米' } },
  mining: {
    file: '采矿权',
    title: '采矿权',
    importAs: 'mining-right',
    units: { KQMJ: '平方公里', SCGM: '万吨/年' },
  },
  exploration: {
    file: '探矿权',
    title: '探矿权',
    importAs: 'exploration-right',
    units: { KQMJ: '平方公里' },
  },
};

const LAND_PATCH_COLUMNS: ColumnSpec[] = [
  str('JCBH', 15),
  str('XZQDM', 12),
  str('TBLX', 20),
  real('JCMJ', 12, 2),
  real('GDMJ', 12, 2),
  date('QSX'),
  date('HSX'),
  real('ZXDX', 14, 2),
  real('ZXDY', 14, 2),
  str('BZ', 60),
];
const MINERAL_PATCH_COLUMNS: ColumnSpec[] = [
  str('JCBH', 15),
  str('XZQDM', 12),
  str('XZQMC', 30),
  str('KZ', 20),
  str('TBLX', 20),
  real('JCMJ', 12, 2),
  date('QSX'),
  date('HSX'),
  real('ZXDX', 14, 2),
  real('ZXDY', 14, 2),
  str('BZ', 60),
];

function countBy<T>(items: readonly T[], key: (t: T) => string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items) for (const k of key(it)) out[k] = (out[k] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function patchCounts(patches: readonly PatchFeature[], order: readonly { id: string }[]) {
  const byCategory: Record<string, number> = {};
  for (const c of order) byCategory[c.id] = patches.filter((p) => p.truth.category === c.id).length;
  return {
    total: patches.length,
    byCategory,
    bySubtype: countBy(patches, (p) => [`${p.truth.verdict}/${p.truth.subtype}`]),
    byTrait: countBy(patches, (p) => p.truth.traits),
  };
}

/** Builds every file of the demo in memory: path (relative, '/'-separated) → bytes, plus the manifest. */
export async function buildDemoFiles(
  options: GenerateOptions = {},
): Promise<{ files: Map<string, Uint8Array>; manifest: DemoManifest }> {
  const { seed, scale } = checkOptions(options);
  const progress = options.onProgress ?? noProgress;
  const STEPS = 20;
  let step = 0;
  const tick = () => progress(++step, STEPS);

  const crs = getCrs('EPSG:4527');
  const inverse = toCgcs2000(crs);
  const district = buildDistrict(seed, scale);
  tick();
  const geos = await initGeos();
  const measurer = new Measurer(district, geos, inverse);
  const scenario = buildScenario(district, new Rng(seed).fork('scenario'), measurer);
  tick();

  const files = new Map<string, Uint8Array>();
  const layers: ManifestLayer[] = [];
  const geo = (g: Areal) => toGeographic(g, inverse);
  const addShapefile = async (
    rel: string,
    data: LayerData,
    meta: Omit<ManifestLayer, 'file' | 'format' | 'features' | 'fields'>,
    day: Day,
  ) => {
    const parts = await shapefileBytes(data, crs, day);
    for (const ext of ['shp', 'shx', 'dbf', 'prj', 'cpg']) files.set(`${rel}.${ext}`, parts.get(ext)!);
    layers.push({
      file: `${rel}.shp`,
      format: 'shapefile',
      features: data.features.length,
      fields: data.columns.map((c) => c.name),
      ...meta,
    });
    tick();
  };

  // ---- reference data --------------------------------------------------------------------------
  const districtGeom = geo({ type: 'Polygon', coordinates: district.districtRings });
  const districtArea = ellipsoidalArea(districtGeom);
  await addShapefile(
    `${REFERENCE_DIR}/行政区`,
    {
      columns: [str('XZQDM', 6), str('XZQMC', 20)],
      features: [{ geom: districtGeom, values: [COUNTY_CODE, COUNTY_NAME] }],
    },
    { title: '县级行政区界线', importAs: null, units: {} },
    REFERENCE_DAY,
  );
  const unitGeoms = district.unitRings.map((rings) => geo({ type: 'Polygon', coordinates: rings }));
  await addShapefile(
    `${REFERENCE_DIR}/镇街界线`,
    {
      columns: [str('DWDM', 9), str('DWMC', 30)],
      features: UNITS.map((u, i) => ({ geom: unitGeoms[i]!, values: [u.code, u.name] })),
    },
    { title: '镇街/责任单位界线', importAs: 'unit', units: {} },
    REFERENCE_DAY,
  );

  const parcelGeoms = district.parcels.map((p) => geo({ type: 'Polygon', coordinates: [p.ring] }));
  const parcelArea = parcelGeoms.map((g) => roundHalfAwayFromZero(ellipsoidalArea(g), 2));
  const tbbh: string[] = [];
  const perUnit = new Map<number, number>();
  for (const p of district.parcels) {
    const n = (perUnit.get(p.unit) ?? 0) + 1;
    perUnit.set(p.unit, n);
    tbbh.push(String(n));
  }
  const bsm = (i: number) => Number(`${COUNTY_CODE}${String(i + 1).padStart(7, '0')}`);
  const parcelBase = (i: number) => {
    const p = district.parcels[i]!;
    const c = LAND_CLASSES[p.cls]!;
    return { p, c, unit: UNITS[p.unit]! };
  };
  await addShapefile(
    `${REFERENCE_DIR}/地类图斑`,
    {
      columns: [
        int64('BSM', 18),
        str('TBBH', 8),
        str('DLBM', 4),
        str('DLMC', 20),
        str('QSXZ', 2),
        str('ZLDWDM', 9),
        str('ZLDWMC', 30),
        real('TBMJ', 15, 2),
      ],
      features: district.parcels.map((_, i) => {
        const { p, c, unit } = parcelBase(i);
        // 国有 in the streets and the development zone, 集体 elsewhere.
        const qsxz = unit.kind === 'town' && !district.core[p.cells[0]!] ? '30' : '10';
        return {
          geom: parcelGeoms[i]!,
          values: [bsm(i), tbbh[i]!, c.code, c.name, qsxz, unit.code, unit.name, parcelArea[i]!],
        };
      }),
    },
    { title: '地类图斑（2017年度土地变更调查）', importAs: 'land-use', units: { TBMJ: '平方米' } },
    REFERENCE_DAY,
  );
  const cultivated = district.parcels
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => LAND_CLASSES[p.cls]!.cultivated);
  await addShapefile(
    `${REFERENCE_DIR}/耕地`,
    {
      columns: [
        int64('BSM', 18),
        str('TBBH', 8),
        str('DLBM', 4),
        str('DLMC', 20),
        str('GDLX', 2),
        str('GDPDJB', 1),
        str('ZLDWDM', 9),
        str('ZLDWMC', 30),
        real('TBMJ', 15, 2),
      ],
      features: cultivated.map(({ p, i }) => {
        const { c, unit } = parcelBase(i);
        const gdlx = p.slope >= 2 ? (p.slope >= 4 ? 'TT' : 'PD') : null;
        return {
          geom: parcelGeoms[i]!,
          values: [
            bsm(i),
            tbbh[i]!,
            c.code,
            c.name,
            gdlx,
            String(p.slope),
            unit.code,
            unit.name,
            parcelArea[i]!,
          ],
        };
      }),
    },
    { title: '耕地', importAs: 'farmland', units: { TBMJ: '平方米' } },
    REFERENCE_DAY,
  );
  const basicParcels = cultivated.filter(({ p }) => p.basic);
  await addShapefile(
    `${REFERENCE_DIR}/永久基本农田`,
    {
      columns: [
        int64('BSM', 18),
        str('TBBH', 8),
        str('DLBM', 4),
        str('DLMC', 20),
        str('ZLDWDM', 9),
        str('ZLDWMC', 30),
        real('JBNTMJ', 15, 2),
      ],
      features: basicParcels.map(({ i }) => {
        const { c, unit } = parcelBase(i);
        return {
          geom: parcelGeoms[i]!,
          values: [bsm(i), tbbh[i]!, c.code, c.name, unit.code, unit.name, parcelArea[i]!],
        };
      }),
    },
    { title: '永久基本农田', importAs: 'basic-farmland', units: { JBNTMJ: '平方米' } },
    REFERENCE_DAY,
  );
  await addShapefile(
    `${REFERENCE_DIR}/土地利用总体规划`,
    {
      columns: [
        int64('BSM', 18),
        str('GZQLXDM', 3),
        str('GZQLXMC', 12),
        str('GHYT', 20),
        str('XZQDM', 9),
        str('XZQMC', 30),
        real('MJ', 15, 2),
      ],
      features: district.zoneAreas.map((z, i) => {
        const g = geo({ type: 'Polygon', coordinates: z.rings });
        const zone = PLAN_ZONES[z.zone]!;
        const unit = UNITS[z.unit]!;
        return {
          geom: g,
          values: [
            Number(`${COUNTY_CODE}8${String(i + 1).padStart(6, '0')}`),
            zone.code,
            zone.name,
            zone.use,
            unit.code,
            unit.name,
            roundHalfAwayFromZero(ellipsoidalArea(g), 2),
          ],
        };
      }),
    },
    { title: '土地利用总体规划（建设用地管制区）', importAs: 'planning', units: { MJ: '平方米' } },
    REFERENCE_DAY,
  );
  for (const layer of Object.keys(RECORD_FILES) as RecordLayer[]) {
    const meta = RECORD_FILES[layer];
    const columns = RECORD_COLUMNS[layer];
    await addShapefile(
      `${REFERENCE_DIR}/${meta.file}`,
      {
        columns,
        features: scenario.records[layer].map((r) => ({
          geom: geo(r.geom),
          values: columns.map((c) => r.attrs[c.name] ?? null),
        })),
      },
      { title: meta.title, importAs: meta.importAs, units: meta.units },
      REFERENCE_DAY,
    );
  }

  // ---- the Ministry's deliveries -----------------------------------------------------------------
  const patchLayer = (patches: readonly PatchFeature[], columns: ColumnSpec[]): LayerData => ({
    columns,
    features: patches.map((p) => ({
      geom: geo(p.geom),
      values: columns.map((c) => p.attrs[c.name] ?? null),
    })),
  });
  await addShapefile(
    `${LAND_DIR}/土地卫片图斑`,
    patchLayer(scenario.land, LAND_PATCH_COLUMNS),
    { title: '2017年度土地卫片图斑', importAs: 'patches', units: { JCMJ: '亩', GDMJ: '亩' } },
    DELIVERY_DAY,
  );
  const mineralLayer = patchLayer(scenario.mineral, MINERAL_PATCH_COLUMNS);
  await addShapefile(
    `${MINERAL_DIR}/矿产卫片图斑`,
    mineralLayer,
    { title: '2017年度矿产卫片图斑', importAs: 'patches', units: { JCMJ: '亩' } },
    DELIVERY_DAY,
  );
  const gpkgPath = `${MINERAL_DIR}/矿产卫片图斑.gpkg`;
  files.set(
    gpkgPath,
    await geoPackageBytes(mineralLayer, crs, {
      layerName: '矿产卫片图斑',
      identifier: `${COUNTY_NAME}2017年度矿产卫片图斑`,
      description: '与同目录 Shapefile 相同的矿产卫片图斑（GeoPackage 版本，供对照）',
      day: DELIVERY_DAY,
    }),
  );
  layers.push({
    file: gpkgPath,
    title: '2017年度矿产卫片图斑（GeoPackage）',
    importAs: 'patches',
    format: 'geopackage',
    features: scenario.mineral.length,
    fields: MINERAL_PATCH_COLUMNS.map((c) => c.name),
    units: { JCMJ: '亩' },
  });
  tick();
  const xlsxPath = `${MINERAL_DIR}/矿产卫片图斑一张表.xlsx`;
  const headers = [
    '序号',
    '监测编号',
    '行政区代码',
    '乡镇（街道）',
    '矿种',
    '图斑类型',
    '监测面积（亩）',
    '中心点X',
    '中心点Y',
    '前时相',
    '后时相',
    '备注',
  ];
  files.set(
    xlsxPath,
    await workbookBytes({
      sheet: '矿产卫片图斑',
      title: `${COUNTY_NAME}2017年度矿产卫片执法检查图斑一张表`,
      headers,
      // Surveyors' order: X is the northing (纵坐标), Y the easting with the zone number (横坐标).
      rows: scenario.mineral.map((p, i) => [
        i + 1,
        p.attrs.JCBH as string,
        p.attrs.XZQDM as string,
        p.attrs.XZQMC as string,
        p.attrs.KZ as string,
        p.attrs.TBLX as string,
        p.attrs.JCMJ as number,
        p.attrs.ZXDY as number,
        p.attrs.ZXDX as number,
        p.attrs.QSX as string,
        p.attrs.HSX as string,
        (p.attrs.BZ as string | null) ?? null,
      ]),
      numFmt: { 6: '0.00', 7: '0.00', 8: '0.00' },
      day: TABLE_DAY,
    }),
  );
  layers.push({
    file: xlsxPath,
    title: '矿产卫片图斑一张表（中心点坐标）',
    importAs: 'patches',
    format: 'xlsx',
    features: scenario.mineral.length,
    fields: headers,
    units: { '监测面积（亩）': '亩' },
  });
  tick();

  const manifest = buildManifest(seed, scale, district, districtArea, unitGeoms, scenario, layers, files);
  files.set(MANIFEST, new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  progress(STEPS, STEPS);
  return { files, manifest };
}

function buildManifest(
  seed: number,
  scale: number,
  district: District,
  districtArea: number,
  unitGeoms: Areal[],
  scenario: Scenario,
  layers: ManifestLayer[],
  files: Map<string, Uint8Array>,
): DemoManifest {
  const records = Object.fromEntries(
    Object.entries(scenario.records).map(([k, v]) => [k, v.length]),
  ) as Record<RecordLayer, number>;
  return {
    generator: 'weipian demo generate',
    formatVersion: 1,
    seed,
    scale,
    district: {
      code: COUNTY_CODE,
      name: COUNTY_NAME,
      crs: 'EPSG:4527',
      encoding: 'GBK',
      areaM2: roundHalfAwayFromZero(districtArea, 2),
      cellSizeM: roundHalfAwayFromZero(district.mesh.cell, 3),
      units: UNITS.map((u, i) => ({
        code: u.code,
        name: u.name,
        kind: u.kind,
        areaM2: roundHalfAwayFromZero(ellipsoidalArea(unitGeoms[i]!), 2),
      })),
    },
    conventions: {
      面积: '图斑与参考数据的面积均为 CGCS2000 椭球面积；JCMJ、GDMJ 单位为亩（导入时用 --area-unit mu），TBMJ 等单位见各图层 units',
      中心点:
        'Shapefile/GeoPackage 中 ZXDX 为东坐标（带 39 带号，8 位整数）、ZXDY 为北坐标；一张表按测绘习惯：中心点X 为北坐标、中心点Y 为东坐标',
      地类: 'DLBM/DLMC 为 GB/T 21010-2017 编码与名称；耕地为 01xx',
      规划: 'GZQLXDM：010 允许建设区、020 有条件建设区、030 限制建设区、040 禁止建设区',
      真值: 'patches 中的 verdict/subtype 为 rules/2017-land.json 与 rules/2017-mineral.json 中的判定与子类；下发属性中不含真值',
    },
    layers,
    counts: {
      land: patchCounts(scenario.land, LAND_CATEGORIES),
      mineral: patchCounts(scenario.mineral, MINERAL_CATEGORIES),
      records,
    },
    patches: [...scenario.land, ...scenario.mineral].map((p) => p.truth),
    files: [...files.keys()].sort().map((p) => {
      const bytes = files.get(p)!;
      return { path: p, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    }),
  };
}

/** Generates the demo into `dir` (created; refused when it exists and is not empty). */
export async function generateDemo(dir: string, options: GenerateOptions = {}): Promise<DemoResult> {
  checkOptions(options);
  await checkTarget(dir);
  const { files, manifest } = await buildDemoFiles(options);
  // Everything is built before the first byte is written: a failure leaves no half-made folder.
  await checkTarget(dir);
  for (const [rel, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const target = path.join(dir, ...rel.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
  return { dir, manifest };
}
