// npm run bench:import — a 100,000-parcel GBK Shapefile in EPSG:4527 imported as a reference layer
// (read, decode GBK, reproject, validate and repair with GEOS, ellipsoidal area, COPY in staged
// chunks, publish), beside GDAL's ogr2ogr converting the same file to GeoPackage in the same run.
// Not a test, and not run in CI: machines here are noisy.
//
// What is measured is what users run: the sources are compiled once, with the options of
// `npm run build` (tsconfig.build.json), into tmp/bench-import/, and every measured process runs
// that build with plain node — `weipian import layer` is its src/cli/main.js, which is what
// bin/weipian.js loads (the repository's own dist/ is left alone: it may be stale, or in use).
// Each run times, in separate processes: ogr2ogr; the command `weipian import layer <shp> --type
// land-use --json` against a data folder holding an existing database (created once beforehand,
// as a district's is); and the compiled bench/import-child.ts doing the same import in-process, to
// split it into loading, opening the database, the import itself and closing, each with the CPU of
// the main thread (where PGlite runs) and of the whole process. The command's start (`weipian
// --version`: Node plus loading the CLI's modules) and the database's one-time creation are timed
// on their own, and so, once, is the database's share alone: the same COPY chunks loaded into an
// empty table with reference_features' columns, then with its keys and indexes added one by one.
//
// With BENCH_DATABASE_URL (a PostgreSQL server, e.g. the test cluster on port 54329) every run also
// imports into a fresh PostgreSQL database, the production engine; its CPU is the client process
// plus the server backends serving it (read from /proc while it runs, so only for a local server;
// WAL writer and checkpointer are not counted).
//
// Wall-clock and CPU seconds are both reported: on a shared machine CPU seconds and ratios within
// one run are the steadier comparison. BENCH_RUNS (default 3) runs, median reported;
// BENCH_PARCELS (default 100,000); BENCH_WORKER=0|1 makes the in-process breakdown read in the
// main thread or in a worker thread (default, and always for the command: by size, as the
// importer decides).
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { writeShapefile, type FixtureFeature } from '../test/helpers/ogr.ts';

const N = Number(process.env.BENCH_PARCELS ?? 100_000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const PG_URL = process.env.BENCH_DATABASE_URL || undefined;
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
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
  /** CPU seconds of the PostgreSQL backends that served it (NaN when not measured). */
  serverCpu: number;
  peakMB: number;
  stdout: string;
}

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = spawnSync(GNU_TIME, ['-f', '%e', 'true']).status === 0;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * CPU of the server backends connected to one database, sampled from /proc every 50 ms while a
 * process runs (the last sample before a backend exits is what counts). NaN when the server's
 * processes cannot be read (not on this machine).
 */
class BackendCpu {
  private readonly ticks = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;
  private busy = false;
  private readable = false;

  constructor(
    private readonly client: pg.Client,
    private readonly database: string,
  ) {
    this.timer = setInterval(() => void this.sample(), 50);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.client.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = $1',
        [this.database],
      );
      for (const { pid } of rows) {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
        if (stat === null) continue;
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const t = Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
        this.readable = true;
        this.ticks.set(pid, Math.max(this.ticks.get(pid) ?? 0, t));
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): number {
    clearInterval(this.timer);
    if (!this.readable) return NaN;
    let sum = 0;
    for (const t of this.ticks.values()) sum += t;
    return sum / CLK_TCK;
  }
}

/**
 * Runs a command: wall time from here; CPU and peak memory from GNU time when installed, else peak
 * memory sampled from /proc (and CPU unknown).
 */
