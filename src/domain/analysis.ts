// The per-patch analysis: one patch overlaid with every reference layer of the district, giving the
// fixed export columns (fields.ts OUTPUT_FIELD_IDS) and the detail behind them — per-unit shares,
// land classes, planning zones, each approval/supply/linkage/facility/temporary record that covers
// the patch, licences — and the pre-judgement (prejudgement.ts). Pure: indexes in, figures out;
// the database and the job that loops over a batch are elsewhere.
//
// Areas are CGCS2000 ellipsoidal m² of GEOS intersections in lon/lat (overlay.ts). Every
// "covered" area is the union of the covering pieces, so overlapping records never count twice.
// A layer that was not given yields null (unknown), never 0.

import type { Areal, PatchGeometry, Position, Ring } from '../geo/geometry.ts';
import { polygonsOf } from '../geo/geometry.ts';
import type { Geos } from '../geo/geos.ts';
import type { ReferenceIndex } from '../geo/reference-index.ts';
import {
  areaNoise,
  coverOf,
  coverOverlapArea,
  overlayShape,
  PatchShape,
  remainderOf,
  type Cover,
  type PairError,
  type Piece,
  type PieceMethod,
} from '../geo/overlay.ts';
import { OUTPUT_FIELD_IDS, type OutputFieldId } from './fields.ts';
import { WeipianError } from './errors.ts';
import type { LandGroupId, PlanZone, RulePack } from './rulepack.ts';
import { landClassOf } from './rulepack.ts';
import {
  prejudgeLand,
  prejudgeMineral,
  type LegalSource,
  type LicenceRef,
  type OtherSource,
  type Prejudgement,
  type PrejudgeOptions,
} from './prejudgement.ts';

// ---------------------------------------------------------------------------------------------
// Inputs

/** The reference layers, keyed like the layer types of the store (LAYER_TYPES). */
export type AnalysisLayerType =
  | 'unit'
  | 'land-use'
  | 'farmland'
  | 'basic-farmland'
  | 'planning'
  | 'approval'
  | 'expropriation'
  | 'supply'
  | 'linkage'
  | 'facility'
  | 'temporary'
  | 'mining-right'
  | 'exploration-right';
export type AnalysisLayers = Partial<Record<AnalysisLayerType, ReferenceIndex>>;

export const LEGAL_SOURCES: readonly LegalSource[] = ['approval', 'expropriation', 'supply', 'linkage'];
export const OTHER_SOURCES: readonly OtherSource[] = ['facility', 'temporary'];

export interface PatchInput {
  jcbh: string;
  /** EPSG:4490 lon/lat; a Point when the delivery gave only the centre. */
  geometry: PatchGeometry;
  /** 后时相 (after-image date): 'YYYY-MM-DD', 'YYYY-MM' or anything parseDateRange reads. */
  hsx?: string | null;
}

/** What a reference attribute means; each role is looked up under several field names. */
export type AttributeRole =
  | 'unitCode'
  | 'unitName'
  | 'landClass'
  | 'zone'
  | 'docNo'
  | 'date'
  | 'name'
  | 'licenceNo'
  | 'mineral'
  | 'validFrom'
  | 'validTo'
  | 'validity';

/** Field names per role, tried in order, case-insensitively; the first non-empty value wins. */
export const DEFAULT_ATTRIBUTE_KEYS: Readonly<Record<AttributeRole, readonly string[]>> = {
  unitCode: ['DWDM', 'XZQDM', 'ZJDM', 'CODE', '单位代码', '行政区代码', '代码'],
  unitName: ['DWMC', 'XZQMC', 'ZJMC', 'NAME', '单位名称', '行政区名称', '名称'],
  landClass: ['DLBM', '地类编码', 'DLDM', '地类代码'],
  // 建设用地管制区 (GZQLXDM 010/020/030/040) first, then looser names that may hold zone names.
  zone: ['GZQLXDM', 'GZQLXMC', 'GZQLX', '管制区类型代码', '管制区类型', '管制区', 'GHYT', '规划用途', 'ZONE'],
  docNo: [
    'PZWH',
    '批准文号',
    'PWWH',
    '批文文号',
    'PFWH',
    '批复文号',
    'WH',
    '文号',
    'BABH',
    '备案编号',
    '备案号',
    'DZJGH',
    '电子监管号',
    'HTBH',
    '合同编号',
    'XMBH',
    '项目编号',
  ],
  date: [
    'PZRQ',
    '批准日期',
    'PZSJ',
    '批准时间',
    'PFRQ',
    '批复日期',
    'FWRQ',
    '发文日期',
    'BARQ',
    '备案日期',
    'GDRQ',
    '供地日期',
    'QDRQ',
    '签订日期',
    'RQ',
    '日期',
  ],
  name: ['XMMC', '项目名称', 'PCMC', '批次名称', 'KSMC', '矿山名称', 'MC', '名称'],
  licenceNo: ['XKZH', '许可证号', 'CKXKZH', '采矿许可证号', 'TKXKZH', '勘查许可证号', 'ZH', '证号'],
  mineral: ['KZ', '矿种', 'KCKZ', '开采矿种', 'ZKZ', '主矿种', 'KZMC'],
  validFrom: ['YXQQ', '有效期起', '有效期起始', '有效期自', 'YXQS', 'QSRQ', '起始日期', 'KSRQ', '开始日期'],
  validTo: [
    'YXQZ',
    '有效期止',
    '有效期至',
    '有效期截止',
    'JZRQ',
    '截止日期',
    'ZZRQ',
    '终止日期',
    'JSRQ',
    '结束日期',
  ],
  validity: ['YXQ', '有效期', 'YXQX', '有效期限'],
};

