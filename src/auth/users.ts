// Account administration shared by the API (bureau admins) and the `weipian users` command (the
// local operator): create, disable, enable, reset a password, change one's own password. Role checks
// happen at the edges; the rules that protect every account (binding, last admin, concurrency) here.
import type { Db, Queryable } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import { ROLE_BINDING, ROLE_LABELS, parseRole, type Role } from '../domain/roles.ts';
import {
  countOtherActiveAdmins,
  findDepartment,
  findUserById,
  findUserByUsername,
  insertUser,
  updateUser,
  type UserRow,
  type UserView,
} from '../store/queries/users.ts';
import { clearKey, revokeUserSessions } from '../store/queries/sessions.ts';
import { forgetSessions } from './session-cache.ts';
import { appendEvent } from '../store/queries/events.ts';
import { checkPasswordRules, generateOneTimePassword, hashPassword } from './passwords.ts';

export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$';
const USERNAME_RE = new RegExp(USERNAME_PATTERN);

/** A user as the API and the CLI show it: never the password hash. */
export interface PublicUser {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  roleLabel: string;
  unit: { code: string; name: string | null } | null;
  department: { code: string; name: string | null } | null;
  mustChangePassword: boolean;
  disabled: boolean;
  disabledAt: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  version: number;
}

export function presentUser(u: Omit<UserView, 'password_hash'>): PublicUser {
  return {
    id: u.id,
    username: u.username,
    displayName: u.display_name,
    role: u.role,
    roleLabel: ROLE_LABELS[u.role],
    unit: u.unit_code ? { code: u.unit_code, name: u.unit_name } : null,
    department: u.department_code ? { code: u.department_code, name: u.department_name } : null,
    mustChangePassword: u.must_change_password,
    disabled: u.disabled_at !== null,
    disabledAt: u.disabled_at,
    lastLoginAt: u.last_login_at,
    createdAt: u.created_at,
    createdBy: u.created_by,
    updatedAt: u.updated_at,
    version: u.version,
  };
}

/** What the audit trail keeps of an account: never the password hash. */
export function userSnapshot(u: UserRow) {
  return {
    username: u.username,
    displayName: u.display_name,
    role: u.role,
    unitCode: u.unit_code,
    departmentCode: u.department_code,
    mustChangePassword: u.must_change_password,
    disabled: u.disabled_at !== null,
    version: u.version,
  };
}

export function userThrottleKey(username: string): string {
  return `user:${username.trim().toLowerCase().slice(0, 64)}`;
}

export interface CreateUserInput {
  username: string;
  role: string;
  displayName?: string;
  unitCode?: string | null;
  departmentCode?: string | null;
  /** Given: checked against the rules. Absent: a one-time password is generated and returned. */
  password?: string;
  /** Default true: the first login must set a password only the user knows. */
  mustChangePassword?: boolean;
  /** A username, or 'cli:<os user>' / 'system:…' (as in the audit trail). */
  actor: string;
  actorRole?: string | null;
  at?: Date;
}

export interface CreatedUser {
  user: UserView;
  /** Only when generated: shown once, never stored in clear. */
  oneTimePassword?: string;
}

function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === '23505';
}

