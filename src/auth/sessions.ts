// Logins and sessions. The cookie carries a random 32-byte token; the database keeps only its SHA-256
// as the session id. A session dies when idle too long, when too old, on logout, and when its user
// is disabled or gets a new password.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/db.ts';
import { WeipianError, isWeipianError } from '../domain/errors.ts';
import { findUserById, findUserByUsername, updateUser, type UserView } from '../store/queries/users.ts';
import {
  clearKey,
  findSessionWithUser,
  insertSession,
  logLoginAttempt,
  revokeSession,
  revokeUserSessions,
  touchSession,
  uncountAttempt,
  type SessionRow,
} from '../store/queries/sessions.ts';
import {
  burnPasswordCheck,
  checkPasswordRules,
  hashPassword,
  needsRehash,
  verifyPassword,
} from './passwords.ts';
import { countOrRefuse, failed } from './throttle.ts';
import { userSnapshot, userThrottleKey } from './users.ts';
import { appendEvent } from '../store/queries/events.ts';
import type { AuthSettings } from './settings.ts';
import { forgetSessions, sessionCacheOf } from './session-cache.ts';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
/** last_seen_at is written at most this often: a write per request would cost more than it tells. */
const TOUCH_EVERY_MS = 60_000;

export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function csrfMatches(expected: string, given: string | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface LoginInput {
  username: string;
  password: string;
  ip: string;
  userAgent?: string | null;
  /** The session the browser still had, replaced by the new one. */
  previousSessionId?: string;
}

export interface LoginResult {
  /** Goes into the cookie; never stored. */
  token: string;
  session: SessionRow;
  user: UserView;
}

const BAD_CREDENTIALS = () => new WeipianError('login_failed', '用户名或密码错误', undefined, 401);

export async function login(db: Db, settings: AuthSettings, input: LoginInput): Promise<LoginResult> {
  const now = settings.clock();
  const typed = input.username.trim().slice(0, 64);
  const log = (outcome: 'success' | 'bad_credentials' | 'disabled' | 'throttled', userId: number | null) =>
    logLoginAttempt(db, { at: now, username: typed.toLowerCase(), userId, ip: input.ip, outcome });

  let address, account;
  try {
    address = await countOrRefuse(db, settings, 'address', `addr:${input.ip}`, now);
    account = await countOrRefuse(db, settings, 'username', userThrottleKey(typed), now);
  } catch (e) {
    if (isWeipianError(e) && e.code === 'login_throttled') await log('throttled', null);
    throw e;
  }

  const user = typed ? await findUserByUsername(db, typed) : undefined;
  let ok = false;
  if (user) ok = await verifyPassword(input.password, user.password_hash);
  else await burnPasswordCheck(input.password);
  if (!ok || user?.disabled_at) {
    await failed(db, settings, address, now);
    await failed(db, settings, account, now);
    if (ok && user) {
      // Only someone who knows the password learns that the account is disabled.
      await log('disabled', user.id);
      throw new WeipianError('account_disabled', '账号已停用，请联系分局管理员', undefined, 403);
    }
    await log('bad_credentials', user?.id ?? null);
    throw BAD_CREDENTIALS();
  }

  const token = randomBytes(32).toString('base64url');
  const rehash = needsRehash(user!.password_hash) ? await hashPassword(input.password) : undefined;
  const session = await db.transaction(async (tx) => {
    await clearKey(tx, account.key);
    await uncountAttempt(tx, address.key);
    await updateUser(
      tx,
      user!.id,
      { lastLoginAt: now, passwordHash: rehash },
      { by: 'login', at: now, touch: false },
    );
    if (input.previousSessionId) await revokeSession(tx, input.previousSessionId, now, 'replaced');
    return insertSession(tx, {
      id: sessionIdOf(token),
      userId: user!.id,
      at: now,
      expiresAt: new Date(now.getTime() + settings.absoluteMinutes * 60_000),
      csrfToken: randomBytes(32).toString('base64url'),
      ip: input.ip,
      userAgent: input.userAgent?.slice(0, 512) ?? null,
    });
  });
  // The replaced session and the user's cached view (last login, hash) must be read again.
  forgetSessions(db);
  await log('success', user!.id);
  return { token, session, user: (await findUserById(db, user!.id))! };
}

export type Authenticated = { ok: true; session: SessionRow; user: UserView };
export type NotAuthenticated = { ok: false; reason: 'invalid' | 'expired' };

/** Resolves a cookie token to its live session and user. */
export async function authenticate(
  db: Db,
  settings: AuthSettings,
  token: string,
): Promise<Authenticated | NotAuthenticated> {
  if (!TOKEN_RE.test(token)) return { ok: false, reason: 'invalid' };
  const id = sessionIdOf(token);
  const cache = settings.sessionCacheMs > 0 ? sessionCacheOf(db) : null;
  let found = cache?.get(id, settings.sessionCacheMs, settings.clock().getTime());
  if (!found) {
    const generation = cache?.generation ?? 0;
    found = await findSessionWithUser(db, id);
    if (!found) return { ok: false, reason: 'invalid' };
    if (!found.session.revoked_at && !found.user.disabled_at)
      cache?.set(id, generation, found, settings.clock().getTime());
  }
  const { session, user } = found;
  if (session.revoked_at || user.disabled_at) return { ok: false, reason: 'invalid' };
  const now = settings.clock().getTime();
  const absoluteEnd = Math.min(
    session.expires_at.getTime(),
    session.created_at.getTime() + settings.absoluteMinutes * 60_000,
  );
  const idleEnd = session.last_seen_at.getTime() + settings.idleMinutes * 60_000;
  if (now >= absoluteEnd || now >= idleEnd) {
    cache?.delete(id);
    return { ok: false, reason: 'expired' };
  }
  if (now - session.last_seen_at.getTime() >= TOUCH_EVERY_MS) {
    const at = new Date(now);
    await touchSession(db, session.id, at);
    session.last_seen_at = at; // also in the cached entry, which counts idle time from it
  }
  // Copies: the cached objects are shared by concurrent requests.
  return { ok: true, session: { ...session }, user: { ...user } };
}

export async function logout(db: Db, settings: AuthSettings, sessionId: string): Promise<boolean> {
  const revoked = await revokeSession(db, sessionId, settings.clock(), 'logout');
  forgetSessions(db);
  return revoked;
}

export interface ChangePasswordInput {
  userId: number;
  sessionId: string;
  currentPassword: string;
  newPassword: string;
}

/**
 * Changes one's own password. The current password is checked under the same throttle as logins (a
 * stolen session must not become a way to guess it); the user's other sessions end.
 */
export async function changeOwnPassword(
  db: Db,
  settings: AuthSettings,
  input: ChangePasswordInput,
): Promise<UserView> {
  const now = settings.clock();
  const user = await findUserById(db, input.userId);
  if (!user) throw new WeipianError('user_not_found', '用户不存在', undefined, 404);
  checkPasswordRules(input.newPassword, user.username);
  const account = await countOrRefuse(db, settings, 'username', userThrottleKey(user.username), now);
  if (!(await verifyPassword(input.currentPassword, user.password_hash))) {
    await failed(db, settings, account, now);
    throw new WeipianError('current_password_wrong', '当前密码不正确', undefined, 400);
  }
  if (input.newPassword === input.currentPassword)
    throw new WeipianError('password_unchanged', '新密码不能与当前密码相同');
  const passwordHash = await hashPassword(input.newPassword);
  await db.transaction(async (tx) => {
    await clearKey(tx, account.key);
    const row = await updateUser(
      tx,
      user.id,
      { passwordHash, mustChangePassword: false, passwordChangedAt: now },
      { by: user.username, at: now, expectedVersion: user.version },
    );
    if (!row)
      throw new WeipianError(
        'user_version_conflict',
        '账号刚被修改（例如管理员重置了密码），请重新登录后再试',
        undefined,
        409,
      );
    const revoked = await revokeUserSessions(tx, user.id, now, 'password_changed', input.sessionId);
    await appendEvent(tx, {
      actor: user.username,
      actorRole: user.role,
      action: 'user.password_change',
      recordType: 'user',
      recordId: user.username,
      before: userSnapshot(user),
      after: { ...userSnapshot(row), revokedSessions: revoked },
    });
  });
  // Committed: the other sessions end and this one no longer needs a password change, at once.
  forgetSessions(db);
  return (await findUserById(db, user.id))!;
}
