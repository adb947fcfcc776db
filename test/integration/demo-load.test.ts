// The demo district as `npm start` loads it: generated, imported through the real importers into an
// empty database with both 2017 batches and one account per role — and never loaded twice.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { skipWithoutOgr } from '../helpers/ogr.ts';
import { loadDemo, DEMO_ACCOUNT_UNITS } from '../../src/demo/load.ts';
import { listBatches } from '../../src/store/queries/batches.ts';
import { currentLayers } from '../../src/store/queries/layers.ts';
import { verifyChain } from '../../src/store/queries/events.ts';

for (const engine of engines()) {
  describe(`demo load on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let t: TestDb;
    before(async () => {
      t = await freshDb(engine);
    });
    after(() => t.drop());

    it('loads batches, layers, patches and demo accounts into an empty database', async () => {
      const steps: string[] = [];
      const r = await loadDemo(t.db, { scale: 0.1, actor: 'system:demo', onStep: (s) => steps.push(s) });
      assert.equal(r.loaded, true);
      assert.ok(steps[0]!.startsWith('生成演示区县数据'));
      const batches = await listBatches(t.db);
      assert.deepEqual(
        batches.map((b) => [b.slug, b.kind]),
        [
          ['2017-land', 'land'],
          ['2017-mineral', 'mineral'],
        ],
      );
      assert.equal(batches[0]!.patch_count, r.patches.land);
      assert.ok(r.patches.land > 40 && r.patches.mineral > 0);
      const types = (await currentLayers(t.db)).map((l) => l.type).sort();
      assert.equal(types.length, 12);
      assert.ok(types.includes('unit') && types.includes('mining-right') && types.includes('land-use'));
      const users = await t.db.query<{ username: string; role: string; unit_code: string | null }>(
        'SELECT username, role, unit_code FROM users ORDER BY username',
      );
      assert.deepEqual(
        users.map((u) => [u.username, u.role, u.unit_code]),
        [
          ['admin', 'bureau_admin', null],
          ['dept', 'department', null],
          ['leader', 'leader', null],
          ['reviewer', 'reviewer', null],
          ['unit1', 'unit_officer', DEMO_ACCOUNT_UNITS[0]],
          ['unit2', 'unit_officer', DEMO_ACCOUNT_UNITS[1]],
        ],
      );
      // Patches carry their responsible unit from the delivered 行政区代码, so isolation works.
      const [own] = await t.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM patches WHERE unit_code = $1',
        [DEMO_ACCOUNT_UNITS[1]],
      );
      assert.ok(own!.n > 0, 'unit2 has patches to work on');
      assert.equal((await verifyChain(t.db)).ok, true);
    });

    it('does not load twice', async () => {
      const before = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM patches');
      const r = await loadDemo(t.db, { scale: 0.1, actor: 'system:demo' });
      assert.equal(r.loaded, false);
      assert.deepEqual(await t.db.query('SELECT count(*)::int AS n FROM patches'), before);
    });
  });
}
