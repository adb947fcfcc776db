// npm run bench:web — the web workspace on the whole demo district (scale 1, PGlite):
//  1. time to first usable map in chromium (navigation → the map has drawn the patches), goal < 2 s;
//  2. p95 latency of vector-tile requests for patches and for land-use parcels at zoom 14–18 under
//     20 concurrent keep-alive clients, goal < 50 ms — first with cold tile caches, then warm;
//  3. the work-list API (GET /api/batches/2017-land/worklist as the reviewer), goal < 200 ms.
// Every request goes to 127.0.0.1 and the loops are bounded. `--scale 0.1` for a quick run;
// BENCH_WEB_DATA=<folder> keeps the loaded demo there and copies it for each run (saves the ~40 s load);
// BENCH_CUT_WAIT_MS (default 5000) is the pause between a source's first tile and its cold run.
// The load loop is autocannon's model (CLIENTS keep-alive connections, each sending its next request
// when the previous answer arrived), written out here to need no extra package.
import http from 'node:http';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { openDb } from '../src/store/db.ts';
import { buildApp } from '../src/server/app.ts';
import { loadDemo } from '../src/demo/load.ts';
import { DEMO_PASSWORD } from '../src/services/bootstrap.ts';
import { ensureWebBuild, CHROMIUM } from '../test/e2e/browser.ts';

const scaleArg = process.argv.indexOf('--scale');
const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;
const CLIENTS = 20;
const REQUESTS = 2000;
const CUT_WAIT_MS = Number(process.env.BENCH_CUT_WAIT_MS ?? 5000);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

