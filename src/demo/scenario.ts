// What happened in the demo district in 2017, with the answers: approval and filing records
// (农用地转用/征收, 供地, 增减挂钩, 设施农用地, 临时用地), mining and exploration licences, and the
// patches the Ministry delivers — each placed so that its ground-truth category holds
// geometrically (inside an approval, 60 % inside, on basic farmland, across a unit line …).
// The truth goes to the manifest only; the delivered attributes are what the Ministry writes.
import type { Areal, Position, Ring } from '../geo/geometry.ts';
import { m2ToMu, roundHalfAwayFromZero } from '../geo/units.ts';
import type { Rng } from './prng.ts';
import { cellCentre, sharedEdge } from './mesh.ts';
import { LAND_CLASSES, UNITS, type District } from './district.ts';
import type { Measurer } from './measure.ts';
import {
  arealBox,
  blobRing,
  blockRing,
  convexRing,
  distanceToRing,
  mm,
  oriented,
  pointInConvex,
  rectRing,
  ringBox,
  ringCentre,
  scaleRing,
  signedArea,
  stripRing,
  translateRing,
} from './shapes.ts';

export type AttrValue = string | number | null;
export type RecordLayer =
  'approval' | 'supply' | 'linkage' | 'facility' | 'temporary' | 'mining' | 'exploration';
export const RECORD_LAYERS: readonly RecordLayer[] = [
  'approval',
  'supply',
  'linkage',
  'facility',
  'temporary',
  'mining',
  'exploration',
];

export interface RecordFeature {
  geom: Areal;
  attrs: Record<string, AttrValue>;
}

export type Trait =
  'holes' | 'multipart' | 'invalid_bowtie' | 'invalid_self_touching' | 'straddles_units' | 'expired_licence';

export interface EvidenceRef {
  layer: RecordLayer;
  /** 0-based feature index in the layer's file. */
  index: number;
  /** The record's number as written in the file (批准文号, 备案编号, 许可证号 …). */
  number: string;
}

export interface PatchTruth {
  jcbh: string;
  kind: 'land' | 'mineral';
  /** Scenario category, e.g. 'partly_approved'. */
  category: string;
  /** Verdict and subtype ids as in rules/2017-land.json / 2017-mineral.json. */
  verdict: 'legal' | 'other' | 'illegal';
  subtype: string;
  traits: Trait[];
  /** The record the verdict rests on (or whose boundary is crossed), if any. */
  evidence: EvidenceRef | null;
  /** Share of the patch's area inside the evidence record (1 = fully inside). */
  insideShare: number | null;
  areaM2: number;
  cultivatedM2: number;
  basicFarmlandM2: number;
  /** Responsible unit by largest share, and every unit's share. */
  unit: string;
  units: { code: string; name: string; areaM2: number }[];
  /** Chinese description of the case. */
  note: string;
}

export interface PatchFeature {
  /** As delivered (may be invalid: bowtie, self-touching ring). */
  geom: Areal;
  /** A point inside the patch (中心点). */
  centre: Position;
  attrs: Record<string, AttrValue>;
  truth: PatchTruth;
}

export interface Scenario {
  records: Record<RecordLayer, RecordFeature[]>;
  land: PatchFeature[];
  mineral: PatchFeature[];
}

// ---- categories ------------------------------------------------------------------------------

interface Category {
  id: string;
  verdict: PatchTruth['verdict'];
  subtype: string;
  /** Count at scale 1. */
  n: number;
  note: string;
}

export const LAND_CATEGORIES: readonly Category[] = [
  {
    id: 'approved',
    verdict: 'legal',
    subtype: 'agri_conversion_approval',
    n: 100,
    note: '全部位于农用地转用/征收批准范围内',
  },
  { id: 'supplied', verdict: 'legal', subtype: 'land_supply', n: 45, note: '位于批准范围内且已供地' },
  { id: 'linkage', verdict: 'legal', subtype: 'linkage_quota', n: 25, note: '位于增减挂钩建新区内' },
  {
    id: 'partly_approved',
    verdict: 'illegal',
    subtype: 'exceed_approved_area',
    n: 45,
    note: '约六成在批准范围内，其余超出（批少占多）',
  },
  {
    id: 'facility',
    verdict: 'other',
    subtype: 'facility_agricultural',
    n: 60,
    note: '位于设施农用地备案范围内',
  },
  {
    id: 'temporary',
    verdict: 'other',
    subtype: 'temporary_use',
    n: 30,
    note: '位于临时用地批准范围内，在有效期内',
  },
  { id: 'rural_road', verdict: 'other', subtype: 'rural_road', n: 40, note: '耕地间新修农村道路（细长条）' },
  { id: 'no_change', verdict: 'other', subtype: 'no_real_change', n: 75, note: '实地未变化（伪变化）' },
  {
    id: 'illegal_basic_farmland',
    verdict: 'illegal',
    subtype: 'build_without_approval',
    n: 60,
    note: '无任何批准，占用永久基本农田',
  },
  {
    id: 'illegal',
    verdict: 'illegal',
    subtype: 'build_without_approval',
    n: 80,
    note: '无任何批准的新增建设',
  },
  {
    id: 'straddling',
    verdict: 'illegal',
    subtype: 'build_without_approval',
    n: 40,
    note: '跨两个责任单位的无批准建设',
  },
];

export const MINERAL_CATEGORIES: readonly Category[] = [
  {
    id: 'licensed',
    verdict: 'legal',
    subtype: 'licensed_within_boundary',
    n: 12,
    note: '在有效采矿许可范围内开采',
  },
  {
    id: 'beyond_boundary',
    verdict: 'illegal',
    subtype: 'mining_beyond_boundary',
    n: 7,
    note: '部分超出采矿许可范围（越界开采）',
  },
  {
    id: 'no_licence',
    verdict: 'illegal',
    subtype: 'mining_without_licence',
    n: 7,
    note: '无采矿许可（无证开采）',
  },
  {
    id: 'expired_licence',
    verdict: 'illegal',
    subtype: 'mining_without_licence',
    n: 4,
    note: '采矿许可证在后时相之前已过期（无证开采）',
  },
  {
    id: 'exploration_licence',
    verdict: 'illegal',
    subtype: 'mining_under_exploration_licence',
    n: 4,
    note: '在探矿权范围内开采（以采代探）',
  },
  { id: 'no_activity', verdict: 'other', subtype: 'no_mining_activity', n: 4, note: '无开采活动（伪变化）' },
  {
    id: 'changed_mineral',
    verdict: 'illegal',
    subtype: 'mining_unauthorized_mineral',
    n: 2,
    note: '在许可范围内开采许可以外的矿种',
  },
];

/** Structural traits at scale 1 and the categories they are given to. */
const TRAITS: readonly { trait: Trait; n: number; categories: string[] }[] = [
  { trait: 'holes', n: 12, categories: ['approved', 'illegal', 'no_change'] },
  { trait: 'multipart', n: 12, categories: ['approved', 'illegal', 'facility', 'no_change'] },
  { trait: 'invalid_bowtie', n: 6, categories: ['illegal', 'no_change'] },
  { trait: 'invalid_self_touching', n: 4, categories: ['illegal', 'no_change'] },
];

export function countAt(n: number, scale: number, min: number): number {
  return Math.max(min, Math.round(n * scale));
}

