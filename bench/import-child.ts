// One measured process of bench/import.ts, compiled with the sources (as `npm run build` compiles
// them) and printing JSON. A target is a PGlite folder or a postgres:// URL.
//   --create <target>         creates and migrates a database
//   <file> <target>           imports file as a land-use layer into the existing database, as
//                             `weipian import layer` does (open, import, close), timing each step
//   --floor <file> <target>   the database's share alone: reads file into COPY chunks first (not
//                             timed), then loads them into empty tables with reference_features'
//                             columns and, step by step, its keys and indexes
import { readFileSync } from 'node:fs';
import { openDb, type Db } from '../src/store/db.ts';
import { importLayer, openLayerImportStream } from '../src/jobs/import-layer.ts';
import { COMMAND_SHARED_BUFFERS_MB } from '../src/cli/context.ts';
import { openLayerSourceHere, produceChunks, readsInWorker } from '../src/jobs/layer-stream.ts';
import { copyRows } from '../src/store/bulk.ts';
import { FEATURE_COPY_COLUMNS, insertStagingLayer } from '../src/store/queries/layers.ts';

// Imports are evaluated before this line runs: time since the process started, i.e. Node's own
// start plus loading the modules above.
const loadedAt = performance.now();

/** CPU seconds of this process's main thread so far (Linux /proc; NaN elsewhere). */
function mainThreadCpu(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return NaN;
  }
}
/** CPU seconds of the PostgreSQL backends serving this database (a local server; 0 on PGlite). */
async function backendsCpu(db: Db): Promise<number> {
  if (db.engine !== 'postgres') return 0;
  const rows = await db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  let ticks = 0;
  for (const { pid } of rows) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      return NaN;
    }
  }
  return ticks / 100;
}
const processCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const target = (t: string) =>
  /^postgres(ql)?:\/\//.test(t) ? { url: t } : { dataDir: t, sharedBuffersMB: COMMAND_SHARED_BUFFERS_MB };

// reference_features as migration 001 makes it, built up one key or index at a time.
const COLUMNS = `id serial, layer_id integer NOT NULL, feature_index integer NOT NULL, attributes json NOT NULL,
  geom bytea NOT NULL, geom_repaired bytea, validity_issue text, area_m2 double precision NOT NULL,
  minx double precision NOT NULL, miny double precision NOT NULL, maxx double precision NOT NULL,
  maxy double precision NOT NULL`;
const STEPS: { name: string; sql: string[] }[] = [
  { name: 'heap', sql: [] },
  { name: 'primary key', sql: ['ALTER TABLE bench_floor ADD PRIMARY KEY (id)'] },
  {
    name: 'unique (layer_id, feature_index)',
    sql: ['ALTER TABLE bench_floor ADD UNIQUE (layer_id, feature_index)'],
  },
  {
    // Declared, but not checked row by row on PGlite: the import vouches for its layer (copyFeatures).
    name: 'foreign key',
    sql: ['ALTER TABLE bench_floor ADD FOREIGN KEY (layer_id) REFERENCES reference_layers (id)'],
  },
  {
    name: 'SP-GiST bbox',
    sql: ['CREATE INDEX ON bench_floor USING spgist (box(point(minx, miny), point(maxx, maxy)))'],
  },
];

async function floor(db: Db, file: string) {
  const layer = await insertStagingLayer(db, {
    type: 'land-use',
    name: 'bench floor',
    sourceFile: file,
    sourceSha256: '-',
    srcCrs: '-',
    encoding: null,
    fields: [],
    importedBy: 'bench',
    owner: 'bench',
  });
  const opts = { maxUnzippedBytes: 1 << 30, encodeRows: true, wantUnits: false };
  const { src } = await openLayerSourceHere(file, opts);
  const chunks: Uint8Array[] = [];
  for await (const c of produceChunks(src, opts, layer.id)) if (c.copy) chunks.push(c.copy);
  await src.close();
  // Each variant: a fresh empty table with the first k steps, loaded as the import loads it (one
  // COPY per chunk). Two rounds, the second in reverse order; the lower figure counts.
  const result = STEPS.map((s) => ({
    name: s.name,
    mainCpu: Infinity,
    serverCpu: Infinity,
    seconds: Infinity,
  }));
  for (const round of [0, 1])
    for (const k of round ? [4, 3, 2, 1, 0] : [0, 1, 2, 3, 4]) {
      await db.exec(`DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor (${COLUMNS})`);
      for (const s of STEPS.slice(1, k + 1)) for (const sql of s.sql) await db.exec(sql);
      const [c0, s0, t0] = [mainThreadCpu(), await backendsCpu(db), performance.now()];
      for (const c of chunks)
        await copyRows(db, 'bench_floor', FEATURE_COPY_COLUMNS, c, { referencesKnown: true });
      const r = result[k]!;
      r.mainCpu = Math.min(r.mainCpu, mainThreadCpu() - c0);
      r.serverCpu = Math.min(r.serverCpu, (await backendsCpu(db)) - s0);
      r.seconds = Math.min(r.seconds, (performance.now() - t0) / 1000);
    }
  await db.exec('DROP TABLE bench_floor');
  return { chunks: chunks.length, steps: result };
}

const args = process.argv.slice(2);
if (args[0] === '--create') {
  const db = await openDb(target(args[1]!));
  await db.close();
  process.stdout.write('{}');
} else if (args[0] === '--floor') {
  const db = await openDb(target(args[2]!));
  try {
    process.stdout.write(JSON.stringify(await floor(db, args[1]!)));
  } finally {
    await db.close();
  }
} else {
  const [file, where] = args as [string, string];
  const forced = process.env.BENCH_WORKER;
  const readInWorker = forced === undefined || forced === '' ? undefined : forced === '1';
  const t0 = performance.now();
  const [m0, p0] = [mainThreadCpu(), processCpu()];
  // As the command does (services/operator.ts startEarly): the delivery starts opening (in its
  // reader thread) while the database opens.
  const opts = { type: 'land-use', actor: 'bench', maxUnzippedBytes: 1 << 30, readInWorker };
  const engine = target(where).url ? 'postgres' : 'pglite';
  const stream = openLayerImportStream(file, opts, engine);
  stream.catch(() => undefined);
  const db = await openDb(target(where));
  const t1 = performance.now();
  const [m1, p1] = [mainThreadCpu(), processCpu()];
  const s = await importLayer(db, file, { ...opts, stream });
  const t2 = performance.now();
  const [m2, p2] = [mainThreadCpu(), processCpu()];
  await db.close();
  const t3 = performance.now();
  const [m3, p3] = [mainThreadCpu(), processCpu()];
  process.stdout.write(
    JSON.stringify({
      loadSeconds: loadedAt / 1000,
      openSeconds: (t1 - t0) / 1000,
      importSeconds: (t2 - t1) / 1000,
      closeSeconds: (t3 - t2) / 1000,
      // CPU seconds [main thread, whole process] of each step (loading: before opening).
      loadCpu: [m0, p0],
      openCpu: [m1 - m0, p1 - p0],
      importCpu: [m2 - m1, p2 - p1],
      closeCpu: [m3 - m2, p3 - p2],
      imported: s.imported,
      // As importLayer decides: by size on PGlite, never on PostgreSQL unless told.
      inWorker: readInWorker ?? (db.engine === 'postgres' ? false : await readsInWorker(file)),
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}
