// The patch workflow end to end, on both engines, through the API as the real roles: one patch
// judged in two parts (批少占多, split by its approval with hand-worked areas), refused without
// evidence, submitted, returned with a reason and a new due date, corrected, passed, reported in
// the 初报 round, returned by the upper level (Excel list), corrected and reported again — with the
// first round's snapshot and figures unchanged. Also: forbidden transitions refused with their
// reason and nothing changed, the second-person rule, bulk pass only of opened patches, version
// conflicts, town isolation on every new route, drawn patrol patches linked without double
// counting, reassignment, and deadlines at 23:59:59 and 00:00 Asia/Shanghai.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { writeShapefile, skipWithoutOgr, rect } from '../helpers/ogr.ts';
import { deliveryFeatures, gaussToEllipsoid, DELIVERY_LAT, CM } from '../helpers/delivery.ts';
import { seedAccounts, loginAs, as, type Session } from '../helpers/session.ts';
import { buildApp } from '../../src/server/app.ts';
import { ROUTE_ACCESS } from '../../src/server/access.ts';
import { createBatch } from '../../src/services/batches.ts';
import { importPatches } from '../../src/jobs/import-patches.ts';
import { importLayer } from '../../src/jobs/import-layer.ts';
import { analyseBatch } from '../../src/jobs/analyse-batch.ts';
import { batchStatus, operatorActor } from '../../src/services/workflow.ts';
import { getCrs, toCgcs2000 } from '../../src/geo/crs.ts';
import { listEvents } from '../../src/store/queries/events.ts';
import { digestOf } from '../../src/domain/rulepack.ts';
import type { Db } from '../../src/store/db.ts';

const E0 = 39571000;
const N0 = 4063000;
/** Official area of a w × h rectangle of zone 39 whose centre lies dx metres east of E0. */
const handArea = (w: number, h: number, dx: number) => gaussToEllipsoid(w * h, E0 + dx - CM, DELIVERY_LAT);
const toLonLat = toCgcs2000(getCrs('EPSG:4527'));
const lonLatRect = (x0: number, y0: number, x1: number, y1: number) => ({
  type: 'Polygon',
  coordinates: [rect(x0, y0, x1, y1).map((p) => toLonLat(p))],
});

