// npm run bench:analyse [-- --only district|province] [--threads n]
//
// The analysis engine on two synthetic cases (bench/synthetic.ts): district — 5,000 patches over
// 100,000 farmland parcels; province — 50,000 patches over 1,000,000 parcels; both with 12 towns,
// 300 planning zones and scattered approvals. Prints, per case, the farmland step alone and the full
// analysis (units, farmland, zones, approvals, pre-judgement) in patches/s and the peak memory of
// the process (its worker threads included). With BENCH_POSTGIS_URL (a PostgreSQL with PostGIS;
// bench/README.md says how to start Debian's locally) it also runs, on the same data in the same
// run, PostGIS's farmland-only computation — ST_Intersection + ST_Area(geography), GiST, the default
// parallel plan — and prints the ratios and the largest per-patch area difference.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { initGeos } from '../src/geo/geos.ts';
import type { BatchRow } from '../src/store/queries/batches.ts';
import type { RunContext } from '../src/jobs/analysis-context.ts';
import { defaultThreads, openAnalyser } from '../src/jobs/analysis-pool.ts';
import type { PatchOutcome } from '../src/jobs/analyse-chunk.ts';
import { syntheticCase, type SyntheticCase } from './synthetic.ts';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : defaultThreads();
const CASES = [
  { name: 'district', parcels: 100_000, patches: 5_000 },
  { name: 'province', parcels: 1_000_000, patches: 50_000 },
].filter((c) => !only || c.name === only);

let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
const mb = (b: number) => `${Math.round(b / 2 ** 20)} MB`;

const batch = { id: 0, slug: 'bench', kind: 'land', year: 2017, rule_pack_id: '2017-land' } as BatchRow;

/** Seconds of CPU this process used (all its threads) since `from` (process.cpuUsage). */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};

async function analyseAll(
  c: SyntheticCase,
  layers: RunContext['layers'],
): Promise<{ s: number; cpu: number; out: PatchOutcome[] }> {
  const geos = await initGeos();
  const ctx: RunContext = { runId: 0, batch, packId: '2017-land', layers, history: null };
  const analyser = await openAnalyser(geos, ctx, threads);
  try {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const out: PatchOutcome[] = [];
    const CHUNK = 1000;
    for (let i = 0; i < c.patches.length; i += CHUNK)
      out.push(...(await analyser.analyse(c.patches.slice(i, i + CHUNK))));
    return { s: (performance.now() - t0) / 1000, cpu: cpuSince(c0), out };
  } finally {
    await analyser.close();
  }
}

/**
 * CPU seconds (user + system) of a local PostgreSQL backend and of the parallel workers its
 * postmaster has reaped, read from /proc; null when the server is not on this machine. Use a cluster
 * of the benchmark's own: every backend that ends meanwhile counts into the postmaster's figure.
 */
function serverCpu(backendPid: number): number | null {
  try {
    const stat = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const own = stat(backendPid);
    const postmaster = stat(Number(own[1]));
    const tick = 100; // USER_HZ on Linux
    // Fields after the command: [11] utime, [12] stime, [13] cutime, [14] cstime.
    return (Number(own[11]) + Number(own[12]) + Number(postmaster[13]) + Number(postmaster[14])) / tick;
  } catch {
    return null;
  }
}

interface PostgisResult {
  s: number;
  /** CPU seconds of the query, parallel workers included; NaN when unknown. */
  cpu: number;
  m2: Map<number, number>;
  /** Per patch, the sum of pieces within a factor 2 of the sliver tolerance (may fall either side of it). */
  ambiguous: Map<number, number>;
}

