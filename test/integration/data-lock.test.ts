// One owner of the PGlite data folder: while `weipian serve` runs, CLI commands act through its API
// as the local operator (or refuse in one line naming the fix) and never open the folder twice;
// a lock left by a killed process is taken over.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile, stat } from 'node:fs/promises';
import { tmpdir, hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.ts';
import { writeShapefile, skipWithoutOgr } from '../helpers/ogr.ts';
import { deliveryFeatures } from '../helpers/delivery.ts';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'weipian.js');

function startServer(env: Record<string, string>, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], {
      env: { ...process.env, DATABASE_URL: '', WEIPIAN_FROM_SOURCE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('已启动')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

describe('data folder ownership (PGlite)', { skip: skipWithoutOgr() }, () => {
  let dir: string;
  let env: Record<string, string>;
  let server: ChildProcess | undefined;
  let shp: string;
  const port = 20000 + Math.floor(Math.random() * 20000);
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weipian-lock-'));
    env = { WEIPIAN_DATA: path.join(dir, 'data') };
    shp = (await writeShapefile(dir, deliveryFeatures(), { name: 'tb', lco: ['ENCODING=CP936'] })).shp;
    server = await startServer(env, port);
  });
  after(async () => {
    server?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a lock naming the server and an operator token only its owner can read', async () => {
    const lock = JSON.parse(await readFile(path.join(dir, 'data', 'weipian.lock'), 'utf8'));
    assert.equal(lock.kind, 'server');
    assert.equal(lock.pid, server!.pid);
    assert.equal(lock.url, `http://127.0.0.1:${port}/`);
    const st = await stat(path.join(dir, 'data', 'operator.token'));
    assert.equal(st.mode & 0o077, 0, 'token not readable by group or others');
  });

  it('runs CLI commands through the server while it owns the folder', async () => {
    const c = await runCli(['batch', 'create', '2017-land', '--kind', 'land', '--year', '2017'], env);
    assert.equal(c.code, 0, c.stderr);
    const i = await runCli(['import', 'patches', shp, '--batch', '2017-land', '--json'], env);
    assert.equal(i.code, 0, i.stderr);
    assert.equal(JSON.parse(i.stdout).summary.imported, 4);
    const r = await fetch(`http://127.0.0.1:${port}/api/health`);
    assert.equal(r.status, 200);
    const l = await runCli(['batch', 'list', '--json'], env);
    assert.equal(JSON.parse(l.stdout).batches[0].patch_count, 4);
    // Errors raised inside the server come back with their code and Chinese message.
    const dup = await runCli(['import', 'patches', shp, '--batch', '2017-land'], env);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^错误：批次 2017-land 中已有这些监测编号.*\[duplicate_jcbh\]\n$/);
  });

  it('refuses in one line what cannot go through the server, and a second server', async () => {
    const r = await runCli(['restore', path.join(dir, 'x.zip')], env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(
      r.stderr,
      /正由 weipian serve（进程 \d+，.*）使用，恢复前请先停止服务 \[data_in_use_by_server\]/,
    );
    const s2 = await runCli(['serve', '--port', String(port + 1)], env);
    assert.equal(s2.code, 1);
    assert.match(s2.stderr, /已有 weipian serve/);
  });

  it('refuses the operator API without the token', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/api/operator/batch.list`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-weipian-operator': 'guess' },
      body: JSON.stringify({ actor: 'x', args: {} }),
    });
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error.code, 'operator_unauthorized');
  });

  it('refuses while another CLI command holds the folder', async () => {
    const lockFile = path.join(dir, 'data', 'weipian.lock');
    const saved = await readFile(lockFile, 'utf8');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await writeFile(
        lockFile,
        JSON.stringify({
          pid: sleeper.pid,
          host: hostname(),
          kind: 'cli',
          startedAt: new Date().toISOString(),
        }),
      );
      const r = await runCli(['batch', 'list'], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /另一个 weipian 命令（进程 \d+）正在使用数据目录.*\[data_in_use\]/);
    } finally {
      sleeper.kill('SIGKILL');
      await writeFile(lockFile, saved);
    }
  });

  it('takes over the lock of a killed server and finds every committed row', async () => {
    server!.kill('SIGKILL');
    await new Promise((r) => server!.once('exit', r));
    server = undefined;
    const l = await runCli(['batch', 'list', '--json'], env);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(JSON.parse(l.stdout).batches[0].patch_count, 4);
  });
});
