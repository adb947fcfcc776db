// Permissions: every route of the API, walked with every role (and with nobody), generated from
// the route table so that a new route is covered automatically; and town isolation — a unit officer
// can neither read nor change another unit's patches, by id, by list, by search or by timeline.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { writeShapefile, skipWithoutOgr } from '../helpers/ogr.ts';
import { deliveryFeatures } from '../helpers/delivery.ts';
import { seedAccounts, loginAs, as, type Session } from '../helpers/session.ts';
import { buildApp } from '../../src/server/app.ts';
import { ROUTE_ACCESS, registeredRoutes } from '../../src/server/access.ts';
import { ACTIONS, isAction } from '../../src/domain/policies.ts';
import { createBatch } from '../../src/services/batches.ts';
import { importPatches } from '../../src/jobs/import-patches.ts';
import { ROLES, type Role } from '../../src/domain/roles.ts';

const USERNAME: Record<Role, string> = {
  leader: 'leader',
  bureau_admin: 'admin',
  reviewer: 'reviewer',
  unit_officer: 'unit1',
  department: 'dept',
};

for (const engine of engines()) {
  describe(`permissions on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let t: TestDb;
    let app: FastifyInstance;
    let dir: string;
    const sessions = {} as Record<Role, Session>;
    let unit2: Session;
    let ownPatch: number; // 北郊镇 370306101 (unit1's)
    let otherPatch: number; // 南郊镇 370306102 (unit2's)

    before(async () => {
      t = await freshDb(engine);
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-policy-'));
      const shp = (await writeShapefile(dir, deliveryFeatures(), { name: 'tb', lco: ['ENCODING=CP936'] }))
        .shp;
      await createBatch(t.db, { slug: '2017-land', kind: 'land', year: 2017, actor: 'tester' });
      await seedAccounts(t.db);
      await importPatches(t.db, shp, {
        batch: '2017-land',
        areaUnit: 'm2',
        source: '卫片',
        actor: 't',
        maxUnzippedBytes: 1e8,
      });
      app = await buildApp({
        db: t.db,
        operator: { token: 'secret-token', context: { filesDir: dir, maxUnzippedBytes: 1e8 } },
      });
      for (const role of ROLES) sessions[role] = await loginAs(app, USERNAME[role]);
      unit2 = await loginAs(app, 'unit2');
      const ids = await t.db.query<{ id: number; unit_code: string }>(
        'SELECT id, unit_code FROM patches ORDER BY jcbh',
      );
      ownPatch = ids.find((p) => p.unit_code === '370306101')!.id;
      otherPatch = ids.find((p) => p.unit_code === '370306102')!.id;
    });
    after(async () => {
      await app.close();
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('has an access entry for every registered route, and only for registered routes', async () => {
      // Every route registered by the app went through the onRoute guard (it throws on a missing
      // entry), so the app starting at all proves coverage; the table holds no stale entries either.
      assert.deepEqual(registeredRoutes(app), Object.keys(ROUTE_ACCESS).sort());
      for (const access of Object.values(ROUTE_ACCESS))
        assert.ok(['public', 'operator', 'session'].includes(access) || isAction(access), access);
    });

    /** A request to the route with plausible parameters (the guard runs before they are examined). */
    function requestFor(key: string) {
      const [method, url] = key.split(' ') as [string, string];
      // Ids that exist where reading is harmless; a user id that does not, so that no account is
      // disabled or reset by the walk.
      const filled = url
        .replace(':slug', '2017-land')
        .replace(':id', url.startsWith('/api/users/') ? '999999' : String(ownPatch))
        .replace(':command', 'batch.list')
        // Workflow routes: a part number and a round that need not exist (the guard runs first).
        .replace(':partId', '999999')
        .replace(':seq', '1');
      return { method: method as 'GET', url: filled, payload: method === 'GET' ? undefined : {} };
    }

    for (const key of Object.keys(ROUTE_ACCESS)) {
      const access = ROUTE_ACCESS[key]!;
      it(`${key} (${access}) answers each role as the policy says`, async () => {
        const anon = await app.inject(requestFor(key));
        if (access === 'public') assert.notEqual(anon.statusCode, 401, key);
        else if (access === 'operator') assert.equal(anon.statusCode, 401, key);
        else {
          assert.equal(anon.statusCode, 401, `${key} without login`);
          assert.equal(anon.json().error.code, 'unauthenticated');
        }
        if (!isAction(access)) return;
        for (const role of ROLES) {
          const r = await app.inject(as(sessions[role], requestFor(key)));
          const allowed = (ACTIONS[access].roles as readonly Role[]).includes(role);
          if (allowed)
            assert.ok(
              ![401, 403].includes(r.statusCode) || r.json().error.code !== 'role_not_allowed',
              `${key} as ${role}: ${r.body}`,
            );
          else {
            assert.equal(r.statusCode, 403, `${key} as ${role}: ${r.body}`);
            assert.ok(['role_not_allowed', 'not_shared'].includes(r.json().error.code), r.body);
            assert.match(r.json().error.message, /[\u4e00-\u9fff]/);
          }
        }
      });
    }

    it('lets a unit officer list and read only their own unit’s patches', async () => {
      const mine = (
        await app.inject(as(sessions.unit_officer, { url: '/api/batches/2017-land/patches' }))
      ).json();
      assert.deepEqual(
        mine.features.map((f: { properties: { jcbh: string } }) => f.properties.jcbh),
        ['370306201700001'],
      );
      const own = await app.inject(as(sessions.unit_officer, { url: `/api/patches/${ownPatch}` }));
      assert.equal(own.statusCode, 200);
      const other = await app.inject(as(sessions.unit_officer, { url: `/api/patches/${otherPatch}` }));
      assert.equal(other.statusCode, 403);
      assert.equal(other.json().error.code, 'other_unit');
      // …and the other unit's officer the other way round.
      const theirs = await app.inject(as(unit2, { url: `/api/patches/${otherPatch}` }));
      assert.equal(theirs.statusCode, 200);
    });

    it('hides another unit’s patches from search, figures and timelines', async () => {
      const search = await app.inject(
        as(sessions.unit_officer, { url: '/api/batches/2017-land/patches?jcbh=370306201700002' }),
      );
      assert.equal(search.json().features.length, 0);
      const bySearchOwn = await app.inject(
        as(sessions.unit_officer, { url: '/api/batches/2017-land/patches?jcbh=3703062017000' }),
      );
      assert.equal(bySearchOwn.json().features.length, 1);
      const figures = (await app.inject(as(sessions.unit_officer, { url: '/api/batches' }))).json();
      assert.equal(figures.batches[0].patch_count, 1, 'counts only the own unit');
      const all = (await app.inject(as(sessions.reviewer, { url: '/api/batches' }))).json();
      assert.equal(all.batches[0].patch_count, 4);
      const tl = await app.inject(
        as(sessions.unit_officer, { url: `/api/events?recordType=patch&recordId=${otherPatch}` }),
      );
      assert.equal(tl.statusCode, 403);
      const wide = await app.inject(as(sessions.unit_officer, { url: '/api/events' }));
      assert.equal(wide.statusCode, 403);
    });

    it('keeps a unit officer to their own unit’s evidence (list, checklist, upload)', async () => {
      const own = await app.inject(as(sessions.unit_officer, { url: `/api/patches/${ownPatch}/evidence` }));
      assert.equal(own.statusCode, 200, own.body);
      for (const url of [
        `/api/patches/${otherPatch}/evidence`,
        `/api/patches/${otherPatch}/evidence/checklist`,
      ]) {
        const r = await app.inject(as(sessions.unit_officer, { url }));
        assert.equal(r.statusCode, 403, url);
        assert.equal(r.json().error.code, 'other_unit');
      }
      const up = await app.inject(
        as(sessions.unit_officer, {
          method: 'POST',
          url: `/api/patches/${otherPatch}/evidence?filename=a.jpg&kind=photo`,
          headers: { 'content-type': 'application/octet-stream' },
          payload: Buffer.from([0xff, 0xd8, 0xff]),
        }),
      );
      assert.equal(up.statusCode, 403);
      assert.equal(up.json().error.code, 'other_unit');
      const [{ n }] = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence_items')) as [
        { n: number },
      ];
      assert.equal(n, 0);
    });

    it('tells the UI what each role may do, with reasons', async () => {
      const me = (await app.inject(as(sessions.unit_officer, { url: '/api/auth/me' }))).json();
      assert.equal(me.policies['patch.read'].allow, true);
      assert.equal(me.policies['user.admin'].allow, false);
      assert.equal(me.policies['user.admin'].reason, 'role_not_allowed');
      assert.match(me.policies['user.admin'].message, /分局管理员/);
    });
  });
}
