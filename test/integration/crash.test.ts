// Crash safety: a real `weipian` process killed with SIGKILL in the middle of an import leaves the
// previous data intact and no partial layer or batch, on each engine.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { engines, freshTarget } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { writeShapefile, skipWithoutOgr, type FixtureFeature } from '../helpers/ogr.ts';
import { deliveryFeatures, square } from '../helpers/delivery.ts';
import { openDb, type Db } from '../../src/store/db.ts';
import { verifyChain } from '../../src/store/queries/events.ts';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'weipian.js');

function grid(n: number, props: (i: number) => Record<string, string | number>): FixtureFeature[] {
  const side = Math.ceil(Math.sqrt(n));
  return Array.from({ length: n }, (_, i) => ({
    properties: props(i),
    geometry: {
      type: 'Polygon',
      coordinates: [square(39560000 + (i % side) * 30, 4060000 + Math.floor(i / side) * 30, 25)],
    },
  }));
}

/** Runs the CLI and SIGKILLs it once its progress passes `fraction` (or a line matches). */
function killMidway(args: string[], env: Record<string, string>, when: (line: string) => boolean) {
  return new Promise<{ killed: boolean; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: '', WEIPIAN_FROM_SOURCE: '1', WEIPIAN_PROGRESS: 'lines', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let killed = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!killed && d.split('\n').some(when)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', () => resolve({ killed, stderr }));
  });
}

async function state(db: Db) {
  const [r] = await db.query<{ layers: string; features: number; patches: number; staging: number }>(
    `SELECT (SELECT string_agg(type || ':' || version || ':' || feature_count, ',' ORDER BY id)
               FROM reference_layers WHERE status = 'published') AS layers,
            (SELECT count(*)::int FROM reference_features) AS features,
            (SELECT count(*)::int FROM patches) AS patches,
            (SELECT count(*)::int FROM reference_layers WHERE status = 'staging') AS staging`,
  );
  return r!;
}

for (const engine of engines()) {
  describe(`SIGKILL during an import on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let dir: string;
    let env: Record<string, string>;
    let drop: () => Promise<void>;
    const open = () =>
      engine === 'pglite'
        ? openDb({ dataDir: path.join(dir, 'data', 'db') })
        : openDb({ url: env.DATABASE_URL });
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-crash-'));
      ({ env, drop } = await freshTarget(engine, path.join(dir, 'data')));
      const small = await writeShapefile(dir, deliveryFeatures(), { name: 'tb', lco: ['ENCODING=CP936'] });
      const farm = await writeShapefile(
        dir,
        grid(2, (i) => ({ DLBM: '0101', BSM: i })),
        { name: 'gd1' },
      );
      for (const args of [
        ['batch', 'create', 'b1', '--kind', 'land', '--year', '2017'],
        ['batch', 'create', 'b2', '--kind', 'land', '--year', '2017'],
        ['import', 'patches', small.shp, '--batch', 'b1'],
        ['import', 'layer', farm.shp, '--type', 'farmland'],
      ]) {
        const r = await runCli(args, env);
        assert.equal(r.code, 0, r.stderr);
      }
    });
    after(async () => {
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('keeps the previous layers and no partial layer after a kill mid layer import', async () => {
      const big = await writeShapefile(
        dir,
        grid(6000, (i) => ({ DLBM: '0103', BSM: i })),
        { name: 'gd2' },
      );
      const { killed } = await killMidway(['import', 'layer', big.shp, '--type', 'farmland'], env, (l) => {
        const m = /导入图层 (\d+)\/(\d+)/.exec(l);
        return m !== null && Number(m[1]) >= 4500;
      });
      assert.ok(killed, 'the import was killed mid-way');
      const db = await open();
      try {
        const s = await state(db);
        assert.equal(s.layers, 'farmland:1:2', 'only the earlier layer is published');
        assert.equal(s.patches, 4);
        const chain = await verifyChain(db);
        assert.equal(chain.ok, true);
      } finally {
        await db.close();
      }
      // The next command clears the dead import's invisible staging rows.
      const r = await runCli(['batch', 'list'], env);
      assert.equal(r.code, 0, r.stderr);
      const db2 = await open();
      try {
        const s = await state(db2);
        assert.deepEqual([s.staging, s.features], [0, 2]);
      } finally {
        await db2.close();
      }
    });

    it('leaves no partial batch after a kill mid patch import', async () => {
      const many = await writeShapefile(
        dir,
        grid(1500, (i) => ({ JCBH: `37030620179${String(i).padStart(5, '0')}`, TBLX: '新增建设用地' })),
        { name: 'many', lco: ['ENCODING=CP936'] },
      );
      const { killed } = await killMidway(['import', 'patches', many.shp, '--batch', 'b2'], env, (l) =>
        /导入图斑 1500\/1500/.test(l),
      );
      assert.ok(killed);
      const db = await open();
      try {
        const [r] = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM patches p JOIN batches b ON b.id = p.batch_id WHERE b.slug = 'b2'",
        );
        assert.ok(r!.n === 0 || r!.n === 1500, `all or nothing, got ${r!.n}`);
        assert.equal((await state(db)).patches - r!.n, 4, 'batch b1 intact');
      } finally {
        await db.close();
      }
    });
  });
}
