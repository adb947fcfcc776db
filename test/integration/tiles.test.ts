// Vector tiles, the work list and the web app's files, on both engines. Patches A and B (unit
// 370306101, unit1's) lie in tile z14 13553/6394 (hand-worked from lon 117.8, lat 36.7: x =
// 297.8/360 × 16384 = 13553.2, y = (1 − asinh(tan 36.7°)/π)/2 × 16384 = 6394.2); patch C
// (370306102, unit2's) lies 2 km north, outside that tile.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { seedAccounts, loginAs, as, type Session } from '../helpers/session.ts';
import { seedEvidencePatches, PATCH_A, type SeededPatches } from '../helpers/evidence.ts';
import { buildApp } from '../../src/server/app.ts';
import { encodeWkb } from '../../src/geo/wkb.ts';

// ---- a minimal Mapbox Vector Tile reader (protobuf), enough to list features and their tags ----

function readVarint(b: Uint8Array, pos: { i: number }): number {
  let r = 0;
  let shift = 0;
  for (;;) {
    const c = b[pos.i++]!;
    r += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return r;
    shift += 7;
  }
}

function fields(b: Uint8Array): { no: number; wire: number; value: number | Uint8Array }[] {
  const out: { no: number; wire: number; value: number | Uint8Array }[] = [];
  const pos = { i: 0 };
  while (pos.i < b.length) {
    const key = readVarint(b, pos);
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: readVarint(b, pos) });
    else if (wire === 2) {
      const len = readVarint(b, pos);
      out.push({ no, wire, value: b.subarray(pos.i, pos.i + len) });
      pos.i += len;
    } else if (wire === 1) {
      out.push({ no, wire, value: new DataView(b.buffer, b.byteOffset + pos.i, 8).getFloat64(0, true) });
      pos.i += 8;
    } else if (wire === 5) {
      out.push({ no, wire, value: new DataView(b.buffer, b.byteOffset + pos.i, 4).getFloat32(0, true) });
      pos.i += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

const utf8 = (b: number | Uint8Array) => new TextDecoder().decode(b as Uint8Array);

interface TileFeature {
  layer: string;
  type: number;
  props: Record<string, unknown>;
}

function decodeTile(buf: Buffer): TileFeature[] {
  const out: TileFeature[] = [];
  for (const l of fields(new Uint8Array(buf)).filter((f) => f.no === 3)) {
    const lf = fields(l.value as Uint8Array);
    const name = utf8(lf.find((f) => f.no === 1)!.value);
    const keys = lf.filter((f) => f.no === 3).map((f) => utf8(f.value));
    const values = lf
      .filter((f) => f.no === 4)
      .map((f) => {
        const v = fields(f.value as Uint8Array)[0]!;
        if (v.no === 1) return utf8(v.value);
        if (v.no === 7) return v.value === 1;
        return v.value as number;
      });
    for (const f of lf.filter((x) => x.no === 2)) {
      const ff = fields(f.value as Uint8Array);
      const tagsField = ff.find((x) => x.no === 2);
      const tags: number[] = [];
      if (tagsField) {
        const b = tagsField.value as Uint8Array;
        const pos = { i: 0 };
        while (pos.i < b.length) tags.push(readVarint(b, pos));
      }
      const props: Record<string, unknown> = {};
      for (let i = 0; i < tags.length; i += 2) props[keys[tags[i]!]!] = values[tags[i + 1]!];
      out.push({ layer: name, type: ff.find((x) => x.no === 3)!.value as number, props });
    }
  }
  return out;
}

const TILE_AB = '14/13553/6394';

for (const engine of engines()) {
  describe(`vector tiles and work list (${engine})`, () => {
    let t: TestDb;
    let app: FastifyInstance;
    let seeded: SeededPatches;
    let reviewer: Session;
    let unit1: Session;
    let unit2: Session;
    let dept: Session;

    before(async () => {
      // Tiles must show each change at once here (the server may take up to a second).
      process.env.WEIPIAN_TILE_FRESH_MS = '0';
      t = await freshDb(engine);
      await seedAccounts(t.db);
      seeded = await seedEvidencePatches(t.db);
      app = await buildApp({ db: t.db });
      reviewer = await loginAs(app, 'reviewer');
      unit1 = await loginAs(app, 'unit1');
      unit2 = await loginAs(app, 'unit2');
      dept = await loginAs(app, 'dept');
    });
    after(async () => {
      await app.close();
      await t.drop();
    });

    const tile = async (s: Session, url: string) => {
      const r = await app.inject(as(s, { method: 'GET', url }));
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.headers['content-type'], 'application/vnd.mapbox-vector-tile');
      return decodeTile(r.rawPayload);
    };
    const jcbhs = (fs: TileFeature[]) => fs.map((f) => f.props.jcbh).sort();

    it('patch tiles carry each patch once with its state, verdict and unit', async () => {
      const fs = await tile(reviewer, `/api/tiles/patches/2017-land/${TILE_AB}.pbf`);
      assert.deepEqual(jcbhs(fs), ['370306201700001', '370306201700002']);
      const a = fs.find((f) => f.props.jcbh === '370306201700001')!;
      assert.equal(a.layer, 'patches');
      assert.equal(a.type, 3); // polygon
      assert.equal(a.props.id, seeded.a);
      assert.equal(a.props.state, 'issued');
      assert.equal(a.props.verdict, 'undetermined');
      assert.equal(a.props.unit_code, '370306101');
      assert.equal(a.props.prejudgement, 'none');
      // 10,000 m² delivered area = 15 亩
      assert.equal(a.props.area_mu, 15);
    });

    it("a unit officer's tiles contain only their own unit's patches", async () => {
      assert.deepEqual(jcbhs(await tile(unit1, `/api/tiles/patches/2017-land/${TILE_AB}.pbf`)), [
        '370306201700001',
        '370306201700002',
      ]);
      assert.deepEqual(await tile(unit2, `/api/tiles/patches/2017-land/${TILE_AB}.pbf`), []);
      // At zoom 10 all three share one tile: each officer still sees only their own.
      assert.deepEqual(jcbhs(await tile(reviewer, '/api/tiles/patches/2017-land/10/847/399.pbf')), [
        '370306201700001',
        '370306201700002',
        '370306201700003',
      ]);
      assert.deepEqual(jcbhs(await tile(unit2, '/api/tiles/patches/2017-land/10/847/399.pbf')), [
        '370306201700003',
      ]);
      const r = await app.inject(
        as(dept, { method: 'GET', url: `/api/tiles/patches/2017-land/${TILE_AB}.pbf` }),
      );
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().error.code, 'not_shared');
    });

    it('tiles follow changes of state and responsible unit at once', async () => {
      await t.db.query(
        "UPDATE patch_workflow SET state = 'submitted', submission_no = 1, version = version + 1, updated_at = now() WHERE patch_id = $1",
        [seeded.b],
      );
      let fs = await tile(reviewer, `/api/tiles/patches/2017-land/${TILE_AB}.pbf`);
      assert.equal(fs.find((f) => f.props.jcbh === '370306201700002')!.props.state, 'submitted');
      // Reassigned to unit2: it leaves unit1's tile and enters unit2's.
      await t.db.query("UPDATE patches SET unit_code = '370306102' WHERE id = $1", [seeded.a]);
      await t.db.query(
        'UPDATE patch_workflow SET version = version + 1, updated_at = now() WHERE patch_id = $1',
        [seeded.a],
      );
      fs = await tile(unit1, `/api/tiles/patches/2017-land/${TILE_AB}.pbf`);
      assert.deepEqual(jcbhs(fs), ['370306201700002']);
      fs = await tile(unit2, `/api/tiles/patches/2017-land/${TILE_AB}.pbf`);
      assert.deepEqual(jcbhs(fs), ['370306201700001']);
      await t.db.query("UPDATE patches SET unit_code = '370306101' WHERE id = $1", [seeded.a]);
      await t.db.query(
        'UPDATE patch_workflow SET version = version + 1, updated_at = now() WHERE patch_id = $1',
        [seeded.a],
      );
    });

    it('refuses tile numbers outside the zoom level and unknown layers, in Chinese', async () => {
      let r = await app.inject(
        as(reviewer, { method: 'GET', url: '/api/tiles/patches/2017-land/3/8/1.pbf' }),
      );
      assert.equal(r.statusCode, 400);
      assert.equal(r.json().error.code, 'tile_invalid');
      assert.match(r.json().error.message, /瓦片编号超出范围/);
      r = await app.inject(as(reviewer, { method: 'GET', url: '/api/tiles/roads/14/1/1.pbf' }));
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().error.code, 'layer_type_invalid');
      r = await app.inject(as(reviewer, { method: 'GET', url: '/api/tiles/patches/no-such/14/1/1.pbf' }));
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().error.code, 'batch_not_found');
      r = await app.inject({ method: 'GET', url: `/api/tiles/patches/2017-land/${TILE_AB}.pbf` });
      assert.equal(r.statusCode, 401);
    });

    it('reference layer tiles: the version in force, from its minimum zoom', async () => {
      // No land-use layer yet: an empty tile.
      assert.deepEqual(await tile(unit1, `/api/tiles/land-use/${TILE_AB}.pbf`), []);
      const insertLayer = async (version: number, code: string) => {
        const [l] = await t.db.query<{ id: number }>(
          `INSERT INTO reference_layers (type, version, status, name, source_file, source_sha256, src_crs, fields,
             feature_count, total_area_m2, imported_by)
           VALUES ('land-use', $1, 'published', '地类图斑', 'dltb.shp', $2, 'EPSG:4490', '[]', 1, 10000, 'tester')
           RETURNING id`,
          [version, '0'.repeat(64)],
        );
        await t.db.query(
          `INSERT INTO reference_features (layer_id, feature_index, attributes, geom, area_m2, minx, miny, maxx, maxy)
           VALUES ($1, 0, $2, $3, 10000, 117.8, 36.7, 117.802, 36.701)`,
          [
            l!.id,
            JSON.stringify({ DLBM: code, DLMC: code === '0101' ? '水田' : '旱地', nested: { x: 1 } }),
            encodeWkb(PATCH_A),
          ],
        );
      };
      await insertLayer(1, '0101');
      let fs = await tile(unit1, `/api/tiles/land-use/${TILE_AB}.pbf`);
      assert.equal(fs.length, 1);
      assert.equal(fs[0]!.layer, 'land-use');
      assert.deepEqual(fs[0]!.props, { DLBM: '0101', DLMC: '水田' });
      // Below zoom 12 parcels are not served.
      assert.deepEqual(await tile(unit1, '/api/tiles/land-use/11/1694/799.pbf'), []);
      // A new version replaces the old one in the tiles.
      await insertLayer(2, '0103');
      fs = await tile(unit1, `/api/tiles/land-use/${TILE_AB}.pbf`);
      assert.deepEqual(
        fs.map((f) => f.props.DLBM),
        ['0103'],
      );
    });

    it('work list: scoped to the unit, with receipts and filters', async () => {
      const list = async (s: Session, q = '') => {
        const r = await app.inject(as(s, { method: 'GET', url: `/api/batches/2017-land/worklist${q}` }));
        assert.equal(r.statusCode, 200, r.body);
        return r.json() as {
          total: number;
          items: { jcbh: string; state: string; receipt: string; verdict: string }[];
        };
      };
      const all = await list(reviewer);
      assert.equal(all.total, 3);
      const b = all.items.find((i) => i.jcbh === '370306201700002')!;
      assert.equal(b.state, 'submitted');
      assert.equal(b.receipt, 'submitted');
      assert.equal(all.items.find((i) => i.jcbh === '370306201700001')!.receipt, 'none');
      assert.deepEqual(
        (await list(unit1)).items.map((i) => i.jcbh),
        ['370306201700001', '370306201700002'],
      );
      assert.deepEqual(
        (await list(unit2)).items.map((i) => i.jcbh),
        ['370306201700003'],
      );
      assert.deepEqual(
        (await list(reviewer, '?state=submitted')).items.map((i) => i.jcbh),
        ['370306201700002'],
      );
      assert.deepEqual(
        (await list(reviewer, '?unit=370306102')).items.map((i) => i.jcbh),
        ['370306201700003'],
      );
      assert.deepEqual(
        (await list(reviewer, '?q=0003')).items.map((i) => i.jcbh),
        ['370306201700003'],
      );
      // An officer asking for another unit is refused, not silently narrowed.
      const r = await app.inject(
        as(unit1, { method: 'GET', url: '/api/batches/2017-land/worklist?unit=370306102' }),
      );
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().error.code, 'other_unit');
      const d = await app.inject(as(dept, { method: 'GET', url: '/api/batches/2017-land/worklist' }));
      assert.equal(d.statusCode, 403);
    });

    it('web config: the vocabulary from the workflow domain, no basemap by default', async () => {
      const r = await app.inject(as(unit1, { method: 'GET', url: '/api/web/config' }));
      assert.equal(r.statusCode, 200);
      const c = r.json();
      assert.equal(c.states.length, 8);
      assert.deepEqual(c.states[2], {
        id: 'submitted',
        label: '已提交（待分局审核）',
        explanation: '责任单位已提交判定，等待分局审核；审核前判定不能修改。',
        waitingFor: 'bureau',
      });
      assert.equal(c.policies['workflow.review'].allow, false);
      assert.equal(c.receipts.returned.label, '已退回');
    });
  });
}

