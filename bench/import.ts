// npm run bench:import — a 100,000-parcel GBK Shapefile in EPSG:4527 imported as a reference layer
// (read, decode GBK, reproject, validate and repair with GEOS, ellipsoidal area, COPY into PGlite
// in staged chunks, publish), beside GDAL's ogr2ogr converting the same file to GeoPackage in the
// same run. Not a test, and not run in CI: machines here are noisy.
//
// Each run times, in separate processes: ogr2ogr, then `weipian import layer` as the CLI does it —
// open an existing database (created once beforehand, as a district's is), import, close. The
// database's one-time creation is timed on its own. Wall-clock and CPU seconds are both reported:
// on a shared machine CPU seconds are the steadier comparison. BENCH_RUNS (default 3) runs, median
// reported; BENCH_PARCELS (default 100,000); BENCH_WORKER=0|1 forces reading in the main thread or
// in a worker thread (default: by size, as the importer decides).
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeShapefile, type FixtureFeature } from '../test/helpers/ogr.ts';

const N = Number(process.env.BENCH_PARCELS ?? 100_000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
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

interface Measured {
  seconds: number;
  /** User + system CPU seconds of the process (all its threads); NaN when unknown. */
  cpu: number;
  peakMB: number;
  stdout: string;
}

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = spawnSync(GNU_TIME, ['-f', '%e', 'true']).status === 0;

/**
 * Runs a command: wall time from here; CPU and peak memory from GNU time when installed, else peak
 * memory sampled from /proc (and CPU unknown).
 */
function measure(cmd: string, args: string[]): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const timed = hasGnuTime ? [GNU_TIME, ['-f', 'BENCHTIME %U %S %M', cmd, ...args]] : [cmd, args];
    const child = spawn(timed[0] as string, timed[1] as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
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
      const seconds = (performance.now() - t0) / 1000;
      const t = /BENCHTIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
      const rest = stderr.replace(/BENCHTIME .*\n?/, '');
      if (rest.trim()) process.stderr.write(rest);
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}`));
      resolve({
        seconds,
        cpu: t ? Number(t[1]) + Number(t[2]) : NaN,
        peakMB: t ? Number(t[3]) / 1024 : peak,
        stdout,
      });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (s: number) => (Number.isFinite(s) ? s.toFixed(1) : '—').padStart(6);

interface ChildReport {
  openSeconds: number;
  importSeconds: number;
  closeSeconds: number;
  imported: number;
  inWorker: boolean;
  maxRssMB: number;
}

const dir = await mkdtemp(path.join(tmpdir(), 'weipian-bench-import-'));
try {
  process.stdout.write(`生成 ${N} 个地类图斑（GBK Shapefile，EPSG:4527）…\n`);
  const f = await writeShapefile(dir, parcels(N), { name: '地类图斑', lco: ['ENCODING=CP936'] });
  const child = (...args: string[]) =>
    measure(process.execPath, ['--import', 'tsx', path.join(here, 'import-child.ts'), ...args]);

  // The district's database, created and migrated once (not part of an import).
  const template = path.join(dir, 'db-template');
  const created = await child('--create', template);
  process.stdout.write(
    `建库（一次性，不计入导入）：${created.seconds.toFixed(1)} s，峰值 ${created.peakMB.toFixed(0)} MB\n`,
  );

  const rows: { ogr: Measured; ours: Measured; inner: ChildReport }[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const ogr = await measure('ogr2ogr', ['-f', 'GPKG', path.join(dir, `out-${run}.gpkg`), f.shp]);
    const db = path.join(dir, `db-${run}`);
    await cp(template, db, { recursive: true });
    const ours = await child(f.shp, db);
    const inner = JSON.parse(ours.stdout) as ChildReport;
    if (inner.imported !== N) throw new Error(`imported ${inner.imported} of ${N}`);
    rows.push({ ogr, ours, inner });
    process.stdout.write(
      `第 ${run} 次：ogr2ogr ${ogr.seconds.toFixed(1)} s（CPU ${ogr.cpu.toFixed(1)} s）；weipian ${ours.seconds.toFixed(1)} s（CPU ${ours.cpu.toFixed(1)} s；` +
        `打开 ${inner.openSeconds.toFixed(1)} s，导入 ${inner.importSeconds.toFixed(1)} s${inner.inWorker ? '，工作线程读取' : '，主线程读取'}）\n`,
    );
    await rm(db, { recursive: true, force: true });
  }

  const m = {
    ogrWall: median(rows.map((r) => r.ogr.seconds)),
    ogrCpu: median(rows.map((r) => r.ogr.cpu)),
    ogrMB: Math.max(...rows.map((r) => r.ogr.peakMB)),
    wall: median(rows.map((r) => r.ours.seconds)),
    cpu: median(rows.map((r) => r.ours.cpu)),
    imp: median(rows.map((r) => r.inner.importSeconds)),
    mb: Math.max(...rows.map((r) => Math.max(r.ours.peakMB, r.inner.maxRssMB))),
  };
  process.stdout.write(`\n中位数（${RUNS} 次）          wall s    CPU s    峰值 MB\n`);
  for (const [name, s, c, mb] of [
    ['ogr2ogr → GeoPackage', m.ogrWall, m.ogrCpu, m.ogrMB],
    ['weipian import layer (process)', m.wall, m.cpu, m.mb],
    ['  of which the import itself', m.imp, NaN, NaN],
  ] as const)
    process.stdout.write(
      `${name.padEnd(31)} ${fmt(s)}  ${fmt(c)}  ${Number.isFinite(mb) ? mb.toFixed(0).padStart(7) : ''}\n`,
    );
  process.stdout.write(
    `ratio weipian/ogr2ogr: process ${(m.wall / m.ogrWall).toFixed(2)}× wall, ${(m.cpu / m.ogrCpu).toFixed(2)}× CPU; ` +
      `import itself ${(m.imp / m.ogrWall).toFixed(2)}× (goal ≤ 2×); peak ${m.mb.toFixed(0)} MB (goal < 1024 MB)\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