function tileOf(lon: number, lat: number, z: number): [number, number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [
    z,
    Math.floor(((lon + 180) / 360) * n),
    Math.floor(((1 - Math.asinh(Math.tan(r)) / Math.PI) / 2) * n),
  ];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

/** A GET; with `etags`, sends If-None-Match when one is known for the URL and records new ones. */
function request(
  base: string,
  url: string,
  cookie: string,
  etags?: Map<string, string>,
): Promise<{ ms: number; status: number; bytes: number }> {
  const t0 = performance.now();
  const known = etags?.get(url);
  const headers: Record<string, string> = known ? { cookie, 'if-none-match': known } : { cookie };
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${url}`, { agent, headers }, (res) => {
      let bytes = 0;
      const etag = res.headers.etag;
      if (etags && etag && !known) etags.set(url, etag);
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
  });
}

/** CLIENTS loops share the URL list; each takes the next URL until all are done. */
async function load(base: string, urls: string[], cookie: string, etags?: Map<string, string>) {
  const lat: number[] = [];
  let next = 0;
  let failed = 0;
  let bytes = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < urls.length) {
        const url = urls[next++]!;
        const r = await request(base, url, cookie, etags);
        if (r.status !== (etags?.has(url) ? 304 : 200)) failed++;
        bytes += r.bytes;
        lat.push(r.ms);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return {
    p50: pct(lat, 50),
    p95: pct(lat, 95),
    max: pct(lat, 100),
    rps: urls.length / secs,
    failed,
    kb: bytes / urls.length / 1024,
  };
}

/** A data folder with the demo loaded: a new one, or a copy of BENCH_WEB_DATA (loaded there once). */
async function demoFolder(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'weipian-bench-web-'));
  const keep = process.env.BENCH_WEB_DATA ? path.resolve(process.env.BENCH_WEB_DATA, `scale-${scale}`) : null;
  if (keep && existsSync(path.join(keep, 'LOADED'))) {
    cpSync(keep, dir, { recursive: true });
    console.log(`demo district (scale ${scale}) copied from ${keep}`);
    return dir;
  }
  const db = await openDb({ dataDir: keep ?? dir, migrate: true });
  const t0 = Date.now();
  await loadDemo(db, { actor: 'system:demo', scale });
  await db.close();
  console.log(`demo district (scale ${scale}) loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (keep) {
    writeFileSync(path.join(keep, 'LOADED'), new Date().toISOString());
    cpSync(keep, dir, { recursive: true });
  }
  return dir;
}

async function main() {
  ensureWebBuild();
  const dir = await demoFolder();
  const db = await openDb({ dataDir: dir, migrate: true });
  const app = await buildApp({ db });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const rows: string[][] = [];
  try {
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'reviewer', password: DEMO_PASSWORD }),
    });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');

    // ---- 1. first usable map ----
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    const times: number[] = [];
    try {
      const context = await browser.newContext({ baseURL: base, viewport: { width: 1440, height: 900 } });
      const value = cookie.split('=').slice(1).join('=');
      await context.addCookies([{ name: 'weipian_session', value, url: base }]);
      const page = await context.newPage();
      await page.goto('/overview'); // warm the browser's cache of the app shell once, as a user would have it
      for (let i = 0; i < 5; i++) {
        // A fresh page each time, each at another view (its tiles new to the browser).
        const p = await context.newPage();
        const start = performance.now();
        await p.goto(`/map?batch=2017-land&view=${(12 + i * 0.25).toFixed(2)}/117.8${i}/36.77`);
        await p.waitForSelector('[data-testid=map][data-ready="1"]', { timeout: 30000 });
        times.push(performance.now() - start);
        await p.close();
      }
    } finally {
      await browser.close();
    }
    rows.push([
      'first usable map (chromium, 5 loads)',
      `median ${ms(pct(times, 50))}, max ${ms(pct(times, 100))}`,
      '< 2 s',
    ]);

    // ---- 2. tiles ----
    const patches = await db.query<{ x: number; y: number }>(
      "SELECT (minx + maxx) / 2 AS x, (miny + maxy) / 2 AS y FROM patches p JOIN batches b ON b.id = p.batch_id WHERE b.slug = '2017-land' ORDER BY p.id",
    );
    const urls = (prefix: string) => {
      const out = new Set<string>();
      for (let i = 0; out.size < REQUESTS && i < patches.length * 25; i++) {
        const p = patches[i % patches.length]!;
        const z = 14 + (i % 5);
        // around the patch: the tile and its neighbours, as a panning map asks for them
        const [, x, y] = tileOf(p.x, p.y, z);
        const dx = (Math.floor(i / patches.length) % 3) - 1;
        const dy = (Math.floor(i / (patches.length * 3)) % 3) - 1;
        out.add(`${prefix}/${z}/${x + dx}/${y + dy}.pbf`);
      }
      return [...out];
    };
    for (const [name, prefix] of [
      ['patch tiles z14–18', '/api/tiles/patches/2017-land'],
      ['land-use parcel tiles z14–18', '/api/tiles/land-use'],
    ] as const) {
      const list = urls(prefix);
      // The first tile of a source builds its index (the patches' was built by the map loads above);
      // a new index is then cut ahead to zoom 14 in the background (1–3 s for the land-use parcels),
      // given CUT_WAIT_MS to finish, so that "cold" is a first request of each tile on a server that has
      // been up a while (BENCH_CUT_WAIT_MS=0 measures the cold run while the cut is still going on).
      const first = await request(base, `${prefix}/${tileOf(117.82, 36.78, 12).join('/')}.pbf`, cookie);
      rows.push([`${name}: first tile of the source (builds its index if needed)`, ms(first.ms), '—']);
      await new Promise((r) => setTimeout(r, CUT_WAIT_MS));
      const cold = await load(base, list, cookie);
      const warm = await load(base, list, cookie);
      const etags = new Map<string, string>();
      await load(base, list, cookie, etags); // learns the ETags (cached answers)
      const revalidate = await load(base, list, cookie, etags);
      rows.push([
        `${name}, ${CLIENTS} clients, ${list.length} tiles, cold (each tile's first request${CUT_WAIT_MS ? `, ${CUT_WAIT_MS / 1000} s after the index` : ', the index still being cut'})`,
        `p95 ${ms(cold.p95)} (p50 ${ms(cold.p50)}, max ${ms(cold.max)}), ${cold.rps.toFixed(0)} req/s, ${cold.kb.toFixed(1)} kB/tile${cold.failed ? `, ${cold.failed} failed` : ''}`,
        '< 50 ms',
      ]);
      rows.push([
        `${name}, ${CLIENTS} clients, same tiles again (warm)`,
        `p95 ${ms(warm.p95)} (p50 ${ms(warm.p50)}), ${warm.rps.toFixed(0)} req/s${warm.failed ? `, ${warm.failed} failed` : ''}`,
        '< 50 ms',
      ]);
      rows.push([
        `${name}, ${CLIENTS} clients, browser revalidating (If-None-Match → 304)`,
        `p95 ${ms(revalidate.p95)} (p50 ${ms(revalidate.p50)}), ${revalidate.rps.toFixed(0)} req/s${revalidate.failed ? `, ${revalidate.failed} not 304` : ''}`,
        '< 50 ms',
      ]);
    }

    // ---- 3. work list ----
    const wl: number[] = [];
    let n = 0;
    for (let i = 0; i < 20; i++) {
      const r = await request(base, '/api/batches/2017-land/worklist', cookie);
      if (r.status !== 200) throw new Error(`worklist ${r.status}`);
      wl.push(r.ms);
      n = r.bytes;
    }
    rows.push([
      'work list API (reviewer, whole batch), 20 requests',
      `median ${ms(pct(wl, 50))}, p95 ${ms(pct(wl, 95))}, ${(n / 1024).toFixed(0)} kB`,
      '< 200 ms',
    ]);
  } finally {
    agent.destroy();
    await app.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\n| what | result | goal |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

await main();
