// Quick throughput check of the overlay engine (not a test): a synthetic district near 117.8°E
// 36.8°N with 100,000 cultivated-land parcels (a jittered grid: shared edges, ~0.5 % made invalid
// — bowties, spikes, duplicate vertices — then repaired as an import would) and 5,000 patches of
// 10–40 vertices; plus 12 towns and 300 planning zones, where the reference side is prepared.
//
//   node --import tsx bench/overlay-quick.ts [patches] [parcels]

import { initGeos } from '../src/geo/geos.ts';
import type { Areal, Position, Ring } from '../src/geo/geometry.ts';
import { buildReferenceIndex, type ReferenceFeature } from '../src/geo/reference-index.ts';
import { coverArea, overlayShape, PatchShape } from '../src/geo/overlay.ts';
import { jitteredGrid, mulberry32, toLonLat } from './synthetic.ts';
import { analysePatch, type AnalysisLayers } from '../src/domain/analysis.ts';
import { loadRulePack } from '../src/domain/rulepack.ts';

const PATCHES = Number(process.argv[2] ?? 5000);
const PARCELS = Number(process.argv[3] ?? 100_000);
const rand = mulberry32(20261126); // reproducible runs

const side = Math.ceil(Math.sqrt(PARCELS));
const cell = 50; // metres
const extent = side * cell;
// Jittered grid vertices shared by neighbouring parcels.
const vtx = jitteredGrid(side, cell, rand);

const t0 = performance.now();
const geos = await initGeos();
const parcels: ReferenceFeature[] = [];
let dirty = 0;
for (let i = 0; i < side && parcels.length < PARCELS; i++)
  for (let j = 0; j < side && parcels.length < PARCELS; j++) {
    const a = vtx(i, j);
    const b = vtx(i + 1, j);
    const c = vtx(i + 1, j + 1);
    const d = vtx(i, j + 1);
    let ring: Ring = [a, b, c, d, a];
    const r = rand();
    if (r < 0.002)
      ring = [a, c, b, d, a]; // bowtie
    else if (r < 0.004)
      ring = [a, b, [b[0] + 0.001, b[1]], b, c, d, a]; // spike
    else if (r < 0.005) ring = [a, a, b, b, c, d, a]; // duplicate vertices
    let geometry: Areal = { type: 'Polygon', coordinates: [ring] };
    if (r < 0.005) {
      dirty++;
      geometry = geos.makeValid(geometry) ?? geometry; // what import-layer stores
    }
    parcels.push({ id: parcels.length + 1, geometry, attributes: { DLBM: '0103' } });
  }
const tGen = performance.now();
const index = buildReferenceIndex(geos, parcels, { name: '耕地' });
const tBuild = performance.now();

function patchAt(cx: number, cy: number): Areal {
  const n = 10 + Math.floor(rand() * 31);
  const r0 = 20 + rand() * 60;
  const ring: Ring = [];
  for (let k = 0; k < n; k++) {
    const t = (2 * Math.PI * k) / n;
    const r = r0 * (0.6 + 0.4 * rand());
    ring.push(toLonLat(cx + r * Math.cos(t), cy + r * Math.sin(t)));
  }
  ring.push(ring[0]!);
  return { type: 'Polygon', coordinates: [ring] };
}
const patches: Areal[] = [];
for (let k = 0; k < PATCHES; k++)
  patches.push(patchAt(100 + rand() * (extent - 200), 100 + rand() * (extent - 200)));

function run(label: string, f: (shape: PatchShape) => { pieces: number; errors: number; m2: number }): void {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let pieces = 0;
  let errors = 0;
  let m2 = 0;
  for (const g of patches) {
    const shape = new PatchShape(geos, g);
    try {
      const r = f(shape);
      pieces += r.pieces;
      errors += r.errors;
      m2 += r.m2;
    } finally {
      shape.dispose();
    }
  }
  const s = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // CPU seconds as well: on a shared machine wall-clock time measures the neighbours.
  const c = (cpu.user + cpu.system) / 1e6;
  console.log(
    `${label}: ${patches.length} patches in ${s.toFixed(2)} s = ${Math.round(patches.length / s)} patches/s ` +
      `(CPU ${c.toFixed(2)} s = ${Math.round(patches.length / c)} patches per CPU-second); ` +
      `${pieces} pieces, ${errors} errors, Σ ${(m2 / 1e6).toFixed(3)} km²`,
  );
}

console.log(
  `GEOS ${geos.version}; ${parcels.length} parcels (${dirty} dirty, repaired) generated in ${((tGen - t0) / 1000).toFixed(2)} s; ` +
    `index (${index.prepareSide} side prepared) built in ${((tBuild - tGen) / 1000).toFixed(2)} s`,
);
run('overlay with parcels (pieces)', (shape) => {
  const r = overlayShape(shape, index);
  return { pieces: r.pieces.length, errors: r.errors.length, m2: r.pieces.reduce((s, p) => s + p.areaM2, 0) };
});
run('farmland cover (union of pieces)', (shape) => {
  const r = coverArea(shape, index);
  return { pieces: r.pieces.length, errors: r.errors.length, m2: r.coveredM2 };
});
const coverageIndex = buildReferenceIndex(geos, parcels, { name: '耕地', coverage: true });
run('farmland cover (declared coverage: sum of pieces)', (shape) => {
  const r = coverArea(shape, coverageIndex);
  return { pieces: r.pieces.length, errors: r.errors.length, m2: r.coveredM2 };
});
coverageIndex.dispose();

