// The web workspace in a real browser (Debian's chromium through playwright-core) on the demo
// district at scale 0.1: a unit officer judges a patch illegal with a photo carrying EXIF GPS and
// submits; a reviewer returns it with a reason; the officer sees the reason, corrects and
// resubmits; the reviewer passes; the timeline shows the four steps. An officer of another unit
// cannot find the patch by list, search, map or URL. Screenshots of the main pages go to
// tmp/e2e-artifacts (WEIPIAN_E2E_ARTIFACTS).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
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
import { GOOD_TIME, makeJpeg, skipWithoutExiftool, writeExif } from '../helpers/evidence.ts';

const JCBH = '370306201700001'; // 丝绸路街道 (unit1's unit) in the demo district
const REASON = '现场照片不能反映建设现状，请补拍并核实违法类型';

/** Waits for the save to be confirmed; on an error shown instead, fails with it (and a screenshot). */
async function saved(page: Page): Promise<void> {
  const ok = page.getByText('第 1 部分的判定已保存');
  const err = page.getByTestId('judgement-error');
  // Generous: under a loaded CI machine the save and its toast once took longer than the default 30 s.
  await Promise.race([ok.waitFor({ timeout: 90_000 }), err.waitFor({ timeout: 90_000 })]);
  if (await err.isVisible()) {
    await screenshot(page, 'failed-judgement');
    assert.fail(`判定未保存：${await err.textContent()}`);
  }
}

const skip = skipWithoutChromium() || skipWithoutExiftool();

