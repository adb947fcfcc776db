// One measured import, in its own process so its peak memory is its own: prints JSON.
import { openDb } from '../src/store/db.ts';
import { importLayer } from '../src/jobs/import-layer.ts';

const [file, dataDir] = process.argv.slice(2) as [string, string];
const db = await openDb({ dataDir });
const t0 = performance.now();
const s = await importLayer(db, file, { type: 'land-use', actor: 'bench', maxUnzippedBytes: 1 << 30 });
const seconds = (performance.now() - t0) / 1000;
await db.close();
process.stdout.write(
  JSON.stringify({ seconds, imported: s.imported, maxRssMB: process.resourceUsage().maxRSS / 1024 }),
);