async function postgis(url: string, c: SyntheticCase): Promise<PostgisResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await client.query('DROP TABLE IF EXISTS bench_parcels, bench_patches');
    await client.query('CREATE UNLOGGED TABLE bench_parcels (id int, geom geometry(Polygon, 4490))');
    await client.query('CREATE UNLOGGED TABLE bench_patches (id int, geom geometry(Geometry, 4490))');
    const f = c.farmland;
    for (let i = 0; i < f.size; i += 20_000) {
      const ids: number[] = [];
      const wkbs: Buffer[] = [];
      for (let k = i; k < Math.min(f.size, i + 20_000); k++) {
        ids.push(k + 1);
        wkbs.push(Buffer.from(f.wkb.subarray(f.offsets[k]!, f.offsets[k + 1]!)));
      }
      await client.query(
        'INSERT INTO bench_parcels SELECT i, ST_GeomFromWKB(w, 4490) FROM unnest($1::int[], $2::bytea[]) AS t(i, w)',
        [ids, wkbs],
      );
    }
    // Invalid patches are repaired first, as the analysis does (GEOS would refuse them).
    await client.query(
      'INSERT INTO bench_patches SELECT i, ST_MakeValid(ST_GeomFromWKB(w, 4490)) FROM unnest($1::int[], $2::bytea[]) AS t(i, w)',
      [c.patches.map((p) => p.id), c.patches.map((p) => Buffer.from(p.wkb))],
    );
    await client.query('CREATE INDEX ON bench_parcels USING gist (geom)');
    await client.query('CREATE INDEX ON bench_patches USING gist (geom)');
    await client.query('ANALYZE bench_parcels');
    await client.query('ANALYZE bench_patches');
    const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [
      { pid: number },
    ];
    const cpu0 = serverCpu(pid);
    const t0 = performance.now();
    const r = await client.query<{ id: number; m2: number; amb: number }>(
      // Pieces under the 0.01 m² sliver tolerance are left out, as the analysis does.
      `SELECT id, (sum(a) FILTER (WHERE a >= 0.01))::float8 AS m2,
              coalesce(sum(a) FILTER (WHERE a >= 0.005 AND a < 0.02), 0)::float8 AS amb FROM (
         SELECT p.id, ST_Area(ST_Intersection(p.geom, f.geom)::geography) AS a
         FROM bench_patches p JOIN bench_parcels f ON ST_Intersects(p.geom, f.geom)) pieces
       GROUP BY id`,
    );
    const s = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 500)); // the postmaster reaps the parallel workers
    const cpu1 = serverCpu(pid);
    return {
      s,
      cpu: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : NaN,
      m2: new Map(r.rows.map((row) => [row.id, row.m2])),
      ambiguous: new Map(r.rows.map((row) => [row.id, row.amb])),
    };
  } finally {
    await client.query('DROP TABLE IF EXISTS bench_parcels, bench_patches').catch(() => undefined);
    await client.end();
  }
}

console.log(`analysis benchmark: ${threads} worker thread(s) on ${defaultThreads()} core(s)`);
for (const spec of CASES) {
  peak = 0;
  const t0 = performance.now();
  const c = syntheticCase(spec.parcels, spec.patches);
  const gen = (performance.now() - t0) / 1000;
  const farm = await analyseAll(c, { farmland: c.farmland });
  const full = await analyseAll(c, {
    farmland: c.farmland,
    unit: c.units,
    planning: c.zones,
    approval: c.approvals,
  });
  const n = c.patches.length;
  console.log(
    `\n${spec.name}: ${n} patches × ${c.farmland.size} parcels (generated in ${gen.toFixed(1)} s)\n` +
      `  farmland step: ${farm.s.toFixed(2)} s = ${Math.round(n / farm.s)} patches/s (CPU ${farm.cpu.toFixed(1)} s)\n` +
      `  full analysis: ${full.s.toFixed(2)} s = ${Math.round(n / full.s)} patches/s (CPU ${full.cpu.toFixed(1)} s)\n` +
      `  peak memory:   ${mb(peak)}`,
  );
  const url = process.env.BENCH_POSTGIS_URL;
  if (!url) {
    console.log('  PostGIS: skipped (set BENCH_POSTGIS_URL to compare)');
    continue;
  }
  const pgis = await postgis(url, c);
  // Valid and repaired input apart: the two engines' MakeValid may split a bowtie differently. A
  // piece within a factor 2 of the sliver tolerance may land on either side of it (its area differs
  // between engines by ~1e-3 of itself), so such pieces do not count as a difference.
  const worst = { valid: 0, repaired: 0 };
  for (const o of farm.out) {
    const ours = Number(o.fields.farmland_m2 ?? 0);
    const theirs = pgis.m2.get(o.id) ?? 0;
    const diff = Math.max(0, Math.abs(ours - theirs) - (pgis.ambiguous.get(o.id) ?? 0));
    const rel = diff / Math.max(Number(o.fields.area_m2 ?? 0), 1);
    const k = c.invalid.has(o.id) ? 'repaired' : 'valid';
    worst[k] = Math.max(worst[k], rel);
  }
  const cpuRatio = (ours: number) =>
    Number.isFinite(pgis.cpu) ? `, CPU ${(pgis.cpu / ours).toFixed(2)}×` : '';
  console.log(
    `  PostGIS farmland-only: ${pgis.s.toFixed(2)} s = ${Math.round(n / pgis.s)} patches/s` +
      (Number.isFinite(pgis.cpu) ? ` (CPU ${pgis.cpu.toFixed(1)} s, parallel workers included)\n` : '\n') +
      `  ratio farmland step vs PostGIS: wall ${(pgis.s / farm.s).toFixed(2)}×${cpuRatio(farm.cpu)} (goal ≥ 1.0)\n` +
      `  ratio full analysis vs PostGIS farmland-only: wall ${(pgis.s / full.s).toFixed(2)}×${cpuRatio(full.cpu)} (goal ≥ 0.7)\n` +
      `  largest per-patch farmland difference: ${worst.valid.toExponential(2)} of the patch area on valid patches ` +
      `(goal ≤ 1e-6), ${worst.repaired.toExponential(2)} on the ${c.invalid.size} repaired ones`,
  );
}
clearInterval(sampler);