export interface AnalysisOptions extends PrejudgeOptions {
  /** Pieces below this (m²) are ignored; default: the pack's prejudgement.sliverToleranceM2. */
  sliverM2?: number;
  /** Field names per role, replacing the defaults for the roles given. */
  attributeKeys?: Partial<Record<AttributeRole, readonly string[]>>;
  /** GEOS instance, needed only when no layer is given. */
  geos?: Geos;
}

// ---------------------------------------------------------------------------------------------
// Attributes

function lookup(
  attrs: Readonly<Record<string, unknown>>,
  keys: readonly string[],
  accept: (v: unknown) => boolean = nonEmpty,
): unknown {
  const lower = new Map<string, unknown>();
  for (const [k, v] of Object.entries(attrs)) {
    const key = k.trim().toLowerCase();
    if (!lower.has(key)) lower.set(key, v);
  }
  for (const k of keys) {
    const v = lower.get(k.toLowerCase());
    if (accept(v)) return v;
  }
  return undefined;
}

function nonEmpty(v: unknown): boolean {
  return v !== null && v !== undefined && String(v).trim() !== '';
}

function text(v: unknown): string | null {
  return nonEmpty(v) ? String(v).trim() : null;
}

/** The zone a planning attribute value names: 允许/有条件/限制/禁止建设区 or their codes 010–040. */
export function zoneOf(value: unknown): PlanZone | undefined {
  if (!nonEmpty(value)) return undefined;
  const s = String(value).trim();
  const code: Record<string, PlanZone> = {
    '010': 'allowed',
    '020': 'conditional',
    '030': 'restricted',
    '040': 'forbidden',
  };
  if (code[s]) return code[s];
  if (s.includes('有条件')) return 'conditional';
  if (s.includes('允许')) return 'allowed';
  if (s.includes('限制')) return 'restricted';
  if (s.includes('禁止')) return 'forbidden';
  const lower = s.toLowerCase();
  if (lower === 'allowed' || lower === 'conditional' || lower === 'restricted' || lower === 'forbidden')
    return lower;
  return undefined;
}

export interface DateRange {
  /** First day the value can mean, 'YYYY-MM-DD'. */
  from: string;
  /** Last day the value can mean (a month-precise 后时相 covers the whole month). */
  to: string;
}

const pad = (n: number): string => String(n).padStart(2, '0');

function lastDay(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function validYmd(y: number, m: number, d: number): boolean {
  return y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= lastDay(y, m);
}

/**
 * Reads one date as the range of days it can mean: 2017-10-05, 2017/10/5, 2017.10.05, 20171005,
 * 2017年10月5日 (a day); 2017-10, 201710, 2017年10月 (the month); 2017 (the year); a Date. null otherwise.
 */
export function parseDateRange(v: unknown): DateRange | null {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) return null;
    const s = v.toISOString().slice(0, 10);
    return { from: s, to: s };
  }
  if (!nonEmpty(v)) return null;
  const s = String(v).trim();
  let m =
    /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$/.exec(s) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (!validYmd(y, mo, d)) return null;
    const day = `${y}-${pad(mo)}-${pad(d)}`;
    return { from: day, to: day };
  }
  m = /^(\d{4})[-/.年](\d{1,2})月?$/.exec(s) ?? /^(\d{4})(\d{2})$/.exec(s);
  if (m) {
    const [y, mo] = [Number(m[1]), Number(m[2])];
    if (!validYmd(y, mo, 1)) return null;
    return { from: `${y}-${pad(mo)}-01`, to: `${y}-${pad(mo)}-${pad(lastDay(y, mo))}` };
  }
  m = /^(\d{4})年?$/.exec(s);
  if (m) {
    const y = Number(m[1]);
    if (!validYmd(y, 1, 1)) return null;
    return { from: `${y}-01-01`, to: `${y}-12-31` };
  }
  return null;
}

