// The demo district, modelled on 周村区 (淄博市): its outline, its ten responsible units, its land
// use and the layers derived from it, all cut from one jittered cell mesh (mesh.ts) so that
// parcels, towns and planning zones tile the district exactly. Built-up streets in the middle,
// the 孝妇河 running south to north west of the centre, farmland and villages around, hills with
// forest and quarries in the south-west, the development zone north-east of the centre.
import type { Areal, Polygon, Position, Ring } from '../geo/geometry.ts';
import { Rng, valueNoise } from './prng.ts';
import {
  buildMesh,
  cellCentre,
  cellRing,
  components,
  neighbours,
  traceComponent,
  type Mesh,
} from './mesh.ts';

/** District code (县级行政区划代码) and name. */
export const COUNTY_CODE = '370306';
export const COUNTY_NAME = '周村区';

export type UnitKind = 'street' | 'town' | 'zone';

export interface UnitDef {
  code: string;
  name: string;
  kind: UnitKind;
  /** Seed of the unit, metres from the urban centre (east, north). */
  seed: Position;
  /** Metres subtracted from the distance to the seed: a larger unit. */
  weight: number;
}

// Streets 001–005, towns 1xx, the development zone 4xx (county code + 3 digits).
export const UNITS: readonly UnitDef[] = [
  { code: '370306001', name: '丝绸路街道', kind: 'street', seed: [-1900, 400], weight: 0 },
  { code: '370306002', name: '大街街道', kind: 'street', seed: [-300, -700], weight: 0 },
  { code: '370306003', name: '青年路街道', kind: 'street', seed: [1600, 300], weight: 0 },
  { code: '370306004', name: '永安街街道', kind: 'street', seed: [800, -2100], weight: 0 },
  { code: '370306005', name: '城北路街道', kind: 'street', seed: [100, 2000], weight: 0 },
  { code: '370306100', name: '北郊镇', kind: 'town', seed: [-2500, 8000], weight: 1500 },
  { code: '370306101', name: '南郊镇', kind: 'town', seed: [1500, -8500], weight: 1500 },
  { code: '370306102', name: '王村镇', kind: 'town', seed: [-9500, -3500], weight: 2000 },
  { code: '370306103', name: '萌水镇', kind: 'town', seed: [8000, -3000], weight: 1500 },
  { code: '370306400', name: '周村经济开发区', kind: 'zone', seed: [4600, 3600], weight: 900 },
];

export interface LandClass {
  code: string;
  name: string;
  /** 耕地 (01xx). */
  cultivated: boolean;
  /** 农用地 / 建设用地 / 未利用地 (GB/T 21010-2017 with the 2017 rule pack's grouping). */
  group: 'agricultural' | 'construction' | 'unused';
}

