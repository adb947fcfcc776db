// npm run bench:import — a 100,000-parcel GBK Shapefile in EPSG:4527 imported as a reference layer
// (read, decode GBK, reproject, validate and repair with GEOS, ellipsoidal area, write to PGlite
// in staged chunks), beside GDAL's ogr2ogr converting the same file to GeoPackage in the same run.
// Prints seconds, peak memory and the ratio. Not a test: machines here are noisy.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeShapefile, type FixtureFeature } from '../test/helpers/ogr.ts';

const N = Number(process.env.BENCH_PARCELS ?? 100_000);
const here = path.dirname(fileURLToPath(import.meta.url));
const CLASSES = [
  ['0101', '水田'],
  ['0103', '旱地'],
  ['0201', '果园'],
  ['0301', '乔木林地'],
  ['0702', '农村宅基地'],
  ['1006', '农村道路'],
] as const;

function parcels(n: number): FixtureFeature[] {
  const side = Math.ceil(Math.sqrt(n));
  return Array.from({ length: n }, (_, i) => {
    const x = 39540000 + (i % side) * 40;
    const y = 4040000 + Math.floor(i / side) * 40;
    const j = ((i * 7919) % 13) - 6; // shared-edge jitter keeps neighbours' vertices identical
    const ring: [number, number][] = [
      [x, y],
      [x + 40, y],
      [x + 40, y + 40 + j],
      [x + 20, y + 40],
      [x, y + 40],
      [x, y],
    ];
    const [code, name] = CLASSES[i % CLASSES.length]!;
    return {
      properties: { BSM: i + 1, DLBM: code, DLMC: name, ZLDWMC: '周村区南郊镇', TBMJ: 1600 },
      geometry: { type: 'Polygon', coordinates: [ring] },
    };
  });
}

/** Runs a command, sampling its peak resident memory from /proc while it runs. */
function measure(cmd: string, args: string[]): Promise<{ seconds: number; peakMB: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let peak = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setInterval(async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
      } catch {
        /* exited */
      }
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`${cmd} exited ${code}`));
      else resolve({ seconds: (performance.now() - t0) / 1000, peakMB: peak, stdout });
    });
  });
}

const dir = await mkdtemp(path.join(tmpdir(), 'weipian-bench-import-'));
try {
  process.stdout.write(`生成 ${N} 个地类图斑（GBK Shapefile，EPSG:4527）…\n`);
  const f = await writeShapefile(dir, parcels(N), { name: '地类图斑', lco: ['ENCODING=CP936'] });
  const ogr = await measure('ogr2ogr', ['-f', 'GPKG', path.join(dir, 'out.gpkg'), f.shp]);
  const ours = await measure(process.execPath, [
    '--import',
    'tsx',
    path.join(here, 'import-child.ts'),
    f.shp,
    path.join(dir, 'db'),
  ]);
  const inner = JSON.parse(ours.stdout) as { seconds: number; imported: number; maxRssMB: number };
  if (inner.imported !== N) throw new Error(`imported ${inner.imported} of ${N}`);
  const rows = [
    ['ogr2ogr → GeoPackage', ogr.seconds, ogr.peakMB],
    ['weipian import layer (process)', ours.seconds, Math.max(ours.peakMB, inner.maxRssMB)],
    ['  of which the import itself', inner.seconds, inner.maxRssMB],
  ] as const;
  for (const [name, s, mb] of rows)
    process.stdout.write(
      `${name.padEnd(32)} ${s.toFixed(1).padStart(7)} s  ${mb.toFixed(0).padStart(6)} MB\n`,
    );
  process.stdout.write(
    `ratio weipian/ogr2ogr: ${(ours.seconds / ogr.seconds).toFixed(2)}× (goal ≤ 2×); peak ${Math.max(ours.peakMB, inner.maxRssMB).toFixed(0)} MB (goal < 1024 MB)\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
