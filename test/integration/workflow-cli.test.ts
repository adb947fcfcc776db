// The workflow from the command line, as real processes on a real data folder (or PostgreSQL
// database): `batch status` with its deadlines at 23:59:59 and 00:00 Asia/Shanghai, a 巡查 delivery
// imported and linked, report rounds closed and verified, reassignment, and an upper-level list
// refused as a whole with the row that is wrong.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { engines, freshTarget } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import { writeShapefile, skipWithoutOgr, rect } from '../helpers/ogr.ts';
import { deliveryFeatures } from '../helpers/delivery.ts';

for (const engine of engines()) {
  describe(`weipian workflow commands on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let dir: string;
    let env: Record<string, string>;
    let drop: () => Promise<void>;
    const cli = (...args: string[]) => runCli(args, env);

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-wf-cli-'));
      ({ env, drop } = await freshTarget(engine, path.join(dir, 'data')));
      const tb = (await writeShapefile(dir, deliveryFeatures(), { name: '图斑', lco: ['ENCODING=CP936'] }))
        .shp;
      // A 巡查 patch over the east 20 m of satellite patch 370306201700001 and 30 m beyond.
      const xc = (
        await writeShapefile(
          dir,
          [
            {
              properties: { JCBH: 'XC0001', XZQDM: '370306101001', JCMJ: 5000, 备注: '巡查发现' },
              geometry: { type: 'Polygon', coordinates: [rect(39571080, 4063000, 39571130, 4063100)] },
            },
          ],
          { name: '巡查图斑', lco: ['ENCODING=CP936'] },
        )
      ).shp;
      const units = (
        await writeShapefile(
          dir,
          [
            { DWDM: '370306101', DWMC: '北郊镇', g: rect(39570000, 4062000, 39572000, 4064000) },
            { DWDM: '370306102', DWMC: '南郊镇', g: rect(39572000, 4062000, 39575000, 4064000) },
          ].map((u) => ({
            properties: { DWDM: u.DWDM, DWMC: u.DWMC },
            geometry: { type: 'Polygon', coordinates: [u.g] },
          })),
          { name: '责任单位', lco: ['ENCODING=CP936'] },
        )
      ).shp;
      for (const args of [
        ['batch', 'create', '2017-land', '--kind', 'land', '--year', '2017'],
        ['import', 'layer', units, '--type', 'unit'],
        ['import', 'patches', tb, '--batch', '2017-land'],
        ['import', 'patches', xc, '--batch', '2017-land', '--source', '巡查'],
      ]) {
        const r = await runCli(args, env);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      }
    });
    after(async () => {
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('shows progress and deadlines: due soon at 23:59:59, overdue from 00:00 (Asia/Shanghai)', async () => {
      const late = await cli('batch', 'status', '2017-land', '--at', '2018-03-15T00:00:00+08:00');
      assert.equal(late.code, 0, late.stderr);
      assert.match(late.stdout, /下一报送节点：初报 2018-03-14 前（已过期）/);
      assert.match(late.stdout, /逾期 5 个：/);
      assert.match(late.stdout, /370306201700001\t北郊镇\t已下发（未核查）\t2018-03-14 前\t逾期 1 天/);
      assert.match(late.stdout, /370306101 北郊镇：图斑 2 个（已下发（未核查） 2）/);
      assert.match(late.stdout, /合计：图斑 5 个/);
      // The imported 巡查 patch is not linked yet: the status says what to run.
      assert.match(
        late.stdout,
        /1 个例行督察\/巡查\/举报图斑尚未与重叠图斑关联，请运行 weipian patch link 2017-land/,
      );
      const j = await cli('batch', 'status', '2017-land', '--at', '2018-03-14T23:59:59+08:00', '--json');
      assert.equal(j.code, 0, j.stderr);
      const s = JSON.parse(j.stdout).status;
      assert.equal(s.overdue.length, 0);
      assert.equal(s.dueSoon.length, 5);
      assert.equal(s.today, '2018-03-14');
      const mine = await cli(
        'batch',
        'status',
        '2017-land',
        '--unit',
        '370306102',
        '--json',
        '--at',
        '2018-03-15T00:00:00+08:00',
      );
      assert.deepEqual(
        JSON.parse(mine.stdout).status.overdue.map((o: { jcbh: string }) => o.jcbh),
        ['370306201700002'],
      );
    });

    it('links the imported 巡查 patch so the overlap counts once', async () => {
      const before = JSON.parse((await cli('batch', 'status', '2017-land', '--json')).stdout).status;
      const l = await cli('patch', 'link', '2017-land');
      assert.equal(l.code, 0, l.stderr);
      assert.match(l.stdout, /已检查 1 个例行督察\/巡查\/举报图斑：1 个与其他图斑重叠，关联变化 1 个/);
      const after = JSON.parse((await cli('batch', 'status', '2017-land', '--json')).stdout).status;
      assert.equal(after.unlinkedSources, 0);
      // 20 of the 50 m no longer count: the total shrinks by 2/5 of the 巡查 patch (≈2000 m²).
      const shrink = before.total.areaM2 - after.total.areaM2;
      assert.ok(shrink > 1999.5 && shrink < 2000, String(shrink));
    });

    it('reassigns a patch with a reason', async () => {
      const r = await cli(
        'patch',
        'reassign',
        '2017-land',
        '370306201700001',
        '--unit',
        '370306102',
        '--reason',
        '界线调整',
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /图斑 370306201700001 已改派给 南郊镇（370306102）/);
      const none = await cli(
        'patch',
        'reassign',
        '2017-land',
        '370306201700001',
        '--unit',
        '370306102',
        '--reason',
        'x',
      );
      assert.equal(none.code, 1);
      assert.match(none.stderr, /图斑已属于南郊镇（370306102） \[reassign_same_unit\]/);
    });

    it('closes the 初报 round, verifies its hash, and refuses closing it twice', async () => {
      const c = await cli('round', 'close', '2017-land', '--round', 'initial', '--reason', '按期初报');
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /已关闭批次 2017-land 的初报（第 1 轮）：上报 0 个图斑/);
      assert.match(c.stdout, /快照哈希 [0-9a-f]{64}/);
      const show = await cli('round', 'show', '2017-land', '1');
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /与重新计算的结果和审计链记录一致/);
      const list = await cli('round', 'list', '2017-land', '--json');
      assert.deepEqual(
        JSON.parse(list.stdout).rounds.map((r: { seq: number; label: string }) => [r.seq, r.label]),
        [[1, '初报']],
      );
      const again = await cli('round', 'close', '2017-land', '--round', 'initial');
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^错误：初报已关闭，不能再次关闭.*\[round_not_allowed\]\n$/);
      // After the initial round, the next deadline is the final report (5/10).
      const s = JSON.parse(
        (await cli('batch', 'status', '2017-land', '--json', '--at', '2018-03-15T00:00:00+08:00')).stdout,
      ).status;
      assert.equal(s.nextRound.date, '2018-05-10');
      assert.equal(s.overdue.length, 0);
    });

    it('refuses an upper-level list whose patch was never reported, naming the row', async () => {
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet('部审核结果');
      ws.addRow(['监测编号', '审核结果', '退回原因']);
      ws.addRow(['370306201700002', '通过', null]);
      const file = path.join(dir, 'upper.xlsx');
      await wb.xlsx.writeFile(file);
      const r = await cli('upper', 'import', file, '--batch', '2017-land');
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /上级审核结果未导入（全部或全不）：1 行有问题，第一处：第 2 行（370306201700002）图斑当前为“已下发（未核查）”，不能登记上级通过/,
      );
      const j = await cli('upper', 'record', '2017-land', '370306201700002', '--result', '退回', '--json');
      assert.equal(j.code, 1, `${j.stdout}\n${j.stderr}`);
      assert.equal(JSON.parse(j.stdout).error.code, 'transition_not_allowed');
    });
  });
}