function close(actual: number, expected: number, tol: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (±${tol})`);
}

/** Everything the workflow writes: a refused request must leave all of it as it was. */
async function dbState(db: Db) {
  const [r] = await db.query<{ s: string }>(
    `SELECT json_build_object(
       'workflow', (SELECT json_agg(w ORDER BY patch_id) FROM (SELECT patch_id, state, version, return_reason,
          return_due_date, submission_no FROM patch_workflow) w),
       'parts', (SELECT json_agg(p ORDER BY id) FROM (SELECT id, patch_id, no, verdict, subtype, fields::text AS f,
          handling, retired_at IS NULL AS cur, counted_area_m2 FROM patch_parts) p),
       'patches', (SELECT json_agg(p ORDER BY id) FROM (SELECT id, unit_code, version FROM patches) p),
       'events', (SELECT count(*) FROM events),
       'rounds', (SELECT count(*) FROM report_rounds),
       'upper', (SELECT count(*) FROM upper_results),
       'links', (SELECT count(*) FROM patch_links))::text AS s`,
  );
  return JSON.parse(r!.s) as unknown;
}

async function addEvidence(
  db: Db,
  patchId: number,
  kind: 'photo' | 'document',
  docType: string | null,
  n = 1,
) {
  for (let i = 0; i < n; i++) {
    const sha = digestOf({ patchId, kind, docType, i, r: Math.random() });
    await db.query(
      `INSERT INTO evidence_items (patch_id, kind, doc_type, original_name, mime, size_bytes, sha256, storage_key, created_by)
       VALUES ($1, $2, $3, $4, $5, 1000, $6, $7, 'unit1')`,
      [
        patchId,
        kind,
        docType,
        `${kind}${i}.jpg`,
        kind === 'photo' ? 'image/jpeg' : 'application/pdf',
        sha,
        `k/${sha}`,
      ],
    );
  }
}

async function xlsx(file: string, rows: (string | null)[][]) {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('审核结果');
  ws.addRow(['序号', '监测编号', '审核结果', '退回原因']);
  rows.forEach((r, i) => ws.addRow([i + 1, ...r]));
  await wb.xlsx.writeFile(file);
  return file;
}

const ILLEGAL_FLAGS = {
  violates_plan: true,
  occupies_agricultural: true,
  occupies_farmland: true,
  occupies_basic_farmland: false,
  construction_period: 'new',
};

for (const engine of engines()) {
  describe(`patch workflow on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let t: TestDb;
    let app: FastifyInstance;
    let dir: string;
    const s = {} as Record<'unit1' | 'unit2' | 'reviewer' | 'admin' | 'leader' | 'dept', Session>;
    const id = {} as Record<'p1' | 'p2' | 'p3' | 'p4', number>;

    async function api(who: Session, method: string, url: string, payload?: unknown) {
      const r = await app.inject(as(who, { method: method as 'GET', url, payload: payload as object }));
      return { status: r.statusCode, body: r.json() };
    }
    const wf = async (who: Session, patchId: number) =>
      (await api(who, 'GET', `/api/patches/${patchId}/workflow`)).body;

    /** Expects a refusal with this status and code, a Chinese message, and nothing changed. */
    async function refused(
      who: Session,
      method: string,
      url: string,
      payload: unknown,
      status: number,
      code: string,
    ) {
      const before = await dbState(t.db);
      const r = await api(who, method, url, payload);
      assert.equal(r.status, status, `${method} ${url}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, JSON.stringify(r.body));
      assert.match(r.body.error.message, /[\u4e00-\u9fff]/);
      assert.deepEqual(await dbState(t.db), before, `${method} ${url} changed the database`);
      return r.body.error as { code: string; message: string; details: unknown };
    }

    before(async () => {
      t = await freshDb(engine);
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-workflow-'));
      await createBatch(t.db, { slug: '2017-land', kind: 'land', year: 2017, actor: 'tester' });
      await seedAccounts(t.db);
      await t.db.query(
        "INSERT INTO responsible_units (code, name, kind) VALUES ('370306103', '王村镇', 'town') ON CONFLICT DO NOTHING",
      );
      const shp = (await writeShapefile(dir, deliveryFeatures(), { name: 'tb', lco: ['ENCODING=CP936'] }))
        .shp;
      await importPatches(t.db, shp, {
        batch: '2017-land',
        areaUnit: 'm2',
        source: '卫片',
        actor: 'tester',
        maxUnzippedBytes: 1e8,
      });
      // The approval of patch 1 covers its west 60 m (and land outside the patch).
      const approval = await writeShapefile(
        dir,
        [
          {
            properties: { PZWH: '鲁政土字〔2016〕123号', PZRQ: '2016-08-01' },
            geometry: { type: 'Polygon', coordinates: [rect(E0 - 50, N0 - 50, E0 + 60, N0 + 150)] },
          },
        ],
        { name: 'pz', lco: ['ENCODING=CP936'] },
      );
      await importLayer(t.db, approval.shp, { type: 'approval', actor: 'tester', maxUnzippedBytes: 1e8 });
      await analyseBatch(t.db, { batch: '2017-land', actor: 'tester' });
      app = await buildApp({ db: t.db });
      for (const u of ['unit1', 'unit2', 'reviewer', 'admin', 'leader', 'dept'] as const)
        s[u] = await loginAs(app, u);
      const rows = await t.db.query<{ id: number; jcbh: string }>(
        'SELECT id, jcbh FROM patches ORDER BY jcbh',
      );
      [id.p1, id.p2, id.p3, id.p4] = rows.map((r) => r.id) as [number, number, number, number];
    });
    after(async () => {
      await app?.close();
      await t?.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('gives every patch one whole part and the state 已下发, with the analysis beside it', async () => {
      const v = await wf(s.unit1, id.p1);
      assert.equal(v.workflow.state, 'issued');
      assert.equal(v.workflow.label, '已下发（未核查）');
      assert.match(v.workflow.explanation, /尚未填写/);
      assert.equal(v.workflow.version, 1);
      assert.equal(v.parts.length, 1);
      assert.equal(v.parts[0].origin, 'whole');
      assert.equal(v.parts[0].verdict, 'undetermined');
      close(v.parts[0].areaM2, handArea(100, 100, 50), 0.01, 'whole part');
      assert.equal(v.parts[0].areaM2, v.patch.areaM2);
      assert.ok(v.analysis, 'analysis shown beside the judgement');
      assert.equal(typeof v.analysis.prejudgement, 'string');
      assert.equal(v.rulePack.id, '2017-land');
      assert.deepEqual(v.workflow.deadline && [v.workflow.deadline.date, v.workflow.deadline.source], [
        '2018-03-14',
        'round',
      ]);
      assert.equal(v.workflow.allowed.judge.allow, true);
      assert.equal(v.workflow.allowed.pass.allow, false);
      assert.equal(v.workflow.allowed.pass.reason, 'role_not_allowed');
    });

    it('refuses every transition the state forbids, with its reason, changing nothing', async () => {
      const v = (await wf(s.unit1, id.p1)).workflow.version;
      const e1 = await refused(
        s.unit1,
        'POST',
        `/api/patches/${id.p1}/submit`,
        { version: v },
        409,
        'not_judged',
      );
      assert.match(e1.message, /尚未填写任何判定/);
      await refused(
        s.reviewer,
        'POST',
        `/api/patches/${id.p1}/pass`,
        { version: v },
        409,
        'transition_not_allowed',
      );
      await refused(
        s.reviewer,
        'POST',
        `/api/patches/${id.p1}/return`,
        { version: v, reason: '照片不清', dueDate: '2099-01-01' },
        409,
        'transition_not_allowed',
      );
      await refused(
        s.admin,
        'POST',
        `/api/patches/${id.p1}/upper-result`,
        { version: v, result: 'returned', reason: 'x' },
        409,
        'transition_not_allowed',
      );
      const part = (await wf(s.unit1, id.p1)).parts[0].id;
      // Handling needs an illegal judgement (and is not even possible before any judgement).
      await refused(
        s.unit1,
        'PUT',
        `/api/patches/${id.p1}/parts/${part}/handling`,
        { version: v, handling: { mode: 'file_case' } },
        409,
        'transition_not_allowed',
      );
      // Roles: a leader cannot judge, a unit officer cannot review, a department sees no patches.
      await refused(
        s.leader,
        'PUT',
        `/api/patches/${id.p1}/parts/${part}/judgement`,
        { version: v, verdict: 'legal' },
        403,
        'role_not_allowed',
      );
      await refused(s.dept, 'GET', `/api/patches/${id.p1}/workflow`, undefined, 403, 'role_not_allowed');
    });

    it('splits a 批少占多 patch by its approval into parts with exact areas', async () => {
      const v = (await wf(s.unit1, id.p1)).workflow.version;
      const r = await api(s.unit1, 'POST', `/api/patches/${id.p1}/split`, { version: v, mode: 'approval' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.workflow.state, 'verifying');
      const parts = r.body.parts;
      assert.deepEqual(
        parts.map((p: { no: number; origin: string }) => [p.no, p.origin]),
        [
          [1, 'approved'],
          [2, 'unapproved'],
        ],
      );
      close(parts[0].areaM2, handArea(60, 100, 30), 0.01, 'approved part');
      close(parts[1].areaM2, handArea(40, 100, 80), 0.01, 'unapproved part');
      close(parts[0].areaM2 + parts[1].areaM2, r.body.patch.areaM2, 0.01, 'parts tile the patch');
      // The old whole part is kept, retired.
      const [retired] = await t.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM patch_parts WHERE patch_id = $1 AND retired_at IS NOT NULL',
        [id.p1],
      );
      assert.equal(retired!.n, 1);
      // Drawn parts that leave a gap are refused, naming the gap.
      const gap = await refused(
        s.unit1,
        'POST',
        `/api/patches/${id.p1}/split`,
        {
          version: r.body.workflow.version,
          mode: 'drawn',
          parts: [lonLatRect(E0, N0, E0 + 50, N0 + 100), lonLatRect(E0 + 51, N0, E0 + 100, N0 + 100)],
        },
        400,
        'parts_not_tiling',
      );
      assert.match(gap.message, /未被任何部分覆盖/);
    });

    it('validates judgements against the rule pack, naming the field', async () => {
      const v = await wf(s.unit1, id.p1);
      const [p1, p2] = v.parts;
      const e = await refused(
        s.unit1,
        'PUT',
        `/api/patches/${id.p1}/parts/${p1.id}/judgement`,
        {
          version: v.workflow.version,
          verdict: 'legal',
          subtype: 'agri_conversion_approval',
          fields: {
            approval_authority: '山东省人民政府',
            approval_date: '2016-08-01',
            approved_area_m2: 6000,
          },
        },
        400,
        'judgement_field_missing',
      );
      assert.match(e.message, /批准文号/);
      assert.deepEqual(e.details, { field: 'approval_no' });
      await refused(
        s.unit1,
        'PUT',
        `/api/patches/${id.p1}/parts/${p2.id}/judgement`,
        {
          version: v.workflow.version,
          verdict: 'illegal',
          subtype: 'exceed_approved_area',
          fields: {
            ...ILLEGAL_FLAGS,
            approval_no: '鲁政土字〔2016〕123号',
            approved_area_m2: 6000,
            exceeded_area_m2: 4200,
          },
        },
        400,
        'judgement_inconsistent',
      );
    });

    let roundOneFigures: unknown;
    let roundOneHash: string;

    it('runs the full path: judge, refused without evidence, submit, return, correct, pass, report, upper return, report again', async () => {
      let v = await wf(s.unit1, id.p1);
      const [p1, p2] = v.parts;
      let r = await api(s.unit1, 'PUT', `/api/patches/${id.p1}/parts/${p1.id}/judgement`, {
        version: v.workflow.version,
        verdict: 'legal',
        subtype: 'agri_conversion_approval',
        fields: {
          approval_authority: '山东省人民政府',
          approval_no: '鲁政土字〔2016〕123号',
          approval_date: '2016-08-01',
          approved_area_m2: 6000,
        },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.parts[0].rulePack, { id: '2017-land', version: '1.0.0' });
      assert.equal(r.body.parts[0].judgedBy, 'unit1');
      r = await api(s.unit1, 'PUT', `/api/patches/${id.p1}/parts/${p2.id}/judgement`, {
        version: r.body.workflow.version,
        verdict: 'illegal',
        subtype: 'exceed_approved_area',
        fields: {
          ...ILLEGAL_FLAGS,
          approval_no: '鲁政土字〔2016〕123号',
          approved_area_m2: 6000,
          exceeded_area_m2: 3999.5,
        },
        handling: { mode: 'should_file_not_filed', reason: '当事人正在补办手续前的调查中' },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.parts[1].verdictLabel, '违法');
      assert.equal(r.body.parts[1].subtypeLabel, '批少占多');
      assert.equal(r.body.parts[1].handling.label, '应立未立');
      // The missing evidence is listed per part…
      assert.deepEqual(
        r.body.parts[1].missingEvidence.map((m: { id: string }) => m.id),
        ['site_photos', 'approval_document'],
      );
      // …and an illegal verdict cannot be submitted without field photos.
      const noEvidence = await refused(
        s.unit1,
        'POST',
        `/api/patches/${id.p1}/submit`,
        { version: r.body.workflow.version },
        400,
        'evidence_missing',
      );
      assert.match(
        noEvidence.message,
        /第 2 部分（违法·批少占多）缺少举证：实地照片（需要 2 份，已有 0 份）/,
      );
      await addEvidence(t.db, id.p1, 'photo', null, 1);
      await refused(
        s.unit1,
        'POST',
        `/api/patches/${id.p1}/submit`,
        { version: r.body.workflow.version },
        400,
        'evidence_missing',
      );
      await addEvidence(t.db, id.p1, 'photo', null, 1);
      await addEvidence(t.db, id.p1, 'document', 'approval_doc', 1);
      r = await api(s.unit1, 'POST', `/api/patches/${id.p1}/submit`, { version: r.body.workflow.version });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.workflow.state, 'submitted');
      assert.equal(r.body.workflow.label, '已提交（待分局审核）');
      assert.equal(r.body.workflow.submissionNo, 1);
      assert.equal(r.body.workflow.deadline, null);

      // Frozen under review.
      await refused(
        s.unit1,
        'PUT',
        `/api/patches/${id.p1}/parts/${p1.id}/judgement`,
        { version: r.body.workflow.version, verdict: 'undetermined' },
        409,
        'under_review',
      );
      // A due date in the past is refused.
      await refused(
        s.reviewer,
        'POST',
        `/api/patches/${id.p1}/return`,
        { version: r.body.workflow.version, reason: '批准文件不全', dueDate: '2018-01-01' },
        400,
        'due_date_invalid',
      );
      r = await api(s.reviewer, 'POST', `/api/patches/${id.p1}/return`, {
        version: r.body.workflow.version,
        reason: '违法部分应立案查处，请改为立案并补充立案审批表',
        dueDate: '2099-03-20',
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      v = await wf(s.unit1, id.p1);
      assert.equal(v.workflow.state, 'returned');
      assert.equal(v.workflow.label, '分局退回（待修改）');
      assert.deepEqual(
        [
          v.workflow.return.by,
          v.workflow.return.reason,
          v.workflow.return.dueDate,
          v.workflow.return.returnedBy,
        ],
        ['bureau', '违法部分应立案查处，请改为立案并补充立案审批表', '2099-03-20', 'reviewer'],
      );
      assert.deepEqual([v.workflow.deadline.date, v.workflow.deadline.source], ['2099-03-20', 'return']);

      // The unit corrects the handling and submits again.
      r = await api(s.unit1, 'PUT', `/api/patches/${id.p1}/parts/${p2.id}/handling`, {
        version: v.workflow.version,
        handling: { mode: 'file_case' },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.workflow.state, 'returned');
      r = await api(s.unit1, 'POST', `/api/patches/${id.p1}/submit`, { version: r.body.workflow.version });
      assert.equal(r.body.workflow.submissionNo, 2);
      r = await api(s.reviewer, 'POST', `/api/patches/${id.p1}/pass`, { version: r.body.workflow.version });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.workflow.state, 'passed');
      assert.equal(r.body.workflow.label, '分局初审通过（未上报）');

      // 初报: the passed patch is reported and its judgement locked; the snapshot is hashed.
      const closed = await api(s.admin, 'POST', '/api/batches/2017-land/rounds', { round: 'initial' });
      assert.equal(closed.status, 201, JSON.stringify(closed.body));
      const round = closed.body.round;
      assert.deepEqual([round.seq, round.kind, round.label, round.reportedCount], [1, 'initial', '初报', 1]);
      assert.match(round.hash, /^[0-9a-f]{64}$/);
      roundOneFigures = round.figures;
      roundOneHash = round.hash;
      const u101 = round.figures.units.find((u: { unitCode: string }) => u.unitCode === '370306101');
      close(u101.areaByVerdict.legal, handArea(60, 100, 30), 0.01, 'round 1 legal area');
      close(u101.areaByVerdict.illegal, handArea(40, 100, 80), 0.01, 'round 1 illegal area');
      assert.equal(u101.byState.reported, 1);
      v = await wf(s.unit1, id.p1);
      assert.equal(v.workflow.state, 'reported');
      assert.deepEqual(v.workflow.reportedRound, { seq: 1, label: '初报' });
      const locked = await refused(
        s.unit1,
        'PUT',
        `/api/patches/${id.p1}/parts/${p1.id}/judgement`,
        { version: v.workflow.version, verdict: 'undetermined' },
        409,
        'judgement_locked',
      );
      assert.match(locked.message, /只有上级退回后才能修改/);
      await refused(
        s.unit1,
        'POST',
        `/api/patches/${id.p1}/merge`,
        { version: v.workflow.version },
        409,
        'judgement_locked',
      );
      await refused(
        s.admin,
        'POST',
        '/api/batches/2017-land/rounds',
        { round: 'initial' },
        409,
        'round_not_allowed',
      );
      // Handling stays open after the report (cases go on).
      r = await api(s.unit1, 'PUT', `/api/patches/${id.p1}/parts/${p2.id}/handling`, {
        version: v.workflow.version,
        handling: { mode: 'handle_without_case', reasonCode: '03', reason: '已自行拆除复耕' },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.workflow.state, 'reported');

      // The upper level returns it (Excel list); a bad list changes nothing.
      const bad = await xlsx(path.join(dir, 'bad.xlsx'), [
        ['370306201700001', '退回', '合法部分批准面积与批文不符'],
        ['370306209999999', '通过', null],
      ]);
      const badUp = await app.inject(
        as(s.admin, {
          method: 'POST',
          url: '/api/batches/2017-land/upper-results?filename=bad.xlsx',
          headers: { 'content-type': 'application/octet-stream' },
          payload: await import('node:fs/promises').then((fs) => fs.readFile(bad)),
        }),
      );
      assert.equal(badUp.statusCode, 400, badUp.body);
      assert.equal(badUp.json().error.code, 'upper_import_refused');
      assert.match(badUp.json().error.message, /第 3 行（370306209999999）批次 2017-land 中没有这个监测编号/);
      assert.equal((await wf(s.unit1, id.p1)).workflow.state, 'reported');
      const good = await xlsx(path.join(dir, 'good.xlsx'), [
        ['370306201700001', '退回', '合法部分批准面积与批文不符'],
      ]);
      const up = await app.inject(
        as(s.admin, {
          method: 'POST',
          url: '/api/batches/2017-land/upper-results?filename=good.xlsx',
          headers: { 'content-type': 'application/octet-stream' },
          payload: await import('node:fs/promises').then((fs) => fs.readFile(good)),
        }),
      );
      assert.equal(up.statusCode, 200, up.body);
      assert.deepEqual([up.json().summary.rows, up.json().summary.returned], [1, 1]);
      v = await wf(s.unit1, id.p1);
      assert.equal(v.workflow.state, 'upper_returned');
      assert.equal(v.workflow.label, '上级退回（待修改）');
      assert.deepEqual(
        [v.workflow.return.by, v.workflow.return.reason],
        ['upper', '合法部分批准面积与批文不符'],
      );
      assert.deepEqual(
        v.upperResults.map((u: { result: string; round: string; source: string; sourceRow: number }) => [
          u.result,
          u.round,
          u.source,
          u.sourceRow,
        ]),
        [['returned', '初报', 'excel', 2]],
      );

      // Corrected after the upper return: the whole patch judged illegal (merge, then judge).
      r = await api(s.unit1, 'POST', `/api/patches/${id.p1}/merge`, { version: v.workflow.version });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.parts.length, 1);
      assert.equal(
        r.body.parts[0].verdict,
        'undetermined',
        'different judgements are not carried into a merge',
      );
      close(r.body.parts[0].areaM2, r.body.patch.areaM2, 1e-9, 'merged = whole patch');
      r = await api(s.unit1, 'PUT', `/api/patches/${id.p1}/parts/${r.body.parts[0].id}/judgement`, {
        version: r.body.workflow.version,
        verdict: 'illegal',
        subtype: 'build_without_approval',
        fields: ILLEGAL_FLAGS,
        handling: { mode: 'file_case' },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      r = await api(s.unit1, 'POST', `/api/patches/${id.p1}/submit`, { version: r.body.workflow.version });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      r = await api(s.reviewer, 'POST', `/api/patches/${id.p1}/pass`, { version: r.body.workflow.version });
      assert.equal(r.body.workflow.state, 'passed');
      const second = await api(s.admin, 'POST', '/api/batches/2017-land/rounds', {
        round: 'update',
        reason: '上级退回后重报',
      });
      assert.equal(second.status, 201, JSON.stringify(second.body));
      assert.deepEqual(
        [second.body.round.seq, second.body.round.label, second.body.round.reportedCount],
        [2, '更新报（第 1 次）', 1],
      );
      const u101b = second.body.round.figures.units.find(
        (u: { unitCode: string }) => u.unitCode === '370306101',
      );
      close(u101b.areaByVerdict.illegal, handArea(100, 100, 50), 0.01, 'round 2 illegal area');
      assert.equal(u101b.areaByVerdict.legal, 0);

      const events = await listEvents(t.db, { recordType: 'patch', recordId: id.p1, limit: 100 });
      assert.deepEqual(
        events.map((e) => e.action),
        [
          'patch.split',
          'patch.judge',
          'patch.judge',
          'patch.submit',
          'patch.return',
          'patch.handling',
          'patch.submit',
          'patch.pass',
          'patch.report',
          'patch.handling',
          'patch.upper_return',
          'patch.merge',
          'patch.judge',
          'patch.submit',
          'patch.pass',
          'patch.report',
        ],
      );
      assert.deepEqual(
        events.map((e) => e.actor),
        [
          'unit1',
          'unit1',
          'unit1',
          'unit1',
          'reviewer',
          'unit1',
          'unit1',
          'reviewer',
          'admin',
          'unit1',
          'admin',
          'unit1',
          'unit1',
          'unit1',
          'reviewer',
          'admin',
        ],
      );
      const ret = events.find((e) => e.action === 'patch.return')!;
      assert.equal(ret.reason, '违法部分应立案查处，请改为立案并补充立案审批表');
    });

    it('keeps a round snapshot’s figures and hash unchanged after later edits', async () => {
      const r = await api(s.admin, 'GET', '/api/batches/2017-land/rounds/1');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.round.figures, roundOneFigures);
      assert.equal(r.body.round.hash, roundOneHash);
      assert.deepEqual(r.body.round.verification, {
        recomputedHash: roundOneHash,
        eventHash: roundOneHash,
        ok: true,
      });
      // The snapshot still shows the two parts as reported then.
      const p = r.body.round.snapshot.patches.find((x: { jcbh: string }) => x.jcbh === '370306201700001');
      assert.deepEqual(
        p.parts.map((x: { verdict: string; subtype: string; handling: string | null }) => [
          x.verdict,
          x.subtype,
          x.handling,
        ]),
        [
          ['legal', 'agri_conversion_approval', null],
          ['illegal', 'exceed_approved_area', 'file_case'],
        ],
      );
      assert.equal(p.state, 'reported');
      // The table refuses rewriting history.
      await assert.rejects(t.db.query("UPDATE report_rounds SET label = 'x' WHERE seq = 1"), /只能追加/);
      const list = await api(s.leader, 'GET', '/api/batches/2017-land/rounds');
      assert.deepEqual(
        list.body.rounds.map((x: { seq: number; label: string }) => [x.seq, x.label]),
        [
          [1, '初报'],
          [2, '更新报（第 1 次）'],
        ],
      );
      await refused(s.unit1, 'GET', '/api/batches/2017-land/rounds/1', undefined, 403, 'role_not_allowed');
    });

    it('second person: whoever judged or submitted cannot pass; another reviewer can', async () => {
      // 王村镇 has no officer: the bureau admin judges and submits for it.
      let v = await wf(s.admin, id.p3);
      let r = await api(s.admin, 'PUT', `/api/patches/${id.p3}/parts/${v.parts[0].id}/judgement`, {
        version: v.workflow.version,
        verdict: 'other',
        subtype: 'rural_road',
        fields: { width_m: 4.5, hardened: false },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await addEvidence(t.db, id.p3, 'photo', null, 2);
      r = await api(s.admin, 'POST', `/api/patches/${id.p3}/submit`, { version: r.body.workflow.version });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      v = await wf(s.admin, id.p3);
      assert.equal(v.workflow.allowed.pass.reason, 'own_work');
      const e = await refused(
        s.admin,
        'POST',
        `/api/patches/${id.p3}/pass`,
        { version: v.workflow.version },
        403,
        'own_work',
      );
      assert.match(e.message, /不能审核自己的工作/);
      r = await api(s.reviewer, 'POST', `/api/patches/${id.p3}/pass`, { version: v.workflow.version });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.workflow.reviewedBy, 'reviewer');
    });

    it('bulk pass takes only submissions the reviewer has opened, all or nothing', async () => {
      // Patch 2 (南郊镇, unit2) judged and submitted; patch 4 (no unit officer) by the admin.
      const judgeAndSubmit = async (who: Session, patchId: number) => {
        const v = await wf(who, patchId);
        let r = await api(who, 'PUT', `/api/patches/${patchId}/parts/${v.parts[0].id}/judgement`, {
          version: v.workflow.version,
          verdict: 'other',
          subtype: 'facility_agricultural',
          fields: { filing_no: '周农设备〔2017〕8号' },
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        await addEvidence(t.db, patchId, 'photo', null, 2);
        await addEvidence(t.db, patchId, 'document', 'facility_filing', 1);
        r = await api(who, 'POST', `/api/patches/${patchId}/submit`, { version: r.body.workflow.version });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.workflow.version as number;
      };
      const v2 = await judgeAndSubmit(s.unit2, id.p2);
      const v4 = await judgeAndSubmit(s.admin, id.p4);
      const items = [
        { patchId: id.p2, version: v2 },
        { patchId: id.p4, version: v4 },
      ];
      // The reviewer opened only patch 2 so far.
      await wf(s.reviewer, id.p2);
      const e = await refused(
        s.reviewer,
        'POST',
        '/api/batches/2017-land/bulk-pass',
        { items },
        409,
        'bulk_pass_refused',
      );
      assert.deepEqual(
        (e.details as { refused: { patchId: number; code: string }[] }).refused.map((x) => [
          x.patchId,
          x.code,
        ]),
        [[id.p4, 'not_opened']],
      );
      // The admin submitted patch 4 and opened both, but still cannot pass their own work in bulk.
      await wf(s.admin, id.p2);
      await wf(s.admin, id.p4);
      const own = await refused(
        s.admin,
        'POST',
        '/api/batches/2017-land/bulk-pass',
        { items },
        409,
        'bulk_pass_refused',
      );
      assert.deepEqual(
        (own.details as { refused: { patchId: number; code: string }[] }).refused.map((x) => [
          x.patchId,
          x.code,
        ]),
        [[id.p4, 'own_work']],
      );
      await wf(s.reviewer, id.p4);
      const stale = await refused(
        s.reviewer,
        'POST',
        '/api/batches/2017-land/bulk-pass',
        { items: [items[0], { patchId: id.p4, version: v4 - 1 }] },
        409,
        'bulk_pass_refused',
      );
      assert.equal((stale.details as { refused: { code: string }[] }).refused[0]!.code, 'version_conflict');
      const r = await api(s.reviewer, 'POST', '/api/batches/2017-land/bulk-pass', { items });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(
        r.body.passed.map((p: { patchId: number }) => p.patchId),
        [id.p2, id.p4].sort((a, b) => a - b),
      );
      assert.equal((await wf(s.unit2, id.p2)).workflow.state, 'passed');
    });

    it('refuses a stale version with 409 and the current version', async () => {
      const v = await wf(s.reviewer, id.p2);
      const e = await refused(
        s.reviewer,
        'POST',
        `/api/patches/${id.p2}/return`,
        { version: v.workflow.version - 1, reason: '复核', dueDate: '2099-01-01' },
        409,
        'version_conflict',
      );
      assert.equal((e.details as { currentVersion: number }).currentVersion, v.workflow.version);
    });

    it('keeps unit officers to their own unit on every new patch route', async () => {
      // Patch 2 belongs to 南郊镇 (unit2): unit1 is refused on each route with a patch id.
      const v = await wf(s.unit2, id.p2);
      const part = v.parts[0].id;
      const keys = Object.keys(ROUTE_ACCESS).filter((k) =>
        /^(GET|POST|PUT) \/api\/patches\/:id\/(workflow|parts|submit|pass|return|split|merge|reassign|upper-result)/.test(
          k,
        ),
      );
      assert.equal(keys.length, 10);
      for (const key of keys) {
        const [method, url] = key.split(' ') as [string, string];
        const version = v.workflow.version;
        // Valid bodies, so that only the owner check can refuse.
        const bodies: Record<string, object> = {
          judgement: { version, verdict: 'undetermined' },
          handling: { version, handling: { mode: 'file_case' } },
          return: { version, reason: '复核', dueDate: '2099-01-01' },
          split: { version, mode: 'approval' },
          reassign: { version, unitCode: '370306101', reason: '复核' },
          'upper-result': { version, result: 'passed' },
        };
        const r = await app.inject(
          as(s.unit1, {
            method: method as 'GET',
            url: url.replace(':id', String(id.p2)).replace(':partId', String(part)),
            payload: method === 'GET' ? undefined : (bodies[url.split('/').pop()!] ?? { version }),
          }),
        );
        assert.equal(r.statusCode, 403, `${key}: ${r.body}`);
        assert.ok(['other_unit', 'role_not_allowed'].includes(r.json().error.code), `${key}: ${r.body}`);
      }
      // The batch status shows a unit officer only their own unit, and refuses another one.
      const mine = await api(s.unit1, 'GET', '/api/batches/2017-land/status');
      assert.deepEqual(
        mine.body.units.map((u: { unitCode: string }) => u.unitCode),
        ['370306101'],
      );
      await refused(
        s.unit1,
        'GET',
        '/api/batches/2017-land/status?unit=370306102',
        undefined,
        403,
        'other_unit',
      );
      const all = await api(s.reviewer, 'GET', '/api/batches/2017-land/status');
      assert.equal(all.body.total.patches, 4);
      // The judgement form is for everyone who may read the workflow.
      const form = await api(s.unit1, 'GET', '/api/batches/2017-land/judgement-form');
      assert.equal(form.status, 200);
      assert.equal(form.body.states.length, 8);
    });

    it('draws a patrol patch, links it to the satellite patch it overlaps and counts the overlap once', async () => {
      // 20 m of the patrol patch lie on satellite patch 1, 30 m beyond it.
      const before = await batchStatus(t.db, '2017-land', operatorActor('t'));
      const r = await api(s.admin, 'POST', '/api/batches/2017-land/patches', {
        source: '巡查',
        geometry: lonLatRect(E0 + 80, N0, E0 + 130, N0 + 100),
        unitCode: '370306101',
        note: '日常巡查发现的硬化地面',
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.patch.jcbh, 'XC20170001');
      assert.equal(r.body.patch.source, 'patrol');
      assert.equal(r.body.patch.sourceLabel, '巡查');
      assert.equal(r.body.workflow.state, 'issued');
      close(r.body.patch.areaM2, handArea(50, 100, 105), 0.01, 'patrol area');
      assert.deepEqual(
        r.body.links.countedWith.map((l: { jcbh: string }) => l.jcbh),
        ['370306201700001'],
      );
      close(r.body.links.countedWith[0].overlapM2, handArea(20, 100, 90), 0.01, 'overlap');
      close(r.body.parts[0].countedAreaM2, handArea(30, 100, 115), 0.01, 'counted');
      const after = await batchStatus(t.db, '2017-land', operatorActor('t'));
      close(
        after.total.areaM2 - before.total.areaM2,
        handArea(30, 100, 115),
        0.01,
        'figures grow by the new part only',
      );
      assert.equal(after.unlinkedSources, 0);
      // Refreshing finds the same links: nothing changes.
      const again = await api(s.admin, 'POST', '/api/batches/2017-land/links');
      assert.deepEqual([again.body.checked, again.body.linked, again.body.changed.length], [1, 1, 0]);
      // A unit officer cannot draw patches; a satellite source cannot be drawn; a bowtie is refused.
      await refused(
        s.unit1,
        'POST',
        '/api/batches/2017-land/patches',
        { source: '巡查', geometry: lonLatRect(E0, N0, E0 + 1, N0 + 1) },
        403,
        'role_not_allowed',
      );
      await refused(
        s.admin,
        'POST',
        '/api/batches/2017-land/patches',
        { source: '卫片', geometry: lonLatRect(E0, N0, E0 + 10, N0 + 10), unitCode: '370306101' },
        400,
        'source_invalid',
      );
      const [a, b, c, d] = lonLatRect(E0, N0, E0 + 10, N0 + 10).coordinates[0]!;
      await refused(
        s.admin,
        'POST',
        '/api/batches/2017-land/patches',
        {
          source: '举报',
          geometry: { type: 'Polygon', coordinates: [[a, c, b, d, a]] },
          unitCode: '370306101',
        },
        400,
        'geometry_invalid',
      );
    });

    it('reassigns a patch to another unit with a reason, which then owns it', async () => {
      const xc = (await t.db.query<{ id: number }>("SELECT id FROM patches WHERE jcbh = 'XC20170001'"))[0]!
        .id;
      const v = await wf(s.unit1, xc);
      await refused(
        s.admin,
        'POST',
        `/api/patches/${xc}/reassign`,
        { version: v.workflow.version, unitCode: '370306102', reason: '   ' },
        400,
        'reason_required',
      );
      await refused(
        s.admin,
        'POST',
        `/api/patches/${xc}/reassign`,
        { version: v.workflow.version, unitCode: '370306999', reason: '界线' },
        404,
        'unit_not_found',
      );
      const r = await api(s.admin, 'POST', `/api/patches/${xc}/reassign`, {
        version: v.workflow.version,
        unitCode: '370306102',
        reason: '经实地核实位于南郊镇辖区',
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.patch.unitCode, r.body.patch.unitSource], ['370306102', 'reassigned']);
      assert.equal((await api(s.unit1, 'GET', `/api/patches/${xc}/workflow`)).status, 403);
      assert.equal((await api(s.unit2, 'GET', `/api/patches/${xc}/workflow`)).status, 200);
      const [ev] = await listEvents(t.db, { recordType: 'patch', recordId: xc, latest: true, limit: 1 });
      assert.equal(ev!.action, 'patch.reassign');
      assert.equal(ev!.reason, '经实地核实位于南郊镇辖区');
      assert.deepEqual((ev!.before as { unitCode: string }).unitCode, '370306101');
    });

    it('lists overdue and due-soon patches per unit at 23:59:59 and 00:00 Asia/Shanghai', async () => {
      // Make the next deadline the initial report's again by moving milestones on a fresh batch.
      await createBatch(t.db, { slug: '2017-land-b', kind: 'land', year: 2017, actor: 'tester' });
      const r = await api(s.admin, 'POST', '/api/batches/2017-land-b/patches', {
        source: '举报',
        geometry: lonLatRect(E0 + 500, N0, E0 + 520, N0 + 20),
        unitCode: '370306101',
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.patch.jcbh, 'JB20170001');
      const op = operatorActor('t');
      const lastSecond = await batchStatus(t.db, '2017-land-b', op, {
        now: new Date('2018-03-14T23:59:59+08:00'),
      });
      assert.deepEqual(lastSecond.overdue, []);
      assert.deepEqual(
        lastSecond.dueSoon.map((x) => [x.jcbh, x.dueDate, x.dueAt, x.daysOverdue]),
        [['JB20170001', '2018-03-14', '2018-03-14T16:00:00.000Z', 0]],
      );
      assert.equal(lastSecond.units[0]!.dueSoon, 1);
      const midnight = await batchStatus(t.db, '2017-land-b', op, {
        now: new Date('2018-03-15T00:00:00+08:00'),
      });
      assert.deepEqual(lastSecond.nextRound?.date, '2018-03-14');
      assert.deepEqual(
        midnight.overdue.map((x) => [x.jcbh, x.unitCode, x.stateLabel, x.daysOverdue]),
        [['JB20170001', '370306101', '已下发（未核查）', 1]],
      );
      assert.equal(midnight.units[0]!.overdue, 1);
      assert.equal(midnight.nextRound?.status, 'overdue');
      // An earlier time: neither overdue nor due within 3 days.
      const early = await batchStatus(t.db, '2017-land-b', op, {
        now: new Date('2018-03-01T12:00:00+08:00'),
      });
      assert.deepEqual([early.overdue.length, early.dueSoon.length], [0, 0]);
      // The bureau moves the batch's initial report to 3/16 (an audited edit): the patch is no longer late.
      const batch = (await api(s.admin, 'GET', '/api/batches/2017-land-b')).body.batch;
      const milestones = batch.milestones.map((m: { id: string; date: string }) =>
        m.id === 'land_initial_report' ? { ...m, date: '2018-03-16' } : m,
      );
      const edit = await api(s.admin, 'PATCH', '/api/batches/2017-land-b', {
        version: batch.version,
        milestones,
        reason: '市局通知初报顺延两天',
      });
      assert.equal(edit.status, 200, JSON.stringify(edit.body));
      const moved = await batchStatus(t.db, '2017-land-b', op, {
        now: new Date('2018-03-15T00:00:00+08:00'),
      });
      assert.deepEqual(moved.overdue, []);
      assert.deepEqual(
        moved.dueSoon.map((x) => [x.jcbh, x.dueDate]),
        [['JB20170001', '2018-03-16']],
      );
      const [ev] = await listEvents(t.db, {
        recordType: 'batch',
        recordId: '2017-land-b',
        latest: true,
        limit: 1,
      });
      assert.deepEqual([ev!.action, ev!.reason], ['batch.update', '市局通知初报顺延两天']);
    });
  });
}