describe('web app files', () => {
  let app: FastifyInstance;
  let t: TestDb;
  const saved = process.env.WEIPIAN_WEB_DIST;
  const dir = mkdtempSync(path.join(tmpdir(), 'weipian-web-'));
  before(async () => {
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>卫片</title><div id="root"></div>');
    writeFileSync(path.join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)');
    process.env.WEIPIAN_WEB_DIST = dir;
    t = await freshDb('pglite');
    app = await buildApp({ db: t.db });
  });
  after(async () => {
    if (saved === undefined) delete process.env.WEIPIAN_WEB_DIST;
    else process.env.WEIPIAN_WEB_DIST = saved;
    await app.close();
    await t.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app at / and at client routes, hashed assets with a long cache', async () => {
    for (const url of ['/', '/map?batch=2017-land&patch=3', '/patches/12', '/work']) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, url);
      assert.match(r.headers['content-type'] as string, /text\/html/);
      assert.match(r.body, /<div id="root">/);
      assert.equal(r.headers['cache-control'], 'no-cache');
    }
    const a = await app.inject({ method: 'GET', url: '/assets/index-AbC123.js' });
    assert.equal(a.statusCode, 200);
    assert.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(a.headers['content-type'] as string, /javascript/);
    assert.equal(a.body, 'console.log(1)');
  });

  it('keeps API 404s as JSON and refuses paths outside the build', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/no-such-thing' });
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().error.code, 'not_found');
    const m = await app.inject({ method: 'GET', url: '/assets/missing.js' });
    assert.equal(m.statusCode, 404);
    const up = await app.inject({ method: 'GET', url: '/assets/..%2f..%2fpackage.json' });
    assert.equal(up.statusCode, 404);
  });
});
