// The in-memory session cache (src/auth/session-cache.ts) over the real HTTP app on both engines:
// repeated requests do not query the database for their session, yet logout, a disabled account,
// a password change or reset and idle expiry refuse the very next request. A change made behind the
// process's back (another app server) shows after at most the TTL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { buildApp } from '../../src/server/app.ts';
import { createUser, disableUser } from '../../src/auth/users.ts';
import { SessionCache } from '../../src/auth/session-cache.ts';
import type { Db } from '../../src/store/db.ts';

const HOUR = 3_600_000;
const ADMIN_PW = 'Admin-pass-2018';
const PW = 'Zhou-pass-2018';

interface Session {
  cookie: string;
  csrf: string;
}

/** Counts the session lookups (findSessionWithUser) that reach the database. */
function countingDb(db: Db): { db: Db; lookups: () => number } {
  let n = 0;
  const wrapped = Object.create(db) as Db;
  wrapped.query = (sql: string, params?: unknown[]) => {
    if (sql.includes('FROM sessions s')) n++;
    return db.query(sql, params);
  };
  return { db: wrapped, lookups: () => n };
}

for (const engine of engines()) {
  describe(`session cache on ${engine}`, () => {
    let t: TestDb;
    let app: FastifyInstance;
    let counted: ReturnType<typeof countingDb>;
    let now = Date.parse('2018-03-01T02:00:00Z');
    const clock = () => new Date(now);

    const login = async (username: string, password: string, a = app): Promise<Session> => {
      const r = await a.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
      assert.equal(r.statusCode, 200, r.body);
      const c = r.cookies.find((x) => x.name === 'weipian_session')!;
      return { cookie: `weipian_session=${c.value}`, csrf: r.json().csrfToken };
    };
    const get = (s: Session, url = '/api/auth/me', a = app) =>
      a.inject({ url, headers: { cookie: s.cookie } });
    const post = (s: Session, url: string, payload?: Record<string, unknown>) =>
      app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, payload });
    const idOf = async (username: string) =>
      (await t.db.query<{ id: number }>('SELECT id FROM users WHERE username = $1', [username]))[0]!.id;
    const addUser = (username: string) =>
      createUser(t.db, {
        username,
        role: 'reviewer',
        password: PW,
        mustChangePassword: false,
        actor: 'test',
      });

    before(async () => {
      t = await freshDb(engine);
      counted = countingDb(t.db);
      // A long TTL: everything below must take effect by invalidation, not by the entry expiring.
      app = await buildApp({ db: counted.db, auth: { clock, secureCookie: false, sessionCacheMs: 60_000 } });
      await createUser(t.db, {
        username: 'admin',
        role: 'bureau_admin',
        password: ADMIN_PW,
        mustChangePassword: false,
        actor: 'test',
      });
    });
    after(async () => {
      await app.close();
      await t.drop();
    });

    it('looks a session up in the database once, then answers from memory', async () => {
      await addUser('zhao');
      const s = await login('zhao', PW);
      const before = counted.lookups();
      for (let i = 0; i < 10; i++) assert.equal((await get(s)).statusCode, 200);
      assert.equal(counted.lookups() - before, 1);
      // The CSRF check of a write uses the cached session too: a wrong token is still refused.
      const bad = await app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: { cookie: s.cookie, 'x-csrf-token': 'x'.repeat(43) },
      });
      assert.equal(bad.statusCode, 403);
      assert.equal(bad.json().error.code, 'csrf_invalid');
    });

    it('refuses a logged-out session on the very next request', async () => {
      await addUser('qian');
      const s = await login('qian', PW);
      assert.equal((await get(s)).statusCode, 200);
      assert.equal((await get(s)).statusCode, 200); // from memory
      assert.equal((await post(s, '/api/auth/logout')).statusCode, 200);
      const r = await get(s);
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().error.code, 'unauthenticated');
    });

    it('refuses a disabled user on the very next request, through the API and the operator path', async () => {
      const admin = await login('admin', ADMIN_PW);
      await addUser('sun');
      await addUser('li');
      const sun = await login('sun', PW);
      const li = await login('li', PW);
      for (const s of [sun, li]) assert.equal((await get(s, '/api/batches')).statusCode, 200);
      assert.equal((await get(sun, '/api/batches')).statusCode, 200); // from memory

      const d = await post(admin, `/api/users/${await idOf('sun')}/disable`, { reason: '调离岗位' });
      assert.equal(d.statusCode, 200, d.body);
      assert.equal((await get(sun, '/api/batches')).statusCode, 401);

      // `weipian users disable` while serving calls the same core function on the server's database.
      await disableUser(counted.db, { username: 'li' }, { actor: 'operator' });
      assert.equal((await get(li, '/api/batches')).statusCode, 401);
      // The admin's own cached session is unaffected by the clearing (read again, still valid).
      assert.equal((await get(admin)).statusCode, 200);
    });

    it('a password change ends the other sessions at once and lifts the forced change at once', async () => {
      const admin = await login('admin', ADMIN_PW);
      await addUser('zhou');
      const other = await login('zhou', PW);
      assert.equal((await get(other, '/api/batches')).statusCode, 200);

      // A reset by the admin: every session of zhou ends at once.
      const reset = await post(admin, `/api/users/${await idOf('zhou')}/reset-password`);
      assert.equal(reset.statusCode, 200, reset.body);
      assert.equal((await get(other, '/api/batches')).statusCode, 401);

      // With the one-time password zhou must change it first; the cached flag must not outlive it.
      const otp = reset.json().oneTimePassword as string;
      const a = await login('zhou', otp);
      const b = await login('zhou', otp);
      for (const s of [a, b]) {
        const r = await get(s, '/api/batches');
        assert.equal(r.statusCode, 403);
        assert.equal(r.json().error.code, 'password_change_required');
      }
      const ch = await post(a, '/api/auth/password', {
        currentPassword: otp,
        newPassword: 'Zhou-new-pass-9',
      });
      assert.equal(ch.statusCode, 200, ch.body);
      assert.equal((await get(a, '/api/batches')).statusCode, 200);
      assert.equal((await get(b, '/api/batches')).statusCode, 401);
    });

    it('ends an idle session by the clock even while it is cached', async () => {
      await addUser('wu');
      const s = await login('wu', PW);
      assert.equal((await get(s)).statusCode, 200);
      now += 8 * HOUR; // the default idle limit
      const r = await get(s);
      assert.equal(r.statusCode, 401);
      assert.deepEqual(r.json().error.details, { reason: 'expired' });
    });

    it('a change behind the process’s back shows after at most the TTL', async () => {
      const short = await buildApp({ db: t.db, auth: { clock, secureCookie: false, sessionCacheMs: 5000 } });
      try {
        await addUser('zheng');
        const s = await login('zheng', PW, short);
        assert.equal((await get(s, '/api/auth/me', short)).statusCode, 200);
        // Another app server on the same database revokes it: this process still has it in memory…
        await t.db.query("UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout'");
        assert.equal((await get(s, '/api/auth/me', short)).statusCode, 200);
        now += 4999;
        assert.equal((await get(s, '/api/auth/me', short)).statusCode, 200);
        // …until the entry is as old as the TTL.
        now += 1;
        assert.equal((await get(s, '/api/auth/me', short)).statusCode, 401);
      } finally {
        await short.close();
      }
    });
  });
}

