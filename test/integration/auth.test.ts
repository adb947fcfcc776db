// People and logins over the real HTTP app (app.inject) on both engines: cookies, CSRF, expiry and
// throttling with an injected clock (no sleeping), user administration, first start and the demo.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { buildApp } from '../../src/server/app.ts';
import { createUser, disableUser } from '../../src/auth/users.ts';
import { DEMO_PASSWORD, ensureInitialAdmin, seedDemoUsers } from '../../src/services/bootstrap.ts';
import { isWeipianError } from '../../src/domain/errors.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const OTP = /^[a-km-np-z2-9]{4}(-[a-km-np-z2-9]{4}){3}$/;
const ADMIN_PW = 'Admin-pass-2018';
const WANG_PW = 'Wang-pass-2018';

interface Session {
  cookie: string;
  csrf: string;
  token: string;
}

for (const engine of engines()) {
  describe(`auth on ${engine}`, () => {
    let t: TestDb;
    let app: FastifyInstance;
    let now = Date.parse('2018-03-01T02:00:00Z');
    const clock = () => new Date(now);

    const login = (username: unknown, password: unknown, ip = '127.0.0.1') =>
      app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username, password },
        remoteAddress: ip,
      });
    const session = async (username: string, password: string, ip = '127.0.0.1'): Promise<Session> => {
      const r = await login(username, password, ip);
      assert.equal(r.statusCode, 200, r.body);
      const c = r.cookies.find((x) => x.name === 'weipian_session')!;
      return { cookie: `weipian_session=${c.value}`, csrf: r.json().csrfToken, token: c.value };
    };
    const as = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf });
    const me = (s: Session) => app.inject({ url: '/api/auth/me', headers: { cookie: s.cookie } });
    const n = async (sql: string, params: unknown[] = []) =>
      (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params))[0]!.n;
    const user = async (username: string) =>
      (
        await t.db.query<{ id: number; password_hash: string; version: number; disabled_at: Date | null }>(
          'SELECT * FROM users WHERE username = $1',
          [username],
        )
      )[0]!;
    const errorOf = (r: LightMyRequestResponse) =>
      r.json().error as {
        code: string;
        message: string;
        details: { scope?: string; retryAt?: string; retryAfterSeconds?: number };
      };
    const addUser = (username: string, password: string, role = 'reviewer') =>
      createUser(t.db, { username, role, password, mustChangePassword: false, actor: 'test' });

    before(async () => {
      t = await freshDb(engine);
      app = await buildApp({
        db: t.db,
        auth: { clock, secureCookie: false, idleMinutes: 8 * 60, absoluteMinutes: 7 * 24 * 60 },
      });
      await t.db.query(
        `INSERT INTO responsible_units (code, name, kind) VALUES ('370306101', '北郊镇', 'town'), ('370306102', '南郊镇', 'town')`,
      );
      await createUser(t.db, {
        username: 'admin',
        role: 'bureau_admin',
        displayName: '分局管理员',
        password: ADMIN_PW,
        mustChangePassword: false,
        actor: 'test',
      });
      await createUser(t.db, {
        username: 'wang',
        role: 'reviewer',
        displayName: '王审核',
        password: WANG_PW,
        mustChangePassword: false,
        actor: 'test',
      });
    });
    after(async () => {
      await app.close();
      await t.drop();
    });

    it('logs in with an HttpOnly SameSite=Strict cookie and keeps only the hash of the token', async () => {
      const r = await login('WANG', WANG_PW); // usernames are case-insensitive
      assert.equal(r.statusCode, 200, r.body);
      const setCookie = String(r.headers['set-cookie']);
      assert.match(setCookie, /^weipian_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
      const body = r.json();
      assert.equal(body.user.username, 'wang');
      assert.equal(body.user.role, 'reviewer');
      assert.equal(body.user.roleLabel, '分局审核员');
      assert.equal(body.user.displayName, '王审核');
      assert.equal(body.user.mustChangePassword, false);
      assert.match(body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
      assert.doesNotMatch(r.body, /scrypt\$|password_hash/);
      const token = r.cookies[0]!.value;
      const sha = createHash('sha256').update(token).digest('hex');
      const rows = await t.db.query<{ csrf_token: string; ip: string }>(
        'SELECT * FROM sessions WHERE id = $1',
        [sha],
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.csrf_token, body.csrfToken);
      assert.equal(rows[0]!.ip, '127.0.0.1');
      assert.equal(
        await n('sessions WHERE id = $1 OR csrf_token = $1', [token]),
        0,
        'the token itself is never stored',
      );

      const m = await app.inject({ url: '/api/auth/me', headers: { cookie: `weipian_session=${token}` } });
      assert.equal(m.statusCode, 200);
      assert.deepEqual(
        {
          username: m.json().user.username,
          csrf: m.json().csrfToken,
          adminDenied: m.json().policies['user.admin'].reason,
          readAllowed: m.json().policies['patch.read'].allow,
        },
        { username: 'wang', csrf: body.csrfToken, adminDenied: 'role_not_allowed', readAllowed: true },
      );
      assert.equal(await n(`login_attempts WHERE username = 'wang' AND outcome = 'success'`), 1);
    });

    it('marks the cookie Secure when configured to (TLS behind a proxy)', async () => {
      const secureApp = await buildApp({ db: t.db, auth: { clock, secureCookie: true } });
      try {
        const r = await secureApp.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { username: 'wang', password: WANG_PW },
        });
        assert.equal(r.statusCode, 200);
        assert.match(String(r.headers['set-cookie']), /; Secure/);
      } finally {
        await secureApp.close();
      }
    });

    it('answers a wrong password and an unknown user with the same 401 and no cookie', async () => {
      const a = await login('wang', 'Wrong-pass-1', '10.0.2.1');
      const b = await login('nobody', 'Wrong-pass-1', '10.0.2.1');
      for (const r of [a, b]) {
        assert.equal(r.statusCode, 401);
        assert.equal(r.headers['set-cookie'], undefined);
        assert.deepEqual(r.json(), { error: { code: 'login_failed', message: '用户名或密码错误' } });
      }
    });

    it('locks a username on the 6th attempt after 5 failures, for 15 minutes, even with the right password', async () => {
      now = Date.parse('2018-03-02T02:00:00Z');
      await addUser('li', 'Li-pass-2018');
      for (let i = 1; i <= 5; i++) {
        const r = await login('li', `Wrong-pass-${i}`, `10.0.3.${i}`); // five addresses: the lock is per name
        assert.equal(r.statusCode, 401, `attempt ${i}`);
      }
      const sixth = await login('li', 'Li-pass-2018', '10.0.3.9');
      assert.equal(sixth.statusCode, 429);
      assert.equal(sixth.headers['set-cookie'], undefined);
      const e = errorOf(sixth);
      assert.equal(e.code, 'login_throttled');
      assert.deepEqual(e.details, {
        scope: 'username',
        retryAt: '2018-03-02T02:15:00.000Z',
        retryAfterSeconds: 900,
      });
      assert.match(e.message, /该账号已暂时锁定，请于 2018\/03\/02 10:15（约 15 分钟后）再试/);

      now += 14 * MIN;
      const still = await login('li', 'Li-pass-2018', '10.0.3.9');
      assert.equal(still.statusCode, 429);
      assert.equal(errorOf(still).details.retryAfterSeconds, 60);

      now += MIN; // the lock ends at 02:15:00 exactly
      assert.equal((await login('li', 'Li-pass-2018', '10.0.3.9')).statusCode, 200);
      assert.equal(await n(`login_throttles WHERE key = 'user:li'`), 0, 'success clears the name');
      const outcomes = await t.db.query<{ outcome: string }>(
        `SELECT outcome FROM login_attempts WHERE username = 'li' ORDER BY id`,
      );
      assert.deepEqual(
        outcomes.map((o) => o.outcome),
        [...Array(5).fill('bad_credentials'), 'throttled', 'throttled', 'success'],
      );
    });

    it('resets the username counter on a successful login', async () => {
      await addUser('zhao', 'Zhao-pass-2018');
      for (let i = 0; i < 4; i++)
        assert.equal((await login('zhao', 'Wrong-pass-1', '10.0.4.1')).statusCode, 401);
      assert.equal((await login('zhao', 'Zhao-pass-2018', '10.0.4.1')).statusCode, 200);
      // Without the reset the next failure would be the 6th in the window and be refused with 429.
      for (let i = 0; i < 4; i++)
        assert.equal((await login('zhao', 'Wrong-pass-1', '10.0.4.1')).statusCode, 401);
      assert.equal((await login('zhao', 'Zhao-pass-2018', '10.0.4.1')).statusCode, 200);
    });

    it('locks an address after 20 failures on any names; other addresses are not affected', async () => {
      for (let i = 1; i <= 20; i++) {
        const r = await login(`ghost${i}`, 'Wrong-pass-1', '10.0.5.5');
        assert.equal(r.statusCode, 401, `attempt ${i}`);
      }
      const r = await login('wang', WANG_PW, '10.0.5.5');
      assert.equal(r.statusCode, 429);
      assert.equal(errorOf(r).details.scope, 'address');
      assert.equal(errorOf(r).details.retryAfterSeconds, 900);
      assert.match(errorOf(r).message, /本机地址已暂时锁定/);
      assert.equal((await login('wang', WANG_PW, '10.0.5.6')).statusCode, 200);
    });

    it('refuses writes without the session CSRF token (403) and changes nothing', async () => {
      const admin = await session('admin', ADMIN_PW);
      const other = await session('wang', WANG_PW);
      const before = await n('users');
      const payload = { username: 'csrf-victim', role: 'leader' };
      for (const headers of [
        { cookie: admin.cookie },
        { cookie: admin.cookie, 'x-csrf-token': 'x'.repeat(43) },
        { cookie: admin.cookie, 'x-csrf-token': other.csrf },
      ]) {
        const r = await app.inject({ method: 'POST', url: '/api/users', headers, payload });
        assert.equal(r.statusCode, 403);
        assert.deepEqual(r.json(), {
          error: {
            code: 'csrf_invalid',
            message: '请求缺少有效的防伪令牌（x-csrf-token），请刷新页面后重试',
          },
        });
      }
      assert.equal(await n('users'), before);
      const out = await app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: { cookie: admin.cookie },
      });
      assert.equal(out.statusCode, 403);
      assert.equal((await me(admin)).statusCode, 200, 'logout without the token did not log out');

      const ok = await app.inject({ method: 'POST', url: '/api/users', headers: as(admin), payload });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal(await n('users'), before + 1);
    });

    it('ends a session after 8 idle hours, counting from the last request', async () => {
      const s = await session('wang', WANG_PW);
      now += 8 * HOUR - MIN;
      assert.equal((await me(s)).statusCode, 200);
      now += 8 * HOUR - MIN;
      assert.equal((await me(s)).statusCode, 200, 'the previous request restarted the idle time');
      now += 8 * HOUR;
      const r = await me(s);
      assert.equal(r.statusCode, 401);
      assert.deepEqual(r.json().error, {
        code: 'unauthenticated',
        message: '登录已过期，请重新登录',
        details: { reason: 'expired' },
      });
      assert.match(String(r.headers['set-cookie']), /^weipian_session=; .*Expires=Thu, 01 Jan 1970/);
      // An expired session is no session: a write without a token is 401, not a CSRF refusal.
      const w = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: s.cookie } });
      assert.equal(w.statusCode, 401);
    });

    it('ends a session 7 days after login however busy it is', async () => {
      const s = await session('wang', WANG_PW);
      for (let i = 1; i <= 23; i++) {
        now += 7 * HOUR;
        assert.equal((await me(s)).statusCode, 200, `after ${i * 7} h`);
      }
      now += 7 * HOUR; // 168 h = 7 days
      const r = await me(s);
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().error.message, '登录已过期，请重新登录');
    });

    it('logs out: the session is revoked and the cookie cleared', async () => {
      const s = await session('wang', WANG_PW);
      const r = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: as(s) });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { ok: true });
      assert.match(String(r.headers['set-cookie']), /^weipian_session=; /);
      const after = await me(s);
      assert.equal(after.statusCode, 401);
      assert.equal(after.json().error.message, '请先登录');
      const [row] = await t.db.query<{ revoked_reason: string }>(
        'SELECT revoked_reason FROM sessions WHERE id = $1',
        [createHash('sha256').update(s.token).digest('hex')],
      );
      assert.equal(row!.revoked_reason, 'logout');
    });

    it('changes the own password only with the current one and by the rules; other sessions end', async () => {
      await addUser('sun', 'Sun-pass-2018');
      const s1 = await session('sun', 'Sun-pass-2018');
      const s2 = await session('sun', 'Sun-pass-2018');
      const hashBefore = (await user('sun')).password_hash;
      const change = (
        currentPassword: string,
        newPassword: string,
        headers: Record<string, string> = as(s1),
      ) =>
        app.inject({
          method: 'POST',
          url: '/api/auth/password',
          headers,
          payload: { currentPassword, newPassword },
        });

      const wrong = await change('Wrong-pass-1', 'Sun-new-pass-1');
      assert.equal(wrong.statusCode, 400);
      assert.deepEqual(wrong.json().error, { code: 'current_password_wrong', message: '当前密码不正确' });
      const cases: [string, string, string][] = [
        ['abcdefghijk', 'password_weak', '密码不能只由一类字符组成，请混合使用字母、数字或符号'],
        ['Ab1-Ab1-A', 'password_weak', '密码至少需要 10 个字符'],
        ['Sun-pass-2018', 'password_unchanged', '新密码不能与当前密码相同'],
      ];
      for (const [next, code, message] of cases) {
        const r = await change('Sun-pass-2018', next);
        assert.equal(r.statusCode, 400, next);
        assert.equal(r.json().error.code, code, next);
        assert.equal(r.json().error.message, message, next);
      }
      assert.equal((await change('Sun-pass-2018', 'Sun-new-pass-1', { cookie: s1.cookie })).statusCode, 403);
      assert.equal((await user('sun')).password_hash, hashBefore, 'nothing changed so far');

      const ok = await change('Sun-pass-2018', 'Sun-new-pass-1');
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().user.mustChangePassword, false);
      assert.equal(ok.json().user.version, 2);
      assert.equal((await me(s1)).statusCode, 200, 'the session that changed it stays');
      assert.equal((await me(s2)).statusCode, 401, 'the other session ends');
      assert.equal((await login('sun', 'Sun-pass-2018')).statusCode, 401);
      assert.equal((await login('sun', 'Sun-new-pass-1')).statusCode, 200);
      const [event] = await t.db.query<{
        actor: string;
        after: { revokedSessions: number; version: number };
      }>(`SELECT actor, after FROM events WHERE record_id = 'sun' AND action = 'user.password_change'`);
      assert.deepEqual([event!.actor, event!.after.revokedSessions, event!.after.version], ['sun', 1, 2]);
    });

    it('lets only bureau admins manage users; creates accounts with one-time passwords', async () => {
      const admin = await session('admin', ADMIN_PW);
      const reviewer = await session('wang', WANG_PW);
      const before = await n('users');

      assert.equal((await app.inject({ url: '/api/users' })).statusCode, 401);
      const denied = await app.inject({ url: '/api/users', headers: { cookie: reviewer.cookie } });
      assert.equal(denied.statusCode, 403);
      assert.deepEqual(denied.json().error, {
        code: 'role_not_allowed',
        message: '分局审核员不能管理用户（可以的角色：分局管理员）',
      });
      for (const url of ['/api/users', '/api/users/1/disable', '/api/users/1/reset-password']) {
        const payload = url === '/api/users' ? { username: 'sneaky', role: 'bureau_admin' } : {};
        const r = await app.inject({ method: 'POST', url, headers: as(reviewer), payload });
        assert.equal(r.statusCode, 403, url);
        assert.equal(r.json().error.code, 'role_not_allowed', url);
      }
      assert.equal(await n('users'), before);
      assert.equal((await user('admin')).disabled_at, null);

      const post = (payload: Record<string, unknown>) =>
        app.inject({ method: 'POST', url: '/api/users', headers: as(admin), payload });
      const created = await post({
        username: 'Zhou',
        displayName: '周工',
        role: 'unit_officer',
        unitCode: '370306101',
      });
      assert.equal(created.statusCode, 201, created.body);
      const zhou = created.json();
      assert.match(zhou.oneTimePassword, OTP);
      assert.deepEqual(
        {
          username: zhou.user.username,
          roleLabel: zhou.user.roleLabel,
          unit: zhou.user.unit,
          must: zhou.user.mustChangePassword,
          by: zhou.user.createdBy,
        },
        {
          username: 'Zhou',
          roleLabel: '镇街/开发区工作人员',
          unit: { code: '370306101', name: '北郊镇' },
          must: true,
          by: 'admin',
        },
      );
      const dept = await post({
        username: 'nong',
        displayName: '农业局联络员',
        role: 'department',
        departmentCode: 'agriculture',
      });
      assert.equal(dept.statusCode, 201);
      assert.deepEqual(dept.json().user.department, { code: 'agriculture', name: '周村区农业农村局' });

      const refusals: [Record<string, unknown>, number, string][] = [
        [{ username: 'zhou', role: 'leader' }, 409, 'username_taken'],
        [{ username: 'z2', role: 'unit_officer' }, 400, 'unit_required'],
        [{ username: 'z2', role: 'unit_officer', unitCode: '370306199' }, 400, 'unit_not_found'],
        [{ username: 'z2', role: 'leader', unitCode: '370306101' }, 400, 'unit_not_allowed'],
        [{ username: 'z2', role: 'department', departmentCode: 'tax' }, 400, 'department_not_found'],
        [{ username: 'z2', role: 'reviewer', departmentCode: 'agriculture' }, 400, 'department_not_allowed'],
      ];
      const count = await n('users');
      for (const [payload, status, code] of refusals) {
        const r = await post(payload);
        assert.equal(r.statusCode, status, JSON.stringify(payload));
        assert.equal(r.json().error.code, code, JSON.stringify(payload));
        assert.match(r.json().error.message, /[\u4e00-\u9fff]/);
      }
      assert.equal(await n('users'), count);

      // A one-time password works once to log in, then only the password change is allowed.
      const z = await session('zhou', zhou.oneTimePassword);
      assert.equal((await me(z)).json().user.mustChangePassword, true);
      const blocked = await app.inject({ url: '/api/users', headers: { cookie: z.cookie } });
      assert.equal(blocked.statusCode, 403);
      assert.equal(blocked.json().error.code, 'password_change_required');
      const changed = await app.inject({
        method: 'POST',
        url: '/api/auth/password',
        headers: as(z),
        payload: { currentPassword: zhou.oneTimePassword, newPassword: 'Zhou-pass-2018' },
      });
      assert.equal(changed.statusCode, 200);
      const nowForbidden = await app.inject({ url: '/api/users', headers: { cookie: z.cookie } });
      assert.equal(nowForbidden.json().error.code, 'role_not_allowed');

      const list = await app.inject({ url: '/api/users', headers: { cookie: admin.cookie } });
      assert.equal(list.statusCode, 200);
      assert.doesNotMatch(list.body, /scrypt\$|password_hash/);
      const listed = list.json().users.find((u: { username: string }) => u.username === 'Zhou');
      assert.equal(listed.mustChangePassword, false);
      assert.equal(list.json().departments.length, 4);
    });

    it("resets a password: one-time password, sessions end, version checked, not one's own", async () => {
      const admin = await session('admin', ADMIN_PW);
      const zhou = await user('Zhou');
      const z = await session('zhou', 'Zhou-pass-2018');
      const reset = (id: number, payload: Record<string, unknown> = {}) =>
        app.inject({ method: 'POST', url: `/api/users/${id}/reset-password`, headers: as(admin), payload });

      const stale = await reset(zhou.id, { version: zhou.version - 1 });
      assert.equal(stale.statusCode, 409);
      assert.equal(stale.json().error.code, 'user_version_conflict');
      assert.equal((await user('Zhou')).password_hash, zhou.password_hash);
      const self = await reset((await user('admin')).id);
      assert.equal(self.json().error.code, 'cannot_reset_self');
      assert.equal((await reset(999999)).statusCode, 404);

      const r = await reset(zhou.id, { version: zhou.version });
      assert.equal(r.statusCode, 200, r.body);
      assert.match(r.json().oneTimePassword, OTP);
      // Both live sessions end: the one that changed the password in the test above, and z.
      assert.equal(r.json().revokedSessions, 2);
      assert.equal(await n('sessions WHERE user_id = $1 AND revoked_at IS NULL', [zhou.id]), 0);
      assert.equal(r.json().user.mustChangePassword, true);
      assert.equal((await me(z)).statusCode, 401);
      assert.equal((await login('zhou', 'Zhou-pass-2018')).statusCode, 401);
      const again = await login('zhou', r.json().oneTimePassword);
      assert.equal(again.statusCode, 200);
      assert.equal(again.json().user.mustChangePassword, true);
    });

    it('disables a user: sessions die, login is refused, and it can be enabled again', async () => {
      const admin = await session('admin', ADMIN_PW);
      await addUser('qian', 'Qian-pass-2018');
      const q = await session('qian', 'Qian-pass-2018');
      const id = (await user('qian')).id;
      const post = (path: string, payload?: Record<string, unknown>) =>
        app.inject({ method: 'POST', url: `/api/users/${id}/${path}`, headers: as(admin), payload });

      const d = await post('disable', { reason: '调离岗位' });
      assert.equal(d.statusCode, 200, d.body);
      assert.deepEqual([d.json().changed, d.json().revokedSessions, d.json().user.disabled], [true, 1, true]);
      assert.equal((await me(q)).statusCode, 401);
      const right = await login('qian', 'Qian-pass-2018');
      assert.equal(right.statusCode, 403);
      assert.deepEqual(right.json().error, {
        code: 'account_disabled',
        message: '账号已停用，请联系分局管理员',
      });
      const wrong = await login('qian', 'Wrong-pass-1');
      assert.deepEqual(wrong.json().error, { code: 'login_failed', message: '用户名或密码错误' });
      assert.equal((await post('disable')).json().changed, false);

      const self = await app.inject({
        method: 'POST',
        url: `/api/users/${(await user('admin')).id}/disable`,
        headers: as(admin),
      });
      assert.equal(self.statusCode, 400);
      assert.equal(self.json().error.code, 'cannot_disable_self');

      assert.equal((await post('enable')).json().user.disabled, false);
      assert.equal((await login('qian', 'Qian-pass-2018')).statusCode, 200);

      // The audit trail has each change with who, role and why (the repeated disable changed nothing).
      const events = await t.db.query<{
        actor: string;
        actor_role: string | null;
        action: string;
        reason: string | null;
      }>(
        `SELECT actor, actor_role, action, reason FROM events WHERE record_type = 'user' AND record_id = 'qian' ORDER BY seq`,
      );
      assert.deepEqual(
        events.map((e) => [e.actor, e.actor_role, e.action, e.reason]),
        [
          ['test', null, 'user.create', null],
          ['admin', 'bureau_admin', 'user.disable', '调离岗位'],
          ['admin', 'bureau_admin', 'user.enable', null],
        ],
      );
    });

    it('never disables the last active bureau admin', async () => {
      await assert.rejects(
        disableUser(t.db, { username: 'admin' }, { actor: 'cli:test' }),
        (e: unknown) => isWeipianError(e) && e.code === 'last_admin' && e.status === 409,
      );
      assert.equal((await user('admin')).disabled_at, null);
    });

    it('answers malformed, oversize, unknown and mistyped bodies with 400/413 and changes nothing', async () => {
      const admin = await session('admin', ADMIN_PW);
      const users = await n('users');
      const attempts = await n('login_attempts');
      const raw = (url: string, payload: string, headers: Record<string, string> = as(admin)) =>
        app.inject({
          method: 'POST',
          url,
          headers: { ...headers, 'content-type': 'application/json' },
          payload,
        });
      const cases: [LightMyRequestResponse, number, string, string][] = [
        [await raw('/api/users', '{"username": "x1", '), 400, 'request_invalid', '请求体不是有效的 JSON'],
        [await raw('/api/auth/login', '{"username":', {}), 400, 'request_invalid', '请求体不是有效的 JSON'],
        [
          await raw(
            '/api/users',
            JSON.stringify({ username: 'x1', role: 'leader', displayName: '长'.repeat(20000) }),
          ),
          413,
          'body_too_large',
          '请求体过大',
        ],
        [
          await raw('/api/users', JSON.stringify({ username: 'x1', role: 'leader', admin: true })),
          400,
          'request_invalid',
          '请求参数不正确：不允许的字段：admin',
        ],
        [
          await raw('/api/users', JSON.stringify({ username: 12345, role: 'leader' })),
          400,
          'request_invalid',
          '请求参数不正确：字段 username 应为字符串',
        ],
        [
          await raw('/api/users', JSON.stringify({ username: 'x1', role: 'boss' })),
          400,
          'request_invalid',
          '请求参数不正确：字段 role 只能是：leader、bureau_admin、reviewer、unit_officer、department',
        ],
        [
          await raw('/api/users/abc/disable', '{}'),
          400,
          'request_invalid',
          '请求参数不正确：字段 id 应为整数',
        ],
        [
          await raw('/api/auth/login', JSON.stringify({ username: 'admin', password: 12345678901 }), {}),
          400,
          'request_invalid',
          '请求参数不正确：字段 password 应为字符串',
        ],
        [
          await raw('/api/auth/login', JSON.stringify({ username: 'admin' }), {}),
          400,
          'request_invalid',
          '请求参数不正确：缺少字段 password',
        ],
      ];
      for (const [r, status, code, message] of cases) {
        assert.equal(r.statusCode, status, r.body);
        assert.deepEqual({ code: r.json().error.code, message: r.json().error.message }, { code, message });
      }
      assert.equal(await n('users'), users);
      assert.equal(await n('login_attempts'), attempts, 'a refused body is not a login attempt');
    });

    it('never writes a password or its hash into the audit trail', async () => {
      // Every password in this file contains "-pass-".
      assert.ok((await n(`events WHERE record_type = 'user'`)) >= 10);
      assert.equal(
        await n(
          `events WHERE coalesce(before::text, '') || coalesce(after::text, '') ~ '(scrypt\\$|password_hash|-pass-)'`,
        ),
        0,
      );
    });
  });

  describe(`first start and demo accounts on ${engine}`, () => {
    let t: TestDb;
    before(async () => {
      t = await freshDb(engine);
    });
    after(() => t.drop());

    it('creates the one-time admin once, even when two servers start together', async () => {
      const [a, b] = await Promise.all([ensureInitialAdmin(t.db), ensureInitialAdmin(t.db)]);
      const made = [a, b].filter((x) => x !== null);
      assert.equal(made.length, 1);
      assert.equal(made[0]!.username, 'admin');
      assert.match(made[0]!.oneTimePassword, OTP);
      assert.equal(await ensureInitialAdmin(t.db), null);
      const rows = await t.db.query<{ username: string; role: string; must_change_password: boolean }>(
        'SELECT username, role, must_change_password FROM users',
      );
      assert.deepEqual(rows, [{ username: 'admin', role: 'bureau_admin', must_change_password: true }]);

      const app = await buildApp({ db: t.db });
      try {
        const r = await app.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { username: 'admin', password: made[0]!.oneTimePassword },
        });
        assert.equal(r.statusCode, 200);
        assert.equal(r.json().user.mustChangePassword, true);
      } finally {
        await app.close();
      }
    });

    it('seeds one demo account per role, creating missing units, and leaves existing accounts alone', async () => {
      await assert.rejects(
        seedDemoUsers(t.db, [{ code: '370306109' }]),
        (e: unknown) => isWeipianError(e) && e.code === 'unit_not_found',
      );
      const accounts = await seedDemoUsers(t.db, [
        { code: '370306101', name: '北郊镇' },
        { code: '370306001', name: '丝绸路街道' },
      ]);
      assert.deepEqual(
        accounts.map((a) => [a.username, a.role, a.unitCode, a.departmentCode, a.created]),
        [
          ['leader', 'leader', null, null, true],
          ['admin', 'bureau_admin', null, null, false], // the first-start admin stays as it was
          ['reviewer', 'reviewer', null, null, true],
          ['unit1', 'unit_officer', '370306101', null, true],
          ['unit2', 'unit_officer', '370306001', null, true],
          ['dept', 'department', null, 'agriculture', true],
        ],
      );
      assert.deepEqual(await t.db.query('SELECT code, name, kind FROM responsible_units ORDER BY code'), [
        { code: '370306001', name: '丝绸路街道', kind: 'street' },
        { code: '370306101', name: '北郊镇', kind: 'town' },
      ]);
      const app = await buildApp({ db: t.db });
      try {
        for (const [username, unit] of [
          ['unit2', { code: '370306001', name: '丝绸路街道' }],
          ['leader', null],
        ] as const) {
          const r = await app.inject({
            method: 'POST',
            url: '/api/auth/login',
            payload: { username, password: DEMO_PASSWORD },
          });
          assert.equal(r.statusCode, 200, username);
          assert.deepEqual(r.json().user.unit, unit);
          assert.equal(r.json().user.mustChangePassword, false);
        }
      } finally {
        await app.close();
      }
      const again = await seedDemoUsers(t.db, [{ code: '370306101' }, { code: '370306001' }]);
      assert.ok(again.every((a) => !a.created));
    });
  });
}
