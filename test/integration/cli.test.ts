// The `weipian` command as a new user runs it from the README: real processes, a real data folder
// (or PostgreSQL database), Chinese output, --json for scripts, one-line reasons and exit codes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engines, freshTarget } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { writeShapefile, skipWithoutOgr } from '../helpers/ogr.ts';
import { deliveryFeatures } from '../helpers/delivery.ts';

for (const engine of engines()) {
  describe(`weipian CLI on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let dir: string;
    let env: Record<string, string>;
    let drop: () => Promise<void>;
    let shp: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-cli-'));
      ({ env, drop } = await freshTarget(engine, path.join(dir, 'data')));
      shp = (await writeShapefile(dir, deliveryFeatures(), { name: '图斑', lco: ['ENCODING=CP936'] })).shp;
    });
    after(async () => {
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('creates a batch with the rule pack milestones and lists it as JSON', async () => {
      const c = await runCli(['batch', 'create', '2017-land', '--kind', 'land', '--year', '2017'], env);
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /已创建批次 2017-land：2017年度土地卫片/);
      const l = await runCli(['batch', 'list', '--json'], env);
      assert.equal(l.code, 0, l.stderr);
      const out = JSON.parse(l.stdout) as { batches: { slug: string; milestones: { date: string }[] }[] };
      assert.equal(out.batches[0]!.slug, '2017-land');
      assert.ok(
        out.batches[0]!.milestones.some((m) => m.date === '2018-03-14'),
        'land initial report 3/14',
      );
    });

    it('imports a delivery, prints a Chinese summary, and exports GeoJSON', async () => {
      const c = await runCli(['import', 'patches', shp, '--batch', '2017-land'], env);
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /读取 4 个，导入 4 个，修复 1 个，拒绝 0 个/);
      assert.match(c.stdout, /编码：gbk（\.cpg 文件）；坐标系：EPSG:4527/);
      const out = path.join(dir, 'out.geojson');
      const e = await runCli(
        ['export', 'patches', '--batch', '2017-land', '--format', 'geojson', '--out', out, '--json'],
        env,
      );
      assert.equal(e.code, 0, e.stderr);
      assert.equal(JSON.parse(e.stdout).summary.count, 4);
      const fc = JSON.parse(await readFile(out, 'utf8')) as {
        features: { properties: Record<string, unknown> }[];
      };
      assert.deepEqual(
        fc.features.map((f) => f.properties.jcbh),
        ['370306201700001', '370306201700002', '370306201700003', '370306201700004'],
      );
      assert.equal(fc.features[1]!.properties.bz, '南郊镇（丝绸路街道交界）“设施农用地”');
      assert.equal(fc.features[3]!.properties.repaired, true);
    });

    it('analyses the batch, then finds nothing stale to redo', async () => {
      const a = await runCli(['analyse', '--batch', '2017-land'], env);
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stdout, /已分析批次 2017-land 的 4 个图斑（共 4 个，只算过期和未分析的）/);
      // No reference layer was imported: every area is unknown, and the pre-judgement says check.
      assert.match(a.stdout, /预判：需核实 4 个/);
      assert.match(
        a.stdout,
        /缺少图层：镇街\/责任单位界线、地类图斑、耕地、.*临时用地（相应面积为“未知”，不是 0）/,
      );
      const again = await runCli(['analyse', '--batch', '2017-land', '--json'], env);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout).summary.analysed, 0);
    });

    it('fails with one Chinese line and exit 1, or a JSON error with --json', async () => {
      const c = await runCli(['import', 'patches', shp, '--batch', '2017-land'], env);
      assert.equal(c.code, 1);
      assert.equal(c.stderr.trim().split('\n').length, 1, c.stderr);
      assert.match(c.stderr, /^错误：批次 2017-land 中已有这些监测编号.*\[duplicate_jcbh\]/);
      const j = await runCli(['import', 'patches', shp, '--batch', 'nope', '--json'], env);
      assert.equal(j.code, 1);
      assert.equal(JSON.parse(j.stdout).error.code, 'batch_not_found');
      const u = await runCli(['batch', 'create', 'x', '--kind', 'forest', '--year', '2017'], env);
      assert.equal(u.code, 1);
      assert.match(u.stderr, /批次类型只能是 land（土地）或 mineral（矿产）/);
      const o = await runCli(['batch', 'list', '--bogus'], env);
      assert.notEqual(o.code, 0);
      assert.match(o.stderr, /^错误：/);
    });

    it('shows Chinese help', async () => {
      const h = await runCli(['import', 'patches', '--help'], env);
      assert.equal(h.code, 0);
      assert.match(h.stdout, /用法：/);
      assert.match(h.stdout, /--swap-xy/);
      assert.match(h.stdout, /交换 X\/Y/);
    });
  });
}