/** The GB/T 21010-2017 classes the demo uses (names as in the standard and rules/2017-land.json). */
export const LAND_CLASSES: readonly LandClass[] = [
  { code: '0101', name: '水田', cultivated: true, group: 'agricultural' },
  { code: '0102', name: '水浇地', cultivated: true, group: 'agricultural' },
  { code: '0103', name: '旱地', cultivated: true, group: 'agricultural' },
  { code: '0201', name: '果园', cultivated: false, group: 'agricultural' },
  { code: '0301', name: '乔木林地', cultivated: false, group: 'agricultural' },
  { code: '0305', name: '灌木林地', cultivated: false, group: 'agricultural' },
  { code: '0307', name: '其他林地', cultivated: false, group: 'agricultural' },
  { code: '0404', name: '其他草地', cultivated: false, group: 'unused' },
  { code: '0501', name: '零售商业用地', cultivated: false, group: 'construction' },
  { code: '0502', name: '批发市场用地', cultivated: false, group: 'construction' },
  { code: '0503', name: '餐饮用地', cultivated: false, group: 'construction' },
  { code: '0505', name: '商务金融用地', cultivated: false, group: 'construction' },
  { code: '0601', name: '工业用地', cultivated: false, group: 'construction' },
  { code: '0602', name: '采矿用地', cultivated: false, group: 'construction' },
  { code: '0604', name: '仓储用地', cultivated: false, group: 'construction' },
  { code: '0701', name: '城镇住宅用地', cultivated: false, group: 'construction' },
  { code: '0702', name: '农村宅基地', cultivated: false, group: 'construction' },
  { code: '0801', name: '机关团体用地', cultivated: false, group: 'construction' },
  { code: '0803', name: '教育用地', cultivated: false, group: 'construction' },
  { code: '0805', name: '医疗卫生用地', cultivated: false, group: 'construction' },
  { code: '0808', name: '体育用地', cultivated: false, group: 'construction' },
  { code: '0810', name: '公园与绿地', cultivated: false, group: 'construction' },
  { code: '1003', name: '公路用地', cultivated: false, group: 'construction' },
  { code: '1004', name: '城镇村道路用地', cultivated: false, group: 'construction' },
  { code: '1006', name: '农村道路', cultivated: false, group: 'agricultural' },
  { code: '1101', name: '河流水面', cultivated: false, group: 'unused' },
  { code: '1104', name: '坑塘水面', cultivated: false, group: 'agricultural' },
  { code: '1107', name: '沟渠', cultivated: false, group: 'agricultural' },
  { code: '1201', name: '空闲地', cultivated: false, group: 'construction' },
  { code: '1202', name: '设施农用地', cultivated: false, group: 'agricultural' },
  { code: '1203', name: '田坎', cultivated: false, group: 'agricultural' },
  { code: '1207', name: '裸岩石砾地', cultivated: false, group: 'unused' },
];

const CLASS_INDEX = new Map(LAND_CLASSES.map((c, i) => [c.code, i]));
function cls(code: string): number {
  const i = CLASS_INDEX.get(code);
  if (i === undefined) throw new Error(`unknown land class ${code}`);
  return i;
}

/** 建设用地管制区 of the 土地利用总体规划 (code, name, and the 规划用途 written with it). */
export const PLAN_ZONES = [
  { code: '010', name: '允许建设区', use: '城镇村建设用地区' },
  { code: '020', name: '有条件建设区', use: '一般农地区' },
  { code: '030', name: '限制建设区', use: '基本农田保护区' },
  { code: '040', name: '禁止建设区', use: '生态环境安全控制区' },
] as const;

export interface Village {
  x: number;
  y: number;
  radius: number;
  unit: number;
  /** 3-digit code inside the unit (村/社区). */
  code: string;
}

export interface Parcel {
  cells: number[];
  unit: number;
  cls: number;
  basic: boolean;
  /** 1 … 5 (耕地坡度级别), from the hills. */
  slope: number;
  ring: Ring;
}

export interface District {
  seed: number;
  scale: number;
  mesh: Mesh;
  /** Urban centre (EPSG:4527). */
  centre: Position;
  /** Per cell: 1 inside the district. */
  inside: Uint8Array;
  /** Per cell: index into UNITS, -1 outside. */
  unit: Int32Array;
  /** Per cell: index into LAND_CLASSES, -1 outside. */
  cls: Int32Array;
  /** Per cell: index into PLAN_ZONES, -1 outside. */
  zone: Int32Array;
  /** Per cell: parcel index, -1 outside. */
  parcelOf: Int32Array;
  /** Per cell: distance from the urban centre (m) and hill intensity (0 … 1). */
  du: Float32Array;
  hill: Float32Array;
  /** Per cell: 1 in the urban core (the five streets). */
  core: Uint8Array;
  /** Per cell: 1 on the river. */
  river: Uint8Array;
  villages: Village[];
  /** Existing quarries in the hills (licences are drawn around them). */
  quarries: Position[];
  /** The development zone's industrial centre. */
  zoneCentre: Position;
  parcels: Parcel[];
  districtRings: Ring[];
  unitRings: Ring[][];
  zoneAreas: { zone: number; unit: number; rings: Ring[] }[];
  /** The area the district would have at this seed, for the manifest (m², plane). */
  cellsInside: number;
}