describe('web workspace in chromium (demo district, PGlite)', { skip }, () => {
  let srv: Running;
  let browser: Browser;
  let patchId: number;
  let centre: [number, number];
  let work: string;

  before(async () => {
    ensureWebBuild();
    srv = await serveDemoCopy(0.1);
    browser = await launch();
    const [p] = await srv.db.query<{
      id: number;
      unit_code: string;
      minx: number;
      miny: number;
      maxx: number;
      maxy: number;
    }>(
      "SELECT id, unit_code, minx, miny, maxx, maxy FROM patches WHERE jcbh = $1 AND batch_id = (SELECT id FROM batches WHERE slug = '2017-land')",
      [JCBH],
    );
    assert.equal(p!.unit_code, '370306001');
    patchId = p!.id;
    centre = [(p!.minx + p!.maxx) / 2, (p!.miny + p!.maxy) / 2];
    work = mkdtempSync(path.join(tmpdir(), 'weipian-e2e-photo-'));
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const stateOf = async (page: Page) =>
    page.locator('[data-testid=patch-page] [data-state]').first().getAttribute('data-state');

  const openFromList = async (page: Page) => {
    await page.getByTestId(`open-${JCBH}`).click();
    await page.waitForSelector('[data-testid=patch-page]');
  };

  it('the login page is in Chinese and refuses a wrong password', async () => {
    const context = await browser.newContext({ baseURL: srv.url, viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto('/');
    await page.waitForSelector('#username');
    assert.match((await page.textContent('body')) ?? '', /卫片执法监督检查系统/);
    await page.fill('#username', 'unit1');
    await page.fill('#password', 'wrong-password-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=login-error]');
    assert.match((await page.getByTestId('login-error').textContent()) ?? '', /用户名或密码错误/);
    await screenshot(page, '01-login');
    await context.close();
  });

  it('each role lands on its own page', async () => {
    for (const [user, pathname, text] of [
      ['reviewer', '/review', '审核队列'],
      ['leader', '/overview', '各责任单位进度'],
      ['admin', '/admin', '系统管理'],
    ] as const) {
      const { context, page } = await loginAs(browser, srv.url, user);
      await page.waitForURL(`**${pathname}`);
      await page.getByText(text).first().waitFor();
      if (user === 'leader') await page.getByTestId('overview-chart').locator('canvas').waitFor();
      await screenshot(page, `02-landing-${user}`);
      await context.close();
    }
  });

  it('officer judges illegal with a GPS photo and submits; reviewer returns; officer corrects and resubmits; reviewer passes', async () => {
    // ---- unit officer: judge, photo, submit ----
    const officer = await loginAs(browser, srv.url, 'unit1');
    const page = officer.page;
    await page.waitForURL('**/work');
    await page.getByTestId(`open-${JCBH}`).waitFor();
    await screenshot(page, '03-worklist-unit1');
    await openFromList(page);
    assert.equal(await stateOf(page), 'issued');
    // Not judged yet: submitting is disabled with the reason.
    const denied = await page
      .locator('[data-denied]')
      .filter({ has: page.getByTestId('submit-button') })
      .getAttribute('data-denied');
    assert.match(denied ?? '', /尚未填写任何判定，不能提交/);

    await choose(page, 'verdict-select', '违法');
    await choose(page, 'subtype-select', '未批先建');
    // The form generated from the rule pack: required facts answered explicitly.
    for (const [field, answer] of [
      ['violates_plan', '是'],
      ['occupies_agricultural', '是'],
      ['occupies_farmland', '否'],
      ['occupies_basic_farmland', '否'],
    ] as const)
      await page.locator(`#fields_${field}`).getByText(answer, { exact: true }).click();
    await choose(page, 'select-construction_period', '新增（本监测年度建设）');
    await choose(page, 'handling-select', '立案');
    await page.getByTestId('save-judgement').click();
    await saved(page);

    // Two site photos (the pack asks for at least two), with EXIF time, GPS and direction.
    for (const [i, direction] of [
      [1, 0],
      [2, 90],
    ] as const) {
      const photo = await makeJpeg(path.join(work, `site${i}.jpg`), 7 + i);
      await writeExif(photo, { ...GOOD_TIME, position: centre, accuracyM: 5, direction });
      await page.locator('[data-testid=evidence] input[type=file]').setInputFiles(photo);
      await page
        .getByTestId('photo-card')
        .nth(i - 1)
        .waitFor();
    }
    const gps = (await page.getByTestId('exif-gps').first().textContent()) ?? '';
    const [lat, lon] = (gps.match(/(-?\d+\.\d+), (-?\d+\.\d+)/) ?? []).slice(1).map(Number);
    assert.ok(Math.abs(lat! - centre[1]) < 2e-6 && Math.abs(lon! - centre[0]) < 2e-6, gps);
    await screenshot(page, '04-patch-judged-unit1');

    await page.getByTestId('submit-button').click();
    await page.getByText('已提交分局审核').first().waitFor();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid=patch-page] [data-state]')?.getAttribute('data-state') ===
        'submitted',
    );
    // My submissions: the item says it has arrived.
    await page.goto('/submissions');
    const row = page.locator('tr', { has: page.getByTestId(`open-${JCBH}`) });
    await row.waitFor();
    assert.equal(await row.locator('[data-receipt]').getAttribute('data-receipt'), 'submitted');
    assert.match((await row.textContent()) ?? '', /分局尚未打开/);
    await screenshot(page, '05-my-submissions-unit1');

    // ---- reviewer: open from the queue, return with a reason ----
    const reviewer = await loginAs(browser, srv.url, 'reviewer');
    const rpage = reviewer.page;
    await rpage.waitForURL('**/review');
    await rpage.getByTestId(`open-${JCBH}`).waitFor();
    await screenshot(rpage, '06-review-queue');
    await openFromList(rpage);
    assert.equal(await stateOf(rpage), 'submitted');
    await rpage.getByTestId('return-button').click();
    await rpage.locator('.ant-modal textarea').fill(REASON);
    await rpage.locator('.ant-modal-footer .ant-btn-dangerous').click();
    await rpage.waitForFunction(
      () =>
        document.querySelector('[data-testid=patch-page] [data-state]')?.getAttribute('data-state') ===
        'returned',
    );

    // ---- officer: sees the reason in the list and on the patch, corrects, resubmits ----
    await page.goto('/work');
    const returnedRow = page.locator('tr', { has: page.getByTestId(`open-${JCBH}`) });
    await returnedRow.waitFor();
    assert.equal(await returnedRow.locator('[data-receipt]').getAttribute('data-receipt'), 'returned');
    assert.equal(await returnedRow.getByTestId('return-reason').textContent(), REASON);
    await openFromList(page);
    assert.match((await page.getByTestId('return-alert').textContent()) ?? '', new RegExp(REASON));
    await screenshot(page, '07-patch-returned-unit1');
    await choose(page, 'subtype-select', '边报边用');
    await choose(page, 'handling-select', '立案');
    await page.getByTestId('save-judgement').click();
    await saved(page);
    await page.getByTestId('submit-button').click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid=patch-page] [data-state]')?.getAttribute('data-state') ===
        'submitted',
    );

    // ---- reviewer: passes ----
    await rpage.goto('/review');
    await openFromList(rpage);
    await rpage.getByTestId('pass-button').click();
    await rpage.waitForFunction(
      () =>
        document.querySelector('[data-testid=patch-page] [data-state]')?.getAttribute('data-state') ===
        'passed',
    );

    // ---- the timeline shows all four steps, in order ----
    await rpage.reload();
    await rpage.getByTestId('timeline').locator('[data-action]').first().waitFor();
    const actions = await rpage
      .getByTestId('timeline')
      .locator('[data-action]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
    assert.deepEqual(
      actions.filter((a) => ['patch.submit', 'patch.return', 'patch.pass'].includes(a ?? '')),
      ['patch.submit', 'patch.return', 'patch.submit', 'patch.pass'],
    );
    assert.match((await rpage.getByTestId('timeline').textContent()) ?? '', new RegExp(`原因：${REASON}`));
    await rpage.getByTestId('timeline').scrollIntoViewIfNeeded();
    await screenshot(rpage, '08-patch-passed-timeline');

    // The officer's list now says 已通过.
    await page.goto('/submissions');
    const passedRow = page.locator('tr', { has: page.getByTestId(`open-${JCBH}`) });
    await passedRow.waitFor();
    assert.equal(await passedRow.locator('[data-receipt]').getAttribute('data-receipt'), 'passed');

    // The map: the patch coloured by state, deep link to it.
    await rpage.goto(`/map?batch=2017-land&patch=${patchId}&color=state`);
    await rpage.getByTestId('patch-card').waitFor();
    assert.match((await rpage.getByTestId('patch-card').textContent()) ?? '', /分局初审通过/);
    await rpage.waitForSelector('[data-testid=map][data-ready="1"]');
    await screenshot(rpage, '09-map-deeplink-reviewer');
    await officer.context.close();
    await reviewer.context.close();
  });

  it('an officer of another unit cannot find the patch by list, search, map or URL', async () => {
    const { context, page } = await loginAs(browser, srv.url, 'unit2');
    await page.waitForURL('**/work');
    await page.locator('.ant-table-row').first().waitFor();
    await page.getByTestId('tabs').getByText(/^全部/).click();
    assert.equal(await page.getByTestId(`open-${JCBH}`).count(), 0);
    // search in the list
    await page.getByTestId('jcbh-search').locator('input').fill(JCBH);
    await page.getByTestId('jcbh-search').locator('input').press('Enter');
    await page.locator('.ant-table-placeholder').waitFor();
    assert.equal(await page.locator('.ant-table-row').count(), 0);
    // search on the map
    await page.goto('/map?batch=2017-land');
    await page.getByTestId('map-search').locator('input').fill(JCBH.slice(-6));
    await page.getByText('没有找到（只能查找您有权查看的图斑）').waitFor();
    // the map's tile at the patch holds none of it, while the reviewer's does
    const [z, x, y] = tileOf(centre[0], centre[1], 15);
    const own = await page.request.get(`/api/tiles/patches/2017-land/${z}/${x}/${y}.pbf`);
    assert.equal(own.status(), 200);
    assert.equal((await own.body()).includes(Buffer.from(JCBH)), false);
    const rev = await loginAs(browser, srv.url, 'reviewer');
    const theirs = await rev.page.request.get(`/api/tiles/patches/2017-land/${z}/${x}/${y}.pbf`);
    assert.equal((await theirs.body()).includes(Buffer.from(JCBH)), true);
    await rev.context.close();
    // by URL
    await page.goto(`/patches/${patchId}`);
    await page.getByTestId('patch-error').waitFor();
    assert.match((await page.getByTestId('patch-error').textContent()) ?? '', /无权查看/);
    await screenshot(page, '10-other-unit-denied');
    await context.close();
  });
});
