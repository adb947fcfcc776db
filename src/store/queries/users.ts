// Query module for users (用户) and departments (有关部门). Usernames are unique regardless of
// case; every update bumps `version` so that concurrent edits can be detected.
import type { Queryable } from '../db.ts';
import type { Role } from '../../domain/roles.ts';

export interface UserRow {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  unit_code: string | null;
  department_code: string | null;
  password_hash: string;
  must_change_password: boolean;
  password_changed_at: Date | null;
  last_login_at: Date | null;
  disabled_at: Date | null;
  disabled_by: string | null;
  created_at: Date;
  created_by: string;
  updated_at: Date;
  updated_by: string | null;
  version: number;
}

/** A user with the names of its unit and department, for presenting. */
export interface UserView extends UserRow {
  unit_name: string | null;
  department_name: string | null;
}

export interface DepartmentRow {
  id: number;
  code: string;
  name: string;
}

const VIEW = `SELECT u.*, ru.name AS unit_name, d.name AS department_name
  FROM users u
  LEFT JOIN responsible_units ru ON ru.code = u.unit_code
  LEFT JOIN departments d ON d.code = u.department_code`;

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  unitCode: string | null;
  departmentCode: string | null;
  passwordHash: string;
  mustChangePassword: boolean;
  createdBy: string;
  at: Date;
}

export async function insertUser(q: Queryable, u: NewUser): Promise<UserRow> {
  const rows = await q.query<UserRow>(
    `INSERT INTO users (username, display_name, role, unit_code, department_code, password_hash,
       must_change_password, password_changed_at, created_at, created_by, updated_at, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $8, $9) RETURNING *`,
    [
      u.username,
      u.displayName,
      u.role,
      u.unitCode,
      u.departmentCode,
      u.passwordHash,
      u.mustChangePassword,
      u.at.toISOString(),
      u.createdBy,
    ],
  );
  return rows[0]!;
}

export async function findUserById(q: Queryable, id: number): Promise<UserView | undefined> {
  return (await q.query<UserView>(`${VIEW} WHERE u.id = $1`, [id]))[0];
}

export async function findUserByUsername(q: Queryable, username: string): Promise<UserView | undefined> {
  return (await q.query<UserView>(`${VIEW} WHERE lower(u.username) = lower($1)`, [username]))[0];
}

export async function listUsers(q: Queryable): Promise<UserView[]> {
  return q.query<UserView>(`${VIEW} ORDER BY u.disabled_at IS NOT NULL, u.role, lower(u.username)`);
}

export async function countUsers(q: Queryable): Promise<number> {
  const [r] = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  return r!.n;
}

/** Active bureau admins other than the given user: the last one may not be disabled. */
export async function countOtherActiveAdmins(q: Queryable, exceptUserId: number): Promise<number> {
  const [r] = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM users WHERE role = 'bureau_admin' AND disabled_at IS NULL AND id <> $1`,
    [exceptUserId],
  );
  return r!.n;
}

export interface UserChange {
  passwordHash?: string;
  mustChangePassword?: boolean;
  passwordChangedAt?: Date;
  lastLoginAt?: Date;
  /** null re-enables the account. */
  disabledAt?: Date | null;
  disabledBy?: string | null;
}

/**
 * Applies a change and bumps the version. With expectedVersion, nothing happens unless the row is still
 * at that version (returns undefined then); touch=false leaves updated_at/by and version alone (logins).
 */
export async function updateUser(
  q: Queryable,
  id: number,
  change: UserChange,
  meta: { by: string; at: Date; expectedVersion?: number; touch?: boolean },
): Promise<UserRow | undefined> {
  const sets: string[] = [];
  const params: unknown[] = [id];
  const set = (column: string, value: unknown) => {
    params.push(value);
    sets.push(`${column} = $${params.length}`);
  };
  const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
  if (change.passwordHash !== undefined) set('password_hash', change.passwordHash);
  if (change.mustChangePassword !== undefined) set('must_change_password', change.mustChangePassword);
  if (change.passwordChangedAt !== undefined) set('password_changed_at', iso(change.passwordChangedAt));
  if (change.lastLoginAt !== undefined) set('last_login_at', iso(change.lastLoginAt));
  if (change.disabledAt !== undefined) set('disabled_at', iso(change.disabledAt));
  if (change.disabledBy !== undefined) set('disabled_by', change.disabledBy);
  if (meta.touch !== false) {
    set('updated_at', meta.at.toISOString());
    set('updated_by', meta.by);
    sets.push('version = version + 1');
  }
  let where = 'id = $1';
  if (meta.expectedVersion !== undefined) {
    params.push(meta.expectedVersion);
    where += ` AND version = $${params.length}`;
  }
  const rows = await q.query<UserRow>(
    `UPDATE users SET ${sets.join(', ')} WHERE ${where} RETURNING *`,
    params,
  );
  return rows[0];
}

export async function listDepartments(q: Queryable): Promise<DepartmentRow[]> {
  return q.query<DepartmentRow>('SELECT id, code, name FROM departments ORDER BY id');
}

export async function findDepartment(q: Queryable, code: string): Promise<DepartmentRow | undefined> {
  return (await q.query<DepartmentRow>('SELECT id, code, name FROM departments WHERE code = $1', [code]))[0];
}
