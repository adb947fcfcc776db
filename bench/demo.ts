// npm run bench:demo — how long `npm start` takes to generate and load the demo district into a
// fresh embedded database (goal: under a minute on this machine). Prints seconds and peak memory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDb } from '../src/store/db.ts';
import { loadDemo } from '../src/demo/load.ts';

const dir = await mkdtemp(path.join(tmpdir(), 'weipian-bench-demo-'));
try {
  const t0 = performance.now();
  const db = await openDb({ dataDir: path.join(dir, 'db') });
  const opened = (performance.now() - t0) / 1000;
  const r = await loadDemo(db, { actor: 'bench', scale: Number(process.env.BENCH_SCALE ?? 1) });
  await db.close();
  const total = (performance.now() - t0) / 1000;
  process.stdout.write(
    `open+migrate ${opened.toFixed(1)} s; generate+import ${r.seconds.toFixed(1)} s; total ${total.toFixed(1)} s ` +
      `(goal < 60 s); ${r.layers} layers, ${r.patches.land} land + ${r.patches.mineral} mineral patches; ` +
      `peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