describe('SessionCache', () => {
  const value = (id: string) =>
    ({ session: { id } as never, user: { id: 1 } as never }) as Parameters<SessionCache['set']>[2];

  it('keeps entries for the TTL only, and not when the clock went back', () => {
    const c = new SessionCache(10);
    c.set('a', c.generation, value('a'), 1000);
    assert.ok(c.get('a', 5000, 5999));
    assert.equal(c.get('a', 5000, 6000), undefined);
    assert.equal(c.size, 0);
    c.set('b', c.generation, value('b'), 1000);
    assert.equal(c.get('b', 5000, 999), undefined);
  });

  it('drops what a lookup read before a clear', () => {
    const c = new SessionCache(10);
    const started = c.generation;
    c.clear(); // e.g. a logout committed while the lookup was under way
    c.set('a', started, value('a'), 0);
    assert.equal(c.get('a', 5000, 0), undefined);
    c.set('a', c.generation, value('a'), 0);
    assert.ok(c.get('a', 5000, 0));
  });

  it('is bounded: the least recently used entry goes first', () => {
    const c = new SessionCache(2);
    c.set('a', 0, value('a'), 0);
    c.set('b', 0, value('b'), 0);
    assert.ok(c.get('a', 5000, 0)); // a is now the most recent
    c.set('c', 0, value('c'), 0);
    assert.equal(c.size, 2);
    assert.equal(c.get('b', 5000, 0), undefined);
    assert.ok(c.get('a', 5000, 0));
    assert.ok(c.get('c', 5000, 0));
  });
});
