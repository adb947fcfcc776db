// One measured process of bench/import.ts, printing JSON: `--create <dir>` creates and migrates a
// database; `<file> <dir>` imports file as a land-use layer into the existing database in dir,
// as `weipian import layer` does (open, import, close).
import { openDb } from '../src/store/db.ts';
import { importLayer } from '../src/jobs/import-layer.ts';
import { readsInWorker } from '../src/jobs/layer-stream.ts';

const args = process.argv.slice(2);
if (args[0] === '--create') {
  const db = await openDb({ dataDir: args[1]! });
  await db.close();
  process.stdout.write('{}');
} else {
  const [file, dataDir] = args as [string, string];
  const forced = process.env.BENCH_WORKER;
  const readInWorker = forced === undefined || forced === '' ? undefined : forced === '1';
  const t0 = performance.now();
  const db = await openDb({ dataDir });
  const t1 = performance.now();
  const s = await importLayer(db, file, {
    type: 'land-use',
    actor: 'bench',
    maxUnzippedBytes: 1 << 30,
    readInWorker,
  });
  const t2 = performance.now();
  await db.close();
  const t3 = performance.now();
  process.stdout.write(
    JSON.stringify({
      openSeconds: (t1 - t0) / 1000,
      importSeconds: (t2 - t1) / 1000,
      closeSeconds: (t3 - t2) / 1000,
      imported: s.imported,
      inWorker: readInWorker ?? (await readsInWorker(file)),
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}