/** Gauss–Krüger (EPSG:4527) box around 117°41′–117°58′E, 36°39′–36°54′N. */
export const BOX = { minx: 39561000, miny: 4058000, maxx: 39586400, maxy: 4085800 } as const;
/** Aimed-at district area (m²): 周村 has about 263 km²; the outline lands within 260–310 km². */
const TARGET_AREA = 285e6;
/** Cells at scale 1 (about 38,000 inside, so at least 30,000 parcels after merging). */
const CELLS_AT_SCALE_1 = 38000;

export function cellSizeFor(scale: number): number {
  return Math.sqrt(TARGET_AREA / (CELLS_AT_SCALE_1 * scale));
}

function polygon(rings: Ring[]): Polygon {
  return { type: 'Polygon', coordinates: rings };
}

export function areal(rings: Ring[][]): Areal {
  return rings.length === 1 ? polygon(rings[0]!) : { type: 'MultiPolygon', coordinates: rings };
}

export function buildDistrict(seed: number, scale: number): District {
  const root = new Rng(seed);
  const c = cellSizeFor(scale);
  const nx = Math.ceil((BOX.maxx - BOX.minx) / c);
  const ny = Math.ceil((BOX.maxy - BOX.miny) / c);
  const mesh = buildMesh(root.fork('mesh'), BOX.minx, BOX.miny, nx, ny, c);
  const n = nx * ny;
  const centreD: Position = [(BOX.minx + BOX.maxx) / 2, (BOX.miny + BOX.maxy) / 2];
  const U: Position = [centreD[0] + 1200, centreD[1] + 900];
  const H: Position = [centreD[0] - 7000, centreD[1] - 7500];
  const nr = root.fork('noise');
  const noise = (scaleM: number, oct = 3) => valueNoise(nr.nextUint32(), scaleM, oct);

  // ---- outline: a lobed blob, scaled to the target area ----------------------------------------
  const or = root.fork('outline');
  const ph = [0, 1, 2, 3].map(() => or.range(0, 2 * Math.PI));
  const rim = noise(0.8, 4);
  const shape = (t: number) =>
    (1 +
      0.2 * Math.cos(2 * (t - ph[0]!)) +
      0.1 * Math.cos(3 * t - ph[1]!) +
      0.06 * Math.cos(5 * t - ph[2]!) +
      0.03 * Math.cos(9 * t - ph[3]!)) *
    (0.86 + 0.28 * rim(3 + 2 * Math.cos(t), 3 + 2 * Math.sin(t)));
  let integral = 0;
  const STEPS = 3600;
  const ext = [Infinity, Infinity, -Infinity, -Infinity];
  for (let k = 0; k < STEPS; k++) {
    const t = (2 * Math.PI * k) / STEPS;
    const r = shape(t);
    integral += 0.5 * r * r * ((2 * Math.PI) / STEPS);
    ext[0] = Math.min(ext[0]!, r * Math.cos(t));
    ext[1] = Math.min(ext[1]!, r * Math.sin(t));
    ext[2] = Math.max(ext[2]!, r * Math.cos(t));
    ext[3] = Math.max(ext[3]!, r * Math.sin(t));
  }
  const R0 = Math.sqrt(TARGET_AREA / integral);
  // Centre the outline's extent in the box (the lobes make it lopsided about its polar centre).
  centreD[0] -= (R0 * (ext[0]! + ext[2]!)) / 2;
  centreD[1] -= (R0 * (ext[1]! + ext[3]!)) / 2;
  const margin = 1.5 * c;
  const inside = new Uint8Array(n);
  const du = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const [x, y] = cellCentre(mesh, k);
    du[k] = Math.hypot(x - U[0], y - U[1]);
    if (x < BOX.minx + margin || x > BOX.maxx - margin || y < BOX.miny + margin || y > BOX.maxy - margin)
      continue;
    const t = Math.atan2(y - centreD[1], x - centreD[0]);
    if (Math.hypot(x - centreD[0], y - centreD[1]) < R0 * shape(t)) inside[k] = 1;
  }
  keepLargestAndFill(mesh, inside);

  // ---- hills, river, highways ------------------------------------------------------------------
  const hillNoise = noise(2500);
  const hill = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const [x, y] = cellCentre(mesh, k);
    const d2 = (x - H[0]) ** 2 + (y - H[1]) ** 2;
    hill[k] = Math.exp(-d2 / (2 * 4800 ** 2)) * (0.7 + 0.6 * hillNoise(x, y));
  }
  const river = new Uint8Array(n);
  const riverPhase = or.range(0, 2 * Math.PI);
  const riverNoise = noise(3000, 2);
  let prev = -1;
  for (let j = 0; j < ny; j++) {
    const y = mesh.y0 + (j + 0.5) * c;
    const x = U[0] - 2600 + 700 * Math.sin((y - U[1]) / 4200 + riverPhase) + 800 * (riverNoise(0, y) - 0.5);
    const i = Math.max(0, Math.min(nx - 1, Math.floor((x - mesh.x0) / c)));
    const from = prev < 0 ? i : Math.min(prev, i);
    const to = prev < 0 ? i : Math.max(prev, i);
    for (let ii = from; ii <= to; ii++) if (inside[j * nx + ii]) river[j * nx + ii] = 1;
    prev = i;
  }
  const highway = new Uint8Array(n);
  // 济青高速 north of the city (east–west), and a provincial road through it (north–south).
  let prevRow = -1;
  for (let i = 0; i < nx; i++) {
    const x = mesh.x0 + (i + 0.5) * c;
    const y = U[1] + 5600 + 0.09 * (x - U[0]);
    const j = Math.max(0, Math.min(ny - 1, Math.floor((y - mesh.y0) / c)));
    const from = prevRow < 0 ? j : Math.min(prevRow, j);
    const to = prevRow < 0 ? j : Math.max(prevRow, j);
    for (let jj = from; jj <= to; jj++)
      if (inside[jj * nx + i] && !river[jj * nx + i]) highway[jj * nx + i] = 1;
    prevRow = j;
  }
  let prevCol = -1;
  for (let j = 0; j < ny; j++) {
    const y = mesh.y0 + (j + 0.5) * c;
    const x = U[0] + 400 + 0.06 * (y - U[1]);
    const i = Math.max(0, Math.min(nx - 1, Math.floor((x - mesh.x0) / c)));
    const from = prevCol < 0 ? i : Math.min(prevCol, i);
    const to = prevCol < 0 ? i : Math.max(prevCol, i);
    for (let ii = from; ii <= to; ii++)
      if (inside[j * nx + ii] && !river[j * nx + ii]) highway[j * nx + ii] = 1;
    prevCol = i;
  }

  // ---- responsible units -----------------------------------------------------------------------
  const coreNoise = noise(1800, 4);
  const unitNoise = UNITS.map(() => noise(2600, 4));
  const unit = new Int32Array(n).fill(-1);
  const core = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    if (!inside[k]) continue;
    const [x, y] = cellCentre(mesh, k);
    const isCore = du[k]! < 3100 + 1500 * (coreNoise(x, y) - 0.5);
    core[k] = isCore ? 1 : 0;
    let best = -1;
    let bestD = Infinity;
    UNITS.forEach((u, idx) => {
      if ((u.kind === 'street') !== isCore) return;
      const d =
        Math.hypot(x - U[0] - u.seed[0], y - U[1] - u.seed[1]) -
        u.weight +
        (isCore ? 1400 : 3200) * (unitNoise[idx]!(x, y) - 0.5);
      if (d < bestD) {
        bestD = d;
        best = idx;
      }
    });
    unit[k] = best;
  }
  oneComponentPerUnit(mesh, unit);
  for (let k = 0; k < n; k++) core[k] = unit[k]! >= 0 && UNITS[unit[k]!]!.kind === 'street' ? 1 : 0;

  // ---- villages, communities, quarries, the zone's industrial centre -----------------------------
  const vr = root.fork('villages');
  const villageSpots: { x: number; y: number; radius: number }[] = [];
  for (let attempt = 0; attempt < 4000 && villageSpots.length < 400; attempt++) {
    const x = vr.range(BOX.minx, BOX.maxx);
    const y = vr.range(BOX.miny, BOX.maxy);
    const k = cellAtXY(mesh, x, y);
    if (k < 0 || !inside[k] || core[k] || river[k] || highway[k] || hill[k]! > 0.62) continue;
    if (villageSpots.some((v) => Math.hypot(v.x - x, v.y - y) < 1050)) continue;
    villageSpots.push({ x, y, radius: vr.range(150, 320) });
  }
  const villages: Village[] = [];
  for (const v of villageSpots) villages.push({ ...v, unit: unit[cellAtXY(mesh, v.x, v.y)]!, code: '' });
  // Communities (社区) of the streets: points spread over each street.
  UNITS.forEach((u, idx) => {
    if (u.kind !== 'street') return;
    const cells: number[] = [];
    for (let k = 0; k < n; k++) if (unit[k] === idx) cells.push(k);
    const count = Math.min(cells.length, vr.intIn(6, 11));
    for (let s = 0; s < count; s++) {
      const [x, y] = cellCentre(mesh, vr.pick(cells));
      villages.push({ x, y, radius: 0, unit: idx, code: '' });
    }
  });
  UNITS.forEach((_, idx) => {
    const mine = villages.filter((v) => v.unit === idx).sort((a, b) => b.y - a.y || a.x - b.x);
    mine.forEach((v, s) => (v.code = String(s + 1).padStart(3, '0')));
  });
  const villageNoise = noise(400, 2);
  const inVillage = new Int32Array(n).fill(-1);
  villages.forEach((v, vi) => {
    if (v.radius === 0) return;
    const reach = v.radius * 1.3;
    forCellsNear(mesh, v.x, v.y, reach, (k) => {
      if (!inside[k] || core[k] || river[k] || highway[k]) return;
      const [x, y] = cellCentre(mesh, k);
      if (Math.hypot(x - v.x, y - v.y) < v.radius * (0.75 + 0.5 * villageNoise(x, y))) inVillage[k] = vi;
    });
  });
  const qr = root.fork('quarries');
  const quarries: Position[] = [];
  for (let attempt = 0; attempt < 3000 && quarries.length < 8; attempt++) {
    const x = qr.range(BOX.minx, BOX.maxx);
    const y = qr.range(BOX.miny, BOX.maxy);
    const k = cellAtXY(mesh, x, y);
    if (k < 0 || !inside[k] || hill[k]! < 0.62 || river[k]) continue;
    if (quarries.some(([qx, qy]) => Math.hypot(qx - x, qy - y) < 1600)) continue;
    quarries.push([x, y]);
  }
  const zoneIdx = UNITS.findIndex((u) => u.kind === 'zone');
  const zoneCentre: Position = [U[0] + UNITS[zoneIdx]!.seed[0] - 800, U[1] + UNITS[zoneIdx]!.seed[1] - 600];

  // ---- land use per cell -----------------------------------------------------------------------
  const lr = root.fork('classes');
  const irrigation = noise(1800);
  const wet = noise(900, 2);
  const clsOf = new Int32Array(n).fill(-1);
  const riverDist = distanceToSet(mesh, river, inside);
  for (let k = 0; k < n; k++) {
    if (!inside[k]) continue;
    const [x, y] = cellCentre(mesh, k);
    const i = k % nx;
    const j = (k - i) / nx;
    const h = hill[k]!;
    let code: string;
    if (river[k]) code = '1101';
    else if (highway[k]) code = '1003';
    else if (quarries.some(([qx, qy]) => Math.hypot(qx - x, qy - y) < 230)) code = '0602';
    else if (core[k]) {
      const edge = du[k]! > 2600;
      if ((i % 7 === 0 || j % 7 === 0) && lr.chance(0.7)) code = '1004';
      else
        code = lr.weighted<string>([
          ['0701', 42],
          ['0501', 6],
          ['0502', 2],
          ['0503', 3],
          ['0505', 3],
          ['0601', 8],
          ['0604', 3],
          ['0801', 4],
          ['0803', 5],
          ['0805', 2],
          ['0808', 1],
          ['0810', 5],
          ['1201', 2],
          ['0102', edge ? 9 : 2],
          ['0103', edge ? 9 : 2],
          ['1104', 1],
        ]);
    } else if (unit[k] === zoneIdx && Math.hypot(x - zoneCentre[0], y - zoneCentre[1]) < 1900) {
      if ((i % 6 === 0 || j % 6 === 0) && lr.chance(0.6)) code = '1004';
      else
        code = lr.weighted<string>([
          ['0601', 58],
          ['0604', 10],
          ['0505', 3],
          ['1201', 5],
          ['0103', 12],
          ['0102', 8],
          ['1104', 2],
        ]);
    } else if (inVillage[k]! >= 0)
      code = lr.weighted<string>([
        ['0702', 80],
        ['1004', 7],
        ['0601', 4],
        ['0803', 2],
        ['0801', 1],
        ['1201', 3],
        ['1104', 3],
      ]);
    else if (h > 0.62)
      code = lr.weighted<string>([
        ['0301', 34],
        ['0305', 20],
        ['0404', 15],
        ['1207', 8],
        ['0201', 7],
        ['0307', 5],
        ['0103', 6],
        ['1203', 3],
        ['1006', 2],
      ]);
    else if (h > 0.45)
      code = lr.weighted<string>([
        ['0103', 38],
        ['0201', 15],
        ['1203', 9],
        ['0301', 10],
        ['0404', 7],
        ['0305', 5],
        ['0102', 6],
        ['1006', 4],
        ['1104', 1],
        ['0702', 1],
        ['1202', 2],
        ['0307', 2],
      ]);
    else {
      const nearRiver = riverDist[k]! < 900;
      const irrigated = irrigation(x, y) > 0.45;
      code = lr.weighted<string>([
        [irrigated ? '0102' : '0103', 76],
        [irrigated ? '0103' : '0102', 6],
        ['0101', nearRiver && wet(x, y) > 0.5 ? 18 : 0.5],
        ['0201', 3],
        ['1104', 2],
        ['1202', 2],
        ['1107', 2],
        ['1006', 4],
        ['0307', 1.5],
        ['1203', 1],
        ['0702', 0.7],
        ['0601', 0.8],
      ]);
    }
    clsOf[k] = cls(code);
  }

  // ---- parcels: one cell, or two fields of the same class merged ------------------------------
  const pr = root.fork('parcels');
  const parcelOf = new Int32Array(n).fill(-1);
  const parcels: Parcel[] = [];
  const basicNoise = noise(1500);
  const mergeable = new Set(['0101', '0102', '0103', '0201', '0301', '0305', '0404'].map(cls));
  for (let k = 0; k < n; k++) {
    if (!inside[k] || parcelOf[k]! >= 0) continue;
    const i = k % nx;
    const cells = [k];
    if (mergeable.has(clsOf[k]!)) {
      const right = i + 1 < nx ? k + 1 : -1;
      const up = k + nx < n ? k + nx : -1;
      const same = (o: number) =>
        o >= 0 && inside[o] && parcelOf[o]! < 0 && clsOf[o] === clsOf[k] && unit[o] === unit[k];
      if (pr.chance(0.15) && same(right)) cells.push(right);
      else if (pr.chance(0.06) && same(up)) cells.push(up);
    }
    const p = parcels.length;
    for (const cc of cells) parcelOf[cc] = p;
    const [x, y] = cellCentre(mesh, k);
    const lc = LAND_CLASSES[clsOf[k]!]!;
    const nearVillage = villages.some((v) => v.radius > 0 && Math.hypot(v.x - x, v.y - y) < v.radius + 120);
    const basic =
      lc.cultivated &&
      du[k]! > 4400 &&
      !nearVillage &&
      basicNoise(x, y) < 0.85 &&
      !(unit[k] === zoneIdx && Math.hypot(x - zoneCentre[0], y - zoneCentre[1]) < 3000);
    const h = hill[k]!;
    const slope = h < 0.3 ? 1 : h < 0.4 ? 2 : h < 0.5 ? 3 : h < 0.6 ? 4 : 5;
    const ring =
      cells.length === 1
        ? cellRing(mesh, i, (k - i) / nx)
        : traceComponent(mesh, cells, (o) => o === cells[0] || o === cells[1])[0]!;
    parcels.push({ cells, unit: unit[k]!, cls: clsOf[k]!, basic, slope, ring });
  }

  // ---- planning zones (建设用地管制区) ------------------------------------------------------------
  const zone = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    if (!inside[k]) continue;
    const [x, y] = cellCentre(mesh, k);
    const lc = LAND_CLASSES[clsOf[k]!]!;
    const zoneDist = Math.hypot(x - zoneCentre[0], y - zoneCentre[1]);
    let z: number;
    if (river[k] || hill[k]! > 0.7) z = 3;
    else if (
      core[k] ||
      inVillage[k]! >= 0 ||
      (unit[k] === zoneIdx && zoneDist < 1900) ||
      lc.group === 'construction'
    )
      z = 0;
    else if (du[k]! < 4400 || (unit[k] === zoneIdx && zoneDist < 3000)) z = 1;
    else z = 2;
    zone[k] = z;
  }
  smoothZones(mesh, zone, river);

  // ---- polygons --------------------------------------------------------------------------------
  const insideComp = components(
    mesh,
    Int32Array.from(inside, (v) => (v ? 0 : -1)),
  );
  const districtRings = traceComponent(mesh, insideComp[0]!.cells, (k) => inside[k] === 1);
  const unitRings: Ring[][] = UNITS.map(() => []);
  for (const comp of components(mesh, unit))
    unitRings[comp.label] = traceComponent(mesh, comp.cells, (k) => unit[k] === comp.label);
  const zoneLabel = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) if (inside[k]) zoneLabel[k] = zone[k]! * 100 + unit[k]!;
  const zoneAreas = components(mesh, zoneLabel).map((comp) => ({
    zone: Math.floor(comp.label / 100),
    unit: comp.label % 100,
    rings: traceComponent(mesh, comp.cells, (k) => zoneLabel[k] === comp.label),
  }));

  let cellsInside = 0;
  for (let k = 0; k < n; k++) cellsInside += inside[k]!;
  return {
    seed,
    scale,
    mesh,
    centre: U,
    inside,
    unit,
    cls: clsOf,
    zone,
    parcelOf,
    du,
    hill,
    core,
    river,
    villages,
    quarries,
    zoneCentre,
    parcels,
    districtRings,
    unitRings,
    zoneAreas,
    cellsInside,
  };
}

