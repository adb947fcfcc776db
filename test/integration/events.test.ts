// The untamperable record: real operations append one hash chain that verifies; tampering as a DBA
// would (trigger disabled, a row edited, deleted, re-hashed or moved) is named at the first broken
// event; the trigger refuses edits; a rolled-back change leaves no event; concurrent edits of one
// batch never overwrite each other (exactly one of 50 wins, the rest get 409 with the current version).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { engines, freshDb, freshTarget, type TestDb } from '../helpers/db.ts';
import { writeShapefile, skipWithoutOgr } from '../helpers/ogr.ts';
import { deliveryFeatures } from '../helpers/delivery.ts';
import { runCli } from '../helpers/cli.ts';
import { seedAccounts, loginAs, as, type Session } from '../helpers/session.ts';
import { buildApp } from '../../src/server/app.ts';
import { createBatch, updateBatch } from '../../src/services/batches.ts';
import { importPatches, type ImportPatchesOptions } from '../../src/jobs/import-patches.ts';
import { importLayer } from '../../src/jobs/import-layer.ts';
import { appendEvent, chainHead, listEvents, verifyChain } from '../../src/store/queries/events.ts';
import { updateVersioned } from '../../src/store/versioned.ts';
import { eventHash, GENESIS_HASH, type VerifyResult } from '../../src/domain/hashchain.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { Db, Queryable } from '../../src/store/db.ts';
import { openFromConfig } from '../../src/cli/context.ts';
import { loadConfig } from '../../src/config.ts';

const patchOpts = (batch: string): ImportPatchesOptions => ({
  batch,
  areaUnit: 'm2',
  source: '卫片',
  actor: 'cli:tester',
  maxUnzippedBytes: 50 * 1024 * 1024,
});
const layerOpts = { type: 'farmland', actor: 'cli:tester', maxUnzippedBytes: 50 * 1024 * 1024 };

const ISO_MS = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;

async function counts(db: Queryable) {
  const [r] = await db.query<{ e: number; p: number; i: number; l: number; b: number }>(
    `SELECT (SELECT count(*)::int FROM events) AS e, (SELECT count(*)::int FROM patches) AS p,
       (SELECT count(*)::int FROM imports) AS i, (SELECT count(*)::int FROM reference_layers) AS l,
       (SELECT count(*)::int FROM batches) AS b`,
  );
  return r!;
}

class Rollback extends Error {}

/** Tampers inside a transaction, verifies there, then rolls everything (the DDL too) back. */
async function verifyTampered(db: Db, tamper: (tx: Queryable) => Promise<void>): Promise<VerifyResult> {
  let result: VerifyResult | undefined;
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query('ALTER TABLE events DISABLE TRIGGER events_append_only');
      await tamper(tx);
      result = await verifyChain(tx, () => undefined, 2); // pages of 2: the walk crosses pages
      throw new Rollback();
    }),
    Rollback,
  );
  return result!;
}

/** The same database, but inside transactions the statement containing `marker` fails. */
function failingAt(db: Db, marker: string, seen: string[]): Db {
  return {
    engine: db.engine,
    location: db.location,
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: async (sql, params) => {
            seen.push(sql);
            if (sql.includes(marker)) throw new Error(`injected failure at ${marker}`);
            return tx.query(sql, params);
          },
          exec: (sql) => tx.exec(sql),
        }),
      ),
  };
}