// ---- dates, numbers, names -------------------------------------------------------------------

const DAY = 86400000;
function dayOf(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) / DAY;
}
function isoOf(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}
export function dateBetween(rng: Rng, from: string, to: string): string {
  return isoOf(rng.intIn(dayOf(from), dayOf(to)));
}
function addDays(iso: string, days: number): string {
  return isoOf(dayOf(iso) + days);
}

/** Image scenes by easting: west, middle, east strips (前时相, 后时相). */
const SCENES: readonly { qsx: string; hsx: string }[] = [
  { qsx: '2016-11-05', hsx: '2017-11-18' },
  { qsx: '2016-12-14', hsx: '2017-12-03' },
  { qsx: '2016-10-22', hsx: '2017-10-26' },
];
/** The earliest 后时相: licences that end before it had expired at image time. */
export const EARLIEST_HSX = '2017-10-26';

const COMPANY_PLACE = [
  '鲁中',
  '周村',
  '淄博',
  '齐鲁',
  '丝路',
  '恒通',
  '华宇',
  '金岭',
  '瑞丰',
  '东岳',
  '萌山',
  '正阳',
  '鑫源',
  '长城',
];
const COMPANY_TRADE = [
  '纺织',
  '机械',
  '新材料',
  '化工',
  '建材',
  '食品',
  '物流',
  '陶瓷',
  '电子',
  '置业',
  '家具',
  '印染',
];
const MOUNTAINS = ['青龙山', '黄山', '马鞍山', '凤凰山', '白云山', '老虎山', '鲁山', '孤山', '南山', '尖山'];

function company(rng: Rng): string {
  return `${rng.pick(['山东', '淄博', '周村'])}${rng.pick(COMPANY_PLACE)}${rng.pick(COMPANY_TRADE)}有限公司`;
}

/** Town name without 镇/街道 (for project and mine names). */
function townShort(u: number): string {
  return UNITS[u]!.name.replace(/(街道|镇|经济开发区)$/, '');
}

/** Document numbers: never two alike, however many records a scale asks for. */
class Numbers {
  private used = new Set<string>();
  private counters = new Map<string, number>();
  constructor(private readonly rng: Rng) {}

  /** A random number from make() not handed out before (for large number spaces). */
  unique(make: (rng: Rng) => string): string {
    for (let attempt = 0; attempt < 100000; attempt++) {
      const s = make(this.rng);
      if (!this.used.has(s)) {
        this.used.add(s);
        return s;
      }
    }
    throw new Error('demo generator: document numbers exhausted');
  }

  /** The next number of a series (one office, one year): ascending with small gaps, as files are numbered. */
  serial(series: string, first: readonly [number, number], step: readonly [number, number]): number {
    const prev = this.counters.get(series);
    const n =
      prev === undefined ? this.rng.intIn(first[0], first[1]) : prev + this.rng.intIn(step[0], step[1]);
    this.counters.set(series, n);
    return n;
  }
}

// ---- placement -------------------------------------------------------------------------------

type CellPred = (k: number) => boolean;

/** Cells taken by records and patches, so that what is placed later keeps clear of them. */
class Placer {
  readonly owner: Int32Array;
  private nextOwner = 1;

  constructor(
    private readonly d: District,
    private readonly rng: Rng,
  ) {
    this.owner = new Int32Array(d.inside.length);
  }

  private readonly walks = new Map<string, { list: number[]; pos: number }>();

  /** Inside cells satisfying pred, shuffled. */
  candidates(pred: CellPred): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.d.inside.length; k++) if (this.d.inside[k] && pred(k)) out.push(k);
    return this.rng.shuffle(out);
  }

  /**
   * The candidates of `key` (cells satisfying pred, shuffled once), continuing where the previous
   * walk with the same key stopped: each try of a category looks at cells not yet tried.
   */
  *walk(key: string, pred: CellPred): Generator<number> {
    let w = this.walks.get(key);
    if (!w) {
      w = { list: this.candidates(pred), pos: 0 };
      this.walks.set(key, w);
    }
    while (w.pos < w.list.length) yield w.list[w.pos++]!;
  }

  /** A point near the centre of cell k. */
  spot(k: number): Position {
    const [x, y] = cellCentre(this.d.mesh, k);
    const c = this.d.mesh.cell;
    return [x + this.rng.range(-0.2, 0.2) * c, y + this.rng.range(-0.2, 0.2) * c];
  }

  /** Cells under a box (widened by the mesh jitter); null when it leaves the district. */
  block(box: readonly number[], allowOwner = 0): number[] | null {
    const m = this.d.mesh;
    const margin = 0.3 * m.cell;
    const cells: number[] = [];
    let ok = true;
    const i0 = Math.floor((box[0]! - margin - m.x0) / m.cell);
    const i1 = Math.floor((box[2]! + margin - m.x0) / m.cell);
    const j0 = Math.floor((box[1]! - margin - m.y0) / m.cell);
    const j1 = Math.floor((box[3]! + margin - m.y0) / m.cell);
    if (i0 < 0 || j0 < 0 || i1 >= m.nx || j1 >= m.ny) return null;
    for (let j = j0; j <= j1 && ok; j++)
      for (let i = i0; i <= i1; i++) {
        const k = j * m.nx + i;
        const o = this.owner[k]!;
        if (!this.d.inside[k] || (o !== 0 && o !== allowOwner)) {
          ok = false;
          break;
        }
        cells.push(k);
      }
    return ok ? cells : null;
  }

  share(cells: readonly number[], pred: CellPred): number {
    let n = 0;
    for (const k of cells) if (pred(k)) n++;
    return cells.length ? n / cells.length : 0;
  }

  reserve(cells: readonly number[]): number {
    const id = this.nextOwner++;
    for (const k of cells) if (this.owner[k] === 0) this.owner[k] = id;
    return id;
  }
}

function boxOf(...rings: Ring[]): number[] {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  for (const r of rings) {
    const [a, c, d, e] = ringBox(r);
    b[0] = Math.min(b[0]!, a);
    b[1] = Math.min(b[1]!, c);
    b[2] = Math.max(b[2]!, d);
    b[3] = Math.max(b[3]!, e);
  }
  return b;
}

function allRings(g: Areal): Ring[] {
  return g.type === 'Polygon' ? g.coordinates : g.coordinates.flat();
}

function scaleAreal(g: Areal, cx: number, cy: number, s: number): Areal {
  const f = (r: Ring) => scaleRing(r, cx, cy, s).map(([x, y]) => [mm(x), mm(y)] as Position);
  return g.type === 'Polygon'
    ? { type: 'Polygon', coordinates: g.coordinates.map(f) }
    : { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map(f)) };
}

interface Shape {
  geom: Areal;
  centre: Position;
}

/** Shrinks the shape about its centre until every vertex lies inside the convex container. */
function fitInside(shape: Shape, container: Ring): Shape | null {
  let g = shape.geom;
  for (let it = 0; it < 40; it++) {
    if (allRings(g).every((r) => r.every((p) => pointInConvex(p, container))))
      return { geom: g, centre: shape.centre };
    g = scaleAreal(shape.geom, shape.centre[0], shape.centre[1], 0.9 ** (it + 1));
  }
  return null;
}

type Style = 'blob' | 'block';

