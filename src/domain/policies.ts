// Who may do what, in one place (ARCHITECTURE.md principle 7): small pure functions of
// role × responsible unit × record state that allow, or deny with an enumerated reason and a Chinese
// message the user can read. The API calls them on every route; the UI gets the same answers to
// disable buttons with the reason.
import { ROLE_LABELS, type Role } from './roles.ts';

export interface Subject {
  role: Role;
  unit_code: string | null;
  department_code: string | null;
}

export type DenialReason = 'unauthenticated' | 'role_not_allowed' | 'other_unit' | 'not_shared';

export type Decision = { allow: true } | { allow: false; reason: DenialReason; message: string };

const ALLOW: Decision = { allow: true };

const ALL_ROLES: readonly Role[] = ['leader', 'bureau_admin', 'reviewer', 'unit_officer', 'department'];

/**
 * The actions of the API. Each route names exactly one; `roles` is who may attempt it at all,
 * and record-level rules (own unit) are applied on top by `authorize`.
 */
export const ACTIONS = {
  'batch.list': { label: '查看批次', roles: ALL_ROLES },
  'batch.read': { label: '查看批次', roles: ALL_ROLES },
  'batch.create': { label: '创建批次', roles: ['bureau_admin'] },
  'batch.update': { label: '修改批次与时间节点', roles: ['bureau_admin'] },
  'patch.list': { label: '查看图斑', roles: ['leader', 'bureau_admin', 'reviewer', 'unit_officer'] },
  'patch.read': { label: '查看图斑', roles: ['leader', 'bureau_admin', 'reviewer', 'unit_officer'] },
  'analysis.read': {
    label: '查看叠加分析进度',
    roles: ['leader', 'bureau_admin', 'reviewer', 'unit_officer'],
  },
  'analysis.run': { label: '运行叠加分析', roles: ['bureau_admin'] },
  'layer.list': { label: '查看参考图层', roles: ALL_ROLES },
  'layer.import': { label: '导入参考图层', roles: ['bureau_admin'] },
  'patch.import': { label: '导入图斑', roles: ['bureau_admin'] },
  'unit.list': { label: '查看责任单位', roles: ALL_ROLES },
  'event.read': { label: '查看操作记录', roles: ['leader', 'bureau_admin', 'reviewer', 'unit_officer'] },
  'audit.head': { label: '查看审计链头', roles: ['leader', 'bureau_admin', 'reviewer'] },
  'user.admin': { label: '管理用户', roles: ['bureau_admin'] },
  // The patch workflow (issue 8); record-state rules on top: src/domain/workflow.ts.
  'workflow.read': {
    label: '查看判定与审核流程',
    roles: ['leader', 'bureau_admin', 'reviewer', 'unit_officer'],
  },
  'workflow.judge': { label: '填写判定、拆分或合并图斑', roles: ['bureau_admin', 'unit_officer'] },
  'workflow.submit': { label: '提交判定', roles: ['bureau_admin', 'unit_officer'] },
  'workflow.review': { label: '审核判定（通过或退回）', roles: ['bureau_admin', 'reviewer'] },
  'batch.status': { label: '查看进度与期限', roles: ['leader', 'bureau_admin', 'reviewer', 'unit_officer'] },
  'patch.create': { label: '新增或关联例行督察、巡查、举报图斑', roles: ['bureau_admin', 'reviewer'] },
  'patch.reassign': { label: '改派责任单位', roles: ['bureau_admin', 'reviewer'] },
  'round.read': { label: '查看报送轮次', roles: ['leader', 'bureau_admin', 'reviewer'] },
  'round.close': { label: '关闭报送轮次（上报）', roles: ['bureau_admin'] },
  'upper.record': { label: '登记上级审核结果', roles: ['bureau_admin', 'reviewer'] },
  // Evidence (issue 9): unit officers only on their own unit's patches (authorize with unitCode).
  'evidence.read': { label: '查看举证材料', roles: ['leader', 'bureau_admin', 'reviewer', 'unit_officer'] },
  'evidence.upload': { label: '上传或替换举证材料', roles: ['bureau_admin', 'reviewer', 'unit_officer'] },
  'evidence.review': { label: '认定或排除举证疑点', roles: ['bureau_admin', 'reviewer'] },
} as const satisfies Record<string, { label: string; roles: readonly Role[] }>;

export type Action = keyof typeof ACTIONS;

export function isAction(s: string): s is Action {
  return Object.hasOwn(ACTIONS, s);
}

/** A record the action touches, as far as permissions care. */
export interface RecordScope {
  /** The responsible unit a patch (or its evidence, case, figure) belongs to. */
  unitCode?: string | null;
}

function deny(reason: DenialReason, message: string): Decision {
  return { allow: false, reason, message };
}

/** Role-level check: may this subject attempt the action at all? */
export function mayAttempt(subject: Subject | null, action: Action): Decision {
  if (!subject) return deny('unauthenticated', '请先登录');
  const allowed = ACTIONS[action].roles as readonly Role[];
  if (!allowed.includes(subject.role)) {
    if (subject.role === 'department' && action.startsWith('patch.'))
      return deny('not_shared', '图斑数据尚未向您的部门共享');
    return deny(
      'role_not_allowed',
      `${ROLE_LABELS[subject.role]}不能${ACTIONS[action].label}（可以的角色：${allowed.map((r) => ROLE_LABELS[r]).join('、')}）`,
    );
  }
  return ALLOW;
}

/** Full check: the role may attempt it, and a unit officer only on their own unit's records. */
export function authorize(subject: Subject | null, action: Action, record?: RecordScope): Decision {
  const attempt = mayAttempt(subject, action);
  if (!attempt.allow || !record || !subject) return attempt;
  if (
    subject.role === 'unit_officer' &&
    record.unitCode !== undefined &&
    record.unitCode !== subject.unit_code
  )
    return deny('other_unit', '该记录属于其他责任单位，您无权查看或修改');
  return ALLOW;
}

/** The unit a subject's lists are limited to: their own for unit officers, none for the others. */
export function unitScope(subject: Subject): string | null {
  return subject.role === 'unit_officer' ? subject.unit_code : null;
}

/** Every action with this subject's decision: the UI disables what is denied and shows why. */
export function policySummary(subject: Subject): Record<Action, Decision> {
  const out = {} as Record<Action, Decision>;
  for (const a of Object.keys(ACTIONS) as Action[]) out[a] = mayAttempt(subject, a);
  return out;
}
