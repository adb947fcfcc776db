// Evidence (举证) through the API on both engines: photos with real EXIF (written by exiftool) at
// known positions and directions give exactly their expected integrity signals; originals come back
// byte for byte; refused uploads (a PHP script named .jpg, a truncated JPEG, a 2 GB body streamed or
// declared) change nothing; replacement supersedes and keeps the old version; reviewers confirm or
// dismiss signals with a reason; a unit officer never touches another unit's evidence.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { seedAccounts, loginAs, as, type Session } from '../helpers/session.ts';
import {
  GOOD_TIME,
  ORIGIN,
  UPLOAD_NOW,
  makeJpeg,
  offset,
  reencode,
  seedEvidencePatches,
  skipWithoutExiftool,
  writeExif,
  type SeededPatches,
} from '../helpers/evidence.ts';
import { buildApp } from '../../src/server/app.ts';
import { DirectoryStore } from '../../src/evidence/store.ts';
import { hammingDistance } from '../../src/evidence/image.ts';
import { countConfirmedFindings } from '../../src/store/queries/evidence.ts';
import { FRAUD_FINDINGS } from '../../src/evidence/signals.ts';
import { listEvents } from '../../src/store/queries/events.ts';
import type { Db } from '../../src/store/db.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(root, p));
    }
  }
  await walk(root);
  return out.sort();
}

/** What a refused request must leave untouched: rows, signals, events and stored files. */
async function state(db: Db, storeRoot: string) {
  const [c] = await db.query<{ items: number; signals: number; events: number }>(
    `SELECT (SELECT count(*)::int FROM evidence_items) AS items, (SELECT count(*)::int FROM evidence_signals) AS signals,
       (SELECT count(*)::int FROM events) AS events`,
  );
  return { ...c!, files: await filesUnder(storeRoot) };
}

const MAX_BYTES = 5 * 1024 * 1024;

