// `weipian users add|list|disable|reset` as real processes against a PGlite folder and a PostgreSQL
// database; the passwords they print are then proven by logging in through the HTTP app.
import { runCli } from '../helpers/cli.ts';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { engines, freshTarget } from '../helpers/db.ts';
import { openDb } from '../../src/store/db.ts';
import { buildApp } from '../../src/server/app.ts';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'weipian.js');
const OTP = /^[a-km-np-z2-9]{4}(-[a-km-np-z2-9]{4}){3}$/;

const run = (args: string[], env: Record<string, string>, input = '') => runCli(args, env, undefined, input);

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, 'close');
  return port;
}

for (const engine of engines()) {
  describe(`weipian users on ${engine}`, () => {
    let dir: string;
    let env: Record<string, string>;
    let drop: () => Promise<void>;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-users-'));
      ({ env, drop } = await freshTarget(engine, path.join(dir, 'data')));
    });
    after(async () => {
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('adds, lists, resets and disables users; the printed passwords are the real ones', async () => {
      const add = await run(['users', 'add', 'zhang', '--role', 'reviewer', '--name', '张三', '--json'], env);
      assert.equal(add.code, 0, add.stderr);
      const added = JSON.parse(add.stdout);
      assert.equal(added.ok, true);
      assert.deepEqual(
        [added.user.username, added.user.displayName, added.user.roleLabel, added.user.mustChangePassword],
        ['zhang', '张三', '分局审核员', true],
      );
      assert.match(added.oneTimePassword, OTP);

      const piped = await run(
        ['users', 'add', 'li', '--role', 'leader', '--password-stdin', '--json'],
        env,
        'Li-pass-2018\n',
      );
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(
        JSON.parse(piped.stdout).oneTimePassword,
        undefined,
        'no password printed when one was given',
      );

      const bad = await run(['users', 'add', 'zhao', '--role', 'boss', '--json'], env);
      assert.equal(bad.code, 1);
      assert.equal(JSON.parse(bad.stdout).error.code, 'role_invalid');

      const list = await run(['users', 'list', '--json'], env);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(
        JSON.parse(list.stdout).users.map((u: { username: string; role: string }) => [u.username, u.role]),
        [
          ['li', 'leader'],
          ['zhang', 'reviewer'],
        ],
      );
      assert.doesNotMatch(list.stdout, /scrypt\$/);

      const reset = await run(['users', 'reset', 'zhang', '--json'], env);
      assert.equal(reset.code, 0, reset.stderr);
      const newOtp = JSON.parse(reset.stdout).oneTimePassword as string;
      assert.match(newOtp, OTP);
      assert.notEqual(newOtp, added.oneTimePassword);

      const disable = await run(['users', 'disable', 'li'], env);
      assert.equal(disable.code, 0, disable.stderr);
      assert.equal(disable.stdout.trim(), '已停用用户 li，结束登录会话 0 个');

      const db =
        engine === 'pglite'
          ? await openDb({ dataDir: path.join(env.WEIPIAN_DATA!, 'db') })
          : await openDb({ url: env.DATABASE_URL! });
      try {
        const rows = await db.query<{ username: string; created_by: string; disabled_by: string | null }>(
          'SELECT username, created_by, disabled_by FROM users ORDER BY username',
        );
        assert.deepEqual(rows, [
          { username: 'li', created_by: 'cli:tester', disabled_by: 'cli:tester' },
          { username: 'zhang', created_by: 'cli:tester', disabled_by: null },
        ]);
        const app = await buildApp({ db });
        try {
          const login = (username: string, password: string) =>
            app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
          assert.equal(
            (await login('zhang', added.oneTimePassword)).statusCode,
            401,
            'the reset replaced it',
          );
          const z = await login('zhang', newOtp);
          assert.equal(z.statusCode, 200);
          assert.equal(z.json().user.mustChangePassword, true);
          // The piped password was stored (the account is disabled, which only the right password reveals).
          assert.equal((await login('li', 'Li-pass-2018')).json().error.code, 'account_disabled');
        } finally {
          await app.close();
        }
      } finally {
        await db.close();
      }
    });

    it('works while weipian serve runs, which prints the one-time admin on its first start', async () => {
      const target = await freshTarget(engine, path.join(dir, 'served'));
      const port = await freePort();
      const served = { ...target.env, WEIPIAN_PORT: String(port) };
      const server = spawn(process.execPath, [BIN, 'serve'], {
        env: { ...process.env, DATABASE_URL: '', WEIPIAN_FROM_SOURCE: '1', ...served },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      server.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      server.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      try {
        const started = Date.now();
        while (!/一次性密码：/.test(out) && server.exitCode === null && Date.now() - started < 180_000)
          await new Promise((r) => setTimeout(r, 200));
        const m =
          /已创建初始管理员账号 admin，一次性密码：(\S+)\n（只显示这一次；首次登录后须修改密码）/.exec(out);
        assert.ok(m, out);
        const otp = m[1]!;
        assert.match(otp, OTP);

        // With PGlite the server holds the folder: these go through it as the local operator.
        const add = await run(['users', 'add', 'lin', '--role', 'leader', '--json'], served);
        assert.equal(add.code, 0, add.stdout + add.stderr);
        const list = await run(['users', 'list', '--json'], served);
        assert.equal(list.code, 0, list.stdout + list.stderr);
        assert.deepEqual(
          JSON.parse(list.stdout).users.map((u: { username: string; createdBy: string }) => [
            u.username,
            u.createdBy,
          ]),
          [
            ['admin', 'system:first-start'],
            ['lin', 'cli:tester'],
          ],
        );
        const r = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password: otp }),
        });
        assert.equal(r.status, 200);
        assert.equal(
          ((await r.json()) as { user: { mustChangePassword: boolean } }).user.mustChangePassword,
          true,
        );
      } finally {
        server.kill('SIGTERM');
        if (server.exitCode === null) await once(server, 'close');
        await target.drop();
      }
    });
  });
}
