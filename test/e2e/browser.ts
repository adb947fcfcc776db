// Browser end-to-end tests: the demo district (at a small scale) is loaded once per test run into
// a PGlite folder shared by the test processes and copied for each suite; the real server
// (buildApp) serves the built web app on an ephemeral port; Debian's chromium is driven by playwright-core (no browser is downloaded).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { openDb, type Db } from '../../src/store/db.ts';
import { buildApp } from '../../src/server/app.ts';
import { loadDemo } from '../../src/demo/load.ts';
import { DEMO_PASSWORD } from '../../src/services/bootstrap.ts';
import { webDistDir } from '../../src/server/routes/web.ts';
import { DirectoryStore } from '../../src/evidence/store.ts';
import { sharedBuild } from '../helpers/demo-cache.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ROOT = path.resolve(import.meta.dirname, '../..');
/** Screenshots of each main page, kept as test artifacts (look at them). */
export const ARTIFACTS = process.env.WEIPIAN_E2E_ARTIFACTS ?? path.join(ROOT, 'tmp', 'e2e-artifacts');

/** Without chromium the suites are skipped locally; under CI a missing browser is an error. */
export function skipWithoutChromium(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} not found: apt-get install chromium fonts-noto-cjk`;
  if (process.env.CI) throw new Error(reason);
  return reason;
}

/** Builds the web app when there is no build yet (npm ci does not build). */
export function ensureWebBuild(): void {
  if (webDistDir()) return;
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'web', '--logLevel', 'warn'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
}

/** The demo district at `scale`, loaded once per test run into a PGlite folder (demo-cache.ts). */
export function demoTemplate(scale = 0.1): Promise<string> {
  return sharedBuild(`e2e-demo-${scale}`, async (dir) => {
    const db = await openDb({ dataDir: dir, migrate: true });
    try {
      await loadDemo(db, { actor: 'system:demo', scale });
    } finally {
      await db.close();
    }
  });
}

export interface Running {
  db: Db;
  app: FastifyInstance;
  url: string;
  dir: string;
  close(): Promise<void>;
}

/** A copy of the demo database served on 127.0.0.1 at an ephemeral port. */
export async function serveDemoCopy(scale = 0.1): Promise<Running> {
  const src = await demoTemplate(scale);
  const dir = mkdtempSync(path.join(tmpdir(), 'weipian-e2e-db-'));
  cpSync(src, dir, { recursive: true });
  const db = await openDb({ dataDir: dir, migrate: true });
  const filesDir = path.join(dir, 'files');
  mkdirSync(filesDir, { recursive: true });
  const app = await buildApp({ db, evidence: { store: new DirectoryStore(filesDir) } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    db,
    app,
    url: `http://127.0.0.1:${port}`,
    dir,
    close: async () => {
      await app.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** A logged-in browser context for a demo account. */
export async function loginAs(
  browser: Browser,
  base: string,
  username: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL: base,
    viewport: { width: 1440, height: 900 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  const page = await context.newPage();
  await page.goto('/');
  await page.fill('#username', username);
  await page.fill('#password', DEMO_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=user-menu]');
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** Chooses an option of the open antd Select by its text (a string must match it whole). */
export async function choose(page: Page, testId: string, option: string | RegExp): Promise<void> {
  await page.getByTestId(testId).click();
  await page
    .locator('.ant-select-dropdown:visible .ant-select-item-option')
    .filter({ hasText: typeof option === 'string' ? new RegExp(`^${option}$`) : option })
    .click();
}

/** The z/x/y tile (Web Mercator) holding a lon/lat. */
export function tileOf(lon: number, lat: number, z: number): [number, number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [
    z,
    Math.floor(((lon + 180) / 360) * n),
    Math.floor(((1 - Math.asinh(Math.tan(r)) / Math.PI) / 2) * n),
  ];
}