function measure(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; backends?: () => BackendCpu } = {},
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const backends = opts.backends?.();
    const t0 = performance.now();
    const timed = hasGnuTime ? [GNU_TIME, ['-f', 'BENCHTIME %U %S %M', cmd, ...args]] : [cmd, args];
    const child = spawn(timed[0] as string, timed[1] as string[], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
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
      const serverCpu = backends ? backends.stop() : NaN;
      const t = /BENCHTIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
      const rest = stderr.replace(/BENCHTIME .*\n?/, '');
      if (rest.trim()) process.stderr.write(rest);
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${stdout}`));
      resolve({
        seconds,
        cpu: t ? Number(t[1]) + Number(t[2]) : NaN,
        serverCpu,
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
const f1 = (s: number) => (Number.isFinite(s) ? s.toFixed(1) : '—');
const fmt = (s: number) => f1(s).padStart(6);
const sum = (...xs: number[]) => xs.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);

interface ChildReport {
  loadSeconds: number;
  openSeconds: number;
  importSeconds: number;
  closeSeconds: number;
  /** CPU seconds [main thread, whole process]. */
  loadCpu: [number, number];
  openCpu: [number, number];
  importCpu: [number, number];
  closeCpu: [number, number];
  imported: number;
  inWorker: boolean;
  maxRssMB: number;
}

interface FloorReport {
  steps: { name: string; mainCpu: number; serverCpu: number; seconds: number }[];
}

interface EngineRun {
  cli: Measured;
  inner: ChildReport;
}

// ---- build ------------------------------------------------------------------------------------

const buildDir = path.join(root, 'tmp', 'bench-import');
await rm(buildDir, { recursive: true, force: true });
await mkdir(buildDir, { recursive: true });
await writeFile(
  path.join(buildDir, 'tsconfig.json'),
  JSON.stringify({
    extends: '../../tsconfig.build.json',
    compilerOptions: { outDir: './dist', rootDir: '../..', sourceMap: false },
    include: ['../../src', '../../bench/import-child.ts'],
  }),
);
process.stdout.write('编译（tsconfig.build.json 的选项，输出到 tmp/bench-import/）…\n');
const CLI = path.join(buildDir, 'dist', 'src', 'cli', 'main.js');
const CHILD = path.join(buildDir, 'dist', 'bench', 'import-child.js');
{
  // tsc emits even when it reports type errors (e.g. in a file someone else is editing): go on
  // when the two entry points were written, and show the errors.
  const t0 = performance.now();
  const tsc = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(buildDir, 'tsconfig.json')],
    { encoding: 'utf8' },
  );
  const emitted = (await Promise.all([CLI, CHILD].map((f) => stat(f).catch(() => null)))).every(Boolean);
  if (tsc.status !== 0) process.stderr.write(tsc.stdout + tsc.stderr);
  if (!emitted) throw new Error('tsc did not emit the CLI and bench/import-child');
  process.stdout.write(`编译：${f1((performance.now() - t0) / 1000)} s\n`);
}

const loadAverage = async () =>
  (await readFile('/proc/loadavg', 'utf8').catch(() => '? ? ?')).split(' ').slice(0, 3).join(' ');
const loadAtStart = await loadAverage();
const dir = await mkdtemp(path.join(tmpdir(), 'weipian-bench-import-'));
const pgDatabases: string[] = [];
let admin: pg.Client | null = null;
const prefix = `weipian_bench_${process.pid}`;
const dbUrl = (name: string) => {
  const u = new URL(PG_URL!);
  u.pathname = `/${name}`;
  return u.toString();
};
try {
  process.stdout.write(`生成 ${N} 个地类图斑（GBK Shapefile，EPSG:4527）…\n`);
  const f = await writeShapefile(dir, parcels(N), { name: '地类图斑', lco: ['ENCODING=CP936'] });
  const baseEnv = { ...process.env };
  delete baseEnv.DATABASE_URL;
  delete baseEnv.WEIPIAN_DATA;
  delete baseEnv.WEIPIAN_PROGRESS;
  const cli = (env: NodeJS.ProcessEnv, backends?: () => BackendCpu) =>
    measure(process.execPath, [CLI, 'import', 'layer', f.shp, '--type', 'land-use', '--json'], {
      env: { ...baseEnv, ...env },
      backends,
    });
  const child = (args: string[], backends?: () => BackendCpu) =>
    measure(process.execPath, [CHILD, ...args], { env: baseEnv, backends });
  const checkCli = (m: Measured) => {
    const s = JSON.parse(m.stdout) as { ok: boolean; summary: { imported: number } };
    if (!s.ok || s.summary.imported !== N) throw new Error(`weipian import layer: ${m.stdout.slice(0, 500)}`);
  };
  const inner = (m: Measured) => {
    const r = JSON.parse(m.stdout) as ChildReport;
    if (r.imported !== N) throw new Error(`imported ${r.imported} of ${N}`);
    return r;
  };

  // The command's start: Node, then loading the CLI's modules (no database).
  const starts: Measured[] = [];
  const nodes: Measured[] = [];
  for (let i = 0; i < RUNS; i++) {
    nodes.push(await measure(process.execPath, ['-e', '0']));
    starts.push(await measure(process.execPath, [CLI, '--version']));
  }

  // The district's database, created and migrated once (not part of an import).
  const template = path.join(dir, 'template');
  await mkdir(template);
  const created = await child(['--create', path.join(template, 'db')]);
  process.stdout.write(
    `PGlite 建库（一次性，不计入导入）：${f1(created.seconds)} s，峰值 ${created.peakMB.toFixed(0)} MB\n`,
  );
  if (PG_URL) {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${prefix}_tpl`);
    pgDatabases.push(`${prefix}_tpl`);
    const c = await child(['--create', dbUrl(`${prefix}_tpl`)]);
    process.stdout.write(`PostgreSQL 建库（一次性）：${f1(c.seconds)} s\n`);
  }
  // The database's share alone: the same COPY chunks into empty tables with reference_features'
  // columns, adding its keys and indexes one at a time.
  const floors: { engine: string; report: FloorReport }[] = [];
  {
    const data = path.join(dir, 'data-floor');
    await cp(template, data, { recursive: true });
    const fl = await child(['--floor', f.shp, path.join(data, 'db')]);
    floors.push({ engine: 'PGlite', report: JSON.parse(fl.stdout) as FloorReport });
    await rm(data, { recursive: true, force: true });
  }
  if (PG_URL) {
    await admin!.query(`CREATE DATABASE ${prefix}_floor TEMPLATE ${prefix}_tpl`);
    pgDatabases.push(`${prefix}_floor`);
    const fl = await child(['--floor', f.shp, dbUrl(`${prefix}_floor`)]);
    floors.push({ engine: 'PostgreSQL', report: JSON.parse(fl.stdout) as FloorReport });
  }

  const freshPg = async (name: string) => {
    await admin!.query(`CREATE DATABASE ${name} TEMPLATE ${prefix}_tpl`);
    pgDatabases.push(name);
    return { url: dbUrl(name), backends: () => new BackendCpu(admin!, name) };
  };

  const ogrs: Measured[] = [];
  const lite: EngineRun[] = [];
  const post: EngineRun[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const ogr = await measure('ogr2ogr', ['-f', 'GPKG', path.join(dir, `out-${run}.gpkg`), f.shp]);
    ogrs.push(ogr);
    let line = `第 ${run} 次：ogr2ogr ${f1(ogr.seconds)} s（CPU ${f1(ogr.cpu)} s）`;

    const data = path.join(dir, `data-${run}`);
    await cp(template, data, { recursive: true });
    const liteCli = await cli({ WEIPIAN_DATA: data });
    checkCli(liteCli);
    await rm(data, { recursive: true, force: true });
    await cp(template, data, { recursive: true });
    const liteInner = inner(await child([f.shp, path.join(data, 'db')]));
    await rm(data, { recursive: true, force: true });
    lite.push({ cli: liteCli, inner: liteInner });
    line +=
      `；PGlite ${f1(liteCli.seconds)} s（CPU ${f1(liteCli.cpu)} s；分解：加载 ${f1(liteInner.loadSeconds)} s，` +
      `打开 ${f1(liteInner.openSeconds)} s，导入 ${f1(liteInner.importSeconds)} s${liteInner.inWorker ? '，工作线程读取' : '，主线程读取'}）`;

    if (PG_URL) {
      const a = await freshPg(`${prefix}_${run}_cli`);
      const pgCli = await cli({ DATABASE_URL: a.url }, a.backends);
      checkCli(pgCli);
      const b = await freshPg(`${prefix}_${run}_child`);
      const pgInner = inner(await child([f.shp, b.url]));
      post.push({ cli: pgCli, inner: pgInner });
      line +=
        `；PostgreSQL ${f1(pgCli.seconds)} s（CPU ${f1(pgCli.cpu)} s + 服务端 ${f1(pgCli.serverCpu)} s；` +
        `导入 ${f1(pgInner.importSeconds)} s）`;
    }
    process.stdout.write(`${line}\n`);
  }

  const ogr = {
    wall: median(ogrs.map((r) => r.seconds)),
    cpu: median(ogrs.map((r) => r.cpu)),
    mb: Math.max(...ogrs.map((r) => r.peakMB)),
  };
  process.stdout.write(
    `\n中位数（${RUNS} 次）                          wall s    CPU s  main-thread CPU s  峰值 MB\n`,
  );
  const row = (name: string, s: number, c: number, main = NaN, mb = NaN) =>
    process.stdout.write(
      `${name.padEnd(44)} ${fmt(s)}  ${fmt(c)}  ${Number.isFinite(main) ? fmt(main).padStart(17) : ''.padStart(17)}` +
        `  ${Number.isFinite(mb) ? mb.toFixed(0).padStart(7) : ''}\n`,
    );
  row('ogr2ogr → GeoPackage', ogr.wall, ogr.cpu, NaN, ogr.mb);
  row('node -e 0', median(nodes.map((r) => r.seconds)), median(nodes.map((r) => r.cpu)));
  row(
    'weipian --version (Node + the CLI’s modules)',
    median(starts.map((r) => r.seconds)),
    median(starts.map((r) => r.cpu)),
    NaN,
    Math.max(...starts.map((r) => r.peakMB)),
  );
  const verdicts: string[] = [];
  const engine = (name: string, runs: EngineRun[]) => {
    const med = (get: (r: EngineRun) => number) => median(runs.map(get));
    const m = {
      wall: med((r) => r.cli.seconds),
      cpu: med((r) => r.cli.cpu),
      server: med((r) => r.cli.serverCpu),
      mb: Math.max(...runs.map((r) => Math.max(r.cli.peakMB, r.inner.maxRssMB))),
      imp: med((r) => r.inner.importSeconds),
    };
    const totalCpu = sum(m.cpu, m.server);
    row(`${name}: weipian import layer (process)`, m.wall, m.cpu, NaN, m.mb);
    if (Number.isFinite(m.server)) row(`  + the server backends serving it`, NaN, m.server);
    const inWorker = runs.some((r) => r.inner.inWorker);
    process.stdout.write(
      `  in-process (bench/import-child, ${inWorker ? 'reading in a worker' : 'reading in the main thread'}):\n`,
    );
    for (const [label, secs, cpu] of [
      ['load (Node + its modules)', 'loadSeconds', 'loadCpu'],
      ['open the database (reader starts meanwhile)', 'openSeconds', 'openCpu'],
      ['the import itself', 'importSeconds', 'importCpu'],
      ['close', 'closeSeconds', 'closeCpu'],
    ] as const)
      row(
        `    ${label}`,
        med((r) => r.inner[secs]),
        med((r) => r.inner[cpu][1]),
        med((r) => r.inner[cpu][0]),
      );
    const ratio = m.wall / ogr.wall;
    const met = ratio <= 2 && m.mb < 1024;
    verdicts.push(
      `${name}: process ${ratio.toFixed(2)}× wall, ${(totalCpu / ogr.cpu).toFixed(2)}× CPU` +
        `${Number.isFinite(m.server) ? ' (client + server)' : ''}; import itself ${(m.imp / ogr.wall).toFixed(2)}×; ` +
        `peak ${m.mb.toFixed(0)} MB — ${met ? 'goal met' : 'goal not met'}`,
    );
  };
  engine('PGlite', lite);
  if (post.length) engine('PostgreSQL', post);
  for (const { engine: name, report } of floors) {
    const cpu = (x: { mainCpu: number; serverCpu: number }) => (name === 'PGlite' ? x.mainCpu : x.serverCpu);
    const steps = report.steps.map((x, i) => {
      const d = i === 0 ? cpu(x) : cpu(x) - cpu(report.steps[i - 1]!);
      return `${i === 0 ? '' : '+ '}${x.name} ${d.toFixed(2)}`;
    });
    const all = report.steps.at(-1)!;
    process.stdout.write(
      `${name}: COPY of the ${N} rows alone (${name === 'PGlite' ? 'main-thread' : 'server backends’'} CPU s, best of 2): ` +
        `${steps.join(', ')} = ${cpu(all).toFixed(2)} (${all.seconds.toFixed(2)} s wall) as reference_features is\n`,
    );
  }
  process.stdout.write(`ratio weipian/ogr2ogr (goal ≤ 2× wall, < 1024 MB):\n`);
  for (const v of verdicts) process.stdout.write(`  ${v}\n`);
  process.stdout.write(`load average: ${loadAtStart} at the start, ${await loadAverage()} at the end\n`);
} finally {
  if (admin) {
    for (const name of pgDatabases.reverse())
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  await rm(dir, { recursive: true, force: true });
}
