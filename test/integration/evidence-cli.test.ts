// `weipian evidence …` as an officer runs it: real processes on a real data folder (or PostgreSQL
// database) whose evidence store is the folder's files/evidence; Chinese output, --json, one-line
// refusals that change nothing, and `evidence verify` naming an altered original.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engines, freshTarget } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { openDb } from '../../src/store/db.ts';
import {
  GOOD_TIME,
  ORIGIN,
  makeJpeg,
  offset,
  seedEvidencePatches,
  skipWithoutExiftool,
  writeExif,
} from '../helpers/evidence.ts';

for (const engine of engines()) {
  describe(`weipian evidence on ${engine}`, { skip: skipWithoutExiftool() }, () => {
    let dir: string;
    let data: string;
    let env: Record<string, string>;
    let drop: () => Promise<void>;
    let patchA: number;
    let photo: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-evcli-'));
      data = path.join(dir, 'data');
      ({ env, drop } = await freshTarget(engine, data));
      env = { ...env, WEIPIAN_DATA: data };
      await mkdir(path.join(data, 'db'), { recursive: true });
      const db = await openDb(
        env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: path.join(data, 'db') },
      );
      try {
        patchA = (await seedEvidencePatches(db)).a;
      } finally {
        await db.close();
      }
      photo = await writeExif(await makeJpeg(path.join(dir, '现场照片.jpg'), 21), {
        ...GOOD_TIME,
        position: offset(ORIGIN, 50, 900),
        direction: 180,
      });
    });
    after(async () => {
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('adds a photo, stores it under the data folder and reports its signals', async () => {
      const c = await runCli(['evidence', 'add', photo, '--patch', String(patchA), '--json'], env);
      assert.equal(c.code, 0, c.stderr);
      const out = JSON.parse(c.stdout);
      assert.equal(out.evidence.original_name, '现场照片.jpg');
      assert.equal(out.evidence.created_by, 'cli:tester');
      // 800 m off, and taken in March 2018 but uploaded now (the CLI runs on the real clock).
      assert.deepEqual(
        out.signals.map((s: { code: string }) => s.code),
        ['far_from_patch', 'exif_upload_gap'],
      );
      const stored = await readdir(path.join(data, 'files', 'evidence', 'originals'), { recursive: true });
      assert.ok(stored.some((f) => String(f).endsWith(out.evidence.sha256)));
      const list = await runCli(['evidence', 'list', '--patch', String(patchA)], env);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /图斑 370306201700001：1 份现行材料，2 个待审核疑点/);
      assert.match(list.stdout, /\[待审核\] 拍摄点距图斑过远：拍摄位置（照片 EXIF）距图斑 800 米/);
      const cl = await runCli(
        ['evidence', 'checklist', '--patch', String(patchA), '--verdict', 'illegal'],
        env,
      );
      assert.equal(cl.code, 0, cl.stderr);
      assert.match(cl.stdout, /违法：还缺 实地照片（还差 1 份）/);
      const sig = await runCli(['evidence', 'signals', '--batch', '2017-land', '--json'], env);
      assert.equal(JSON.parse(sig.stdout).signals.length, 2);
    });

    it('refuses a script named .jpg in one Chinese line, storing nothing', async () => {
      const php = path.join(dir, 'x.jpg');
      await writeFile(php, '<?php phpinfo(); ?>');
      const before = await readdir(path.join(data, 'files', 'evidence'), { recursive: true });
      const c = await runCli(['evidence', 'add', php, '--patch', String(patchA)], env);
      assert.equal(c.code, 1);
      assert.equal(c.stderr.trim().split('\n').length, 1, c.stderr);
      assert.match(c.stderr, /^错误：文件“x\.jpg”的内容是 PHP 脚本.*\[evidence_type_refused\]/);
      assert.deepEqual(await readdir(path.join(data, 'files', 'evidence'), { recursive: true }), before);
      const list = await runCli(['evidence', 'list', '--patch', String(patchA), '--json'], env);
      assert.equal(JSON.parse(list.stdout).all.length, 1);
    });

    it('verifies the store, and names an altered original', async () => {
      const ok = await runCli(['evidence', 'verify'], env);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /举证文件完整：1 份材料，1 个原件均与 SHA-256 一致/);
      const files = await readdir(path.join(data, 'files', 'evidence', 'originals'), { recursive: true });
      const original = files.map(String).find((f) => /[0-9a-f]{64}$/.test(f))!;
      const p = path.join(data, 'files', 'evidence', 'originals', original);
      const bytes = await readFile(p);
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff; // one bit pattern changed, same length
      await writeFile(p, bytes);
      const bad = await runCli(['evidence', 'verify'], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /举证文件不完整：1 处问题，首个为 #1 .*（sha256_mismatch）/);
    });
  });
}