// Few large polygons: 12 towns (3 × 4 blocks) and 300 zones (15 × 20 blocks) with jagged edges.
function blocks(nx: number, ny: number): ReferenceFeature[] {
  const out: ReferenceFeature[] = [];
  const w = extent / nx;
  const h = extent / ny;
  const edge = (x0: number, y0: number, x1: number, y1: number, steps: number): Position[] => {
    const pts: Position[] = [];
    for (let s = 0; s < steps; s++)
      pts.push(toLonLat(x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps));
    return pts;
  };
  for (let i = 0; i < nx; i++)
    for (let j = 0; j < ny; j++) {
      const [x0, y0, x1, y1] = [i * w, j * h, (i + 1) * w, (j + 1) * h];
      const ring: Ring = [
        ...edge(x0, y0, x1, y0, 50),
        ...edge(x1, y0, x1, y1, 50),
        ...edge(x1, y1, x0, y1, 50),
        ...edge(x0, y1, x0, y0, 50),
      ];
      ring.push(ring[0]!);
      out.push({ id: `${i}-${j}`, geometry: { type: 'Polygon', coordinates: [ring] } });
    }
  return out;
}
for (const [label, nx, ny] of [
  ['12 towns', 3, 4],
  ['300 zones', 15, 20],
] as const) {
  const idx = buildReferenceIndex(geos, blocks(nx, ny));
  run(`${label} (${idx.prepareSide} side prepared)`, (shape) => {
    const r = overlayShape(shape, idx);
    return {
      pieces: r.pieces.length,
      errors: r.errors.length,
      m2: r.pieces.reduce((s, p) => s + p.areaM2, 0),
    };
  });
  const idxPatch = buildReferenceIndex(geos, blocks(nx, ny), { prepare: 'patch' });
  run(`${label} (patch side prepared, for comparison)`, (shape) => {
    const r = overlayShape(shape, idxPatch);
    return {
      pieces: r.pieces.length,
      errors: r.errors.length,
      m2: r.pieces.reduce((s, p) => s + p.areaM2, 0),
    };
  });
  idx.dispose();
  idxPatch.dispose();
}

// The whole per-patch analysis against a district's worth of layers.
const pack = loadRulePack('2017-land');
const codes = ['0103', '0103', '0103', '0201', '0702', '0601'];
const landUse = parcels.map((f, i) => ({ ...f, attributes: { DLBM: codes[i % codes.length]! } }));
const farm = landUse.filter((f) => f.attributes.DLBM === '0103');
function randomRects(
  n: number,
  minM: number,
  maxM: number,
  attrs: (i: number) => Record<string, unknown>,
): ReferenceFeature[] {
  const out: ReferenceFeature[] = [];
  for (let i = 0; i < n; i++) {
    const w = minM + rand() * (maxM - minM);
    const h = minM + rand() * (maxM - minM);
    const x = rand() * (extent - w);
    const y = rand() * (extent - h);
    const ring: Ring = [
      toLonLat(x, y),
      toLonLat(x + w, y),
      toLonLat(x + w, y + h),
      toLonLat(x, y + h),
      toLonLat(x, y),
    ];
    out.push({ id: i + 1, geometry: { type: 'Polygon', coordinates: [ring] }, attributes: attrs(i) });
  }
  return out;
}
const zoneCodes = ['010', '020', '030', '040'];
const layers: AnalysisLayers = {
  unit: buildReferenceIndex(
    geos,
    blocks(3, 4).map((f, i) => ({
      ...f,
      attributes: { DWDM: `370306${String(i + 1).padStart(3, '0')}`, DWMC: `镇${i + 1}` },
    })),
    { coverage: true },
  ),
  'land-use': buildReferenceIndex(geos, landUse, { coverage: true }),
  farmland: buildReferenceIndex(geos, farm, { coverage: true }),
  'basic-farmland': buildReferenceIndex(
    geos,
    farm.filter((_, i) => i % 2 === 0),
    { coverage: true },
  ),
  planning: buildReferenceIndex(
    geos,
    blocks(15, 20).map((f, i) => ({ ...f, attributes: { GZQLXDM: zoneCodes[i % 4]! } })),
    { coverage: true },
  ),
  approval: buildReferenceIndex(
    geos,
    randomRects(1500, 80, 400, (i) => ({ PZWH: `鲁政土字〔2016〕${i}号` })),
  ),
  supply: buildReferenceIndex(
    geos,
    randomRects(500, 60, 200, (i) => ({ DZJGH: `3703062016B${i}` })),
  ),
  facility: buildReferenceIndex(
    geos,
    randomRects(300, 30, 120, (i) => ({ BABH: `SN${i}` })),
  ),
  temporary: buildReferenceIndex(
    geos,
    randomRects(100, 30, 120, (i) => ({ PZWH: `临${i}`, YXQ: '2016-01-01至2018-12-31' })),
  ),
};
{
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const outcomes: Record<string, number> = {};
  let errors = 0;
  for (const [k, g] of patches.entries()) {
    const r = analysePatch({ jcbh: String(k), geometry: g, hsx: '2017-10' }, layers, pack);
    outcomes[r.fields.prejudgement as string] = (outcomes[r.fields.prejudgement as string] ?? 0) + 1;
    errors += r.detail.errors.length;
  }
  const s = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const c = (cpu.user + cpu.system) / 1e6;
  console.log(
    `analysePatch with 9 layers: ${patches.length} patches in ${s.toFixed(2)} s = ${Math.round(patches.length / s)} patches/s ` +
      `(CPU ${c.toFixed(2)} s = ${Math.round(patches.length / c)} patches per CPU-second); ${errors} errors; ${JSON.stringify(outcomes)}`,
  );
}
for (const idx of Object.values(layers)) idx.dispose();
index.dispose();
console.log(`peak RSS ≈ ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`);