/** A patch outline of about `area` m² at (cx, cy), with a structural trait when asked. */
function patchShape(
  rng: Rng,
  cx: number,
  cy: number,
  area: number,
  style: Style,
  trait: Trait | null,
  geos: Measurer['geos'],
): Shape {
  const base = (x: number, y: number, a: number): Ring =>
    style === 'block' ? blockRing(rng, x, y, a) : blobRing(rng, x, y, a);
  switch (trait) {
    case 'holes': {
      const outer = blobRing(rng, cx, cy, area, { aspect: rng.range(1, 1.5), roughness: 0.12 });
      const inr = distanceToRing([cx, cy], outer);
      let hole = blobRing(rng, cx, cy, area * 0.08, { aspect: 1, roughness: 0.1 });
      let rmax = Math.max(...hole.map(([x, y]) => Math.hypot(x - cx, y - cy)));
      if (rmax > 0.55 * inr) {
        hole = scaleRing(hole, cx, cy, (0.55 * inr) / rmax).map(([x, y]) => [mm(x), mm(y)]);
        rmax = 0.55 * inr;
      }
      // The 中心点 must lie in the patch, not in its courtyard: beyond the hole, short of the wall.
      const r = (rmax + inr) / 2;
      return {
        geom: { type: 'Polygon', coordinates: [outer, oriented(hole, false)] },
        centre: [mm(cx + r), mm(cy)],
      };
    }
    case 'multipart': {
      const angle = rng.range(0, Math.PI);
      const a = blobRing(rng, 0, 0, area * 0.55, { rotation: angle + Math.PI / 2 });
      const b = blockRing(rng, 0, 0, area * 0.45, { rotation: angle + Math.PI / 2 });
      const ra = Math.max(...a.map(([x, y]) => Math.hypot(x, y)));
      const rb = Math.max(...b.map(([x, y]) => Math.hypot(x, y)));
      const gap = rng.range(5, 12); // a rural road between the two plots
      const dx = Math.cos(angle);
      const dy = Math.sin(angle);
      const da = (ra + rb + gap) / 2;
      const pa = translateRing(a, cx - dx * da, cy - dy * da).map(([x, y]) => [mm(x), mm(y)] as Position);
      const pb = translateRing(b, cx + dx * da, cy + dy * da).map(([x, y]) => [mm(x), mm(y)] as Position);
      return {
        geom: { type: 'MultiPolygon', coordinates: [[pa], [pb]] },
        centre: [mm(cx - dx * da), mm(cy - dy * da)],
      };
    }
    case 'invalid_bowtie': {
      // Two neighbouring vertices digitised in the wrong order: the outline crosses itself.
      for (let attempt = 0; ; attempt++) {
        const ring = blobRing(rng, cx, cy, area, { vertices: rng.intIn(8, 12), roughness: 0.1 });
        const k = rng.int(ring.length - 3) + 1;
        const bad = [...ring];
        [bad[k], bad[k + 1]] = [bad[k + 1]!, bad[k]!];
        const g: Areal = { type: 'Polygon', coordinates: [bad] };
        if (!geos.validity(g).valid || attempt > 20) return { geom: g, centre: [mm(cx), mm(cy)] };
      }
    }
    case 'invalid_self_touching': {
      // A yard whose inner court was digitised as a loop of the outer ring (ESRI style): the ring
      // touches itself at one point on the wall.
      const w = Math.sqrt(area * rng.range(1.2, 2));
      const h = area / w;
      const rot = rng.range(0, Math.PI);
      const rect = rectRing(cx, cy, w, h, rot);
      const [p0, p1] = [rect[0]!, rect[1]!];
      const t: Position = [mm((p0[0] + p1[0]) / 2), mm((p0[1] + p1[1]) / 2)];
      const inward: Position = [-Math.sin(rot), Math.cos(rot)];
      const along: Position = [Math.cos(rot), Math.sin(rot)];
      const depth = 0.35 * h;
      const half = 0.12 * w;
      const h1: Position = [
        mm(t[0] + inward[0] * depth + along[0] * half),
        mm(t[1] + inward[1] * depth + along[1] * half),
      ];
      const h2: Position = [
        mm(t[0] + inward[0] * depth - along[0] * half),
        mm(t[1] + inward[1] * depth - along[1] * half),
      ];
      // Outer ring counter-clockwise; the loop t → h1 → h2 → t clockwise, so it cuts a hole.
      const loop = signedArea([t, h1, h2, t]) < 0 ? [h1, h2] : [h2, h1];
      const ring: Ring = [p0, t, loop[0]!, loop[1]!, t, ...rect.slice(1)];
      // The 中心点 on the far side of the centre from the court.
      return {
        geom: { type: 'Polygon', coordinates: [ring] },
        centre: [mm(cx + inward[0] * 0.25 * h), mm(cy + inward[1] * 0.25 * h)],
      };
    }
    default:
      return { geom: { type: 'Polygon', coordinates: [base(cx, cy, area)] }, centre: [mm(cx), mm(cy)] };
  }
}

/** Patch areas: mostly 0.05–5 ha around 0.4 ha, a few larger. */
function patchArea(rng: Rng, allowLarge: boolean): number {
  if (allowLarge && rng.chance(0.03)) return rng.range(50000, 120000);
  return Math.min(50000, Math.max(500, Math.exp(Math.log(4000) + 0.95 * rng.normal())));
}

// ---- the scenario ----------------------------------------------------------------------------

