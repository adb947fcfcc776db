// The review tools of the web workspace in a real browser (Debian's chromium through playwright-core)
// on a copy of the demo district at scale 0.1, one browser and one server: a reviewer confirms a
// photo's integrity signal as 虚假举证 on the patch page and dismisses another from the review
// queue's list of open signals; a unit officer uploads a photo to the second part of a split patch
// and finds it under that part with the part's checklist; the delivered attributes read in Chinese;
// an admin closes the 初报 round and opens its snapshot; a reviewer records an upper-level 退回 and
// sees an Excel list refused row by row; a reviewer draws a 巡查 patch on the map, finds it on the map
// and opens its page. Screenshots go to tmp/e2e-artifacts (WEIPIAN_E2E_ARTIFACTS).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  choose,
  ensureWebBuild,
  launch,
  loginAs,
  screenshot,
  serveDemoCopy,
  skipWithoutChromium,
  tileOf,
  type Running,
} from './browser.ts';
import { makeJpeg } from '../helpers/evidence.ts';
import { DirectoryStore } from '../../src/evidence/store.ts';
import { addEvidence, type EvidenceContext } from '../../src/services/evidence.ts';
import {
  getPatchWorkflow,
  judgePart,
  passPatch,
  splitPatch,
  submitPatch,
  type WorkflowActor,
} from '../../src/services/workflow.ts';

const UNIT = '370306101'; // 南郊镇, unit2's unit (of the two demo officers' units, the one with more patches)
const OFFICER: WorkflowActor = { username: 'unit2', role: 'unit_officer', unitCode: UNIT };
const REVIEWER: WorkflowActor = { username: 'reviewer', role: 'reviewer', unitCode: null };
const CONFIRM_REASON = '照片无拍摄位置和时间，经电话核实为其他地块照片';
const DISMISS_REASON = '相机未开启定位，经视频连线核实为本图斑现场';
const UPPER_REASON = '举证照片不能反映图斑现状，请补充';

interface Target {
  id: number;
  jcbh: string;
  bbox: [number, number, number, number];
}

/** A screenshot once antd's opening animation of a dialog has finished. */
async function dialogShot(page: Page, name: string): Promise<void> {
  await page.locator('.ant-modal').last().waitFor();
  await page.waitForFunction(
    () => !document.querySelector('.ant-zoom-appear, .ant-zoom-enter, .ant-fade-appear'),
  );
  await screenshot(page, name);
}

const skip = skipWithoutChromium();

