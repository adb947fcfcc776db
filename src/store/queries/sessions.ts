// Query module for sessions (登录会话), login throttling counters and the login attempt log. Every
// time is passed in by the caller (an injectable clock), never taken from the database's now().
import type { Queryable } from '../db.ts';
import type { UserView } from './users.ts';

export type RevokeReason = 'logout' | 'disabled' | 'password_reset' | 'password_changed' | 'replaced';

export interface SessionRow {
  id: string;
  user_id: number;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  csrf_token: string;
  ip: string | null;
  user_agent: string | null;
  revoked_at: Date | null;
  revoked_reason: RevokeReason | null;
}

export interface NewSession {
  id: string;
  userId: number;
  at: Date;
  expiresAt: Date;
  csrfToken: string;
  ip: string | null;
  userAgent: string | null;
}

export async function insertSession(q: Queryable, s: NewSession): Promise<SessionRow> {
  const rows = await q.query<SessionRow>(
    `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, csrf_token, ip, user_agent)
     VALUES ($1, $2, $3, $3, $4, $5, $6, $7) RETURNING *`,
    [s.id, s.userId, s.at.toISOString(), s.expiresAt.toISOString(), s.csrfToken, s.ip, s.userAgent],
  );
  return rows[0]!;
}

/** The session with its user (and the user's unit and department names) in one round trip. */
export async function findSessionWithUser(
  q: Queryable,
  id: string,
): Promise<{ session: SessionRow; user: UserView } | undefined> {
  const rows = await q.query<{ s: SessionRow; u: UserView }>(
    `SELECT to_jsonb(s) AS s, to_jsonb(u) || jsonb_build_object('unit_name', ru.name, 'department_name', d.name) AS u
     FROM sessions s
     JOIN users u ON u.id = s.user_id
     LEFT JOIN responsible_units ru ON ru.code = u.unit_code
     LEFT JOIN departments d ON d.code = u.department_code
     WHERE s.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  // to_jsonb turns timestamps into ISO strings: give them back as Dates like a plain SELECT would.
  const dates = <T>(o: Record<string, unknown>, keys: string[]): T => {
    for (const k of keys) if (typeof o[k] === 'string') o[k] = new Date(o[k] as string);
    return o as T;
  };
  return {
    session: dates<SessionRow>(r.s as unknown as Record<string, unknown>, [
      'created_at',
      'last_seen_at',
      'expires_at',
      'revoked_at',
    ]),
    user: dates<UserView>(r.u as unknown as Record<string, unknown>, [
      'password_changed_at',
      'last_login_at',
      'disabled_at',
      'created_at',
      'updated_at',
    ]),
  };
}

export async function touchSession(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query('UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND revoked_at IS NULL', [
    id,
    at.toISOString(),
  ]);
}

export async function revokeSession(
  q: Queryable,
  id: string,
  at: Date,
  reason: RevokeReason,
): Promise<boolean> {
  const rows = await q.query(
    'UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING id',
    [id, at.toISOString(), reason],
  );
  return rows.length > 0;
}

/** Revokes every live session of a user, except one (the session that asked, when it stays valid). */
export async function revokeUserSessions(
  q: Queryable,
  userId: number,
  at: Date,
  reason: RevokeReason,
  exceptId?: string,
): Promise<number> {
  const rows = await q.query(
    `UPDATE sessions SET revoked_at = $2, revoked_reason = $3
     WHERE user_id = $1 AND revoked_at IS NULL AND id <> $4 RETURNING id`,
    [userId, at.toISOString(), reason, exceptId ?? ''],
  );
  return rows.length;
}

export async function countLiveSessions(q: Queryable, userId: number, at: Date): Promise<number> {
  const [r] = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2',
    [userId, at.toISOString()],
  );
  return r!.n;
}

export interface ThrottleRow {
  key: string;
  failures: number;
  window_started_at: Date;
  locked_until: Date | null;
}

/**
 * Counts one attempt against a key, atomically (parallel attempts each get their own number): a lock
 * still running leaves the row alone; an expired lock or window starts a new window at 1.
 */
export async function countAttempt(
  q: Queryable,
  key: string,
  at: Date,
  windowSeconds: number,
): Promise<ThrottleRow> {
  const rows = await q.query<ThrottleRow>(
    `INSERT INTO login_throttles AS t (key, failures, window_started_at, locked_until)
     VALUES ($1, 1, $2::timestamptz, NULL)
     ON CONFLICT (key) DO UPDATE SET
       failures = CASE
         WHEN t.locked_until > $2::timestamptz THEN t.failures
         WHEN t.locked_until IS NOT NULL OR t.window_started_at <= $2::timestamptz - $3::float8 * interval '1 second'
           THEN 1
         ELSE t.failures + 1 END,
       window_started_at = CASE
         WHEN t.locked_until > $2::timestamptz THEN t.window_started_at
         WHEN t.locked_until IS NOT NULL OR t.window_started_at <= $2::timestamptz - $3::float8 * interval '1 second'
           THEN $2::timestamptz
         ELSE t.window_started_at END,
       locked_until = CASE WHEN t.locked_until > $2::timestamptz THEN t.locked_until ELSE NULL END
     RETURNING *`,
    [key, at.toISOString(), windowSeconds],
  );
  return rows[0]!;
}

/** Locks a key until the given time (keeps a lock that already runs longer). */
export async function lockKey(q: Queryable, key: string, until: Date): Promise<void> {
  await q.query(
    `UPDATE login_throttles SET locked_until = greatest(coalesce(locked_until, $2::timestamptz), $2::timestamptz)
     WHERE key = $1`,
    [key, until.toISOString()],
  );
}

/** Takes back an attempt that turned out to be a success (the address counter counts failures only). */
export async function uncountAttempt(q: Queryable, key: string): Promise<void> {
  await q.query('UPDATE login_throttles SET failures = greatest(failures - 1, 0) WHERE key = $1', [key]);
}

export async function clearKey(q: Queryable, key: string): Promise<void> {
  await q.query('DELETE FROM login_throttles WHERE key = $1', [key]);
}

export type LoginOutcome = 'success' | 'bad_credentials' | 'disabled' | 'throttled';

export async function logLoginAttempt(
  q: Queryable,
  a: { at: Date; username: string; userId: number | null; ip: string; outcome: LoginOutcome },
): Promise<void> {
  await q.query(
    'INSERT INTO login_attempts (at, username, user_id, ip, outcome) VALUES ($1, $2, $3, $4, $5)',
    [a.at.toISOString(), a.username.slice(0, 64), a.userId, a.ip, a.outcome],
  );
}