export function buildScenario(d: District, rng: Rng, measurer: Measurer): Scenario {
  const scale = d.scale;
  const place = new Placer(d, rng.fork('place'));
  const r = rng.fork('records');
  const nums = new Numbers(rng.fork('numbers'));
  const records: Record<RecordLayer, RecordFeature[]> = {
    approval: [],
    supply: [],
    linkage: [],
    facility: [],
    temporary: [],
    mining: [],
    exploration: [],
  };
  const geos = measurer.geos;
  const poly = (ring: Ring): Areal => ({ type: 'Polygon', coordinates: [ring] });
  const ha = (g: Areal) => roundHalfAwayFromZero(measurer.area(g) / 10000, 4);
  const m2 = (g: Areal) => roundHalfAwayFromZero(measurer.area(g), 2);

  // Cell facts used by the predicates.
  const clsCode = (k: number) => LAND_CLASSES[d.cls[k]!]!.code;
  const cultivated = (k: number) => LAND_CLASSES[d.cls[k]!]!.cultivated;
  const basic = (k: number) => d.parcelOf[k]! >= 0 && d.parcels[d.parcelOf[k]!]!.basic;
  const zoneUnit = UNITS.findIndex((u) => u.kind === 'zone');
  const open = (k: number) => !d.river[k] && clsCode(k) !== '1003';
  const fringe = (k: number) =>
    open(k) &&
    !basic(k) &&
    d.hill[k]! < 0.45 &&
    (d.du[k]! < 7000 || d.unit[k] === zoneUnit) &&
    clsCode(k) !== '0702';
  const villageNear = (k: number, dist: number) => {
    const [x, y] = cellCentre(d.mesh, k);
    return d.villages.some((v) => v.radius > 0 && Math.hypot(v.x - x, v.y - y) < v.radius + dist);
  };

  // ---- record writers ------------------------------------------------------------------------
  const approvalNo = () =>
    (() => {
      const year = r.intIn(2013, 2017);
      return r.chance(0.85)
        ? `鲁政土字〔${year}〕${nums.serial(`鲁政土字${year}`, [20, 90], [1, 25])}号`
        : `国土资函〔${year}〕${nums.serial(`国土资函${year}`, [100, 300], [1, 40])}号`;
    })();
  /** An approval polygon; `sameAs` makes it another polygon of an earlier approval (one 批次, one 文号). */
  const addApproval = (ring: Ring, u: number, sameAs?: RecordFeature): number => {
    const g = poly(ring);
    if (sameAs) {
      records.approval.push({ geom: g, attrs: { ...sameAs.attrs, PZMJ: ha(g) } });
      return records.approval.length - 1;
    }
    const no = approvalNo();
    const year = Number(/〔(\d{4})〕/.exec(no)![1]);
    records.approval.push({
      geom: g,
      attrs: {
        XMMC: `周村区${year}年第${r.intIn(1, 12)}批次城镇建设用地（${townShort(u)}）`,
        PZWH: no,
        PZJG: no.startsWith('国土资函') ? '国务院' : '山东省人民政府',
        // Approved before the images: all within 2017 by the end of September.
        PZRQ: dateBetween(r, `${year}-01-10`, year === 2017 ? '2017-09-30' : `${year}-12-28`),
        SPLX: r.weighted<string>([
          ['农用地转用和土地征收', 7],
          ['农用地转用', 2],
          ['土地征收', 1],
        ]),
        PZMJ: ha(g),
      },
    });
    return records.approval.length - 1;
  };
  const addSupply = (ring: Ring, u: number, approvalIndex: number): number => {
    const g = poly(ring);
    const after = String(records.approval[approvalIndex]!.attrs.PZRQ);
    const date = dateBetween(r, addDays(after, 30) < '2017-09-30' ? addDays(after, 30) : after, '2017-09-30');
    const year = date.slice(0, 4);
    const way = r.weighted<string>([
      ['出让', 7],
      ['划拨', 3],
    ]);
    const no =
      way === '出让'
        ? `${year}-${nums.serial(`出让${year}`, [1, 6], [1, 3])}号出让合同`
        : `周国土资划〔${year}〕${nums.serial(`划拨${year}`, [1, 6], [1, 3])}号`;
    records.supply.push({
      geom: g,
      attrs: {
        电子监管号: nums.unique(
          (gg) => `3703062${year.slice(2)}B${String(gg.intIn(1, 99999)).padStart(5, '0')}`,
        ),
        项目名称: `${townShort(u)}${r.pick(['厂房', '仓储', '商住', '研发中心', '物流园'])}项目`,
        用地单位: company(r),
        供地方式: way,
        土地用途:
          way === '划拨'
            ? r.pick(['公共设施用地', '教育用地', '公路用地'])
            : r.pick(['工业用地', '仓储用地', '商服用地']),
        供地文号: no,
        供地日期: date,
        供地面积: ha(g),
      },
    });
    return records.supply.length - 1;
  };
  const addLinkage = (ring: Ring, u: number): number => {
    const g = poly(ring);
    const year = r.intIn(2015, 2017);
    const no = `淄国土资字〔${year}〕${nums.serial(`淄国土资字${year}`, [10, 60], [1, 9])}号`;
    records.linkage.push({
      geom: g,
      attrs: {
        XMMC: `周村区${year}年度城乡建设用地增减挂钩项目（${townShort(u)}建新区）`,
        PFWH: no,
        PFRQ: dateBetween(r, `${year}-02-01`, year === 2017 ? '2017-08-31' : `${year}-12-20`),
        JXMJ: ha(g),
      },
    });
    return records.linkage.length - 1;
  };
  const addFacility = (ring: Ring, u: number): number => {
    const g = poly(ring);
    const date = dateBetween(r, '2016-03-01', '2017-09-15');
    const year = date.slice(0, 4);
    records.facility.push({
      geom: g,
      attrs: {
        BABH: `周设施备〔${year}〕${nums.serial(`设施备${year}`, [1, 6], [1, 3])}号`,
        SSLX: r.weighted<string>([
          ['生产设施', 6],
          ['附属设施', 3],
          ['配套设施', 1],
        ]),
        JSDW: `周村区${townShort(u)}${r.pick(['蔬菜', '食用菌', '畜禽', '苗木', '果品'])}${r.pick(['种植', '养殖'])}专业合作社`,
        BARQ: date,
        YDMJ: m2(g),
      },
    });
    return records.facility.length - 1;
  };
  const addTemporary = (ring: Ring, _u: number): number => {
    const g = poly(ring);
    const from = dateBetween(r, '2016-09-01', '2017-08-31');
    records.temporary.push({
      geom: g,
      attrs: {
        PWH: `周国土资临字〔${from.slice(0, 4)}〕${nums.serial(`临字${from.slice(0, 4)}`, [1, 5], [1, 3])}号`,
        YT: r.pick(['施工营地', '取土场', '施工便道', '材料堆场', '弃土场']),
        SQDW: r.pick([
          '山东高速集团有限公司',
          '淄博市公路管理局',
          '周村区交通运输局',
          '国网淄博供电公司',
          company(r),
        ]),
        QSRQ: from,
        // At most two years, and still running at image time (the latest 后时相 is 2017-12-03).
        ZZRQ: dateBetween(r, [addDays(from, 365), '2018-01-31'].sort()[1]!, addDays(from, 729)),
        MJ: m2(g),
      },
    });
    return records.temporary.length - 1;
  };

  const fail = (what: string): never => {
    throw new Error(`demo generator: no room for ${what} (seed ${d.seed}, scale ${d.scale})`);
  };

  // ---- mineral: licences and patches first, while the hills are still free ---------------------
  const mr = rng.fork('mineral');
  const hills = (k: number) => d.hill[k]! > 0.5 && open(k);
  // The hills do not grow with the scale: above 1 the mineral side stays as at scale 1.
  const mineralScale = Math.min(scale, 1);
  const mineralCount = (id: string) =>
    countAt(MINERAL_CATEGORIES.find((c) => c.id === id)!.n, mineralScale, 1);
  interface Licence {
    index: number;
    ring: Ring;
    owner: number;
    kz: string;
  }
  const validLicences: Licence[] = [];
  const expiredLicences: Licence[] = [];
  const exploration: Licence[] = [];
  const quarryQueue = [...d.quarries];
  /** A free site for a licence block of w × h metres: at an existing quarry, else in the hills, else anywhere outside town. */
  const licenceSite = (
    w: number,
    h: number,
    rot: number,
    atQuarry: boolean,
    tiers: readonly number[] = [0, 1, 2],
  ): { ring: Ring; cells: number[]; k: number } | null => {
    const tryAt = (cx: number, cy: number, hillShare: number) => {
      const ring = rectRing(cx, cy, w, h, rot);
      const cells = place.block(ringBox(ring));
      if (!cells || place.share(cells, (k) => d.hill[k]! > 0.35) < hillShare) return null;
      return { ring, cells };
    };
    while (atQuarry && quarryQueue.length > 0) {
      const [qx, qy] = quarryQueue.shift()!;
      const got = tryAt(qx + mr.range(-80, 80), qy + mr.range(-80, 80), 0.7);
      if (got) return { ...got, k: cellCentreIndex(d, qx, qy) };
    }
    const tries: [CellPred, number][] = [
      [hills, 0.7],
      [(k) => d.hill[k]! > 0.35 && open(k), 0.4],
      [(k) => open(k) && !d.core[k], 0],
    ];
    for (const [pred, hillShare] of tiers.map((t) => tries[t]!))
      for (const k of place.candidates(pred)) {
        const [cx, cy] = place.spot(k);
        const got = tryAt(cx, cy, hillShare);
        if (got) return { ...got, k };
      }
    return null;
  };
  const MINING_KZ = ['建筑石料用灰岩', '建筑石料用灰岩', '石灰岩', '耐火粘土', '铝土矿'];
  const addMining = (expired: boolean): Licence => {
    const site =
      licenceSite(mr.range(300, 700), mr.range(250, 550), mr.range(-0.3, 0.3), true) ?? fail('采矿权');
    const owner = place.reserve(site.cells);
    const u = d.unit[site.k]!;
    const kz = mr.pick(MINING_KZ);
    const from = dateBetween(mr, '2008-01-01', expired ? '2013-12-31' : '2015-12-31');
    // Expired licences ended before the earliest 后时相 (2017-10-26).
    const to = expired
      ? [addDays(from, mr.intIn(1095, 1825)), '2017-08-31'].sort()[0]!
      : dateBetween(mr, '2018-06-01', '2022-12-31');
    const g = poly(site.ring);
    records.mining.push({
      geom: g,
      attrs: {
        XKZH: nums.unique(
          (gg) =>
            `C370306${from.slice(0, 4)}${from.slice(5, 7)}7130${String(gg.intIn(1, 999999)).padStart(6, '0')}`,
        ),
        KSMC: `淄博市周村区${townShort(u)}${mr.pick(MOUNTAINS)}${kz}矿`,
        CKQR: `淄博${mr.pick(COMPANY_PLACE)}${kz === '铝土矿' || kz === '耐火粘土' ? '矿业' : '建材'}有限公司`,
        KZ: kz,
        KCFS: kz === '铝土矿' || kz === '耐火粘土' ? '地下开采' : '露天开采',
        SCGM: roundHalfAwayFromZero(mr.range(5, 60), 2),
        YXQQ: from,
        YXQZ: to,
        KQMJ: roundHalfAwayFromZero(measurer.area(g) / 1e6, 4),
      },
    });
    const lic = { index: records.mining.length - 1, ring: site.ring, owner, kz };
    (expired ? expiredLicences : validLicences).push(lic);
    return lic;
  };
  const nValidNeeded =
    mineralCount('licensed') +
    mineralCount('beyond_boundary') +
    mineralCount('changed_mineral') +
    Math.ceil(mineralCount('no_activity') / 2);
  for (let i = 0; i < mineralCount('exploration_licence'); i++) {
    // Exploration blocks are large: placed first, smaller when the hills are crowded, and only
    // out of the hills when no smaller block fits in them.
    const [w, h] = [mr.range(1000, 1700), mr.range(800, 1400)];
    let site: ReturnType<typeof licenceSite> = null;
    for (const tier of [0, 1, 2])
      for (let f = 1; !site && f > 0.3; f -= 0.15) site = licenceSite(w * f, h * f, 0, false, [tier]);
    if (!site) fail('探矿权');
    const owner = place.reserve(site!.cells);
    const u = d.unit[site!.k]!;
    const kz = mr.pick(['铝土矿', '耐火粘土']);
    const from = dateBetween(mr, '2015-01-01', '2017-03-31');
    const g = poly(site!.ring);
    records.exploration.push({
      geom: g,
      attrs: {
        XKZH: nums.unique(
          (gg) => `T371${from.replace(/-/g, '')}${String(gg.intIn(1, 999999)).padStart(6, '0')}`,
        ),
        XMMC: `山东省淄博市周村区${townShort(u)}${mr.pick(MOUNTAINS)}${kz}${mr.pick(['普查', '详查'])}`,
        TKQR: mr.pick([
          '山东省第一地质矿产勘查院',
          '山东省地质矿产勘查开发局第七地质大队',
          '山东省鲁南地质工程勘察院',
        ]),
        KZ: kz,
        YXQQ: from,
        // Valid at image time.
        YXQZ: dateBetween(mr, '2018-03-01', '2020-12-31'),
        KQMJ: roundHalfAwayFromZero(measurer.area(g) / 1e6, 4),
      },
    });
    exploration.push({ index: records.exploration.length - 1, ring: site!.ring, owner, kz });
  }

  for (let i = 0; i < nValidNeeded + countAt(3, mineralScale, 1); i++) addMining(false);
  for (let i = 0; i < mineralCount('expired_licence') + countAt(1, mineralScale, 0); i++) addMining(true);
  const mineral: {
    geom: Areal;
    centre: Position;
    cat: Category;
    evidence: EvidenceRef | null;
    kz: string;
    traits: Trait[];
  }[] = [];
  const pitArea = (lic: Ring | null) => {
    const a = Math.min(40000, Math.max(2000, Math.exp(Math.log(9000) + 0.7 * mr.normal())));
    return lic ? Math.min(a, 0.45 * Math.abs(signedArea(lic))) : a;
  };
  const inLicence = (lic: Licence): Shape => {
    const [cx, cy] = ringCentre(lic.ring);
    return (
      fitInside(patchShape(mr, cx, cy, pitArea(lic.ring), 'blob', null, geos), lic.ring) ?? fail('矿产图斑')
    );
  };
  const ref = (layer: RecordLayer, lic: Licence): EvidenceRef => ({
    layer,
    index: lic.index,
    number: String(records[layer][lic.index]!.attrs.XKZH),
  });
  const validQueue = [...validLicences];
  const takeValid = () => validQueue.shift() ?? fail('有效采矿权');
  const otherKz = (kz: string) =>
    mr.pick(['建筑石料用灰岩', '石灰岩', '耐火粘土', '铝土矿'].filter((x) => x !== kz));
  for (const cat of MINERAL_CATEGORIES)
    for (let i = 0; i < mineralCount(cat.id); i++) {
      if (cat.id === 'licensed' || cat.id === 'changed_mineral') {
        const lic = takeValid();
        const s = inLicence(lic);
        mineral.push({
          ...s,
          cat,
          evidence: ref('mining', lic),
          kz: cat.id === 'licensed' ? lic.kz : otherKz(lic.kz),
          traits: [],
        });
      } else if (cat.id === 'expired_licence') {
        const lic = expiredLicences[i] ?? fail('过期采矿权');
        mineral.push({
          ...inLicence(lic),
          cat,
          evidence: ref('mining', lic),
          kz: lic.kz,
          traits: ['expired_licence'],
        });
      } else if (cat.id === 'exploration_licence') {
        const lic = exploration[i] ?? fail('探矿权');
        mineral.push({ ...inLicence(lic), cat, evidence: ref('exploration', lic), kz: lic.kz, traits: [] });
      } else if (cat.id === 'beyond_boundary') {
        const lic = takeValid();
        let got: Shape | null = null;
        for (let attempt = 0; attempt < 60 && !got; attempt++) {
          const [lx, ly] = ringCentre(lic.ring);
          const area = pitArea(lic.ring);
          const shape0 = blobRing(mr, 0, 0, area);
          const angle = mr.range(0, 2 * Math.PI);
          const target = mr.range(0.6, 0.75);
          const at = (t: number): Areal =>
            poly(
              translateRing(shape0, lx + t * Math.cos(angle), ly + t * Math.sin(angle)).map(
                ([x, y]) => [mm(x), mm(y)] as Position,
              ),
            );
          const share = (g: Areal) => measurer.overlap(g, poly(lic.ring)) / measurer.area(g);
          let lo = 0;
          let hi = 2000;
          for (let it = 0; it < 30; it++) {
            const mid = (lo + hi) / 2;
            if (share(at(mid)) > target) lo = mid;
            else hi = mid;
          }
          const t = (lo + hi) / 2;
          const g = at(t);
          const cells = place.block(arealBox(g), lic.owner);
          if (!cells) continue;
          place.reserve(cells);
          got = { geom: g, centre: [mm(lx + t * Math.cos(angle)), mm(ly + t * Math.sin(angle))] };
        }
        if (!got) fail('越界图斑');
        mineral.push({ ...got!, cat, evidence: ref('mining', lic), kz: lic.kz, traits: [] });
      } else if (cat.id === 'no_activity' && i % 2 === 0) {
        const lic = takeValid();
        mineral.push({ ...inLicence(lic), cat, evidence: ref('mining', lic), kz: lic.kz, traits: [] });
      } else {
        // no_licence, or no_activity away from any licence: somewhere free in the hills.
        let got: Shape | null = null;
        for (const pred of [
          hills,
          (k: number) => d.hill[k]! > 0.3 && open(k),
          (k: number) => open(k) && !d.core[k],
        ]) {
          for (const k of place.candidates(pred)) {
            const [cx, cy] = place.spot(k);
            const shape = patchShape(mr, cx, cy, pitArea(null), 'blob', null, geos);
            const cells = place.block(arealBox(shape.geom));
            if (!cells) continue;
            place.reserve(cells);
            got = shape;
            break;
          }
          if (got) break;
        }
        if (!got) fail('矿产图斑');
        mineral.push({
          ...got!,
          cat,
          evidence: null,
          kz: mr.pick(['建筑石料用灰岩', '石灰岩', '耐火粘土']),
          traits: [],
        });
      }
    }

  // ---- land patches --------------------------------------------------------------------------
  interface Job {
    cat: Category;
    trait: Trait | null;
  }
  const jobs: Job[] = [];
  for (const cat of LAND_CATEGORIES)
    for (let i = 0; i < countAt(cat.n, scale, 2); i++) jobs.push({ cat, trait: null });
  for (const t of TRAITS) {
    let left = countAt(t.n, scale, 1);
    for (let round = 0; left > 0 && round < 1000; round++) {
      const cat = t.categories[round % t.categories.length]!;
      const job = jobs.find((j) => j.cat.id === cat && j.trait === null);
      if (job) {
        job.trait = t.trait;
        left--;
      }
    }
  }

  const pr = rng.fork('patches');
  const land: {
    geom: Areal;
    centre: Position;
    cat: Category;
    trait: Trait | null;
    evidence: EvidenceRef | null;
    remark: string | null;
  }[] = [];
  const styleOf = (cat: string): Style =>
    cat === 'facility' || cat === 'linkage'
      ? 'block'
      : cat === 'no_change' || cat === 'temporary'
        ? 'blob'
        : pr.chance(0.6)
          ? 'block'
          : 'blob';

  /** Places a record outline with a patch inside it; the patch keeps `fraction` of the record's area. */
  const inside = (
    key: string,
    pred: CellPred,
    minShare: number,
    fraction: [number, number],
    job: Job,
    inner = 1,
  ) => {
    for (const k of place.walk(key, pred)) {
      const [cx, cy] = place.spot(k);
      const area = patchArea(pr, job.cat.id === 'approved');
      const recordRing = convexRing(pr, cx, cy, area / pr.range(fraction[0], fraction[1]));
      const cells = place.block(ringBox(recordRing));
      if (!cells || place.share(cells, pred) < minShare) continue;
      // The inner record (供地 inside its approval) is the shrunk outline, rounded as written.
      const container = inner === 1 ? recordRing : shrink(recordRing, inner);
      const shape = fitInside(patchShape(pr, cx, cy, area, styleOf(job.cat.id), job.trait, geos), container);
      if (!shape) continue;
      place.reserve(cells);
      return { recordRing, container, shape, unit: d.unit[k]! };
    }
    return null;
  };
  /** Places a patch with no record under it. */
  const free = (
    key: string,
    pred: CellPred,
    minShare: number,
    job: Job,
    accept: (g: Areal) => boolean = () => true,
  ) => {
    for (const k of place.walk(key, pred)) {
      const [cx, cy] = place.spot(k);
      const shape = patchShape(
        pr,
        cx,
        cy,
        patchArea(pr, job.cat.id === 'illegal'),
        styleOf(job.cat.id),
        job.trait,
        geos,
      );
      const cells = place.block(arealBox(shape.geom));
      if (!cells || place.share(cells, pred) < minShare) continue;
      if (!accept(shape.geom)) continue;
      place.reserve(cells);
      return shape;
    }
    return null;
  };
  const remark = (options: string[], p = 0.35) => (pr.chance(p) ? pr.pick(options) : null);
  const shrink = (ring: Ring, f: number): Ring =>
    scaleRing(ring, ...ringCentre(ring), f).map(([x, y]) => [mm(x), mm(y)]);
  let unitLines: [number, number][] | null = null;

  for (const job of jobs) {
    const id = job.cat.id;
    let geom: Areal;
    let centre: Position;
    let evidence: EvidenceRef | null = null;
    let bz: string | null;
    if (id === 'approved' || id === 'supplied') {
      const got = inside('fringe', fringe, 1, [0.45, 0.8], job, id === 'supplied' ? 0.96 : 1) ?? fail(id);
      const ai = addApproval(got.recordRing, got.unit);
      evidence = { layer: 'approval', index: ai, number: String(records.approval[ai]!.attrs.PZWH) };
      if (id === 'supplied') {
        const si = addSupply(got.container, got.unit, ai);
        evidence = { layer: 'supply', index: si, number: String(records.supply[si]!.attrs.供地文号) };
      }
      ({ geom, centre } = got.shape);
      bz = remark(['新建厂房', '在建', '硬化地面', '新建住宅小区']);
    } else if (id === 'linkage') {
      const pred = (k: number) =>
        fringe(k) || (open(k) && !basic(k) && d.hill[k]! < 0.62 && villageNear(k, 1000));
      const got = inside(id, pred, 1, [0.45, 0.8], job) ?? fail(id);
      const li = addLinkage(got.recordRing, got.unit);
      evidence = { layer: 'linkage', index: li, number: String(records.linkage[li]!.attrs.PFWH) };
      ({ geom, centre } = got.shape);
      bz = remark(['新建农村社区', '在建住宅']);
    } else if (id === 'facility') {
      const pred = (k: number) => cultivated(k) && !basic(k) && !d.core[k];
      const got =
        inside(id, pred, 0.8, [0.5, 0.85], job) ??
        inside(
          `${id}-wide`,
          (k) => (cultivated(k) || clsCode(k) === '1202') && !d.core[k],
          0.8,
          [0.5, 0.85],
          job,
        ) ??
        fail(id);
      const fi = addFacility(got.recordRing, got.unit);
      evidence = { layer: 'facility', index: fi, number: String(records.facility[fi]!.attrs.BABH) };
      ({ geom, centre } = got.shape);
      bz = remark(['大棚', '养殖棚', '疑似大棚房']);
    } else if (id === 'temporary') {
      const pred = (k: number) => open(k) && !d.core[k] && d.hill[k]! < 0.7 && clsCode(k) !== '0702';
      const got = inside(id, pred, 1, [0.5, 0.85], job) ?? fail(id);
      const ti = addTemporary(got.recordRing, got.unit);
      evidence = { layer: 'temporary', index: ti, number: String(records.temporary[ti]!.attrs.PWH) };
      ({ geom, centre } = got.shape);
      bz = remark(['推填土', '堆料', '临时工棚']);
    } else if (id === 'partly_approved') {
      let got: { geom: Areal; centre: Position; ai: number; share: number } | null = null;
      for (const k of place.walk('fringe', fringe)) {
        const [cx, cy] = place.spot(k);
        const area = patchArea(pr, false);
        const approval = convexRing(pr, cx, cy, area * pr.range(0.7, 1.1));
        const shape0 = patchShape(pr, 0, 0, area, styleOf(id), null, geos);
        const target = pr.range(0.55, 0.65);
        const angle = pr.range(0, 2 * Math.PI);
        const at = (t: number): Areal => ({
          type: 'Polygon',
          coordinates: [
            translateRing(
              (shape0.geom as { coordinates: Ring[] }).coordinates[0]!,
              cx + t * Math.cos(angle),
              cy + t * Math.sin(angle),
            ).map(([x, y]) => [mm(x), mm(y)] as Position),
          ],
        });
        const share = (g: Areal) => {
          const x = geos.intersection(g, poly(approval));
          return x ? Math.abs(measurer.area(x)) / measurer.area(g) : 0;
        };
        let lo = 0;
        let hi = 2 * Math.sqrt(area);
        for (let it = 0; it < 30; it++) {
          const mid = (lo + hi) / 2;
          if (share(at(mid)) > target) lo = mid;
          else hi = mid;
        }
        const t = (lo + hi) / 2;
        const g = at(t);
        const s = share(g);
        if (s < 0.5 || s > 0.7) continue;
        const cells = place.block(boxOf(approval, ...allRings(g)));
        if (!cells || place.share(cells, fringe) < 1) continue;
        place.reserve(cells);
        const ai = addApproval(approval, d.unit[k]!);
        got = { geom: g, centre: [mm(cx + t * Math.cos(angle)), mm(cy + t * Math.sin(angle))], ai, share: s };
        break;
      }
      if (!got) fail(id);
      geom = got!.geom;
      // The centre of the shape is inside it (star-shaped or rectangular about its centre).
      centre = got!.centre;
      evidence = { layer: 'approval', index: got!.ai, number: String(records.approval[got!.ai]!.attrs.PZWH) };
      bz = remark(['新建厂房', '硬化地面']);
    } else if (id === 'rural_road') {
      const pred = (k: number) => cultivated(k) || clsCode(k) === '1006' || clsCode(k) === '1107';
      let got: Shape | null = null;
      for (const k of place.walk(id, (k) => cultivated(k) && !d.core[k])) {
        const [cx, cy] = place.spot(k);
        const angle = pr.pick([0, Math.PI / 2]) + pr.range(-0.12, 0.12);
        const length = pr.range(150, 700);
        const width = pr.range(4, 7);
        const bend = pr.range(-0.15, 0.15);
        const x0 = cx - (length / 2) * Math.cos(angle);
        const y0 = cy - (length / 2) * Math.sin(angle);
        const ring = stripRing(x0, y0, length, width, angle, bend);
        const cells = place.block(ringBox(ring));
        if (!cells || place.share(cells, pred) < 0.85) continue;
        place.reserve(cells);
        // The bend point on the centre line is inside the strip.
        got = {
          geom: poly(ring),
          centre: [mm(x0 + (length / 2) * Math.cos(angle)), mm(y0 + (length / 2) * Math.sin(angle))],
        };
        break;
      }
      if (!got) fail(id);
      ({ geom, centre } = got!);
      bz = remark(['道路', '疑似道路硬化']);
    } else if (id === 'no_change') {
      const got = free(id, open, 1, job) ?? fail(id);
      ({ geom, centre } = got);
      bz = remark(['季节性变化', '作物轮作', '阴影', '原有建筑翻新']);
    } else if (id === 'illegal_basic_farmland') {
      const got =
        free(id, basic, 0.7, job, (g) => {
          const v = measurer.valid(g);
          return measurer.measure(v).basicFarmlandM2 >= 0.5 * measurer.area(v);
        }) ?? fail(id);
      ({ geom, centre } = got);
      bz = remark(['新建厂房', '疑似住宅', '硬化场地']);
    } else if (id === 'illegal') {
      const pred = (k: number) =>
        open(k) && !basic(k) && !(d.core[k] && LAND_CLASSES[d.cls[k]!]!.group === 'construction');
      const got = free(id, pred, 1, job) ?? fail(id);
      ({ geom, centre } = got);
      bz = remark(['新建厂房', '疑似住宅', '硬化场地', '在建']);
    } else {
      // straddling: centred on a stretch of the line between two units.
      let got: Shape | null = null;
      const m = d.mesh;
      if (!unitLines) {
        unitLines = [];
        for (let k = 0; k < d.inside.length; k++) {
          if (!d.inside[k] || !open(k)) continue;
          for (const o of [k + 1, k + m.nx]) {
            if (o >= d.inside.length || (o === k + 1 && (k + 1) % m.nx === 0)) continue;
            if (d.inside[o] && open(o) && d.unit[o] !== d.unit[k]) unitLines.push([k, o]);
          }
        }
        pr.shuffle(unitLines);
      }
      while (unitLines.length > 0) {
        const [a, b] = unitLines.shift()!;
        const line = sharedEdge(m, a, b);
        const mid = line[Math.floor(line.length / 2)]!;
        const prevPt = line[Math.floor(line.length / 2) - 1]!;
        const cx = (mid[0] + prevPt[0]) / 2;
        const cy = (mid[1] + prevPt[1]) / 2;
        const shape = patchShape(pr, cx, cy, pr.range(3000, 30000), 'blob', job.trait, geos);
        const cells = place.block(arealBox(shape.geom));
        if (!cells) continue;
        const meas = measurer.measure(measurer.valid(shape.geom));
        const shares = [...meas.units.values()].sort((x, y) => y - x);
        if (shares.length < 2 || shares[1]! < 0.2 * meas.areaM2) continue;
        place.reserve(cells);
        got = shape;
        break;
      }
      if (!got) fail(id);
      ({ geom, centre } = got!);
      bz = remark(['新建厂房', '硬化场地']);
    }
    land.push({ geom, centre, cat: job.cat, trait: job.trait, evidence, remark: bz });
  }

  // Records with no patch on them, as real layers have: approvals in town, spare filings.
  const decoy = (n: number, pred: CellPred, add: (ring: Ring, u: number) => void, size: [number, number]) => {
    let left = n;
    for (const k of place.candidates(pred)) {
      if (left <= 0) break;
      const [cx, cy] = place.spot(k);
      const ring = convexRing(r, cx, cy, r.range(size[0], size[1]));
      const cells = place.block(ringBox(ring));
      if (!cells || place.share(cells, pred) < 0.8) continue;
      place.reserve(cells);
      add(ring, d.unit[k]!);
      left--;
    }
  };
  const nApproved = land.filter((p) => p.cat.id === 'approved' || p.cat.id === 'supplied').length;
  decoy(
    Math.round(nApproved * 0.5),
    (k) => open(k) && (d.core[k] === 1 || d.unit[k] === zoneUnit),
    (ring, u) => {
      const ai = addApproval(
        ring,
        u,
        r.chance(0.3) && records.approval.length > 0 ? r.pick(records.approval) : undefined,
      );
      if (r.chance(0.5)) addSupply(shrink(ring, 0.96), u, ai);
    },
    [8000, 60000],
  );
  decoy(countAt(20, scale, 1), (k) => cultivated(k) && !basic(k) && !d.core[k], addFacility, [2000, 15000]);
  decoy(countAt(10, scale, 1), (k) => open(k) && !d.core[k] && d.hill[k]! < 0.7, addTemporary, [3000, 20000]);
  decoy(countAt(8, scale, 1), (k) => fringe(k) && villageNear(k, 800), addLinkage, [10000, 50000]);

  // ---- delivered attributes and ground truth -------------------------------------------------
  const truthOf = (
    p: { geom: Areal; cat: Category; evidence: EvidenceRef | null },
    kind: 'land' | 'mineral',
    traits: Trait[],
  ): Omit<PatchTruth, 'jcbh'> => {
    const valid = measurer.valid(p.geom);
    const meas = measurer.measure(valid);
    const units = [...meas.units]
      .map(([u, a]) => ({ code: UNITS[u]!.code, name: UNITS[u]!.name, areaM2: roundHalfAwayFromZero(a, 4) }))
      .sort((a, b) => b.areaM2 - a.areaM2 || a.code.localeCompare(b.code));
    const all = [...traits];
    if (units.length > 1 && units[1]!.areaM2 >= 0.05 * meas.areaM2) all.push('straddles_units');
    let insideShare: number | null = null;
    if (p.evidence) {
      const rec = records[p.evidence.layer][p.evidence.index]!;
      insideShare = roundHalfAwayFromZero(measurer.overlap(valid, rec.geom) / meas.areaM2, 6);
    }
    return {
      kind,
      category: p.cat.id,
      verdict: p.cat.verdict,
      subtype: p.cat.subtype,
      traits: all,
      evidence: p.evidence,
      insideShare,
      areaM2: roundHalfAwayFromZero(meas.areaM2, 4),
      cultivatedM2: roundHalfAwayFromZero(meas.cultivatedM2, 4),
      basicFarmlandM2: roundHalfAwayFromZero(meas.basicFarmlandM2, 4),
      unit: units[0]!.code,
      units,
      note: p.cat.note,
    };
  };
  const sceneOf = (x: number) =>
    SCENES[Math.min(2, Math.max(0, Math.floor(((x - d.mesh.x0) / (d.mesh.nx * d.mesh.cell)) * 3)))]!;
  const villageCode = (centre: Position): { unit: number; code: string } => {
    let k = cellCentreIndex(d, centre[0], centre[1]);
    if (k < 0 || d.unit[k]! < 0) k = nearestInside(d, centre);
    const u = d.unit[k]!;
    let best = '001';
    let bestD = Infinity;
    for (const v of d.villages)
      if (v.unit === u) {
        const dd = Math.hypot(v.x - centre[0], v.y - centre[1]);
        if (dd < bestD) {
          bestD = dd;
          best = v.code;
        }
      }
    return { unit: u, code: best };
  };
  // Serial numbers in the Ministry's order: by unit, then north to south, west to east.
  const order = <T extends { centre: Position }>(items: T[]) =>
    items
      .map((it) => ({ it, vc: villageCode(it.centre) }))
      .sort(
        (a, b) =>
          UNITS[a.vc.unit]!.code.localeCompare(UNITS[b.vc.unit]!.code) ||
          b.it.centre[1] - a.it.centre[1] ||
          a.it.centre[0] - b.it.centre[0],
      );

  const landOut: PatchFeature[] = order(land).map(({ it, vc }, s) => {
    const jcbh = `3703062017${String(s + 1).padStart(5, '0')}`;
    const truth = { jcbh, ...truthOf(it, 'land', it.trait ? [it.trait] : []) };
    const scene = sceneOf(it.centre[0]);
    const tblx =
      it.cat.id === 'rural_road' || it.cat.id === 'temporary'
        ? '推填土'
        : it.cat.id === 'no_change'
          ? pr.pick(['新增建设用地', '推填土', '其他'])
          : pr.chance(0.95)
            ? '新增建设用地'
            : '其他';
    return {
      geom: it.geom,
      centre: it.centre,
      attrs: {
        JCBH: jcbh,
        XZQDM: `${UNITS[vc.unit]!.code}${vc.code}`,
        TBLX: tblx,
        JCMJ: roundHalfAwayFromZero(m2ToMu(truth.areaM2), 2),
        GDMJ: roundHalfAwayFromZero(m2ToMu(truth.cultivatedM2), 2),
        QSX: scene.qsx,
        HSX: scene.hsx,
        ZXDX: roundHalfAwayFromZero(it.centre[0], 2),
        ZXDY: roundHalfAwayFromZero(it.centre[1], 2),
        BZ: it.remark,
      },
      truth,
    };
  });
  const mineralOut: PatchFeature[] = order(mineral).map(({ it, vc }, s) => {
    const jcbh = `K3703062017${String(s + 1).padStart(4, '0')}`;
    const truth = { jcbh, ...truthOf(it, 'mineral', it.traits) };
    const scene = sceneOf(it.centre[0]);
    return {
      geom: it.geom,
      centre: it.centre,
      attrs: {
        JCBH: jcbh,
        XZQDM: `${UNITS[vc.unit]!.code}${vc.code}`,
        XZQMC: UNITS[vc.unit]!.name,
        KZ: it.kz,
        TBLX: it.cat.id === 'no_activity' && mr.chance(0.6) ? '疑似开采图斑' : '开采图斑',
        JCMJ: roundHalfAwayFromZero(m2ToMu(truth.areaM2), 2),
        QSX: scene.qsx,
        HSX: scene.hsx,
        ZXDX: roundHalfAwayFromZero(it.centre[0], 2),
        ZXDY: roundHalfAwayFromZero(it.centre[1], 2),
        BZ: null,
      },
      truth,
    };
  });
  return { records, land: landOut, mineral: mineralOut };
}

function cellCentreIndex(d: District, x: number, y: number): number {
  const m = d.mesh;
  const i = Math.floor((x - m.x0) / m.cell);
  const j = Math.floor((y - m.y0) / m.cell);
  return i < 0 || j < 0 || i >= m.nx || j >= m.ny ? -1 : j * m.nx + i;
}

function nearestInside(d: District, p: Position): number {
  let best = -1;
  let bestD = Infinity;
  for (let k = 0; k < d.inside.length; k++) {
    if (!d.inside[k]) continue;
    const [x, y] = cellCentre(d.mesh, k);
    const dd = Math.hypot(x - p[0], y - p[1]);
    if (dd < bestD) {
      bestD = dd;
      best = k;
    }
  }
  return best;
}
