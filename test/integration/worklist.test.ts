// The work list's query (src/server/routes/web.ts workItems) on both engines, with hand-worked
// expectations for what it derives per patch: the verdict of the current parts ('mixed' when they
// differ, retired parts left out), whether a reviewer opened the current submission and whether the
// caller submitted it, and due dates (several patches sharing one date, one computed apart).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { seedEvidencePatches, PATCH_A, PATCH_B, type SeededPatches } from '../helpers/evidence.ts';
import { encodeWkb } from '../../src/geo/wkb.ts';
import { appendEvent } from '../../src/store/queries/events.ts';
import { workItems, batchOr404 } from '../../src/server/routes/web.ts';
import type { Polygon } from '../../src/geo/geometry.ts';

for (const engine of engines()) {
  describe(`work list query (${engine})`, () => {
    let t: TestDb;
    let seeded: SeededPatches;

    before(async () => {
      t = await freshDb(engine);
      seeded = await seedEvidencePatches(t.db);
      const part = async (patchId: number, no: number, geom: Polygon, verdict: string, retired = false) =>
        t.db.query(
          `INSERT INTO patch_parts (patch_id, no, origin, geom, area_m2, counted_area_m2, minx, miny, maxx, maxy,
             verdict, subtype, rule_pack_id, rule_pack_version, judged_by, judged_at, created_by, retired_at)
           VALUES ($1, $2, 'drawn', $3, 5000, 5000, 117.8, 36.7, 117.801, 36.701, $4, 'x', '2017-land', '1',
             'unit1', now(), 'tester', $5)`,
          [patchId, no, encodeWkb(geom), verdict, retired ? new Date().toISOString() : null],
        );
      // Every patch starts as one undetermined 'whole' part; A and B are split anew. A: two current
      // parts that differ → 'mixed'. B: one current illegal part and a retired legal one.
      await t.db.query('UPDATE patch_parts SET retired_at = now() WHERE patch_id = ANY($1::int[])', [
        [seeded.a, seeded.b],
      ]);
      await part(seeded.a, 1, PATCH_A, 'legal');
      await part(seeded.a, 2, PATCH_A, 'illegal');
      await part(seeded.b, 1, PATCH_B, 'legal', true);
      await part(seeded.b, 1, PATCH_B, 'illegal');
      // A and C returned with new due dates; B submitted (its first submission) by unit1.
      await t.db.query(
        `UPDATE patch_workflow SET state = 'returned', submission_no = 1, return_due_date = '2018-03-10'
         WHERE patch_id = ANY($1::int[])`,
        [[seeded.a, seeded.c]],
      );
      await t.db.query(
        `UPDATE patch_workflow SET state = 'returned', submission_no = 1, return_due_date = '2018-03-20'
         WHERE patch_id = $1`,
        [seeded.b],
      );
      await t.db.query(
        "UPDATE patch_workflow SET state = 'submitted', submission_no = 2, submitted_by = 'unit1' WHERE patch_id = $1",
        [seeded.b],
      );
      // The reviewer opened B's current submission (2) and A's earlier one (1, A is at 1 — counts);
      // someone opened C's submission 0, which is not C's current one (1).
      await t.db.query(
        `INSERT INTO review_opens (patch_id, username, submission_no) VALUES ($1, 'reviewer', 2),
           ($2, 'reviewer2', 1), ($3, 'reviewer', 0)`,
        [seeded.b, seeded.a, seeded.c],
      );
      // unit1 submitted A once before (an event only: A's workflow row names no submitter now).
      await appendEvent(t.db, {
        actor: 'unit1',
        actorRole: 'unit_officer',
        action: 'patch.submit',
        recordType: 'patch',
        recordId: String(seeded.a),
      });
    });
    after(async () => {
      await t.drop();
    });

    // 2018-03-12 08:00 in Shanghai.
    const now = new Date('2018-03-12T00:00:00Z');
    const list = async (unitCode: string | null, username: string) =>
      workItems(t.db, await batchOr404(t.db, '2017-land'), { unitCode, username }, now);

    it('derives verdict and parts from the current parts only', async () => {
      const items = await list(null, 'reviewer');
      assert.deepEqual(
        items.map((i) => [i.jcbh, i.verdict, i.parts]),
        [
          ['370306201700001', 'mixed', 2],
          ['370306201700002', 'illegal', 1],
          ['370306201700003', 'undetermined', 1],
        ],
      );
    });

    it('marks opened submissions (current only) and own submissions (workflow row or event)', async () => {
      const rev = await list(null, 'reviewer');
      assert.deepEqual(
        rev.map((i) => [i.openedByReviewer, i.openedByMe, i.submittedByMe]),
        [
          [true, false, false], // A: reviewer2 opened submission 1
          [true, true, false], // B: the reviewer opened submission 2
          [false, false, false], // C: the open was of submission 0
        ],
      );
      const unit1 = await list('370306101', 'unit1');
      assert.deepEqual(
        unit1.map((i) => [i.jcbh, i.openedByMe, i.submittedByMe, i.receipt]),
        [
          ['370306201700001', false, true, 'returned'],
          ['370306201700002', false, true, 'submitted'],
        ],
      );
    });

    it('computes due dates once per date, each patch with its own', async () => {
      const items = await list(null, 'reviewer');
      // A and C are due 2018-03-10: late from 2018-03-11 00:00 (+08) = 03-10 16:00 UTC, 1 d 8 h before
      // `now` → day 2 of being late. B is submitted: the bureau holds it, no due date.
      assert.deepEqual(
        items.map((i) => [i.dueDate, i.deadlineStatus, i.daysOverdue]),
        [
          ['2018-03-10', 'overdue', 2],
          [null, null, 0],
          ['2018-03-10', 'overdue', 2],
        ],
      );
      await t.db.query("UPDATE patch_workflow SET return_due_date = '2018-03-14' WHERE patch_id = $1", [
        seeded.c,
      ]);
      // C, due 03-14: ends 03-14 16:00 UTC, 2 d 16 h after `now` → within the 3 days of 'due_soon'.
      const c = (await list(null, 'reviewer')).find((i) => i.id === seeded.c)!;
      assert.deepEqual([c.dueDate, c.deadlineStatus, c.daysOverdue], ['2018-03-14', 'due_soon', 0]);
    });
  });
}