export function cellAtXY(m: Mesh, x: number, y: number): number {
  const i = Math.floor((x - m.x0) / m.cell);
  const j = Math.floor((y - m.y0) / m.cell);
  return i < 0 || j < 0 || i >= m.nx || j >= m.ny ? -1 : j * m.nx + i;
}

/** Calls f for every cell whose unjittered square comes within `reach` metres of (x, y). */
export function forCellsNear(m: Mesh, x: number, y: number, reach: number, f: (k: number) => void): void {
  const i0 = Math.max(0, Math.floor((x - reach - m.x0) / m.cell));
  const i1 = Math.min(m.nx - 1, Math.floor((x + reach - m.x0) / m.cell));
  const j0 = Math.max(0, Math.floor((y - reach - m.y0) / m.cell));
  const j1 = Math.min(m.ny - 1, Math.floor((y + reach - m.y0) / m.cell));
  for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) f(j * m.nx + i);
}

/** Keeps the largest 4-connected part of the mask and fills its holes, so the outline is one ring. */
function keepLargestAndFill(m: Mesh, mask: Uint8Array): void {
  const parts = components(
    m,
    Int32Array.from(mask, (v) => (v ? 0 : -1)),
  );
  let largest = parts[0]!;
  for (const p of parts) if (p.cells.length > largest.cells.length) largest = p;
  mask.fill(0);
  for (const k of largest.cells) mask[k] = 1;
  const outside = components(
    m,
    Int32Array.from(mask, (v) => (v ? -1 : 0)),
  );
  for (const comp of outside) {
    const touchesBorder = comp.cells.some((k) => {
      const i = k % m.nx;
      const j = (k - i) / m.nx;
      return i === 0 || j === 0 || i === m.nx - 1 || j === m.ny - 1;
    });
    if (!touchesBorder) for (const k of comp.cells) mask[k] = 1;
  }
}