for (const engine of engines()) {
  describe(`evidence on ${engine}`, { skip: skipWithoutExiftool() }, () => {
    let t: TestDb;
    let app: FastifyInstance;
    let dir: string;
    let storeRoot: string;
    let p: SeededPatches;
    let unit1: Session;
    let unit2: Session;
    let reviewer: Session;
    const fx = {} as Record<'inside' | 'far' | 'away' | 'nogps' | 'reused' | 'copy' | 'old', string>;
    const ids = {} as Record<string, number>;

    before(async () => {
      t = await freshDb(engine);
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-evidence-'));
      storeRoot = path.join(dir, 'files', 'evidence');
      p = await seedEvidencePatches(t.db);
      await seedAccounts(t.db);
      app = await buildApp({
        db: t.db,
        evidence: { store: new DirectoryStore(storeRoot), now: () => UPLOAD_NOW, maxBytes: MAX_BYTES },
      });
      unit1 = await loginAs(app, 'unit1');
      unit2 = await loginAs(app, 'unit2');
      reviewer = await loginAs(app, 'reviewer');
      const f = (n: string) => path.join(dir, n);
      // Patch A is the 100 m square at ORIGIN; B the same 50 m east of it (helpers/evidence.ts).
      fx.inside = await writeExif(await makeJpeg(f('inside.jpg'), 1), {
        ...GOOD_TIME,
        position: offset(ORIGIN, 50, 50),
        direction: 10,
        accuracyM: 5,
        make: 'HUAWEI',
        model: 'P20',
      });
      // 800 m north of A's north edge, looking south at it.
      fx.far = await writeExif(await makeJpeg(f('far.jpg'), 2), {
        ...GOOD_TIME,
        position: offset(ORIGIN, 50, 900),
        direction: 180,
      });
      // 50 m west of A, looking west (A lies between 45° and 135° from there).
      fx.away = await writeExif(await makeJpeg(f('away.jpg'), 3), {
        ...GOOD_TIME,
        position: offset(ORIGIN, -50, 50),
        direction: 270,
      });
      fx.nogps = await writeExif(await makeJpeg(f('nogps.jpg'), 4), { ...GOOD_TIME });
      // Inside A near its east edge looking east: fine for A, and 55 m from B looking at B.
      fx.reused = await writeExif(await makeJpeg(f('reused.jpg'), 5), {
        ...GOOD_TIME,
        position: offset(ORIGIN, 95, 50),
        direction: 90,
      });
      // The inside photo re-saved smaller at lower quality, its EXIF rewritten to stand inside B.
      fx.copy = await writeExif(await reencode(fx.inside, f('copy.jpg')), {
        ...GOOD_TIME,
        position: offset(ORIGIN, 200, 50),
        direction: 0,
      });
      // A year-old photo: before the after image (2017-04-20), before the 2018 work, long before upload.
      fx.old = await writeExif(await makeJpeg(f('old.jpg'), 6), {
        time: '2017:03:01 09:00:00',
        offset: '+08:00',
        position: offset(ORIGIN, 20, 20),
        direction: 0,
      });
    });
    after(async () => {
      await app.close();
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    });

    function upload(s: Session, patchId: number, file: string, query: Record<string, string | number> = {}) {
      return readFile(file).then((payload) =>
        app.inject(
          as(s, {
            method: 'POST',
            url: `/api/patches/${patchId}/evidence?${new URLSearchParams({
              filename: path.basename(file),
              kind: 'photo',
              ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])),
            })}`,
            headers: { 'content-type': 'application/octet-stream' },
            payload,
          }),
        ),
      );
    }

    async function codesOf(s: Session, patchId: number, file: string, key: string, q = {}) {
      const r = await upload(s, patchId, file, q);
      assert.equal(r.statusCode, 201, r.body);
      ids[key] = r.json().evidence.id;
      return r.json().signals.map((x: { code: string }) => x.code);
    }

    it('gives each fixture exactly its expected signals', async () => {
      assert.deepEqual(await codesOf(unit1, p.a, fx.inside, 'inside'), []);
      assert.deepEqual(await codesOf(unit1, p.a, fx.far, 'far'), ['far_from_patch']);
      assert.deepEqual(await codesOf(unit1, p.a, fx.away, 'away'), ['facing_away']);
      assert.deepEqual(await codesOf(unit1, p.a, fx.nogps, 'nogps'), ['no_position']);
      assert.deepEqual(await codesOf(unit1, p.a, fx.reused, 'reusedA'), []);
      assert.deepEqual(await codesOf(unit1, p.b, fx.reused, 'reusedB'), ['duplicate_file']);
      assert.deepEqual(await codesOf(unit1, p.b, fx.copy, 'copy'), ['similar_image']);
      assert.deepEqual(await codesOf(unit1, p.a, fx.old, 'old'), [
        'outside_work_window',
        'before_after_image',
        'exif_upload_gap',
      ]);
    });

    it('explains each signal with the measured facts', async () => {
      const signals = async (id: number) =>
        (await app.inject(as(reviewer, { url: `/api/evidence/${id}` }))).json().evidence.signals;
      const [far] = await signals(ids.far!);
      assert.equal(far.details.positions[0].source, 'exif');
      assert.ok(Math.abs(far.details.positions[0].distanceM - 800) < 0.5, far.details.positions[0].distanceM);
      assert.match(far.message, /距图斑 800 米，超过允许的 200 米/);
      const [away] = await signals(ids.away!);
      assert.ok(
        Math.abs(away.details.headings[0].offDeg - 135) < 0.5,
        String(away.details.headings[0].offDeg),
      );
      assert.match(away.message, /拍摄方向 270°/);
      const [dup] = await signals(ids.reusedB!);
      assert.deepEqual(dup.details.uses, [
        { evidenceId: ids.reusedA, patchId: p.a, jcbh: '370306201700001' },
      ]);
      const [similar] = await signals(ids.copy!);
      assert.equal(similar.details.uses[0].evidenceId, ids.inside);
      assert.ok(similar.details.uses[0].distance <= 10);
      const old = await signals(ids.old!);
      assert.match(old[0].message, /2017-03-01 09:00.*早于本批次核查工作期（2018-01-01 至 2018-05-10）/);
      assert.match(old[1].message, /早于图斑后时相影像日期 2017-04-20/);
      assert.ok(Math.abs(old[2].details.gapHours - (396 * 24 + 1)) < 0.01, String(old[2].details.gapHours));
    });

    it('tells distinct photos apart and a re-encoded copy from none (the similarity test can fail)', async () => {
      const { current } = (await app.inject(as(reviewer, { url: `/api/patches/${p.a}/evidence` }))).json();
      const hashes = current.map((e: { phash: string }) => e.phash);
      for (let i = 0; i < hashes.length; i++)
        for (let j = i + 1; j < hashes.length; j++)
          assert.ok(hammingDistance(hashes[i], hashes[j]) > 16, `${i}/${j} too close`);
      const copy = (await app.inject(as(reviewer, { url: `/api/evidence/${ids.copy}` }))).json().evidence;
      const inside = current.find((e: { id: number }) => e.id === ids.inside);
      assert.notEqual(copy.sha256, inside.sha256);
      assert.ok(hammingDistance(copy.phash, inside.phash) <= 10);
    });

    it('keeps what the photo says: EXIF time, position, accuracy, direction and device', async () => {
      const e = (await app.inject(as(unit1, { url: `/api/evidence/${ids.inside}` }))).json().evidence;
      const [lon, lat] = offset(ORIGIN, 50, 50);
      assert.equal(e.kind, 'photo');
      assert.equal(e.mime, 'image/jpeg');
      assert.equal(e.exif.takenAt, '2018-03-30T02:15:00.000Z');
      assert.equal(e.exif.takenAtSource, 'offset');
      // exiftool writes degrees/minutes/seconds as rationals: equal to ~1e-7° (1 cm).
      assert.ok(Math.abs(e.exif.lat - lat) < 1e-6 && Math.abs(e.exif.lon - lon) < 1e-6);
      assert.equal(e.exif.accuracyM, 5);
      assert.equal(e.exif.directionDeg, 10);
      assert.equal(e.exif.make, 'HUAWEI');
      assert.equal(e.exif.model, 'P20');
      assert.equal(e.browser_capture, null);
      assert.equal(e.width, 640);
      assert.equal(e.height, 480);
      assert.equal(e.created_at, UPLOAD_NOW.toISOString());
    });

    it('returns the original byte for byte, and a small upright thumbnail', async () => {
      const original = await readFile(fx.inside);
      const r = await app.inject(as(unit1, { url: `/api/evidence/${ids.inside}/file` }));
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.rawPayload, original);
      assert.equal(r.headers['content-type'], 'image/jpeg');
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.match(String(r.headers['content-disposition']), /^attachment; filename="inside.jpg"/);
      const item = (await app.inject(as(unit1, { url: `/api/evidence/${ids.inside}` }))).json().evidence;
      assert.equal(item.sha256, sha256(original));
      assert.equal(item.size_bytes, original.length);
      const th = await app.inject(as(unit1, { url: `/api/evidence/${ids.inside}/thumbnail` }));
      const meta = await sharp(th.rawPayload).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.deepEqual([meta.width, meta.height], [320, 240]);
      assert.equal(meta.exif, undefined, 'no metadata in thumbnails');
      // The reused file is stored once, whatever the number of uses.
      const originals = (await filesUnder(storeRoot)).filter((f) => f.startsWith('originals'));
      assert.equal(originals.length, 7);
    });

    it('uses what the browser measured when the photo has no GPS, and marks its source', async () => {
      const plain = await makeJpeg(path.join(dir, 'browser.jpg'), 7);
      const [lon, lat] = offset(ORIGIN, 30, 60);
      const ok = await upload(unit1, p.a, plain, {
        lat,
        lon,
        accuracy: 8,
        heading: 45,
        time: '2018-03-31T09:00:00+08:00',
      });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.deepEqual(
        ok.json().signals,
        [],
        'inside the patch, in the work window, no EXIF time to compare',
      );
      assert.deepEqual(ok.json().evidence.browser_capture, {
        lat,
        lon,
        accuracyM: 8,
        headingDeg: 45,
        takenAt: '2018-03-31T01:00:00.000Z',
      });
      assert.equal(ok.json().evidence.exif.lat, null);
      // Same kind of photo, page standing 60 m east of A looking further east: away, by the browser.
      const plain2 = await makeJpeg(path.join(dir, 'browser2.jpg'), 8);
      const [lon2, lat2] = offset(ORIGIN, 160, 50);
      const away = await upload(unit1, p.a, plain2, { lat: lat2, lon: lon2, heading: 90 });
      assert.deepEqual(
        away.json().signals.map((s: { code: string }) => s.code),
        ['no_time', 'facing_away'],
      );
      assert.match(away.json().signals[1].message, /浏览器定位/);
      const bad = await upload(unit1, p.a, plain2, { lat: 95, lon: lon2 });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'evidence_capture_invalid');
    });

    it('refuses a PHP script named .jpg, a truncated JPEG and a 2 GB body, changing nothing', async () => {
      const before = await state(t.db, storeRoot);
      const php = path.join(dir, 'shell.jpg');
      await writeFile(php, '<?php system($_GET["c"]); ?>\n');
      const r1 = await upload(unit1, p.a, php);
      assert.equal(r1.statusCode, 415);
      assert.equal(r1.json().error.code, 'evidence_type_refused');
      assert.match(r1.json().error.message, /PHP 脚本/);

      const whole = await readFile(fx.inside);
      const cut = path.join(dir, 'cut.jpg');
      await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
      const r2 = await upload(unit1, p.a, cut);
      assert.equal(r2.statusCode, 422);
      assert.equal(r2.json().error.code, 'evidence_file_damaged');

      // 2 GiB streamed without a declared length: refused once past the limit, the rest never read.
      let sent = 0;
      const chunk = Buffer.alloc(1024 * 1024, 0xff);
      const endless = new Readable({
        read() {
          if (sent >= 2 * 1024 ** 3) return this.push(null);
          sent += chunk.length;
          this.push(chunk);
        },
      });
      const r3 = await app.inject(
        as(unit1, {
          method: 'POST',
          url: `/api/patches/${p.a}/evidence?filename=big.jpg&kind=photo`,
          headers: { 'content-type': 'application/octet-stream' },
          payload: endless,
        }),
      );
      assert.equal(r3.statusCode, 413);
      assert.equal(r3.json().error.code, 'upload_too_large');
      assert.ok(sent < 64 * 1024 * 1024, `read ${sent} bytes`);

      // Over a real socket: 2 GiB declared is refused before a byte of the body is read, and a body
      // streamed in chunks without a length is answered 413 (not cut off) once past the limit.
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as { port: number };
      const post = (headers: Record<string, string>, write: (req: http.ClientRequest) => void) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.request(
            {
              host: '127.0.0.1',
              port,
              method: 'POST',
              path: `/api/patches/${p.a}/evidence?filename=big.jpg&kind=photo`,
              headers: { ...unit1.headers, 'content-type': 'image/jpeg', ...headers },
            },
            (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode!, body }));
            },
          );
          req.on('error', reject);
          write(req);
        });
      const r4 = await post({ 'content-length': String(2 * 1024 ** 3) }, (req) =>
        req.write(whole.subarray(0, 1000)),
      );
      assert.equal(r4.status, 413);
      assert.equal(JSON.parse(r4.body).error.code, 'upload_too_large');
      let written = 0;
      const r5 = await post({ 'transfer-encoding': 'chunked' }, (req) => {
        const pump = () => {
          while (written < 2 * 1024 ** 3 && !req.destroyed) {
            written += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
        };
        req.on('error', () => undefined);
        pump();
      });
      assert.equal(r5.status, 413);
      assert.equal(JSON.parse(r5.body).error.code, 'upload_too_large');
      assert.ok(written < 256 * 1024 * 1024, `wrote ${written} bytes`);

      assert.deepEqual(await state(t.db, storeRoot), before);
    });

    it('refuses a photo that is not a picture and a document of an unknown type, changing nothing', async () => {
      const before = await state(t.db, storeRoot);
      const pdf = path.join(dir, 'approval.pdf');
      await writeFile(pdf, '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
      const r1 = await upload(unit1, p.a, pdf);
      assert.equal(r1.statusCode, 415);
      assert.match(r1.json().error.message, /照片须是图片文件/);
      const r2 = await upload(unit1, p.a, pdf, { kind: 'document', docType: 'no_such_type' });
      assert.equal(r2.statusCode, 400);
      assert.equal(r2.json().error.code, 'evidence_doc_type_invalid');
      const r3 = await upload(unit1, p.a, pdf, { kind: 'document' });
      assert.equal(r3.json().error.code, 'evidence_doc_type_required');
      const r4 = await upload(unit1, p.a, fx.inside);
      assert.equal(r4.statusCode, 409, 'the same file twice on one patch');
      assert.equal(r4.json().error.code, 'evidence_duplicate');
      assert.deepEqual(await state(t.db, storeRoot), before);
    });

    it('stores documents with type, number, date and rule-pack fields', async () => {
      const pdf = path.join(dir, '鲁政土字〔2017〕88号.pdf');
      await writeFile(pdf, '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
      const r = await upload(unit1, p.a, pdf, {
        kind: 'document',
        docType: 'approval_doc',
        docNo: '鲁政土字〔2017〕88号',
        docDate: '2017-06-30',
        fields: JSON.stringify({ approval_authority: '山东省人民政府', approved_area_m2: 12000 }),
      });
      assert.equal(r.statusCode, 201, r.body);
      const e = r.json().evidence;
      assert.deepEqual(
        [e.kind, e.mime, e.doc_type, e.doc_no, e.doc_date, e.original_name],
        [
          'document',
          'application/pdf',
          'approval_doc',
          '鲁政土字〔2017〕88号',
          '2017-06-30',
          '鲁政土字〔2017〕88号.pdf',
        ],
      );
      assert.deepEqual(e.fields, { approval_authority: '山东省人民政府', approved_area_m2: 12000 });
      assert.deepEqual(r.json().signals, []);
      assert.equal(e.has_thumbnail, false);
      ids.approval = e.id;
      const dl = await app.inject(as(unit1, { url: `/api/evidence/${e.id}/file` }));
      assert.match(String(dl.headers['content-disposition']), /filename\*=UTF-8''%E9%B2%81/);
      const badField = await upload(unit1, p.a, pdf, {
        kind: 'document',
        docType: 'approval_doc',
        fields: JSON.stringify({ approved_area_m2: '一万' }),
      });
      assert.equal(badField.json().error.code, 'evidence_fields_invalid');
      const badDate = await upload(unit1, p.a, pdf, {
        kind: 'document',
        docType: 'approval_doc',
        docDate: '2017-02-30',
      });
      assert.equal(badDate.json().error.code, 'evidence_doc_date_invalid');
    });

    it('supersedes instead of replacing: both versions stay, both in the timeline', async () => {
      const better = await writeExif(await makeJpeg(path.join(dir, 'better.jpg'), 9), {
        ...GOOD_TIME,
        position: offset(ORIGIN, 40, 40),
        direction: 0,
      });
      const url = (id: number, q: string) => `/api/evidence/${id}/supersede?filename=better.jpg${q}`;
      const payload = await readFile(better);
      const noReason = await app.inject(as(unit1, { method: 'POST', url: url(ids.far!, ''), payload }));
      assert.equal(noReason.statusCode, 400);
      const r = await app.inject(
        as(unit1, {
          method: 'POST',
          url: url(ids.far!, `&reason=${encodeURIComponent('原照片拍错位置，重新拍摄')}`),
          headers: { 'content-type': 'image/jpeg' },
          payload,
        }),
      );
      assert.equal(r.statusCode, 201, r.body);
      const next = r.json().evidence;
      assert.equal(next.supersedes, ids.far);
      assert.deepEqual(r.json().signals, []);
      const list = (await app.inject(as(unit1, { url: `/api/patches/${p.a}/evidence` }))).json();
      const old = list.all.find((e: { id: number }) => e.id === ids.far);
      assert.equal(old.superseded_by, next.id);
      assert.ok(!list.current.some((e: { id: number }) => e.id === ids.far));
      assert.ok(list.current.some((e: { id: number }) => e.id === next.id));
      // The old file is still there, byte for byte.
      const oldFile = await app.inject(as(unit1, { url: `/api/evidence/${ids.far}/file` }));
      assert.deepEqual(oldFile.rawPayload, await readFile(fx.far));
      const again = await app.inject(
        as(unit1, { method: 'POST', url: url(ids.far!, '&reason=x'), payload: await readFile(fx.nogps) }),
      );
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().error.code, 'evidence_already_superseded');
      const events = await listEvents(t.db, { recordType: 'patch', recordId: p.a, limit: 1000 });
      const sup = events.filter((e) => e.action === 'evidence.supersede');
      assert.equal(sup.length, 1);
      assert.equal(sup[0]!.reason, '原照片拍错位置，重新拍摄');
      assert.deepEqual((sup[0]!.before as { evidenceId: number }).evidenceId, ids.far);
      assert.ok(events.filter((e) => e.action === 'evidence.upload').length >= 8);
    });

    it('refuses to delete or rewrite evidence even in SQL', async () => {
      await assert.rejects(
        t.db.query('DELETE FROM evidence_items WHERE id = $1', [ids.inside]),
        /只能追加和替换/,
      );
      await assert.rejects(
        t.db.query(`UPDATE evidence_items SET sha256 = repeat('0', 64) WHERE id = $1`, [ids.inside]),
        /只能追加和替换/,
      );
      await assert.rejects(
        t.db.query('UPDATE evidence_items SET superseded_by = $2 WHERE id = $1', [ids.far, ids.inside]),
        /只能追加和替换/,
      );
    });

    it('lets a reviewer confirm a signal as a finding or dismiss it, once, with a reason', async () => {
      const queue = (
        await app.inject(as(reviewer, { url: '/api/evidence-signals?batch=2017-land&status=open' }))
      ).json().signals;
      const dup = queue.find((s: { code: string }) => s.code === 'duplicate_file');
      const away = queue.find(
        (s: { code: string; evidence_id: number }) => s.code === 'facing_away' && s.evidence_id === ids.away,
      );
      const decide = (s: Session, id: number, payload: object) =>
        app.inject(as(s, { method: 'POST', url: `/api/evidence-signals/${id}/decision`, payload }));
      const before = await state(t.db, storeRoot);
      const byUnit = await decide(unit1, dup.id, { decision: 'dismiss', reason: '我们觉得没问题' });
      assert.equal(byUnit.statusCode, 403);
      assert.equal(byUnit.json().error.code, 'role_not_allowed');
      const noFinding = await decide(reviewer, dup.id, { decision: 'confirm', reason: '同一照片' });
      assert.equal(noFinding.json().error.code, 'evidence_finding_invalid');
      const noReason = await decide(reviewer, dup.id, { decision: 'dismiss', reason: '' });
      assert.equal(noReason.statusCode, 400);
      assert.deepEqual(await state(t.db, storeRoot), before);

      const ok = await decide(reviewer, dup.id, {
        decision: 'confirm',
        finding: 'photo_reuse',
        reason: '图斑 B 的照片与图斑 A 为同一张',
      });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(
        [
          ok.json().signal.status,
          ok.json().signal.finding,
          ok.json().signal.finding_label,
          ok.json().signal.decided_by,
        ],
        ['confirmed', 'photo_reuse', '照片复用', 'reviewer'],
      );
      const twice = await decide(reviewer, dup.id, { decision: 'dismiss', reason: '改主意' });
      assert.equal(twice.statusCode, 409);
      assert.equal(twice.json().error.code, 'evidence_signal_decided');
      const dismissed = await decide(reviewer, away.id, {
        decision: 'dismiss',
        reason: '现场核实：拍摄的是图斑西侧的进场道路',
      });
      assert.equal(dismissed.json().signal.status, 'dismissed');
      const ev = await listEvents(t.db, { recordType: 'patch', recordId: p.b, limit: 1000 });
      const confirm = ev.find((e) => e.action === 'evidence.signal.confirm')!;
      assert.equal(confirm.reason, '图斑 B 的照片与图斑 A 为同一张');
      assert.deepEqual(confirm.after, {
        signalId: dup.id,
        evidenceId: ids.reusedB,
        code: 'duplicate_file',
        status: 'confirmed',
        finding: 'photo_reuse',
      });
      // What the warning-interview rule 弄虚作假 counts.
      assert.deepEqual(await countConfirmedFindings(t.db, p.batchId, FRAUD_FINDINGS), [
        { unit_code: '370306101', finding: 'photo_reuse', count: 1, patches: 1 },
      ]);
    });

    it('shows the checklist: what the verdict needs and what is present', async () => {
      const r = await app.inject(
        as(unit1, {
          url: `/api/patches/${p.a}/evidence/checklist?verdict=legal&subtype=agri_conversion_approval`,
        }),
      );
      assert.equal(r.statusCode, 200, r.body);
      const { checklist, verdictSource } = r.json();
      assert.equal(verdictSource, 'request');
      assert.equal(checklist.status, 'complete');
      const [photos, approval, map] = checklist.items;
      assert.equal(photos.id, 'site_photos');
      assert.equal(photos.present, 8, 'current photos of A');
      assert.deepEqual(approval.evidenceIds, [ids.approval]);
      assert.equal(map.satisfied, false);
      assert.equal(map.required, false);
      const none = (await app.inject(as(unit1, { url: `/api/patches/${p.b}/evidence/checklist` }))).json();
      assert.equal(none.checklist.status, 'no_verdict');
      const bad = await app.inject(
        as(unit1, { url: `/api/patches/${p.b}/evidence/checklist?verdict=legal&subtype=nope` }),
      );
      assert.equal(bad.json().error.code, 'checklist_subtype_invalid');
      // B: the reused photo was confirmed as 照片复用, so it proves nothing; the copy is still open.
      const b = (
        await app.inject(as(unit1, { url: `/api/patches/${p.b}/evidence/checklist?verdict=illegal` }))
      ).json().checklist;
      assert.equal(b.items[0].present, 1);
      assert.deepEqual(b.items[0].rejectedIds, [ids.reusedB]);
      assert.deepEqual(b.items[0].withOpenSignals, [ids.copy]);
      assert.equal(b.status, 'incomplete');
      assert.match(b.summary, /还缺 实地照片（还差 1 份）/);
    });

    it('keeps a unit officer to their own unit’s evidence', async () => {
      const before = await state(t.db, storeRoot);
      for (const url of [
        `/api/patches/${p.a}/evidence`,
        `/api/patches/${p.a}/evidence/checklist`,
        `/api/evidence/${ids.inside}`,
        `/api/evidence/${ids.inside}/file`,
        `/api/evidence/${ids.inside}/thumbnail`,
      ]) {
        const r = await app.inject(as(unit2, { url }));
        assert.equal(r.statusCode, 403, url);
        assert.equal(r.json().error.code, 'other_unit');
      }
      const up = await upload(unit2, p.a, fx.nogps);
      assert.equal(up.statusCode, 403);
      const sup = await app.inject(
        as(unit2, {
          method: 'POST',
          url: `/api/evidence/${ids.inside}/supersede?filename=x.jpg&reason=x`,
          payload: await readFile(fx.nogps),
        }),
      );
      assert.equal(sup.statusCode, 403);
      const queue = (await app.inject(as(unit2, { url: '/api/evidence-signals?batch=2017-land' }))).json();
      assert.deepEqual(queue.signals, []);
      assert.deepEqual(await state(t.db, storeRoot), before);
      // …while their own patch works.
      const own = await upload(unit2, p.c, fx.nogps);
      assert.equal(own.statusCode, 201, own.body);
    });

    it('takes the verdicts from the workflow’s parts: one checklist per part of a split patch', async () => {
      // 批少占多: C is split into an unapproved part (违法·未批先建) and an approved one (合法·农转用).
      const [whole] = await t.db.query<{ id: number }>(
        `UPDATE patch_parts SET retired_at = now(), retired_by = 't' WHERE patch_id = $1 AND retired_at IS NULL
         RETURNING id`,
        [p.c],
      );
      const parts = await t.db.query<{ id: number; no: number }>(
        `INSERT INTO patch_parts (patch_id, no, origin, geom, area_m2, counted_area_m2, minx, miny, maxx, maxy, verdict,
           subtype, rule_pack_id, rule_pack_version, judged_by, judged_at, created_by)
         SELECT patch_id, n, CASE n WHEN 1 THEN 'unapproved' ELSE 'approved' END, geom, area_m2 / 2, counted_area_m2 / 2,
           minx, miny, maxx, maxy, CASE n WHEN 1 THEN 'illegal' ELSE 'legal' END,
           CASE n WHEN 1 THEN 'build_without_approval' ELSE 'agri_conversion_approval' END, '2017-land', '1.0.0', 't',
           now(), 't'
         FROM patch_parts, generate_series(1, 2) n WHERE id = $1 ORDER BY n RETURNING id, no`,
        [whole!.id],
      );
      const [ofA] = await t.db.query<{ id: number }>(
        'SELECT id FROM patch_parts WHERE patch_id = $1 AND retired_at IS NULL',
        [p.a],
      );
      const pdf = path.join(dir, 'c-approval.pdf');
      await writeFile(pdf, '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
      const doc = { kind: 'document', docType: 'approval_doc' };
      const before = await state(t.db, storeRoot);
      const retired = await upload(unit2, p.c, pdf, { ...doc, partId: whole!.id });
      assert.equal(retired.statusCode, 409);
      assert.equal(retired.json().error.code, 'evidence_part_retired');
      const foreign = await upload(unit2, p.c, pdf, { ...doc, partId: ofA!.id });
      assert.equal(foreign.statusCode, 404);
      assert.equal(foreign.json().error.code, 'evidence_part_not_found');
      assert.deepEqual(await state(t.db, storeRoot), before);
      const ok = await upload(unit2, p.c, pdf, { ...doc, partId: parts[1]!.id });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal(ok.json().evidence.part_id, parts[1]!.id);

      const r = (
        await app.inject(as(unit2, { url: `/api/patches/${p.c}/evidence/checklist?verdict=other` }))
      ).json();
      assert.equal(r.verdictSource, 'judgement', 'the judgement wins over the request');
      assert.equal(r.complete, false);
      assert.deepEqual(
        r.parts.map((x: { no: number; checklist: { verdict: string; subtype: string; status: string } }) => [
          x.no,
          x.checklist.verdict,
          x.checklist.subtype,
          x.checklist.status,
        ]),
        [
          [1, 'illegal', 'build_without_approval', 'incomplete'],
          [2, 'legal', 'agri_conversion_approval', 'incomplete'],
        ],
      );
      // The patch-level photo counts for both parts; the part's document only for its part.
      const [one, two] = r.parts;
      assert.equal(one.checklist.items[0].present, 1);
      assert.equal(two.checklist.items[0].present, 1);
      assert.deepEqual(two.checklist.items[1].evidenceIds, [ok.json().evidence.id]);
      assert.ok(!one.checklist.unmatchedIds.includes(ok.json().evidence.id));
      assert.equal(r.checklist.verdict, 'illegal', 'the first incomplete part comes first');
    });
  });
}