function weipianCode(code: string) {
  return (e: unknown) => {
    assert.ok(isWeipianError(e), `expected a WeipianError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

for (const engine of engines()) {
  describe(`audit trail on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let t: TestDb;
    let app: FastifyInstance;
    let dir: string;
    let shp: string;
    let patchImportId: number;
    let admin: Session;
    let genesis: { head: unknown; verify: unknown };
    // Seqs are counted from the head after the accounts are seeded (so account set-up may audit too).
    let base: { seq: number; hash: string };
    const S = (n: number) => base.seq + n;
    const call = (o: InjectOptions) => app.inject(as(admin, o));
    before(async () => {
      t = await freshDb(engine);
      genesis = { head: await chainHead(t.db), verify: await verifyChain(t.db) };
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-events-'));
      shp = (await writeShapefile(dir, deliveryFeatures(), { name: '图斑', lco: ['ENCODING=CP936'] })).shp;
      app = await buildApp({ db: t.db });
      await seedAccounts(t.db);
      admin = await loginAs(app, 'admin');
      base = await chainHead(t.db);
    });
    after(async () => {
      await app.close();
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('starts with an empty chain whose head is the genesis hash', async () => {
      assert.deepEqual(genesis.head, { seq: 0, hash: GENESIS_HASH, at: null });
      assert.deepEqual(genesis.verify, { ok: true, count: 0, head: { seq: 0, hash: GENESIS_HASH } });
    });

    it('records batch creation, imports and an edit as one chain that verifies', async () => {
      const land = await createBatch(t.db, {
        slug: 'audit-land',
        kind: 'land',
        year: 2017,
        actor: 'cli:tester',
      });
      await createBatch(t.db, { slug: 'audit-mineral', kind: 'mineral', year: 2017, actor: 'cli:tester' });
      const s = await importPatches(t.db, shp, patchOpts('audit-land'));
      patchImportId = s.importId!;
      const l = await importLayer(t.db, shp, layerOpts);
      const r = await call({
        method: 'PATCH',
        url: '/api/batches/audit-land',
        payload: { version: 1, name: '2017年度土地卫片（周村区）', reason: '按区政府文件更正名称' },
      });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().batch.version, 2);

      const events = await listEvents(t.db, { afterSeq: base.seq });
      assert.deepEqual(
        events.map((e) => [e.seq, e.action, `${e.recordType}:${e.recordId}`, e.actor]),
        [
          [S(1), 'batch.create', 'batch:audit-land', 'cli:tester'],
          [S(2), 'batch.create', 'batch:audit-mineral', 'cli:tester'],
          [S(3), 'import.patches', 'batch:audit-land', 'cli:tester'],
          [S(4), 'layer.import', 'layer:farmland', 'cli:tester'],
          [S(5), 'batch.update', 'batch:audit-land', 'admin'],
        ],
      );
      // batch.create: after is the stored row, as JSON reads it back.
      const created = events[0]!.after as Record<string, unknown>;
      assert.equal(created.id, land.id);
      assert.equal(created.name, '2017年度土地卫片');
      assert.equal(created.version, 1);
      assert.equal(created.created_at, land.created_at.toISOString());
      assert.equal(events[0]!.before, null);

      // One event per import (not per patch), with the summary and the import id.
      const imp = events[2]!.after as Record<string, unknown>;
      assert.equal(imp.importId, patchImportId);
      assert.deepEqual(
        [imp.batch, imp.read, imp.imported, imp.repaired, imp.refused, imp.crs],
        ['audit-land', 4, 4, 1, 0, 'EPSG:4527'],
      );
      const [impRow] = await t.db.query<{ batch_id: number; source_sha256: string }>(
        'SELECT batch_id, source_sha256 FROM imports WHERE id = $1',
        [patchImportId],
      );
      assert.equal(impRow!.batch_id, land.id);
      assert.equal(imp.sourceSha256, impRow!.source_sha256);
      assert.equal(imp.sourceSha256, s.sourceSha256);
      const layerEvent = events[3]!.after as Record<string, unknown>;
      assert.deepEqual(
        [layerEvent.type, layerEvent.layerId, layerEvent.version, layerEvent.imported, layerEvent.repaired],
        ['farmland', l.layerId, 1, 4, 1],
      );
      const [layerImp] = await t.db.query<{ id: number }>('SELECT id FROM imports WHERE layer_id = $1', [
        l.layerId,
      ]);
      assert.equal(layerEvent.importId, layerImp!.id);

      // The edit: changed fields before and after, the reason.
      assert.deepEqual(events[4]!.before, { version: 1, name: '2017年度土地卫片' });
      assert.deepEqual(events[4]!.after, { version: 2, name: '2017年度土地卫片（周村区）' });
      assert.equal(events[4]!.reason, '按区政府文件更正名称');
      assert.equal(events[4]!.actorRole, 'bureau_admin');
      assert.equal(events[0]!.actorRole, null);

      // The chain: each links to the one before, hashes recompute, times in order.
      assert.equal(events[0]!.prevHash, base.hash);
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        assert.match(e.at, ISO_MS);
        assert.equal(e.hash, eventHash(e.prevHash, e));
        if (i > 0) {
          assert.equal(e.prevHash, events[i - 1]!.hash);
          assert.ok(e.at >= events[i - 1]!.at, 'appended in time order');
        }
      }
      const progress: [number, number][] = [];
      const v = await verifyChain(t.db, (d, n) => progress.push([d, n]), 2);
      assert.deepEqual(v, { ok: true, count: S(5), head: { seq: S(5), hash: events[4]!.hash } });
      assert.deepEqual(progress[0], [0, S(5)]);
      assert.deepEqual(progress.at(-1), [S(5), S(5)]);
      assert.ok(progress.length >= 4, 'reported page by page');
      assert.ok(progress.every(([d], i) => i === 0 || d >= progress[i - 1]![0]));
      assert.deepEqual(await chainHead(t.db), { seq: S(5), hash: events[4]!.hash, at: events[4]!.at });
    });

    it('serves a record timeline and the chain head over HTTP', async () => {
      const r = await call({ url: '/api/events?recordType=batch&recordId=audit-land' });
      assert.equal(r.statusCode, 200, r.body);
      const tl = r.json() as { events: { seq: number; action: string }[] };
      assert.deepEqual(
        tl.events.map((e) => [e.seq, e.action]),
        [
          [S(1), 'batch.create'],
          [S(3), 'import.patches'],
          [S(5), 'batch.update'],
        ],
      );
      const paged = (await call({ url: `/api/events?afterSeq=${S(3)}&limit=1` })).json() as {
        events: { seq: number }[];
      };
      assert.deepEqual(
        paged.events.map((e) => e.seq),
        [S(4)],
      );
      const h = await call({ url: '/api/audit/head' });
      assert.equal(h.statusCode, 200);
      assert.deepEqual(h.json().head, await chainHead(t.db));
      assert.equal(h.json().head.seq, S(5));
      const bad = await call({ url: '/api/events?recordId=audit-land' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'request_invalid');
      const extra = await call({ url: '/api/events?who=me' });
      assert.equal(extra.statusCode, 400);
    });

    it('refuses UPDATE, DELETE and TRUNCATE of events, and moving the head back', async () => {
      await assert.rejects(
        t.db.query(`UPDATE events SET reason = '补记' WHERE seq = ${S(1)}`),
        /审计事件只能追加/,
      );
      await assert.rejects(t.db.query(`DELETE FROM events WHERE seq = ${S(5)}`), /审计事件只能追加/);
      await assert.rejects(t.db.query('TRUNCATE events'), /审计事件只能追加/);
      await assert.rejects(
        t.db.query(`UPDATE event_chain_head SET seq = ${S(4)}`),
        /审计链头只能随新事件前移/,
      );
      await assert.rejects(t.db.query('DELETE FROM event_chain_head'), /审计链头只能随新事件前移/);
      assert.equal((await counts(t.db)).e, S(5));
      assert.equal((await verifyChain(t.db)).ok, true);
    });

    it('names the first broken event when a DBA disables the trigger and edits, deletes or moves events', async () => {
      const head = await chainHead(t.db);
      const [s1, s2, s3, s4, s5] = [S(1), S(2), S(3), S(4), S(5)];
      const edited = await verifyTampered(t.db, async (tx) => {
        await tx.query(`UPDATE events SET after = jsonb_set(after, '{imported}', '3') WHERE seq = ${s3}`);
      });
      assert.ok(!edited.ok);
      assert.deepEqual(
        [edited.broken.seq, edited.broken.index, edited.broken.kind, edited.count],
        [s3, s3, 'hash_mismatch', s2],
      );
      assert.ok(
        edited.broken.message.startsWith(`第 ${s3} 条事件（seq ${s3}）哈希不符：`),
        edited.broken.message,
      );

      const deleted = await verifyTampered(t.db, (tx) =>
        tx.query(`DELETE FROM events WHERE seq = ${s3}`).then(() => undefined),
      );
      assert.ok(!deleted.ok);
      assert.deepEqual([deleted.broken.seq, deleted.broken.index, deleted.broken.kind], [s4, s3, 'seq_gap']);
      assert.ok(
        deleted.broken.message.startsWith(`第 ${s3} 条事件（seq ${s4}）之前缺少事件：应为 seq ${s3}`),
        deleted.broken.message,
      );

      const rehashed = await verifyTampered(t.db, (tx) =>
        tx.query(`UPDATE events SET hash = '${'f'.repeat(64)}' WHERE seq = ${s2}`).then(() => undefined),
      );
      assert.ok(!rehashed.ok);
      assert.deepEqual([rehashed.broken.seq, rehashed.broken.kind], [s2, 'hash_mismatch']);

      // Reordered: events 2 and 3 swap places (seq is the primary key, so through a free number).
      const reordered = await verifyTampered(t.db, async (tx) => {
        await tx.query(`UPDATE events SET seq = 100000 WHERE seq = ${s2}`);
        await tx.query(`UPDATE events SET seq = ${s2} WHERE seq = ${s3}`);
        await tx.query(`UPDATE events SET seq = ${s3} WHERE seq = 100000`);
      });
      assert.ok(!reordered.ok);
      assert.deepEqual([reordered.broken.seq, reordered.broken.kind], [s2, 'prev_hash_mismatch']);

      // A careful forger rewrites event 3 and recomputes its hash: event 4 no longer links to it.
      const forged = await verifyTampered(t.db, async (tx) => {
        const [e3] = await listEvents(tx, { afterSeq: s2, limit: 1 });
        const after = { ...(e3!.after as object), imported: 3 };
        await tx.query(`UPDATE events SET after = $1::jsonb, hash = $2 WHERE seq = ${s3}`, [
          JSON.stringify(after),
          eventHash(e3!.prevHash, { ...e3!, after }),
        ]);
      });
      assert.ok(!forged.ok);
      assert.deepEqual([forged.broken.seq, forged.broken.kind], [s4, 'prev_hash_mismatch']);

      const backdated = await verifyTampered(t.db, (tx) =>
        tx.query(`UPDATE events SET at = at - interval '1 day' WHERE seq = ${s1}`).then(() => undefined),
      );
      assert.ok(!backdated.ok);
      assert.deepEqual([backdated.broken.seq, backdated.broken.kind], [s1, 'hash_mismatch']);

      const tail = await verifyTampered(t.db, (tx) =>
        tx.query(`DELETE FROM events WHERE seq = ${s5}`).then(() => undefined),
      );
      assert.ok(!tail.ok);
      assert.deepEqual([tail.broken.seq, tail.broken.kind, tail.count], [s5, 'missing_tail', s4]);

      const headless = await verifyTampered(t.db, async (tx) => {
        await tx.query('ALTER TABLE event_chain_head DISABLE TRIGGER event_chain_head_forward');
        await tx.query('DELETE FROM event_chain_head');
      });
      assert.ok(!headless.ok);
      assert.equal(headless.broken.kind, 'head_mismatch');
      assert.match(headless.broken.message, /链头记录缺失/);

      // A well-formed event slipped in after the last one without moving the head.
      const s6 = S(6);
      const slipped = await verifyTampered(t.db, async (tx) => {
        const c = {
          seq: s6,
          at: '2018-03-14T00:00:00.000Z',
          actor: 'dba',
          actorRole: null,
          action: 'batch.update',
          recordType: 'batch',
          recordId: 'audit-land',
          reason: null,
          before: null,
          after: { name: '伪造' },
        };
        await tx.query(
          `INSERT INTO events (seq, at, actor, action, record_type, record_id, after, prev_hash, hash)
           VALUES ($1, $2, 'dba', 'batch.update', 'batch', 'audit-land', $3::jsonb, $4, $5)`,
          [s6, c.at, JSON.stringify(c.after), head.hash, eventHash(head.hash, c)],
        );
      });
      assert.ok(!slipped.ok);
      assert.deepEqual([slipped.broken.seq, slipped.broken.kind], [s6, 'head_mismatch']);
      assert.ok(slipped.broken.message.startsWith(`第 ${s6} 条事件（seq ${s6}）在链头之后`));

      // Everything above was rolled back, the trigger included.
      assert.deepEqual(await verifyChain(t.db), { ok: true, count: s5, head: { seq: s5, hash: head.hash } });
      await assert.rejects(t.db.query(`DELETE FROM events WHERE seq = ${s5}`), /审计事件只能追加/);
    });

    it('leaves no event when the change it records rolls back', async () => {
      const before = await counts(t.db);
      const head = await chainHead(t.db);
      // A refusal inside the import transaction (the delivery is already in the batch).
      await assert.rejects(importPatches(t.db, shp, patchOpts('audit-land')), weipianCode('duplicate_jcbh'));
      // Failures after the event row was written: the head update of the append itself fails.
      for (const work of [
        (db: Db) => importPatches(db, shp, patchOpts('audit-mineral')),
        (db: Db) => importLayer(db, shp, layerOpts),
        (db: Db) =>
          createBatch(db, { slug: 'audit-rollback', kind: 'land', year: 2017, actor: 'cli:tester' }),
      ]) {
        const seen: string[] = [];
        await assert.rejects(work(failingAt(t.db, 'UPDATE event_chain_head', seen)), /injected failure/);
        assert.ok(
          seen.some((s) => s.includes('INSERT INTO events')),
          'the event row was written inside the transaction before the failure',
        );
      }
      assert.deepEqual(await counts(t.db), before);
      assert.deepEqual(await chainHead(t.db), head);
      assert.equal((await verifyChain(t.db)).ok, true);
    });

    it('edits milestones under version control, audited with before, after and reason', async () => {
      const [b] = await t.db.query<{ milestones: { id: string; date: string }[] }>(
        "SELECT milestones FROM batches WHERE slug = 'audit-land'",
      );
      const moved = b!.milestones.map((m) =>
        m.id === 'land_initial_report' ? { ...m, date: '2018-03-16' } : m,
      );
      const r = await call({
        method: 'PATCH',
        url: '/api/batches/audit-land',
        payload: { version: 2, milestones: moved, reason: '市局通知初报延期两天' },
      });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().batch.version, 3);
      assert.equal(
        r.json().batch.milestones.find((m: { id: string }) => m.id === 'land_initial_report').date,
        '2018-03-16',
      );
      const [e] = await listEvents(t.db, {
        recordType: 'batch',
        recordId: 'audit-land',
        latest: true,
        limit: 1,
      });
      assert.equal(e!.action, 'batch.update');
      assert.equal(e!.reason, '市局通知初报延期两天');
      assert.deepEqual(e!.before, { version: 2, milestones: b!.milestones });
      assert.deepEqual(e!.after, { version: 3, milestones: moved });
      assert.equal((await verifyChain(t.db)).ok, true);
    });

    it('refuses bad edits with a Chinese reason and changes nothing', async () => {
      const state = async () => ({
        counts: await counts(t.db),
        batch: (
          await t.db.query("SELECT name, milestones, version FROM batches WHERE slug = 'audit-land'")
        )[0],
      });
      const before = await state();
      const [b] = await t.db.query<{ milestones: { id: string; label: string; date: string }[] }>(
        "SELECT milestones FROM batches WHERE slug = 'audit-land'",
      );
      const ms = b!.milestones;
      const cases: [unknown, number, string][] = [
        [{ version: 3, name: '新名称', slug: 'x' }, 400, 'request_invalid'],
        [{ name: '新名称' }, 400, 'request_invalid'],
        [{ version: 3 }, 400, 'nothing_to_update'],
        [{ version: 3, name: '   ' }, 400, 'batch_name_invalid'],
        [
          { version: 3, milestones: ms.map((m, i) => (i === 0 ? { ...m, date: '2018-02-30' } : m)) },
          400,
          'milestones_invalid',
        ],
        [{ version: 3, milestones: [...ms].reverse() }, 400, 'milestones_invalid'],
        [{ version: 3, milestones: [...ms, { ...ms[0]!, date: '2018-12-31' }] }, 400, 'milestones_invalid'],
        [{ version: 3, milestones: ms.slice(1) }, 400, 'milestone_removed'],
        [{ version: 2, name: '过期的修改' }, 409, 'version_conflict'],
      ];
      for (const [payload, status, code] of cases) {
        const r = await call({
          method: 'PATCH',
          url: '/api/batches/audit-land',
          payload: payload as object,
        });
        assert.equal(r.statusCode, status, `${JSON.stringify(payload)} → ${r.body}`);
        assert.equal(r.json().error.code, code);
        assert.match(r.json().error.message, /[\u4e00-\u9fff]/);
        if (code === 'version_conflict') {
          assert.equal(r.json().error.message, '记录已被他人修改，请刷新后重试');
          assert.equal(r.json().error.details.currentVersion, 3);
          assert.equal(r.json().error.details.current.name, '2017年度土地卫片（周村区）');
        }
      }
      const gone = await call({
        method: 'PATCH',
        url: '/api/batches/no-such',
        payload: { version: 1, name: 'x' },
      });
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.json().error.code, 'batch_not_found');
      assert.deepEqual(await state(), before);
    });

    it('updateVersioned: 404 for a row that is gone, and only plain identifiers', async () => {
      await assert.rejects(
        t.db.transaction((tx) => updateVersioned(tx, 'batches', 999_999, 1, { name: 'x' })),
        (e: unknown) => weipianCode('record_not_found')(e) && (e as { status: number }).status === 404,
      );
      await assert.rejects(
        t.db.transaction((tx) => updateVersioned(tx, 'batches; DROP TABLE events', 1, 1, { name: 'x' })),
        /not a plain identifier/,
      );
      const [row] = await t.db.query<{ id: number; version: number }>(
        "SELECT id, version FROM batches WHERE slug = 'audit-mineral'",
      );
      const up = await t.db.transaction((tx) =>
        updateVersioned<{ version: number; milestones: unknown }>(tx, 'batches', row!.id, 1, {
          milestones: [{ id: 'a', label: '甲', date: '2018-01-01' }],
        }),
      );
      assert.equal(up.version, 2);
      assert.deepEqual(
        up.milestones,
        [{ id: 'a', label: '甲', date: '2018-01-01' }],
        'arrays are stored as JSON',
      );
    });

    it('lets exactly one of 50 concurrent edits naming version 1 win; 49 get 409 with the current version', async () => {
      await createBatch(t.db, { slug: 'race', kind: 'land', year: 2017, actor: 'cli:tester' });
      const names = Array.from({ length: 50 }, (_, i) => `竞争修改-${i}`);
      const replies = await Promise.all(
        names.map((name) =>
          call({
            method: 'PATCH',
            url: '/api/batches/race',
            payload: { version: 1, name, reason: name },
          }),
        ),
      );
      const won = replies.filter((r) => r.statusCode === 200);
      const lost = replies.filter((r) => r.statusCode === 409);
      assert.equal(won.length, 1, replies.map((r) => r.statusCode).join(','));
      assert.equal(lost.length, 49);
      const winner = won[0]!.json().batch as { name: string; version: number };
      assert.equal(winner.version, 2);
      assert.ok(names.includes(winner.name));
      for (const r of lost) {
        const err = r.json().error;
        assert.equal(err.code, 'version_conflict');
        assert.equal(err.details.currentVersion, 2);
        assert.equal(err.details.current.name, winner.name);
      }
      const final = (await call({ url: '/api/batches/race' })).json().batch;
      assert.equal(final.name, winner.name);
      assert.equal(final.version, 2);
      const updates = (await listEvents(t.db, { recordType: 'batch', recordId: 'race' })).filter(
        (e) => e.action === 'batch.update',
      );
      assert.equal(updates.length, 1);
      assert.deepEqual(updates[0]!.after, { version: 2, name: winner.name });
      assert.equal(updates[0]!.reason, winner.name);
      assert.equal((await verifyChain(t.db)).ok, true);
    });

    it('keeps sequence numbers gapless under concurrent appends', async () => {
      const head = await chainHead(t.db);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.db.transaction((tx) =>
            appendEvent(tx, { actor: 'cli:tester', action: 'test.append', recordType: 'test', recordId: i }),
          ),
        ),
      );
      const appended = await listEvents(t.db, { recordType: 'test', limit: 100 });
      assert.deepEqual(
        appended.map((e) => e.seq),
        Array.from({ length: 20 }, (_, i) => head.seq + 1 + i),
      );
      assert.deepEqual(
        appended.map((e) => e.recordId).sort((a, b) => Number(a) - Number(b)),
        Array.from({ length: 20 }, (_, i) => String(i)),
      );
      const v = await verifyChain(t.db);
      assert.ok(v.ok && v.count === head.seq + 20);
    });
  });

  describe(`weipian audit on ${engine} (real processes)`, () => {
    let dir: string;
    let env: Record<string, string>;
    let drop: () => Promise<void>;
    // The database exactly where the command finds it (PGlite keeps its files in a folder inside WEIPIAN_DATA).
    const open = () => openFromConfig(loadConfig(env));
    let b0 = 0; // head before this test's events
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-audit-cli-'));
      ({ env, drop } = await freshTarget(engine, path.join(dir, 'data')));
      const db = await open();
      try {
        b0 = (await chainHead(db)).seq;
        await createBatch(db, { slug: 'cli-a', kind: 'land', year: 2017, actor: 'cli:tester' });
        await createBatch(db, { slug: 'cli-b', kind: 'land', year: 2017, actor: 'cli:tester' });
        await updateBatch(db, 'cli-a', { version: 1, name: '改名', reason: '更正', actor: 'cli:tester' });
      } finally {
        await db.close();
      }
    });
    after(async () => {
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('verifies (exit 0), then names the tampered event (exit 1)', async () => {
      const ok = await runCli(['audit', 'verify', '--json'], env);
      assert.equal(ok.code, 0, ok.stderr);
      const out = JSON.parse(ok.stdout) as {
        ok: boolean;
        count: number;
        head: { seq: number; hash: string };
      };
      assert.deepEqual([out.ok, out.count, out.head.seq], [true, b0 + 3, b0 + 3]);
      assert.match(out.head.hash, /^[0-9a-f]{64}$/);

      const log = await runCli(['audit', 'log', '--record', 'batch:cli-a'], env);
      assert.equal(log.code, 0, log.stderr);
      assert.match(log.stdout, new RegExp(`#${b0 + 1}\t\\S+\tcli:tester\tbatch\\.create\tbatch:cli-a`));
      assert.ok(
        log.stdout.includes(
          `cli:tester\tbatch.update\tbatch:cli-a\t原因：更正\n    name："2017年度土地卫片" → "改名"`,
        ),
        log.stdout,
      );
      assert.match(log.stdout, new RegExp(`#${b0 + 3}\t`));
      assert.doesNotMatch(log.stdout, /cli-b/);

      const db = await open();
      try {
        await db.exec('ALTER TABLE events DISABLE TRIGGER events_append_only');
        await db.query(
          `UPDATE events SET after = jsonb_set(after, '{name}', '"伪造的名称"') WHERE seq = ${b0 + 2}`,
        );
        await db.exec('ALTER TABLE events ENABLE TRIGGER events_append_only');
      } finally {
        await db.close();
      }
      const bad = await runCli(['audit', 'verify', '--json'], env);
      assert.equal(bad.code, 1, bad.stderr);
      const err = JSON.parse(bad.stdout) as {
        ok: boolean;
        error: {
          code: string;
          message: string;
          details: { verified: number; broken: { seq: number; kind: string } };
        };
      };
      assert.equal(err.ok, false);
      assert.equal(err.error.code, 'audit_chain_broken');
      assert.deepEqual(
        [err.error.details.broken.seq, err.error.details.broken.kind, err.error.details.verified],
        [b0 + 2, 'hash_mismatch', b0 + 1],
      );
      const human = await runCli(['audit', 'verify'], env);
      assert.equal(human.code, 1);
      assert.ok(
        human.stderr.startsWith(`错误：审计链不完整：第 ${b0 + 2} 条事件（seq ${b0 + 2}）哈希不符：`),
        human.stderr,
      );
    });
  });
}
