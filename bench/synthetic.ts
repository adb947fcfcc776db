// A synthetic district (or province) for the analysis benchmark, written straight into the packed
// shared form the analysis reads (jobs/analysis-context.ts): farmland parcels on a jittered grid
// with shared edges, towns as strips, planning zones as blocks, approvals as scattered rectangles,
// and star-shaped patches of 10–40 vertices (0.5 % invalid: bowties). Deterministic per seed.
import { encodeWkb } from '../src/geo/wkb.ts';
import { ellipsoidalArea } from '../src/geo/area.ts';
import type { Areal, Polygon, Position, Ring } from '../src/geo/geometry.ts';
import { bboxOf } from '../src/geo/geometry.ts';
import { metresPerDegree } from '../src/geo/metric-buffer.ts';
import { allocate, buildTree, type PackedLayer } from '../src/geo/reference-index.ts';

const LON0 = 117.8;
const LAT0 = 36.3;
const K = metresPerDegree(LAT0);
export const toLonLat = (x: number, y: number): Position => [LON0 + x / K.x, LAT0 + y / K.y];

export function mulberry32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const polygon = (ring: Ring): Polygon => ({ type: 'Polygon', coordinates: [ring] });
const rectRing = (x0: number, y0: number, x1: number, y1: number): Ring => {
  const r = [toLonLat(x0, y0), toLonLat(x1, y0), toLonLat(x1, y1), toLonLat(x0, y1)];
  r.push(r[0]!);
  return r;
};

/** Packs geometries into shared memory, two passes so that nothing is held as objects. */
export function packGenerated(
  name: string,
  n: number,
  make: (i: number) => { g: Areal; attributes?: Record<string, unknown> },
  coverage: boolean,
): PackedLayer {
  // First pass: sizes. Generation is deterministic per index, so the second pass repeats it.
  const offsets = allocate(Float64Array, n + 1, true);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + encodeWkb(make(i).g).byteLength;
  const wkb = allocate(Uint8Array, offsets[n]!, true);
  const areas = allocate(Float64Array, n, true);
  const boxes = allocate(Float64Array, 4 * n, true);
  const ids: number[] = new Array<number>(n);
  const attributes: Record<string, unknown>[] = new Array<Record<string, unknown>>(n);
  for (let i = 0; i < n; i++) {
    const { g, attributes: a } = make(i);
    wkb.set(encodeWkb(g), offsets[i]!);
    areas[i] = ellipsoidalArea(g);
    const b = bboxOf(g);
    boxes.set([b.minx, b.miny, b.maxx, b.maxy], 4 * i);
    ids[i] = i + 1;
    attributes[i] = a ?? {};
  }
  return {
    name,
    size: n,
    bufferM: 0,
    coverage,
    wkb,
    offsets,
    areas,
    boxes,
    tree: buildTree(boxes, n, true),
    ids,
    attributes,
    skipped: [],
  };
}

/** Vertices of a side × side grid of cells, jittered inside (shared by neighbouring parcels). */
export function jitteredGrid(
  side: number,
  cell: number,
  rand: () => number,
): (i: number, j: number) => Position {
  const jx = new Float32Array((side + 1) * (side + 1));
  const jy = new Float32Array((side + 1) * (side + 1));
  for (let i = 0; i <= side; i++)
    for (let j = 0; j <= side; j++) {
      const k = i * (side + 1) + j;
      const edge = i === 0 || j === 0 || i === side || j === side;
      jx[k] = i * cell + (edge ? 0 : (rand() - 0.5) * cell * 0.4);
      jy[k] = j * cell + (edge ? 0 : (rand() - 0.5) * cell * 0.4);
    }
  return (i, j) => {
    const k = i * (side + 1) + j;
    return toLonLat(jx[k]!, jy[k]!);
  };
}

export interface SyntheticCase {
  extentM: number;
  farmland: PackedLayer;
  units: PackedLayer;
  zones: PackedLayer;
  approvals: PackedLayer;
  /** Patches as WKB (lon/lat), some invalid. */
  patches: { id: number; jcbh: string; wkb: Uint8Array; hsx: string }[];
  /** Ids of the patches made invalid (repaired by the analysis). */
  invalid: Set<number>;
}

export function syntheticCase(parcels: number, patchCount: number, seed = 20261126): SyntheticCase {
  const side = Math.ceil(Math.sqrt(parcels));
  const cell = 40;
  const extent = side * cell;
  const rand = mulberry32(seed);
  const vtx = jitteredGrid(side, cell, rand);
  const farmland = packGenerated(
    '耕地',
    Math.min(parcels, side * side),
    (n) => {
      const i = Math.floor(n / side);
      const j = n % side;
      const a = vtx(i, j);
      return {
        g: polygon([a, vtx(i + 1, j), vtx(i + 1, j + 1), vtx(i, j + 1), a]),
        attributes: { DLBM: '0103' },
      };
    },
    true,
  );
  const strips = 12;
  const units = packGenerated(
    '镇街/责任单位界线',
    strips,
    (i) => ({
      g: polygon(rectRing((i * extent) / strips, 0, ((i + 1) * extent) / strips, extent)),
      attributes: { DWDM: String(370306100 + i), DWMC: `第${i + 1}镇` },
    }),
    true,
  );
  const zx = 20;
  const zy = 15;
  const zones = packGenerated(
    '土地利用总体规划分区',
    zx * zy,
    (k) => {
      const i = k % zx;
      const j = Math.floor(k / zx);
      return {
        g: polygon(
          rectRing((i * extent) / zx, (j * extent) / zy, ((i + 1) * extent) / zx, ((j + 1) * extent) / zy),
        ),
        attributes: { GZQLXDM: ['010', '020', '030', '040'][(i + j) % 4] },
      };
    },
    true,
  );
  const approvalCount = Math.max(100, Math.round(patchCount / 5));
  const ax = Array.from({ length: approvalCount }, () => [
    rand() * (extent - 400),
    rand() * (extent - 400),
    50 + rand() * 300,
    50 + rand() * 300,
  ]);
  const approvals = packGenerated(
    '农用地转用批准范围',
    approvalCount,
    (i) => {
      const [x, y, w, h] = ax[i]!;
      return {
        g: polygon(rectRing(x!, y!, x! + w!, y! + h!)),
        attributes: { PZWH: `鲁政土字〔2016〕${i + 1}号`, PZRQ: '2016-06-01' },
      };
    },
    false,
  );
  const patches: SyntheticCase['patches'] = [];
  const invalid = new Set<number>();
  for (let k = 0; k < patchCount; k++) {
    const cx = 200 + rand() * (extent - 400);
    const cy = 200 + rand() * (extent - 400);
    const n = 10 + Math.floor(rand() * 31);
    const r0 = 20 + rand() * 60;
    const ring: Ring = [];
    for (let v = 0; v < n; v++) {
      const t = (2 * Math.PI * v) / n;
      const r = r0 * (0.6 + 0.4 * rand());
      ring.push(toLonLat(cx + r * Math.cos(t), cy + r * Math.sin(t)));
    }
    if (rand() < 0.005) {
      [ring[1], ring[2]] = [ring[2]!, ring[1]!]; // a bowtie, repaired by the analysis
      invalid.add(k + 1);
    }
    ring.push(ring[0]!);
    patches.push({
      id: k + 1,
      jcbh: `B${String(k + 1).padStart(6, '0')}`,
      wkb: encodeWkb(polygon(ring)),
      hsx: '2017-10-01',
    });
  }
  return { extentM: extent, farmland, units, zones, approvals, patches, invalid };
}
