// The read API: health, batches, patches as GeoJSON with a bbox filter, and one error shape.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { writeShapefile, skipWithoutOgr } from '../helpers/ogr.ts';
import { deliveryFeatures } from '../helpers/delivery.ts';
import { buildApp } from '../../src/server/app.ts';
import { createBatch } from '../../src/services/batches.ts';
import { importPatches } from '../../src/jobs/import-patches.ts';
import { seedAccounts, loginAs, as, type Session } from '../helpers/session.ts';

for (const engine of engines()) {
  describe(`read API on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let t: TestDb;
    let app: FastifyInstance;
    let dir: string;
    let admin: Session;
    const get = (url: string) => app.inject(as(admin, { url }));
    before(async () => {
      t = await freshDb(engine);
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-api-'));
      const shp = (await writeShapefile(dir, deliveryFeatures(), { name: 'tb', lco: ['ENCODING=CP936'] }))
        .shp;
      await createBatch(t.db, { slug: '2017-land', kind: 'land', year: 2017, actor: 'tester' });
      await importPatches(t.db, shp, {
        batch: '2017-land',
        areaUnit: 'm2',
        source: '卫片',
        actor: 'tester',
        maxUnzippedBytes: 1e8,
      });
      app = await buildApp({ db: t.db });
      await seedAccounts(t.db);
      admin = await loginAs(app, 'reviewer');
    });
    after(async () => {
      await app.close();
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('answers health with the engine and schema version', async () => {
      const r = await app.inject({ url: '/api/health' }); // public: no login
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().engine, engine);
      assert.ok(r.json().schemaVersion >= 1);
    });

    it('serves a batch and its patches as GeoJSON in EPSG:4490', async () => {
      const r = await get('/api/batches/2017-land/patches');
      assert.equal(r.statusCode, 200);
      assert.match(r.headers['content-type'] as string, /geo\+json/);
      const fc = r.json();
      assert.equal(fc.crs.properties.name, 'urn:ogc:def:crs:EPSG::4490');
      assert.equal(fc.features.length, 4);
      assert.equal(fc.features[0].properties.tblx, '新增建设用地');
      const b = await get('/api/batches/2017-land');
      assert.equal(b.json().batch.rule_pack_id, '2017-land');
    });

    it('filters patches by bbox (only the first square lies west of 117.7955°E)', async () => {
      const r = await get('/api/batches/2017-land/patches?bbox=117.79,36.69,117.7955,36.70');
      assert.equal(r.statusCode, 200);
      assert.deepEqual(
        r.json().features.map((f: { properties: { jcbh: string } }) => f.properties.jcbh),
        ['370306201700001'],
      );
    });

    it('returns one patch with its delivered attributes', async () => {
      const list = (await get('/api/batches/2017-land/patches')).json();
      const id = list.features[1].id;
      const r = await get(`/api/patches/${id}`);
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().delivered['备注'], '南郊镇（丝绸路街道交界）“设施农用地”');
    });

    it('shows a Chinese front page without any figures to anonymous visitors', async () => {
      const r = await app.inject({ url: '/' });
      assert.equal(r.statusCode, 200);
      assert.match(r.body, /卫片执法监督检查系统/);
      assert.match(r.body, /2017年度土地卫片/);
      assert.doesNotMatch(r.body, /图斑数|亩/);
    });

    it('describes every route in the OpenAPI document', async () => {
      const r = await app.inject({ url: '/api/openapi.json' });
      assert.equal(r.statusCode, 200);
      const doc = r.json();
      assert.equal(doc.openapi, '3.0.3');
      assert.ok(doc.paths['/api/batches/{slug}/patches'].get, 'patches route documented');
      assert.ok(doc.paths['/api/auth/login'].post, 'login documented');
      assert.ok(
        doc.paths['/api/batches/{slug}/patches'].get.parameters.some(
          (p: { name: string }) => p.name === 'bbox',
        ),
      );
    });

    it('answers bad requests in one shape with Chinese messages', async () => {
      const cases: [string, number, string][] = [
        ['/api/batches/nope', 404, 'batch_not_found'],
        ['/api/batches/BAD%20SLUG', 400, 'request_invalid'],
        ['/api/batches/2017-land/patches?bbox=1,2,3', 400, 'bbox_invalid'],
        ['/api/batches/2017-land/patches?limit=0', 400, 'request_invalid'],
        ['/api/batches/2017-land/patches?color=red', 400, 'request_invalid'],
        ['/api/patches/999999', 404, 'patch_not_found'],
        ['/api/nothing', 404, 'not_found'],
      ];
      for (const [url, status, code] of cases) {
        const r = await get(url);
        assert.equal(r.statusCode, status, url);
        assert.equal(r.json().error.code, code, url);
        assert.match(r.json().error.message, /[\u4e00-\u9fff]/, url);
      }
    });
  });
}
