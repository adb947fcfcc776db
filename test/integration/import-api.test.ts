// Imports through the API: a zipped delivery uploaded by a bureau admin; oversize uploads refused
// before they are read (a declared 2 GB) or as soon as they pass the limit (streamed); and the
// server answering health checks within 200 ms during a 100,000-feature layer import.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import yazl from 'yazl';
import type { TestDb } from '../helpers/db.ts';
import { openDb } from '../../src/store/db.ts';
import { writeShapefile, skipWithoutOgr, type FixtureFeature } from '../helpers/ogr.ts';
import { deliveryFeatures, square } from '../helpers/delivery.ts';
import { seedAccounts, loginAs, type Session } from '../helpers/session.ts';
import { buildApp } from '../../src/server/app.ts';
import { createBatch } from '../../src/services/batches.ts';

async function zipOf(files: string[], out: string) {
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addFile(f, `周村区图斑/${path.basename(f)}`);
  zip.end();
  const ws = createWriteStream(out);
  zip.outputStream.pipe(ws);
  await once(ws, 'close');
  return out;
}

describe('imports through the API (PGlite)', { skip: skipWithoutOgr() }, () => {
  let t: TestDb;
  let app: FastifyInstance;
  let dir: string;
  let admin: Session;
  let base: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weipian-upload-test-'));
    // A data folder, as the server runs: PGlite in memory keeps every file in one growing array
    // and copies the whole file whenever PostgreSQL extends it, which would stall the process for
    // reasons no deployment has.
    const db = await openDb({ dataDir: path.join(dir, 'data') });
    t = { db, drop: () => db.close() };
    await createBatch(t.db, { slug: '2017-land', kind: 'land', year: 2017, actor: 'tester' });
    await seedAccounts(t.db);
    app = await buildApp({ db: t.db, maxUploadBytes: 1024 * 1024 * 64 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    admin = await loginAs(app, 'admin');
  });
  after(async () => {
    await app.close();
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (url: string, body: Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}${url}`, {
      method: 'POST',
      headers: { ...admin.headers, 'content-type': 'application/zip', ...headers },
      body: new Uint8Array(body),
    });

  it('imports a zipped delivery uploaded by a bureau admin', async () => {
    const f = await writeShapefile(dir, deliveryFeatures(), { name: 'tb', lco: ['ENCODING=CP936'] });
    const zip = await zipOf([f.shp, f.shx, f.dbf, f.prj, f.cpg!], path.join(dir, 'tb.zip'));
    const r = await post(
      '/api/imports/patches?batch=2017-land&filename=%E5%9B%BE%E6%96%91.zip',
      await readFile(zip),
    );
    assert.equal(r.status, 200, await r.clone().text());
    const s = (await r.json()).summary;
    assert.deepEqual([s.imported, s.repaired.length, s.encoding, s.sourceFile], [4, 1, 'gbk', '图斑.zip']);
    const unit = await loginAs(app, 'unit1');
    const denied = await fetch(`${base}/api/imports/patches?batch=2017-land&filename=x.zip`, {
      method: 'POST',
      headers: { ...unit.headers, 'content-type': 'application/zip' },
      body: new Uint8Array(await readFile(zip)),
    });
    assert.equal(denied.status, 403);
  });

  it('refuses a declared 2 GB upload before reading it, changing nothing', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/api/imports/layer?type=farmland&filename=big.zip`, {
        method: 'POST',
        headers: {
          ...admin.headers,
          'content-type': 'application/zip',
          'content-length': String(2 * 1024 ** 3),
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write(Buffer.alloc(64 * 1024));
    });
    assert.equal(status, 413);
    const [n] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reference_layers');
    assert.equal(n!.n, 0);
  });

  it('refuses a streamed upload as soon as it passes the limit', async () => {
    const small = await buildApp({ db: t.db, maxUploadBytes: 1024 * 1024 });
    try {
      const session = await loginAs(small, 'admin');
      const r = await small.inject({
        method: 'POST',
        url: '/api/imports/layer?type=farmland&filename=big.zip',
        headers: { ...session.headers, 'content-type': 'application/zip', 'transfer-encoding': 'chunked' },
        payload: Buffer.alloc(3 * 1024 * 1024, 1),
      });
      assert.equal(r.statusCode, 413);
      assert.equal(r.json().error.code, 'upload_too_large');
      assert.match(r.json().error.message, /上传文件超过 1 MB 上限/);
    } finally {
      await small.close();
    }
  });

  it('answers a streamed upload past the limit with 413 on a real connection, not a reset', async () => {
    const small = await buildApp({ db: t.db, maxUploadBytes: 1024 * 1024 });
    try {
      const session = await loginAs(small, 'admin');
      await small.listen({ host: '127.0.0.1', port: 0 });
      const { port } = small.server.address() as AddressInfo;
      let written = 0;
      let answered = false;
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/api/imports/layer?type=farmland&filename=big.zip',
            headers: {
              ...session.headers,
              'content-type': 'application/zip',
              'transfer-encoding': 'chunked',
            },
          },
          (res) => {
            answered = true;
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        );
        // Once answered, the server closes the connection under the unsent rest: not a failure.
        req.on('error', (e) => {
          if (!answered) reject(e);
        });
        const chunk = Buffer.alloc(64 * 1024, 1);
        const pump = () => {
          while (written < 64 * 1024 * 1024 && !req.destroyed) {
            written += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      assert.equal(answer.status, 413);
      assert.equal(JSON.parse(answer.body).error.code, 'upload_too_large');
      assert.ok(written < 64 * 1024 * 1024, `the client could write all ${written} bytes`);
      const [n] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reference_layers');
      assert.equal(n!.n, 0);
    } finally {
      await small.close();
    }
  });

  it('keeps answering health (median < 200 ms, none frozen) during a 100,000-feature layer import', async () => {
    const side = 317;
    const parcels: FixtureFeature[] = Array.from({ length: 100_000 }, (_, i) => ({
      properties: { DLBM: i % 3 ? '0103' : '0101', BSM: i },
      geometry: {
        type: 'Polygon',
        coordinates: [square(39540000 + (i % side) * 20, 4050000 + Math.floor(i / side) * 20, 18)],
      },
    }));
    const f = await writeShapefile(dir, parcels, { name: 'gd100k' });
    const zip = await zipOf([f.shp, f.shx, f.dbf, f.prj], path.join(dir, 'gd100k.zip'));
    const body = await readFile(zip);
    let done = false;
    const importing = post('/api/imports/layer?type=farmland&filename=gd100k.zip', body).then(async (r) => {
      done = true;
      return r;
    });
    const latencies: number[] = [];
    while (!done) {
      const t0 = performance.now();
      const h = await fetch(`${base}/api/health`);
      await h.arrayBuffer();
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await importing;
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal((await r.json()).summary.imported, 100_000);
    assert.ok(latencies.length > 20, `health polled ${latencies.length} times during the import`);
    // What a test can hold on a shared 2-core machine (other test files run beside it, some on both
    // cores): the typical answer stays under 200 ms and no answer waits for the import — a frozen
    // server would answer only when the publish ends, tens of seconds later. Every answer under
    // 200 ms on a quiet machine is a benchmark figure, not a timed test.
    const sorted = [...latencies].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const worst = sorted[sorted.length - 1]!;
    assert.ok(median < 200, `median ${median.toFixed(0)} ms (of ${latencies.length})`);
    assert.ok(worst < 2000, `slowest health answer ${worst.toFixed(0)} ms`);
  });
});
