// Logged-in API calls for tests: demo accounts (one per role) and the cookie + CSRF header of each.
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Db } from '../../src/store/db.ts';
import { seedDemoUsers, DEMO_PASSWORD, type DemoAccount } from '../../src/services/bootstrap.ts';

export interface Session {
  username: string;
  headers: Record<string, string>;
}

/** Demo accounts for two units: unit1 → 370306101 南郊镇, unit2 → 370306102 王村镇 (codes as in the demo district). */
export function seedAccounts(db: Db): Promise<DemoAccount[]> {
  return seedDemoUsers(db, [
    { code: '370306101', name: '南郊镇' },
    { code: '370306102', name: '王村镇' },
  ]);
}

export async function loginAs(app: FastifyInstance, username: string): Promise<Session> {
  const r = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username, password: DEMO_PASSWORD },
  });
  if (r.statusCode !== 200) throw new Error(`login ${username}: ${r.statusCode} ${r.body}`);
  const cookie = r.cookies.find((c) => c.name === 'weipian_session')!;
  return {
    username,
    headers: { cookie: `weipian_session=${cookie.value}`, 'x-csrf-token': r.json().csrfToken },
  };
}

export function as(s: Session, opts: InjectOptions): InjectOptions {
  return { ...opts, headers: { ...(opts.headers as Record<string, string>), ...s.headers } };
}