/** A validity period written in one field: '2015-01-01至2020-01-01', '2015.01.01-2020.01.01' … */
export function parsePeriod(v: unknown): { from: string | null; to: string | null } | null {
  if (!nonEmpty(v)) return null;
  const parts = String(v)
    .trim()
    .split(/\s*(?:至|到|~|～|—|－|--|\s-\s)\s*/);
  let from: DateRange | null = null;
  let to: DateRange | null = null;
  if (parts.length === 2) {
    from = parseDateRange(parts[0]);
    to = parseDateRange(parts[1]);
  } else {
    // 2015.01.01-2020.01.01: a hyphen between two dotted or compact dates.
    const m = /^(\d{4}[./年]\d{1,2}[./月]\d{1,2}日?|\d{8})-(\d{4}[./年]\d{1,2}[./月]\d{1,2}日?|\d{8})$/.exec(
      String(v).trim(),
    );
    if (m) {
      from = parseDateRange(m[1]);
      to = parseDateRange(m[2]);
    }
  }
  if (!from && !to) return null;
  return { from: from?.from ?? null, to: to?.to ?? null };
}

// ---------------------------------------------------------------------------------------------
// Outputs

export type OutputRow = { [K in OutputFieldId]: string | number | null };

export interface UnitShare {
  /** null for the part outside every unit boundary. */
  code: string | null;
  name: string | null;
  areaM2: number;
  /** areaM2 ÷ patch area; the shares of a patch add up to 1 and the areas to the patch area. */
  share: number;
}

export interface CoverRecord {
  layer: AnalysisLayerType;
  featureId: string | number;
  /** Document number (批准文号, 备案编号, 电子监管号 …) or licence number. */
  docNo: string | null;
  /** 'YYYY-MM-DD' when the record carries a readable date. */
  date: string | null;
  name: string | null;
  /** Area of patch ∩ record, m². */
  areaM2: number;
  share: number;
  method: PieceMethod;
  /** The record is dated after the after-image date (its use preceded its approval: 边报边用?). */
  afterImage?: boolean;
  /** Temporary use and licences: valid at the after-image date (undefined: not checkable). */
  validAtImage?: boolean;
  validFrom?: string | null;
  validTo?: string | null;
  mineral?: string | null;
}

export interface SourceCover {
  records: CoverRecord[];
  /** Union of the records counted (for temporary use: those valid at the after-image date). */
  coveredM2: number;
  share: number;
  uncoveredM2: number;
}

export interface LandUseDetail {
  agriculturalM2: number;
  constructionM2: number;
  unusedM2: number;
  /** Codes the pack does not know (or no code). */
  unknownM2: number;
  cultivatedM2: number;
  classes: { code: string | null; name: string | null; group: LandGroupId | null; areaM2: number }[];
}

export interface LicenceDetail {
  toleranceM: number;
  mining: CoverRecord[];
  exploration: CoverRecord[];
  insideM2: number;
  outsideM2: number;
  explorationM2: number;
  /** null when the after-image date is unknown (every licence then counts as valid). */
  imageDate: DateRange | null;
}

export interface LayerError extends PairError {
  layer: AnalysisLayerType | 'cover';
}

export interface AnalysisDetail {
  jcbh: string;
  areaM2: number;
  /** The patch was delivered as a point only: located, not measured. */
  pointOnly: boolean;
  /** The delivered polygon was invalid and was repaired before overlay. */
  repaired: boolean;
  validityIssue: string | null;
  units: UnitShare[] | null;
  landUse: LandUseDetail | null;
  farmlandM2: number | null;
  /** Where farmland_m2 came from: the farmland layer, or cultivated classes of the land-use layer. */
  farmlandSource: 'farmland' | 'land-use' | null;
  basicFarmlandM2: number | null;
  zones: (Record<PlanZone, number> & { unknownM2: number }) | null;
  covers: Partial<Record<LegalSource | OtherSource, SourceCover>>;
  approvedM2: number | null;
  approvedShare: number | null;
  approvalDocs: string[];
  uncovered: {
    /** Patch minus every legal and facility/temporary cover: the 批少占多 / 未批先建 candidate part. */
    areaM2: number;
    geometry: Areal | null;
    farmlandM2: number | null;
    zonesM2: Partial<Record<PlanZone, number>> | null;
  };
  licences: LicenceDetail | null;
  prejudgement: Prejudgement;
  missingLayers: AnalysisLayerType[];
  errors: LayerError[];
  notes: string[];
}

export interface PatchAnalysis {
  fields: OutputRow;
  detail: AnalysisDetail;
}

export const ALL_LAYERS: readonly AnalysisLayerType[] = [
  'unit',
  'land-use',
  'farmland',
  'basic-farmland',
  'planning',
  'approval',
  'expropriation',
  'supply',
  'linkage',
  'facility',
  'temporary',
  'mining-right',
  'exploration-right',
];
const ZONES: readonly PlanZone[] = ['allowed', 'conditional', 'restricted', 'forbidden'];