/** Gives every unit a single 4-connected territory: stray pieces join the neighbour they border most. */
function oneComponentPerUnit(m: Mesh, unit: Int32Array): void {
  for (let round = 0; round < 50; round++) {
    const comps = components(m, unit);
    const largest = new Map<number, number>();
    for (const c of comps) largest.set(c.label, Math.max(largest.get(c.label) ?? 0, c.cells.length));
    let changed = false;
    const kept = new Set<number>();
    for (const c of comps) {
      if (c.cells.length === largest.get(c.label) && !kept.has(c.label)) {
        kept.add(c.label);
        continue;
      }
      const votes = new Map<number, number>();
      for (const k of c.cells)
        for (const nb of neighbours(m, k)) {
          const l = unit[nb]!;
          if (l >= 0 && l !== c.label) votes.set(l, (votes.get(l) ?? 0) + 1);
        }
      let best = -1;
      let bestV = -1;
      for (const [l, v] of [...votes].sort((a, b) => a[0] - b[0]))
        if (v > bestV) {
          best = l;
          bestV = v;
        }
      if (best < 0) continue;
      for (const k of c.cells) unit[k] = best;
      changed = true;
    }
    if (!changed) return;
  }
}

/** Distance (m, along the grid) from each inside cell to the nearest cell of the set. */
function distanceToSet(m: Mesh, set: Uint8Array, inside: Uint8Array): Float32Array {
  const d = new Float32Array(set.length).fill(Infinity);
  const queue: number[] = [];
  for (let k = 0; k < set.length; k++)
    if (set[k]) {
      d[k] = 0;
      queue.push(k);
    }
  for (let q = 0; q < queue.length; q++) {
    const k = queue[q]!;
    for (const nb of neighbours(m, k))
      if (inside[nb] && d[nb] === Infinity) {
        d[nb] = d[k]! + m.cell;
        queue.push(nb);
      }
  }
  return d;
}

/** One pass of a 3×3 majority filter over the planning zones (rivers stay forbidden). */
function smoothZones(m: Mesh, zone: Int32Array, river: Uint8Array): void {
  const copy = Int32Array.from(zone);
  for (let k = 0; k < zone.length; k++) {
    if (copy[k]! < 0 || river[k]) continue;
    const i = k % m.nx;
    const j = (k - i) / m.nx;
    const counts = [0, 0, 0, 0];
    for (let dj = -1; dj <= 1; dj++)
      for (let di = -1; di <= 1; di++) {
        const ii = i + di;
        const jj = j + dj;
        if (ii < 0 || jj < 0 || ii >= m.nx || jj >= m.ny) continue;
        const z = copy[jj * m.nx + ii]!;
        if (z >= 0) counts[z]!++;
      }
    let best = copy[k]!;
    for (let z = 0; z < 4; z++) if (counts[z]! >= 5 && counts[z]! > counts[best]!) best = z;
    zone[k] = best;
  }
}
