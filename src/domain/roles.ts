// Who a user is in the inspection: five fixed roles (DOMAIN.md §2). The identifiers are stored in
// the database and used by the policies; the labels are what people read.
import { WeipianError } from './errors.ts';

export const ROLES = ['leader', 'bureau_admin', 'reviewer', 'unit_officer', 'department'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  leader: '区政府领导',
  bureau_admin: '分局管理员',
  reviewer: '分局审核员',
  unit_officer: '镇街/开发区工作人员',
  department: '有关部门',
};

/** What each role is bound to: a unit officer to one responsible unit, a department user to one department. */
export const ROLE_BINDING: Record<Role, 'unit' | 'department' | null> = {
  leader: null,
  bureau_admin: null,
  reviewer: null,
  unit_officer: 'unit',
  department: 'department',
};

export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && (ROLES as readonly string[]).includes(s);
}

export function parseRole(s: string): Role {
  if (!isRole(s))
    throw new WeipianError(
      'role_invalid',
      `角色无效：${s}（可选：${ROLES.map((r) => `${r}（${ROLE_LABELS[r]}）`).join('、')}）`,
      { role: s, allowed: ROLES },
    );
  return s;
}