/** The outward buffer (m) licence layers must be built with for this pack (ReferenceIndexOptions.bufferM). */
export function licenceBufferM(pack: RulePack): number {
  return pack.kind === 'mineral' ? pack.prejudgement.mineral.boundaryToleranceM : 0;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Adjusts the largest entry so that the areas add up (left to right, as consumers add) to total exactly. */
function balance(units: UnitShare[], total: number): void {
  if (units.length === 0) return;
  let k = 0;
  for (let i = 1; i < units.length; i++) if (units[i]!.areaM2 > units[k]!.areaM2) k = i;
  for (let pass = 0; pass < 4; pass++) {
    const sum = units.reduce((s, u) => s + u.areaM2, 0);
    if (sum === total) break;
    units[k]!.areaM2 += total - sum;
  }
  for (const u of units) u.share = total > 0 ? u.areaM2 / total : 0;
}

function pointInRing(p: Position, ring: Ring): boolean {
  let inside = false;
  const [x, y] = p;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function pointInAreal(p: Position, g: Areal): boolean {
  return polygonsOf(g).some(
    (poly) => poly.length > 0 && pointInRing(p, poly[0]!) && !poly.slice(1).some((h) => pointInRing(p, h)),
  );
}

function docsByArea(records: readonly CoverRecord[]): string[] {
  const sorted = [...records].sort((a, b) => b.areaM2 - a.areaM2);
  const out: string[] = [];
  for (const r of sorted) if (r.docNo && !out.includes(r.docNo)) out.push(r.docNo);
  return out;
}

function largestSource<S extends string>(
  covers: Partial<Record<S, SourceCover>>,
  order: readonly S[],
): S | null {
  let best: S | null = null;
  let bestM2 = 0;
  for (const s of order) {
    const c = covers[s];
    if (c && c.coveredM2 > bestM2) {
      best = s;
      bestM2 = c.coveredM2;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// The analysis

/**
 * Overlays one patch with the given layers and pre-judges it by the pack. Licence layers of a
 * mineral pack must be built with bufferM = licenceBufferM(pack). Never throws on dirty geometry:
 * failed pairs are listed in detail.errors and make the pre-judgement needs_check.
 */
export function analysePatch(
  patch: PatchInput,
  layers: AnalysisLayers,
  pack: RulePack,
  opts: AnalysisOptions = {},
): PatchAnalysis {
  const given = ALL_LAYERS.filter((t) => layers[t] !== undefined);
  const geos = opts.geos ?? (given.length > 0 ? layers[given[0]!]!.geos : undefined);
  if (!geos)
    throw new WeipianError('analysis_no_geos', '分析图斑需要 GEOS 实例：未提供任何参考图层，也未提供 geos', {
      jcbh: patch.jcbh,
    });
  const tolerance = licenceBufferM(pack);
  for (const t of ['mining-right', 'exploration-right'] as const) {
    const idx = layers[t];
    if (idx && pack.kind === 'mineral' && idx.bufferM !== tolerance)
      throw new WeipianError(
        'analysis_layer_mismatch',
        `${t === 'mining-right' ? '采矿权' : '探矿权'}图层外扩 ${idx.bufferM} 米，与规则包 ${pack.id} 的边界容差 ${tolerance} 米不一致`,
        { layer: t, bufferM: idx.bufferM, toleranceM: tolerance },
        500,
      );
  }
  const keys = { ...DEFAULT_ATTRIBUTE_KEYS, ...(opts.attributeKeys ?? {}) };
  const sliver = opts.sliverM2 ?? pack.prejudgement.sliverToleranceM2;
  const missingLayers = ALL_LAYERS.filter((t) => layers[t] === undefined);
  const image = parseDateRange(patch.hsx ?? null);
  const notes: string[] = [];

  if (patch.geometry.type === 'Point')
    return analysePoint(patch, patch.geometry.coordinates, layers, pack, keys, missingLayers, opts);

  const shape = new PatchShape(geos, patch.geometry);
  try {
    return analyseShape(patch, shape, layers, pack, {
      keys,
      sliver,
      missingLayers,
      image,
      notes,
      tolerance,
      opts,
    });
  } finally {
    shape.dispose();
  }
}

interface Ctx {
  keys: Readonly<Record<AttributeRole, readonly string[]>>;
  sliver: number;
  missingLayers: AnalysisLayerType[];
  image: DateRange | null;
  notes: string[];
  tolerance: number;
  opts: AnalysisOptions;
}

function analyseShape(
  patch: PatchInput,
  shape: PatchShape,
  layers: AnalysisLayers,
  pack: RulePack,
  c: Ctx,
): PatchAnalysis {
  const area = shape.areaM2;
  const errors: LayerError[] = [];
  const attr = (idx: ReferenceIndex, i: number, role: AttributeRole): unknown =>
    lookup(idx.attributes[i]!, c.keys[role]);
  const share = (m2: number): number => (area > 0 ? m2 / area : 0);

  /** Pieces of one layer; errors collected. */
  const piecesOf = (t: AnalysisLayerType, filter?: (i: number) => boolean): Piece[] | null => {
    const idx = layers[t];
    if (!idx) return null;
    const r = overlayShape(shape, idx, { sliverM2: c.sliver, ...(filter ? { filter } : {}) });
    for (const e of r.errors) errors.push({ ...e, layer: t });
    return r.pieces;
  };
  const cover = (pieces: readonly Piece[], coverage: boolean): Cover => {
    const cv = coverOf(shape, pieces, coverage);
    for (const e of cv.errors) errors.push({ ...e, layer: 'cover' });
    return cv;
  };

  // Units: largest share owns the patch; the shares always add up to the patch area.
  let units: UnitShare[] | null = null;
  const unitIdx = layers.unit;
  const unitPieces = piecesOf('unit');
  if (unitIdx && unitPieces) {
    const byCode = new Map<string, UnitShare>();
    for (const p of unitPieces) {
      const code = text(attr(unitIdx, p.index, 'unitCode'));
      const name = text(attr(unitIdx, p.index, 'unitName'));
      const key = code ?? `#${String(p.id)}`;
      const u = byCode.get(key) ?? { code, name, areaM2: 0, share: 0 };
      u.areaM2 += p.areaM2;
      byCode.set(key, u);
    }
    units = [...byCode.values()].sort(
      (a, b) => b.areaM2 - a.areaM2 || String(a.code).localeCompare(String(b.code)),
    );
    const sum = units.reduce((s, u) => s + u.areaM2, 0);
    const tol = c.sliver + areaNoise(area) * 10;
    if (sum > area + tol) {
      // Overlapping unit polygons: scale down, and say so.
      c.notes.push(
        `责任单位界线在图斑处重叠（合计 ${sum.toFixed(2)} 平方米 > 图斑 ${area.toFixed(2)} 平方米），已按比例分摊`,
      );
      for (const u of units) u.areaM2 *= area / sum;
    } else if (sum < area - tol) {
      units.push({ code: null, name: null, areaM2: area - sum, share: 0 });
      c.notes.push(`图斑有 ${(area - sum).toFixed(2)} 平方米不在任何责任单位界线内`);
    }
    balance(units, area);
  }
  const owner = units?.find((u) => u.code !== null) ?? null;

  // Land use: agricultural / construction / unused by the pack's land-class table.
  let landUse: LandUseDetail | null = null;
  const luIdx = layers['land-use'];
  const luPieces = piecesOf('land-use');
  let cultivatedCover: Cover | null = null;
  if (luIdx && luPieces) {
    const groups: Record<LandGroupId | 'unknown', Piece[]> = {
      agricultural: [],
      construction: [],
      unused: [],
      unknown: [],
    };
    const cultivated: Piece[] = [];
    const classes = new Map<string, LandUseDetail['classes'][number]>();
    for (const p of luPieces) {
      const code = text(attr(luIdx, p.index, 'landClass'));
      const info = code ? landClassOf(pack, code) : undefined;
      groups[info?.group ?? 'unknown'].push(p);
      if (info?.cultivated) cultivated.push(p);
      const key = code ?? '';
      const entry = classes.get(key) ?? {
        code,
        name: info?.name ?? null,
        group: info?.group ?? null,
        areaM2: 0,
      };
      entry.areaM2 += p.areaM2;
      classes.set(key, entry);
    }
    const m2 = (ps: Piece[]) => cover(ps, luIdx.coverage).coveredM2;
    cultivatedCover = cover(cultivated, luIdx.coverage);
    landUse = {
      agriculturalM2: m2(groups.agricultural),
      constructionM2: m2(groups.construction),
      unusedM2: m2(groups.unused),
      unknownM2: m2(groups.unknown),
      cultivatedM2: cultivatedCover.coveredM2,
      classes: [...classes.values()].sort((a, b) => b.areaM2 - a.areaM2),
    };
  }

  // Farmland and basic farmland.
  let farmCover: Cover | null = null;
  let farmlandSource: AnalysisDetail['farmlandSource'] = null;
  const farmPieces = piecesOf('farmland');
  if (farmPieces) {
    farmCover = cover(farmPieces, layers.farmland!.coverage);
    farmlandSource = 'farmland';
  } else if (cultivatedCover) {
    farmCover = cultivatedCover;
    farmlandSource = 'land-use';
    c.notes.push('未提供耕地图层，耕地面积取地类图斑中的耕地地类');
  }
  const bfPieces = piecesOf('basic-farmland');
  const basicFarmlandM2 = bfPieces ? cover(bfPieces, layers['basic-farmland']!.coverage).coveredM2 : null;

  // Planning zones.
  let zones: AnalysisDetail['zones'] = null;
  const zoneCovers: Partial<Record<PlanZone, Cover>> = {};
  const planIdx = layers.planning;
  const planPieces = piecesOf('planning');
  if (planIdx && planPieces) {
    const byZone: Record<PlanZone | 'unknown', Piece[]> = {
      allowed: [],
      conditional: [],
      restricted: [],
      forbidden: [],
      unknown: [],
    };
    for (const p of planPieces) {
      const z = zoneOf(lookup(planIdx.attributes[p.index]!, c.keys.zone, (v) => zoneOf(v) !== undefined));
      byZone[z ?? 'unknown'].push(p);
    }
    for (const z of ZONES) zoneCovers[z] = cover(byZone[z], planIdx.coverage);
    zones = {
      allowed: zoneCovers.allowed!.coveredM2,
      conditional: zoneCovers.conditional!.coveredM2,
      restricted: zoneCovers.restricted!.coveredM2,
      forbidden: zoneCovers.forbidden!.coveredM2,
      unknownM2: cover(byZone.unknown, planIdx.coverage).coveredM2,
    };
    if (zones.unknownM2 > 0)
      c.notes.push(`有 ${zones.unknownM2.toFixed(2)} 平方米位于无法识别管制区类型的规划图斑内`);
  }

  // Approvals and the other covers: one record per overlapping feature.
  const covers: AnalysisDetail['covers'] = {};
  const countedPieces: Partial<Record<LegalSource | OtherSource, Piece[]>> = {};
  for (const src of [...LEGAL_SOURCES, ...OTHER_SOURCES]) {
    const idx = layers[src];
    const pieces = piecesOf(src);
    if (!idx || !pieces) continue;
    const records: CoverRecord[] = [];
    const counted: Piece[] = [];
    for (const p of pieces) {
      const date = parseDateRange(attr(idx, p.index, 'date'));
      const rec: CoverRecord = {
        layer: src,
        featureId: p.id,
        docNo: text(attr(idx, p.index, 'docNo')),
        date: date ? date.from : null,
        name: text(attr(idx, p.index, 'name')),
        areaM2: p.areaM2,
        share: share(p.areaM2),
        method: p.method,
      };
      if (date && c.image && date.from > c.image.to) rec.afterImage = true;
      let counts = true;
      if (src === 'temporary') {
        const v = validity(idx, p.index, c);
        rec.validFrom = v.from;
        rec.validTo = v.to;
        if (v.valid !== undefined) rec.validAtImage = v.valid;
        counts = v.valid !== false;
      }
      records.push(rec);
      if (counts) counted.push(p);
    }
    records.sort((a, b) => b.areaM2 - a.areaM2);
    const cv = cover(counted, idx.coverage);
    covers[src] = {
      records,
      coveredM2: cv.coveredM2,
      share: share(cv.coveredM2),
      uncoveredM2: Math.max(0, area - cv.coveredM2),
    };
    countedPieces[src] = counted;
    const late = records.filter((r) => r.afterImage && r.docNo).map((r) => r.docNo!);
    if (late.length > 0 && LEGAL_SOURCES.includes(src as LegalSource))
      c.notes.push(`批文 ${late.join('、')} 的日期晚于后时相（${c.image!.from.slice(0, 7)}），或为边报边用`);
  }
  const legalGiven = LEGAL_SOURCES.filter((s) => covers[s] !== undefined);
  const legalPieces = legalGiven.flatMap((s) => countedPieces[s]!);
  const legalCover = legalGiven.length > 0 ? cover(legalPieces, false) : null;
  const approvedM2 = legalCover ? legalCover.coveredM2 : null;
  const approvalRecords = legalGiven.flatMap((s) => covers[s]!.records);
  const approvalDocs = docsByArea(approvalRecords);

  const otherSources = pack.kind === 'land' ? pack.prejudgement.land.other.coverSources : OTHER_SOURCES;
  const otherGiven = otherSources.filter((s) => covers[s] !== undefined);
  const otherCover =
    otherGiven.length > 0
      ? cover(
          otherGiven.flatMap((s) => countedPieces[s]!),
          false,
        )
      : null;
  const otherDocs = docsByArea(
    otherGiven.flatMap((s) => covers[s]!.records.filter((r) => r.validAtImage !== false)),
  );

  // The uncovered part and what it lies on.
  const allCoverPieces = [...legalPieces, ...otherGiven.flatMap((s) => countedPieces[s]!)];
  const allCover = cover(allCoverPieces, false);
  const rest = remainderOf(shape, allCover, c.sliver);
  const restIsWhole = allCover.coveredM2 <= 0;
  const within = (cv: Cover | undefined | null): number | null => {
    if (!cv) return null;
    if (cv.coveredM2 <= 0 || rest.areaM2 <= 0) return 0;
    if (restIsWhole) return cv.coveredM2;
    // A cover of the whole patch (a zone around it) holds all of the rest.
    if (cv.coveredM2 >= area) return rest.areaM2;
    const m2 = coverOverlapArea(shape.geos, cv, rest.geometry);
    if (m2 === null) {
      errors.push({
        layer: 'cover',
        index: -1,
        id: null,
        code: 'intersection_failed',
        message: '计算未覆盖部分的耕地/分区面积失败',
      });
      return null;
    }
    return Math.min(m2, cv.coveredM2, rest.areaM2);
  };
  const uncoveredFarmlandM2 = within(farmCover);
  let uncoveredZoneM2: Partial<Record<PlanZone, number>> | null = null;
  if (zones) {
    uncoveredZoneM2 = {};
    for (const z of ZONES) uncoveredZoneM2[z] = within(zoneCovers[z]) ?? 0;
  }

  // Licences (mineral patches; only licences valid at the after-image date count as inside).
  let licences: LicenceDetail | null = null;
  const miningIdx = layers['mining-right'];
  const explIdx = layers['exploration-right'];
  if (miningIdx || explIdx) {
    const recordsOf = (
      t: 'mining-right' | 'exploration-right',
    ): { records: CoverRecord[]; valid: Piece[] } => {
      const idx = layers[t];
      const pieces = piecesOf(t);
      const records: CoverRecord[] = [];
      const valid: Piece[] = [];
      if (!idx || !pieces) return { records, valid };
      for (const p of pieces) {
        const v = validity(idx, p.index, c);
        const rec: CoverRecord = {
          layer: t,
          featureId: p.id,
          docNo: text(attr(idx, p.index, 'licenceNo')),
          date: null,
          name: text(attr(idx, p.index, 'name')),
          areaM2: p.areaM2,
          share: share(p.areaM2),
          method: p.method,
          validFrom: v.from,
          validTo: v.to,
          mineral: text(attr(idx, p.index, 'mineral')),
        };
        if (v.valid !== undefined) rec.validAtImage = v.valid;
        records.push(rec);
        if (v.valid !== false) valid.push(p);
      }
      records.sort((a, b) => b.areaM2 - a.areaM2);
      return { records, valid };
    };
    const mining = recordsOf('mining-right');
    const expl = recordsOf('exploration-right');
    const insideM2 = cover(mining.valid, false).coveredM2;
    const explorationM2 = cover(expl.valid, false).coveredM2;
    licences = {
      toleranceM: miningIdx?.bufferM ?? explIdx?.bufferM ?? 0,
      mining: mining.records,
      exploration: expl.records,
      insideM2,
      outsideM2: Math.max(0, area - insideM2),
      explorationM2,
      imageDate: c.image,
    };
    if (!c.image) c.notes.push('后时相日期不详，未核对许可证有效期');
  }

  // Pre-judgement.
  const errorCount = errors.length;
  let prejudgement: Prejudgement;
  if (pack.kind === 'land') {
    prejudgement = prejudgeLand(
      pack,
      {
        areaM2: area,
        approvedM2,
        approvalDocs,
        legalSource: largestSource(covers, LEGAL_SOURCES),
        otherCoverM2: otherCover ? otherCover.coveredM2 : null,
        otherSource: largestSource(covers, otherSources),
        otherDocs,
        uncoveredM2: rest.areaM2,
        uncoveredFarmlandM2,
        uncoveredZoneM2,
        errorCount,
      },
      c.opts,
    );
  } else {
    const ref = (r: CoverRecord): LicenceRef => ({
      no: r.docNo ?? String(r.featureId),
      validTo: r.validTo ?? null,
    });
    prejudgement = prejudgeMineral(
      pack,
      {
        areaM2: area,
        miningLayer: miningIdx !== undefined,
        explorationLayer: explIdx !== undefined,
        insideM2: licences?.insideM2 ?? 0,
        outsideM2: licences?.outsideM2 ?? area,
        validLicences: (licences?.mining ?? []).filter((r) => r.validAtImage !== false).map(ref),
        invalidLicences: (licences?.mining ?? []).filter((r) => r.validAtImage === false).map(ref),
        explorationM2: licences?.explorationM2 ?? 0,
        explorationLicences: (licences?.exploration ?? []).filter((r) => r.validAtImage !== false).map(ref),
        toleranceM: c.tolerance,
        datesChecked: c.image !== null,
        errorCount,
      },
      c.opts,
    );
  }
  if (shape.repaired) c.notes.push(`图斑几何无效（${shape.issue ?? '未知原因'}），已修复后叠加`);

  const licenceNos = licences
    ? [
        ...licences.mining.filter((r) => r.validAtImage !== false),
        ...licences.mining.filter((r) => r.validAtImage === false),
        ...licences.exploration,
      ]
        .map((r) => r.docNo)
        .filter((n, i, all): n is string => n !== null && all.indexOf(n) === i)
    : null;

  const fields: OutputRow = {
    jcbh: patch.jcbh,
    unit_code: owner?.code ?? null,
    unit_name: owner?.name ?? null,
    area_m2: area,
    agricultural_m2: landUse ? landUse.agriculturalM2 : null,
    farmland_m2: farmCover ? farmCover.coveredM2 : null,
    basic_farmland_m2: basicFarmlandM2,
    zone_allowed_m2: zones ? zones.allowed : null,
    zone_conditional_m2: zones ? zones.conditional : null,
    zone_restricted_m2: zones ? zones.restricted : null,
    zone_forbidden_m2: zones ? zones.forbidden : null,
    approved_m2: approvedM2,
    approved_share: approvedM2 === null ? null : share(approvedM2),
    approval_docs: legalCover ? approvalDocs.join('；') : null,
    facility_m2: covers.facility ? covers.facility.coveredM2 : null,
    temporary_m2: covers.temporary ? covers.temporary.coveredM2 : null,
    licence_inside_m2: licences ? licences.insideM2 : null,
    licence_outside_m2: licences ? licences.outsideM2 : null,
    licence_nos: licenceNos ? licenceNos.join('；') : null,
    prejudgement: prejudgement.outcome,
    prejudgement_reason: prejudgement.reason,
  };
  const detail: AnalysisDetail = {
    jcbh: patch.jcbh,
    areaM2: area,
    pointOnly: false,
    repaired: shape.repaired,
    validityIssue: shape.issue ?? null,
    units,
    landUse,
    farmlandM2: farmCover ? farmCover.coveredM2 : null,
    farmlandSource,
    basicFarmlandM2,
    zones,
    covers,
    approvedM2,
    approvedShare: approvedM2 === null ? null : share(approvedM2),
    approvalDocs,
    uncovered: {
      areaM2: rest.areaM2,
      geometry: rest.geometry,
      farmlandM2: uncoveredFarmlandM2,
      zonesM2: uncoveredZoneM2,
    },
    licences,
    prejudgement,
    missingLayers: c.missingLayers,
    errors,
    notes: c.notes,
  };
  return { fields, detail };
}

/** Validity of a licence or temporary use at the after-image date; undefined when not checkable. */
function validity(
  idx: ReferenceIndex,
  i: number,
  c: Ctx,
): { from: string | null; to: string | null; valid: boolean | undefined } {
  const attrs = idx.attributes[i]!;
  let from = parseDateRange(lookup(attrs, c.keys.validFrom))?.from ?? null;
  let to = parseDateRange(lookup(attrs, c.keys.validTo))?.to ?? null;
  if (!from && !to) {
    const period = parsePeriod(lookup(attrs, c.keys.validity));
    if (period) ({ from, to } = period);
  }
  if (!c.image || (!from && !to)) return { from, to, valid: undefined };
  // Valid when the validity period meets the days the after-image date can mean.
  const valid = (from === null || from <= c.image.to) && (to === null || to >= c.image.from);
  return { from, to, valid };
}

/** A patch delivered as a centre point: its unit by point-in-polygon, nothing to measure. */
function analysePoint(
  patch: PatchInput,
  pt: Position,
  layers: AnalysisLayers,
  pack: RulePack,
  keys: Readonly<Record<AttributeRole, readonly string[]>>,
  missingLayers: AnalysisLayerType[],
  opts: AnalysisOptions,
): PatchAnalysis {
  let owner: UnitShare | null = null;
  const idx = layers.unit;
  if (idx)
    for (const i of idx.search({ minx: pt[0], miny: pt[1], maxx: pt[0], maxy: pt[1] })) {
      const g = idx.geometry(i);
      if (!pointInAreal(pt, g)) continue;
      owner = {
        code: text(lookup(idx.attributes[i]!, keys.unitCode)),
        name: text(lookup(idx.attributes[i]!, keys.unitName)),
        areaM2: 0,
        share: 1,
      };
      break;
    }
  const prejudgement =
    pack.kind === 'land'
      ? prejudgeLand(
          pack,
          {
            areaM2: 0,
            approvedM2: null,
            approvalDocs: [],
            legalSource: null,
            otherCoverM2: null,
            otherSource: null,
            otherDocs: [],
            uncoveredM2: 0,
            uncoveredFarmlandM2: null,
            uncoveredZoneM2: null,
          },
          opts,
        )
      : prejudgeMineral(
          pack,
          {
            areaM2: 0,
            miningLayer: false,
            explorationLayer: false,
            insideM2: 0,
            outsideM2: 0,
            validLicences: [],
            invalidLicences: [],
            explorationM2: 0,
            explorationLicences: [],
            toleranceM: 0,
            datesChecked: false,
          },
          opts,
        );
  // Every contract field null (nothing measurable on a point) except those set below.
  const fields = Object.fromEntries(OUTPUT_FIELD_IDS.map((k) => [k, null])) as OutputRow;
  return {
    fields: {
      ...(fields as OutputRow),
      jcbh: patch.jcbh,
      unit_code: owner?.code ?? null,
      unit_name: owner?.name ?? null,
      area_m2: null,
      prejudgement: prejudgement.outcome,
      prejudgement_reason: prejudgement.reason,
    },
    detail: {
      jcbh: patch.jcbh,
      areaM2: 0,
      pointOnly: true,
      repaired: false,
      validityIssue: null,
      units: owner ? [owner] : idx ? [] : null,
      landUse: null,
      farmlandM2: null,
      farmlandSource: null,
      basicFarmlandM2: null,
      zones: null,
      covers: {},
      approvedM2: null,
      approvedShare: null,
      approvalDocs: [],
      uncovered: { areaM2: 0, geometry: null, farmlandM2: null, zonesM2: null },
      licences: null,
      prejudgement,
      missingLayers,
      errors: [],
      notes: ['图斑仅有中心点，只确定了责任单位'],
    },
  };
}