describe('review tools in chromium (demo district, PGlite)', { skip }, () => {
  let srv: Running;
  let browser: Browser;
  let work: string;
  const t = {} as Record<'signal' | 'split' | 'passed' | 'link', Target>;
  const sessions = new Map<string, { context: BrowserContext; page: Page }>();
  /** One logged-in page per demo account, kept for the whole suite. */
  const as = async (user: string): Promise<Page> => {
    let s = sessions.get(user);
    if (!s) sessions.set(user, (s = await loginAs(browser, srv.url, user)));
    return s.page;
  };
  const count = async (sql: string, params: unknown[] = []) =>
    (await srv.db.query<{ n: number }>(sql, params))[0]!.n;

  before(async () => {
    ensureWebBuild();
    srv = await serveDemoCopy(0.1);
    browser = await launch();
    work = mkdtempSync(path.join(tmpdir(), 'weipian-e2e-review-'));
    const ctx: EvidenceContext = { db: srv.db, store: new DirectoryStore(path.join(srv.dir, 'files')) };
    const rows = await srv.db.query<Target & { minx: number; miny: number; maxx: number; maxy: number }>(
      `SELECT p.id, p.jcbh, p.minx, p.miny, p.maxx, p.maxy FROM patches p JOIN batches b ON b.id = p.batch_id
       WHERE b.slug = '2017-land' AND p.unit_code = $1 AND p.source = 'satellite' AND p.geometry_kind = 'polygon'
       ORDER BY p.jcbh`,
      [UNIT],
    );
    const pool = rows.map((r) => ({
      id: r.id,
      jcbh: r.jcbh,
      bbox: [r.minx, r.miny, r.maxx, r.maxy] as Target['bbox'],
    }));
    const photo = async (patchId: number, seed: number, partId: number | null = null) =>
      addEvidence(
        ctx,
        {
          patchId,
          partId,
          kind: 'photo',
          originalName: `现场${seed}.jpg`,
          actor: 'unit2',
          actorRole: 'unit_officer',
        },
        await makeJpeg(path.join(work, `p${seed}.jpg`), seed),
      );

    // A photo without EXIF: no position, no time — two open signals for the reviewer.
    t.signal = pool.shift()!;
    const up = await photo(t.signal.id, 501);
    assert.deepEqual(up.signals.map((s) => s.code).sort(), ['no_position', 'no_time']);

    // A patch split by hand into a west part and the rest; the rest judged 其他·实地未变化.
    for (;;) {
      const p = pool.shift();
      assert.ok(p, 'no patch of unit2 could be split in two');
      const [w, s, e, n] = p.bbox;
      const mid = (w + e) / 2;
      const wf = await getPatchWorkflow(srv.db, p.id, OFFICER);
      try {
        await splitPatch(
          srv.db,
          p.id,
          {
            version: wf.workflow.version,
            mode: 'drawn',
            parts: [
              {
                type: 'Polygon',
                coordinates: [
                  [
                    [w - 1e-4, s - 1e-4],
                    [mid, s - 1e-4],
                    [mid, n + 1e-4],
                    [w - 1e-4, n + 1e-4],
                    [w - 1e-4, s - 1e-4],
                  ],
                ],
              },
            ],
            clipToPatch: true,
            rest: true,
          },
          OFFICER,
        );
      } catch {
        continue; // e.g. a part would be a sliver: try the next patch
      }
      const split = await getPatchWorkflow(srv.db, p.id, OFFICER);
      if (split.parts.length !== 2) continue;
      await judgePart(
        srv.db,
        p.id,
        split.parts[1]!.id,
        {
          version: split.workflow.version,
          verdict: 'other',
          subtype: 'no_real_change',
          fields: { explanation: '实地为大棚，未建设' },
        },
        OFFICER,
      );
      t.split = p;
      break;
    }

    // A patch judged, evidenced, submitted and passed: the round reports it.
    t.passed = pool.shift()!;
    let wf = await getPatchWorkflow(srv.db, t.passed.id, OFFICER);
    wf = await judgePart(
      srv.db,
      t.passed.id,
      wf.parts[0]!.id,
      {
        version: wf.workflow.version,
        verdict: 'other',
        subtype: 'no_real_change',
        fields: { explanation: '伪变化：农作物收割' },
      },
      OFFICER,
    );
    await photo(t.passed.id, 502);
    await photo(t.passed.id, 503);
    wf = await submitPatch(srv.db, t.passed.id, { version: wf.workflow.version }, OFFICER);
    await passPatch(srv.db, t.passed.id, { version: wf.workflow.version }, REVIEWER);

    // A satellite patch the drawn 巡查 patch will cover.
    t.link = pool.shift()!;
  });

  after(async () => {
    for (const s of sessions.values()) await s.context.close();
    await browser?.close();
    await srv?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a reviewer confirms a signal as 虚假举证 on the patch page and dismisses one from the queue', async () => {
    const page = await as('reviewer');
    await page.goto('/review');
    // The queue's list of open signals: the two of the photo (and the passed patch's photos').
    await page
      .getByTestId('tabs')
      .getByText(/^举证疑点/)
      .click();
    const queue = page.getByTestId('signal-queue');
    const ours = queue.locator('tr', { has: page.getByTestId(`signal-patch-${t.signal.jcbh}`) });
    await ours.first().waitFor();
    assert.equal(await ours.count(), 2);
    assert.match((await ours.first().textContent()) ?? '', /没有拍摄位置|没有拍摄时间/);
    await screenshot(page, '11-review-open-signals');

    // On the patch page: the signal in plain Chinese, confirmed with a finding and a reason.
    await page.getByTestId(`signal-patch-${t.signal.jcbh}`).first().click();
    await page.waitForSelector('[data-testid=patch-page]');
    const signal = page.locator('[data-testid=signal][data-signal-code=no_position]');
    await signal.waitFor();
    assert.match((await signal.getByTestId('signal-message').textContent()) ?? '', /[\u4e00-\u9fff]/);
    await signal.getByTestId('signal-confirm').click();
    await page.locator('.ant-modal .ant-radio-wrapper').filter({ hasText: '虚假举证' }).click();
    await page.getByTestId('signal-reason').fill(CONFIRM_REASON);
    await dialogShot(page, '12-signal-confirm-dialog');
    await page.getByTestId('signal-decision-ok').click();
    await page
      .locator('[data-testid=signal][data-signal-code=no_position][data-signal-status=confirmed]')
      .waitFor();
    const decided = page.locator('[data-testid=signal][data-signal-code=no_position]');
    assert.match((await decided.textContent()) ?? '', /已认定：虚假举证/);
    assert.match(
      (await decided.getByTestId('signal-decided').textContent()) ?? '',
      new RegExp(`^reviewer 于 .+认定，理由：${CONFIRM_REASON}$`),
    );
    const [row] = await srv.db.query<{ status: string; finding: string; reason: string; decided_by: string }>(
      `SELECT s.status, s.finding, s.reason, s.decided_by FROM evidence_signals s JOIN evidence_items e ON e.id = s.evidence_id
       WHERE e.patch_id = $1 AND s.code = 'no_position'`,
      [t.signal.id],
    );
    assert.deepEqual(row, {
      status: 'confirmed',
      finding: 'false_evidence',
      reason: CONFIRM_REASON,
      decided_by: 'reviewer',
    });
    // The timeline names the decision.
    await page.getByTestId('timeline').locator('[data-action="evidence.signal.confirm"]').waitFor();
    assert.match((await page.getByTestId('timeline').textContent()) ?? '', /认定举证疑点为核查发现/);
    await page.getByTestId('evidence').scrollIntoViewIfNeeded();
    await page.mouse.move(0, 0);
    await screenshot(page, '12-signal-confirmed-gallery');

    // Back in the queue: dismiss the other one; it leaves the open list and shows under 已排除.
    await page.goto('/review');
    await page
      .getByTestId('tabs')
      .getByText(/^举证疑点/)
      .click();
    const left = page
      .getByTestId('signal-queue')
      .locator('tr', { has: page.getByTestId(`signal-patch-${t.signal.jcbh}`) });
    await left.first().waitFor();
    assert.equal(await left.count(), 1);
    await left.getByTestId('signal-dismiss').click();
    await page.getByTestId('signal-reason').fill(DISMISS_REASON);
    await page.getByTestId('signal-decision-ok').click();
    await page.getByText('已排除该疑点').waitFor();
    await left.first().waitFor({ state: 'detached' });
    await page.getByTestId('signal-status').getByText('已排除', { exact: true }).click();
    const dismissed = page
      .getByTestId('signal-queue')
      .locator('tr', { has: page.getByTestId(`signal-patch-${t.signal.jcbh}`) });
    await dismissed.first().waitFor();
    assert.match((await dismissed.textContent()) ?? '', new RegExp(`理由：${DISMISS_REASON}`));
    assert.equal(
      await count(
        `SELECT count(*)::int AS n FROM evidence_signals s JOIN evidence_items e ON e.id = s.evidence_id
         WHERE e.patch_id = $1 AND s.status = 'open'`,
        [t.signal.id],
      ),
      0,
    );
    await screenshot(page, '13-review-dismissed-signals');
  });

  it('a unit officer uploads a photo to the second part of a split patch and finds it under that part', async () => {
    const page = await as('unit2');
    await page.goto(`/patches/${t.split.id}`);
    await page.getByTestId('evidence').waitFor();
    // Delivered attributes under their Chinese names, the delivered code as a hint.
    const jcbhLabel = page.locator('[data-testid=delivered-label][data-code=JCBH]');
    assert.equal(await jcbhLabel.textContent(), '监测编号JCBH');
    assert.equal(
      await page.locator('[data-testid=delivered-label][data-code=JCMJ]').textContent(),
      '监测面积JCMJ',
    );
    // Before: part 2 judged 其他 needs two site photos and has none; part 1 is not judged yet.
    const part1 = page.locator('[data-testid=evidence-group][data-group=part-1]');
    const part2 = page.locator('[data-testid=evidence-group][data-group=part-2]');
    assert.match((await part1.getByTestId('checklist').textContent()) ?? '', /尚未判定/);
    await part2.getByTestId('checklist-item').first().waitFor();
    assert.match(
      (await part2.getByTestId('checklist-item').first().textContent()) ?? '',
      /实地照片 还缺 2（0\/2）/,
    );

    await choose(page, 'upload-part', /第 2 部分/);
    const file = await makeJpeg(path.join(work, 'part2.jpg'), 601);
    await page.locator('[data-testid=evidence] input[type=file]').setInputFiles(file);
    await part2.getByTestId('photo-card').waitFor();
    assert.equal(await part1.getByTestId('photo-card').count(), 0);
    assert.equal(
      await page.locator('[data-testid=evidence-group][data-group=patch]').getByTestId('photo-card').count(),
      0,
    );
    await part2.getByText(/实地照片 还缺 1（1\/2）/).waitFor();
    const [ev] = await srv.db.query<{ no: number }>(
      `SELECT pp.no FROM evidence_items e JOIN patch_parts pp ON pp.id = e.part_id
       WHERE e.patch_id = $1 AND e.original_name = 'part2.jpg'`,
      [t.split.id],
    );
    assert.equal(ev?.no, 2);
    // A unit officer cannot decide signals: the buttons say why.
    const denied = await part2.locator('[data-denied]').first().getAttribute('data-denied');
    assert.match(denied ?? '', /不能认定或排除举证疑点/);
    await part2.scrollIntoViewIfNeeded();
    await screenshot(page, '14-evidence-by-part');
  });

  it('an admin closes the 初报 round after a confirmation and opens its snapshot', async () => {
    const page = await as('admin');
    await page.goto('/rounds');
    await page.getByTestId('rounds-page').waitFor();
    await page.getByText('本批次尚未关闭任何报送轮次', { exact: false }).waitFor();
    await screenshot(page, '15-rounds-empty');
    await page.getByTestId('close-round-button').click();
    const effect = page.getByTestId('close-round-effect');
    await effect.waitFor();
    assert.match((await effect.textContent()) ?? '', /本轮将上报 1 个/);
    await dialogShot(page, '16-close-round-confirm');
    await page.getByTestId('close-round-ok').click();
    await page.waitForURL('**/rounds/1');
    await page.getByTestId('round-snapshot').waitFor();
    const [round] = await srv.db.query<{ hash: string; reported_count: number; closed_by: string }>(
      "SELECT hash, reported_count, closed_by FROM report_rounds WHERE seq = 1 AND batch_id = (SELECT id FROM batches WHERE slug = '2017-land')",
    );
    assert.equal(round!.reported_count, 1);
    assert.equal((await page.getByTestId('round-hash').textContent())?.trim(), round!.hash);
    assert.equal(await page.getByTestId('round-reported').textContent(), '1');
    assert.equal(await page.getByTestId('round-closed-by').textContent(), 'admin');
    assert.match((await page.getByTestId('round-verified').textContent()) ?? '', /快照未被改动/);
    const patches = await count(
      "SELECT count(*)::int AS n FROM patches WHERE batch_id = (SELECT id FROM batches WHERE slug = '2017-land')",
    );
    assert.match(
      (await page.getByTestId('round-figures').locator('.ant-table-summary').textContent()) ?? '',
      new RegExp(`^合计${patches}`),
    );
    assert.equal(await page.locator(`a[href="/patches/${t.passed.id}"]`).count(), 1);
    await screenshot(page, '17-round-snapshot');
    await page.goto('/rounds');
    await page.getByTestId('round-1').waitFor();
    await screenshot(page, '18-rounds-list');
  });

  it('a reviewer records an upper-level 退回 and sees an Excel list refused row by row', async () => {
    const page = await as('reviewer');
    // An Excel list with an unknown 监测编号 and an unreadable result: refused, nothing changed.
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('审核结果');
    ws.addRow(['监测编号', '审核结果', '退回原因']);
    ws.addRow([t.passed.jcbh, '待定', null]);
    ws.addRow(['370306209999999', '通过', null]);
    const xlsx = path.join(work, '上级审核结果.xlsx');
    await wb.xlsx.writeFile(xlsx);
    await page.goto('/rounds');
    await page.getByTestId('upper-import').waitFor();
    await page.locator('[data-testid=upper-import] input[type=file]').setInputFiles(xlsx);
    const err = page.getByTestId('upper-import-error');
    await err.locator('.ant-table-row').nth(1).waitFor();
    const rows = await err.locator('.ant-table-row').evaluateAll((trs) => trs.map((tr) => tr.textContent));
    assert.deepEqual(rows, [
      `2${t.passed.jcbh}审核结果“待定”无法识别（应为 通过 或 退回）`,
      '3370306209999999批次 2017-land 中没有这个监测编号',
    ]);
    assert.match((await err.textContent()) ?? '', /上级审核结果未导入（全部或全不）：2 行有问题/);
    assert.equal(await count('SELECT count(*)::int AS n FROM upper_results'), 0);
    await screenshot(page, '19-upper-import-refused');

    // One result by hand on the patch page.
    await page.goto(`/patches/${t.passed.id}`);
    const card = page.getByTestId('upper-results');
    await card.waitFor();
    assert.match((await card.textContent()) ?? '', /随初报（第 1 轮）上报/);
    await card.getByTestId('upper-record-button').click();
    await page.getByTestId('upper-result-select').getByText(/^退回/).click();
    await page.getByTestId('upper-reason').fill(UPPER_REASON);
    await dialogShot(page, '20-upper-result-dialog');
    await page.getByTestId('upper-record-ok').click();
    await card.locator('[data-testid=upper-result][data-result=returned]').waitFor();
    assert.match((await card.textContent()) ?? '', new RegExp(`上级退回.*原因：${UPPER_REASON}`));
    assert.equal(
      await page.locator('[data-testid=patch-page] [data-state]').first().getAttribute('data-state'),
      'upper_returned',
    );
    assert.match(
      (await page.getByTestId('return-alert').textContent()) ?? '',
      new RegExp(`上级退回.*${UPPER_REASON}`),
    );
    const [u] = await srv.db.query<{ result: string; reason: string; source: string; recorded_by: string }>(
      'SELECT result, reason, source, recorded_by FROM upper_results WHERE patch_id = $1',
      [t.passed.id],
    );
    assert.deepEqual(u, {
      result: 'returned',
      reason: UPPER_REASON,
      source: 'manual',
      recorded_by: 'reviewer',
    });
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, '20-upper-result-recorded');
  });

  it('a reviewer draws a 巡查 patch on the map, sees it there and opens its page', async () => {
    const page = await as('reviewer');
    const [w, s, e, n] = t.link.bbox;
    const centre: [number, number] = [(w + e) / 2, (s + n) / 2];
    await page.goto(`/map?batch=2017-land&view=17/${centre[0]}/${centre[1]}`);
    await page.waitForSelector('[data-testid=map][data-ready="1"]');
    await page.getByTestId('draw-patch-button').click();
    await page.getByTestId('draw-hint').waitFor();
    // A square of 160 px around the centre of the satellite patch (about 150 m at zoom 17).
    const box = (await page.getByTestId('map').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    for (const [dx, dy] of [
      [-80, -80],
      [80, -80],
      [80, 80],
    ] as const)
      await page.mouse.click(cx + dx, cy + dy);
    await page.mouse.dblclick(cx - 80, cy + 80);
    await page.getByTestId('draw-source').waitFor();
    const drawnMu = Number((await page.getByTestId('drawn-area').textContent())!.replace(' 亩', ''));
    assert.ok(drawnMu > 10 && drawnMu < 60, `drawn ${drawnMu} 亩`);
    await page.getByTestId('draw-source').getByText('巡查', { exact: true }).click();
    await page.getByTestId('draw-note').fill('巡查发现新建厂房，正在施工');
    await dialogShot(page, '21-draw-patch-form');
    // A number already in the batch: the server's Chinese refusal in the dialog, nothing created.
    const patrolPatches = "SELECT count(*)::int AS n FROM patches WHERE source <> 'satellite'";
    await page.getByTestId('draw-jcbh').fill(t.link.jcbh);
    await page.getByTestId('create-patch-ok').click();
    await page.getByTestId('create-patch-error').waitFor();
    assert.equal(
      await page.getByTestId('create-patch-error').textContent(),
      `批次 2017-land 中已有监测编号 ${t.link.jcbh}`,
    );
    assert.equal(await count(patrolPatches), 0);
    await page.getByTestId('draw-jcbh').fill('');
    await page.getByTestId('create-patch-ok').click();
    const done = page.getByTestId('created-patch');
    await done.waitFor();
    const [p] = await srv.db.query<{
      id: number;
      jcbh: string;
      source: string;
      area_m2: number;
      bz: string;
      unit_code: string;
    }>("SELECT id, jcbh, source, area_m2, bz, unit_code FROM patches WHERE source = 'patrol'");
    assert.equal(p!.jcbh, 'XC20170001');
    assert.equal(p!.bz, '巡查发现新建厂房，正在施工');
    // The server's ellipsoidal area and the page's geodesic one agree (to the 0.01 亩 shown).
    assert.ok(Math.abs((p!.area_m2 * 3) / 2000 - drawnMu) <= 0.011, `${p!.area_m2} m² vs ${drawnMu} 亩`);
    const text = (await done.textContent()) ?? '';
    assert.match(text, /已创建巡查图斑 XC20170001/);
    assert.match(text, new RegExp(`${((p!.area_m2 * 3) / 2000).toFixed(2)} 亩`));
    // It covers the satellite patch: linked, the overlap counted once.
    const links = await srv.db.query<{ linked_patch_id: number }>(
      'SELECT linked_patch_id FROM patch_links WHERE patch_id = $1',
      [p!.id],
    );
    assert.ok(
      links.some((l) => l.linked_patch_id === t.link.id),
      JSON.stringify(links),
    );
    assert.match(text, new RegExp(`${t.link.jcbh}（重叠`));
    await screenshot(page, '22-draw-patch-created');

    // On the map: selected, and in the map's patch tiles.
    await page.getByRole('button', { name: '留在地图' }).click();
    await page.getByTestId('patch-card').getByText('图斑 XC20170001').waitFor();
    assert.match((await page.getByTestId('patch-card').textContent()) ?? '', /巡查/);
    const [z, x, y] = tileOf(centre[0], centre[1], 17);
    const tile = await page.request.get(`/api/tiles/patches/2017-land/${z}/${x}/${y}.pbf`);
    assert.ok((await tile.body()).includes(Buffer.from('XC20170001')));
    // Inside the drawn square (±80 px around the centre), in the patch layer (z-index 10) of the
    // page's OpenLayers map. A string: the test runner's transform would wrap a function's inner
    // arrows in helpers the page does not have.
    await page.waitForFunction(
      `(() => {
        const map = window.__weipianMap;
        if (!map) return false;
        const [w, h] = map.getSize();
        return map
          .getFeaturesAtPixel([w / 2 + 70, h / 2 + 70], { layerFilter: (l) => l.getZIndex() === 10 })
          .some((f) => f.get('jcbh') === 'XC20170001');
      })()`,
      undefined,
      { timeout: 15_000 },
    );
    await screenshot(page, '23-draw-patch-on-map');

    // And its page.
    await page.getByTestId('patch-card').getByRole('button', { name: '打开图斑页' }).click();
    await page.waitForURL(`**/patches/${p!.id}`);
    await page.getByText('图斑 XC20170001').waitFor();
    assert.equal(
      await page.locator('[data-testid=patch-page] [data-state]').first().getAttribute('data-state'),
      'issued',
    );
    assert.match((await page.getByTestId('patch-links').textContent()) ?? '', new RegExp(t.link.jcbh));
    await screenshot(page, '24-new-patch-page');
  });
});
