// The evidence store goes into `weipian backup` and comes back from `weipian restore` byte for byte,
// on either engine and across engines; `verifyEvidenceStore` re-hashes every original and names a
// missing or altered file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import {
  GOOD_TIME,
  ORIGIN,
  UPLOAD_NOW,
  makeJpeg,
  offset,
  seedEvidencePatches,
  skipWithoutExiftool,
  writeExif,
} from '../helpers/evidence.ts';
import { backup, restore } from '../../src/jobs/backup.ts';
import { DirectoryStore, originalKey } from '../../src/evidence/store.ts';
import { addEvidence, patchEvidence, verifyEvidenceStore } from '../../src/services/evidence.ts';

for (const engine of engines()) {
  describe(`evidence backup and restore from ${engine}`, { skip: skipWithoutExiftool() }, () => {
    let src: TestDb;
    let dir: string;
    let file: string;
    let photo: string;
    let patchA: number;
    before(async () => {
      src = await freshDb(engine);
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-evbackup-'));
      const filesDir = path.join(dir, 'files');
      const store = new DirectoryStore(path.join(filesDir, 'evidence'));
      const p = await seedEvidencePatches(src.db);
      patchA = p.a;
      const ctx = { db: src.db, store, now: () => UPLOAD_NOW };
      photo = await writeExif(await makeJpeg(path.join(dir, '现场.jpg'), 11), {
        ...GOOD_TIME,
        position: offset(ORIGIN, 50, 50),
        direction: 0,
      });
      const first = await addEvidence(
        ctx,
        { patchId: p.a, kind: 'photo', originalName: '现场.jpg', actor: 't' },
        photo,
      );
      const nogps = await writeExif(await makeJpeg(path.join(dir, 'b.jpg'), 12), { ...GOOD_TIME });
      await addEvidence(
        ctx,
        {
          patchId: p.a,
          kind: 'photo',
          originalName: 'b.jpg',
          actor: 't',
          supersedes: first.evidence.id,
          reason: '重拍',
        },
        nogps,
      );
      // Many versions: an early row superseded by a row more than one restore page (2,000 rows) later.
      await src.db.query(
        `INSERT INTO evidence_items (patch_id, kind, original_name, mime, size_bytes, sha256, storage_key, created_by)
         SELECT $1, 'photo', 'v' || g || '.jpg', 'image/jpeg', size_bytes, sha256, storage_key, 't'
         FROM evidence_items, generate_series(1, 2100) g WHERE id = $2`,
        [p.b, first.evidence.id],
      );
      await src.db.query(
        `UPDATE evidence_items SET superseded_by = (SELECT max(id) FROM evidence_items)
         WHERE id = (SELECT min(id) FROM evidence_items WHERE patch_id = $1)`,
        [p.b],
      );
      file = path.join(dir, 'backup.zip');
      const s = await backup(src.db, filesDir, file);
      assert.equal(s.files, 4, 'two originals and two thumbnails');
    });
    after(async () => {
      await src.drop();
      await rm(dir, { recursive: true, force: true });
    });

    for (const target of engines()) {
      it(`restores every evidence file and row into ${target}, verifiable`, async () => {
        const dst = await freshDb(target, false);
        try {
          const filesDir = path.join(dir, `restored-${target}`);
          await restore(dst.db, filesDir, file);
          const store = new DirectoryStore(path.join(filesDir, 'evidence'));
          const report = await verifyEvidenceStore(dst.db, store);
          assert.deepEqual(report, { ok: true, items: 2102, checked: 2, problems: [] });
          const restored = await patchEvidence(dst.db, patchA);
          assert.equal(restored.all.length, 2);
          assert.equal(restored.all[0]!.superseded_by, restored.all[1]!.id);
          const f = await store.open(originalKey(restored.all[0]!.sha256));
          const chunks: Buffer[] = [];
          for await (const c of f!.stream) chunks.push(c as Buffer);
          assert.deepEqual(Buffer.concat(chunks), await readFile(photo));
          const [{ n }] = (await dst.db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM evidence_items WHERE superseded_by IS NOT NULL',
          )) as [{ n: number }];
          assert.equal(n, 2);
          // Tampering is named: one original altered, the other's file gone.
          const [a, b] = restored.all;
          await writeFile(path.join(filesDir, 'evidence', ...originalKey(a!.sha256).split('/')), 'altered');
          await unlink(path.join(filesDir, 'evidence', ...originalKey(b!.sha256).split('/')));
          const bad = await verifyEvidenceStore(dst.db, store);
          assert.equal(bad.ok, false);
          const kinds = new Set(bad.problems.map((x) => `${x.key.split('/').pop()}:${x.problem}`));
          assert.deepEqual([...kinds].sort(), [`${a!.sha256}:size_mismatch`, `${b!.sha256}:missing`].sort());
        } finally {
          await dst.drop();
        }
      });
    }
  });
}