export async function createUser(db: Db, input: CreateUserInput): Promise<CreatedUser> {
  const username = input.username;
  if (!USERNAME_RE.test(username))
    throw new WeipianError(
      'username_invalid',
      `用户名只能由字母、数字和 . _ - 组成，以字母或数字开头，长 2–32 个字符：${username}`,
      { username },
    );
  const role = parseRole(input.role);
  const displayName = (input.displayName ?? username).trim();
  if (displayName.length === 0 || [...displayName].length > 64)
    throw new WeipianError('display_name_invalid', '姓名不能为空，最多 64 个字符');
  const unitCode = input.unitCode || null;
  const departmentCode = input.departmentCode || null;
  const binding = ROLE_BINDING[role];
  if (binding === 'unit' && !unitCode)
    throw new WeipianError('unit_required', '镇街/开发区工作人员必须指定所属责任单位（代码）', { role });
  if (binding !== 'unit' && unitCode)
    throw new WeipianError(
      'unit_not_allowed',
      `只有镇街/开发区工作人员可以绑定责任单位，${ROLE_LABELS[role]}不能`,
      {
        role,
      },
    );
  if (binding === 'department' && !departmentCode)
    throw new WeipianError('department_required', '有关部门用户必须指定所属部门（代码）', { role });
  if (binding !== 'department' && departmentCode)
    throw new WeipianError(
      'department_not_allowed',
      `只有有关部门用户可以绑定部门，${ROLE_LABELS[role]}不能`,
      {
        role,
      },
    );
  if (unitCode) {
    const [unit] = await db.query('SELECT 1 FROM responsible_units WHERE code = $1', [unitCode]);
    if (!unit)
      throw new WeipianError('unit_not_found', `责任单位不存在：${unitCode}（先导入镇街界线图层）`, {
        unitCode,
      });
  }
  if (departmentCode && !(await findDepartment(db, departmentCode)))
    throw new WeipianError('department_not_found', `部门不存在：${departmentCode}`, { departmentCode });
  if (input.password !== undefined) checkPasswordRules(input.password, username);
  if (await findUserByUsername(db, username))
    throw new WeipianError('username_taken', `用户名已存在：${username}`, { username }, 409);

  const oneTimePassword = input.password === undefined ? generateOneTimePassword() : undefined;
  const passwordHash = await hashPassword(input.password ?? oneTimePassword!);
  let row: UserRow;
  try {
    row = await db.transaction(async (tx) => {
      const created = await insertUser(tx, {
        username,
        displayName,
        role,
        unitCode,
        departmentCode,
        passwordHash,
        mustChangePassword: input.mustChangePassword ?? true,
        createdBy: input.actor,
        at: input.at ?? new Date(),
      });
      await appendEvent(tx, {
        actor: input.actor,
        actorRole: input.actorRole,
        action: 'user.create',
        recordType: 'user',
        recordId: created.username,
        after: userSnapshot(created),
      });
      return created;
    });
  } catch (e) {
    // Two creations of the same name racing: the unique index decides.
    if (isUniqueViolation(e))
      throw new WeipianError('username_taken', `用户名已存在：${username}`, { username }, 409);
    throw e;
  }
  return { user: (await findUserById(db, row.id))!, oneTimePassword };
}

export type UserRef = { id: number } | { username: string };

export async function findUserOr404(q: Queryable, ref: UserRef): Promise<UserView> {
  const u = 'id' in ref ? await findUserById(q, ref.id) : await findUserByUsername(q, ref.username);
  if (!u) {
    const label = 'id' in ref ? `#${ref.id}` : ref.username;
    throw new WeipianError('user_not_found', `用户不存在：${label}`, ref, 404);
  }
  return u;
}

export interface AdminAction {
  /** Recorded as updated_by / disabled_by and in the audit trail. */
  actor: string;
  actorRole?: string | null;
  /** Why (kept in the audit trail). */
  reason?: string | null;
  /** The acting user when it is a logged-in user (absent for the local operator). */
  actorUserId?: number;
  /** Optimistic concurrency: refuse when the account changed since the caller read it. */
  expectedVersion?: number;
  at?: Date;
}

function versionConflict(u: UserView): WeipianError {
  return new WeipianError(
    'user_version_conflict',
    `账号 ${u.username} 已被他人修改，请刷新后重试`,
    { id: u.id, username: u.username },
    409,
  );
}

/** Applies the change (or 409 when the row moved on) and records it in the audit trail. */
async function updateAndRecord(
  tx: Queryable,
  u: UserView,
  change: Parameters<typeof updateUser>[2],
  action: AdminAction,
  at: Date,
  event: { action: string; extra?: Record<string, unknown> },
): Promise<UserRow> {
  const row = await updateUser(tx, u.id, change, {
    by: action.actor,
    at,
    expectedVersion: action.expectedVersion,
  });
  if (!row) throw versionConflict(u);
  await appendEvent(tx, {
    actor: action.actor,
    actorRole: action.actorRole,
    action: event.action,
    recordType: 'user',
    recordId: u.username,
    reason: action.reason,
    before: userSnapshot(u),
    after: { ...userSnapshot(row), ...event.extra },
  });
  return row;
}

export async function disableUser(
  db: Db,
  ref: UserRef,
  action: AdminAction,
): Promise<{ user: UserView; changed: boolean; revokedSessions: number }> {
  const at = action.at ?? new Date();
  const target = await findUserOr404(db, ref);
  if (action.actorUserId === target.id)
    throw new WeipianError('cannot_disable_self', '不能停用自己的账号', { id: target.id }, 400);
  if (action.expectedVersion !== undefined && action.expectedVersion !== target.version)
    throw versionConflict(target);
  if (target.disabled_at) return { user: target, changed: false, revokedSessions: 0 };
  const revokedSessions = await db.transaction(async (tx) => {
    if (target.role === 'bureau_admin') {
      // Lock the admins so that two admins disabling each other at once cannot both succeed.
      await tx.query(`SELECT id FROM users WHERE role = 'bureau_admin' AND disabled_at IS NULL FOR UPDATE`);
      if ((await countOtherActiveAdmins(tx, target.id)) === 0)
        throw new WeipianError(
          'last_admin',
          `${target.username} 是最后一个启用的分局管理员，不能停用（先创建另一个管理员）`,
          { id: target.id },
          409,
        );
    }
    const revoked = await revokeUserSessions(tx, target.id, at, 'disabled');
    await updateAndRecord(tx, target, { disabledAt: at, disabledBy: action.actor }, action, at, {
      action: 'user.disable',
      extra: { revokedSessions: revoked },
    });
    return revoked;
  });
  forgetSessions(db); // committed: the user's cached sessions end now
  return { user: (await findUserById(db, target.id))!, changed: true, revokedSessions };
}

export async function enableUser(
  db: Db,
  ref: UserRef,
  action: AdminAction,
): Promise<{ user: UserView; changed: boolean }> {
  const at = action.at ?? new Date();
  const target = await findUserOr404(db, ref);
  if (action.expectedVersion !== undefined && action.expectedVersion !== target.version)
    throw versionConflict(target);
  if (!target.disabled_at) return { user: target, changed: false };
  await db.transaction((tx) =>
    updateAndRecord(tx, target, { disabledAt: null, disabledBy: null }, action, at, {
      action: 'user.enable',
    }),
  );
  forgetSessions(db);
  return { user: (await findUserById(db, target.id))!, changed: true };
}

export async function resetPassword(
  db: Db,
  ref: UserRef,
  action: AdminAction,
): Promise<{ user: UserView; oneTimePassword: string; revokedSessions: number }> {
  const at = action.at ?? new Date();
  const target = await findUserOr404(db, ref);
  if (action.actorUserId === target.id)
    throw new WeipianError(
      'cannot_reset_self',
      '不能重置自己的密码，请使用“修改密码”',
      { id: target.id },
      400,
    );
  if (action.expectedVersion !== undefined && action.expectedVersion !== target.version)
    throw versionConflict(target);
  const oneTimePassword = generateOneTimePassword();
  const passwordHash = await hashPassword(oneTimePassword);
  const revokedSessions = await db.transaction(async (tx) => {
    // The user called for help: a lock left by failed attempts would block the new password.
    await clearKey(tx, userThrottleKey(target.username));
    const revoked = await revokeUserSessions(tx, target.id, at, 'password_reset');
    await updateAndRecord(
      tx,
      target,
      { passwordHash, mustChangePassword: true, passwordChangedAt: at },
      action,
      at,
      { action: 'user.password_reset', extra: { revokedSessions: revoked } },
    );
    return revoked;
  });
  forgetSessions(db); // committed: the user's cached sessions end now
  return { user: (await findUserById(db, target.id))!, oneTimePassword, revokedSessions };
}
