// The patch workflow (DOMAIN.md §4), pure: the states with fixed ids, Chinese labels chosen so they
// cannot be misread ("通过" never stands alone: it is 分局初审通过 or 上级审核通过) and a one-line
// explanation for the UI; the transition table; the record-state rules that the policy functions
// apply on top of role and unit; and the figures of a batch, computed from the parts.
//
// Workflow state, verdict and handling are separate dimensions: the state says where the patch is
// in the review, the verdict (per part, judgement.ts) what it is, the handling what is done about it.
import { authorize, type Action, type Decision, type DenialReason, type Subject } from './policies.ts';

export const WORKFLOW_STATES = [
  'issued',
  'verifying',
  'submitted',
  'returned',
  'passed',
  'reported',
  'upper_returned',
  'upper_passed',
] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];

export interface StateInfo {
  label: string;
  /** One line the UI shows beside the label. */
  explanation: string;
  /** Who has the next move: the responsible unit, the bureau, the upper level, or nobody. */
  waitingFor: 'unit' | 'bureau' | 'upper' | 'none';
}

export const STATE_INFO: Readonly<Record<WorkflowState, StateInfo>> = {
  issued: {
    label: '已下发（未核查）',
    explanation: '分局已下发，责任单位尚未填写任何判定。',
    waitingFor: 'unit',
  },
  verifying: {
    label: '核查中（未提交）',
    explanation: '责任单位正在核查、判定和举证，尚未提交分局审核。',
    waitingFor: 'unit',
  },
  submitted: {
    label: '已提交（待分局审核）',
    explanation: '责任单位已提交判定，等待分局审核；审核前判定不能修改。',
    waitingFor: 'bureau',
  },
  returned: {
    label: '分局退回（待修改）',
    explanation: '分局审核未通过，已退回责任单位：按退回原因修改后在新的截止日期前重新提交。',
    waitingFor: 'unit',
  },
  passed: {
    label: '分局初审通过（未上报）',
    explanation: '分局审核通过，将随下一个报送轮次上报；此前分局仍可退回。',
    waitingFor: 'bureau',
  },
  reported: {
    label: '已上报（判定锁定）',
    explanation: '判定已随报送轮次上报上级，不能再修改，除非上级退回；案件与整改继续办理。',
    waitingFor: 'upper',
  },
  upper_returned: {
    label: '上级退回（待修改）',
    explanation: '上级审核退回：责任单位按退回原因修改后重新提交，经分局审核后随下一轮次上报。',
    waitingFor: 'unit',
  },
  upper_passed: {
    label: '上级审核通过',
    explanation: '上级已审核通过，判定终结；案件与整改继续办理。',
    waitingFor: 'none',
  },
};

export function isWorkflowState(s: unknown): s is WorkflowState {
  return typeof s === 'string' && (WORKFLOW_STATES as readonly string[]).includes(s);
}

/** Everything that moves a patch or changes its judgement; each is an event. */
export const TRANSITIONS = [
  'judge',
  'split',
  'handling',
  'submit',
  'pass',
  'return',
  'report',
  'upper_pass',
  'upper_return',
  'reassign',
] as const;
export type Transition = (typeof TRANSITIONS)[number];

/** States in which the responsible unit holds the patch and may change its judgement. */
const EDITABLE: readonly WorkflowState[] = ['issued', 'verifying', 'returned', 'upper_returned'];

export interface TransitionRule {
  label: string;
  /** The policy action (role check) behind the transition. */
  action: Action;
  from: readonly WorkflowState[];
  /** The state afterwards; undefined = unchanged (issued becomes verifying on the first judgement). */
  to?: WorkflowState;
}

export const TRANSITION_RULES: Readonly<Record<Transition, TransitionRule>> = {
  judge: { label: '填写或修改判定', action: 'workflow.judge', from: EDITABLE },
  split: { label: '拆分或合并图斑', action: 'workflow.judge', from: EDITABLE },
  // The handling of an illegal part stays open after the report (cases go on); it is frozen only
  // while the bureau holds the patch for review.
  handling: {
    label: '修改处理方式',
    action: 'workflow.judge',
    from: ['verifying', 'returned', 'upper_returned', 'reported', 'upper_passed'],
  },
  submit: {
    label: '提交分局审核',
    action: 'workflow.submit',
    from: ['verifying', 'returned', 'upper_returned'],
    to: 'submitted',
  },
  pass: { label: '初审通过', action: 'workflow.review', from: ['submitted'], to: 'passed' },
  return: { label: '退回责任单位', action: 'workflow.review', from: ['submitted', 'passed'], to: 'returned' },
  report: { label: '上报', action: 'round.close', from: ['passed'], to: 'reported' },
  upper_pass: { label: '登记上级通过', action: 'upper.record', from: ['reported'], to: 'upper_passed' },
  upper_return: {
    label: '登记上级退回',
    action: 'upper.record',
    from: ['reported', 'upper_passed'],
    to: 'upper_returned',
  },
  reassign: { label: '改派责任单位', action: 'patch.reassign', from: EDITABLE },
};

/** The state after a transition that is allowed from `from`. */
export function stateAfter(t: Transition, from: WorkflowState): WorkflowState {
  const to = TRANSITION_RULES[t].to;
  if (to) return to;
  if ((t === 'judge' || t === 'split') && from === 'issued') return 'verifying';
  return from;
}

/** The judgement of a patch in these states is frozen by a report round (until an upper return). */
export function judgementLocked(state: WorkflowState): boolean {
  return state === 'reported' || state === 'upper_passed';
}

export type WorkflowDenialReason =
  DenialReason | 'transition_not_allowed' | 'under_review' | 'judgement_locked' | 'not_judged' | 'own_work';

export type WorkflowDecision =
  { allow: true; to: WorkflowState } | { allow: false; reason: WorkflowDenialReason; message: string };

const labels = (states: readonly WorkflowState[]) => states.map((s) => `“${STATE_INFO[s].label}”`).join('、');

/** The record-state rule alone: may the transition happen from this state, and if not, why. */
export function stateDecision(t: Transition, state: WorkflowState): WorkflowDecision {
  const rule = TRANSITION_RULES[t];
  if (rule.from.includes(state)) return { allow: true, to: stateAfter(t, state) };
  const deny = (reason: WorkflowDenialReason, message: string): WorkflowDecision => ({
    allow: false,
    reason,
    message,
  });
  const now = `图斑当前为“${STATE_INFO[state].label}”`;
  if (t === 'judge' || t === 'split' || t === 'reassign' || t === 'handling') {
    if (judgementLocked(state) && t !== 'handling')
      return deny(
        'judgement_locked',
        `${now}，判定已随报送轮次锁定，不能${rule.label}；只有上级退回后才能修改`,
      );
    if (state === 'submitted' || state === 'passed')
      return deny('under_review', `${now}，由分局审核中，不能${rule.label}；如需修改，请分局先退回`);
  }
  if (t === 'submit' && state === 'issued') return deny('not_judged', `${now}，尚未填写任何判定，不能提交`);
  return deny('transition_not_allowed', `${now}，不能${rule.label}（只有${labels(rule.from)}的图斑可以）`);
}

/** The people behind the current judgement, for the second-person rule. */
export interface WorkPeople {
  /** Who judged the current parts. */
  judgedBy: readonly string[];
  /** Who submitted the current submission. */
  submittedBy: string | null;
}

/** Second-person rule: whoever judged or submitted a patch cannot pass it. */
export function secondPersonDecision(username: string, people: WorkPeople): WorkflowDecision | null {
  if (people.submittedBy === username || people.judgedBy.includes(username))
    return {
      allow: false,
      reason: 'own_work',
      message: '您参与了该图斑的判定或提交，不能审核自己的工作，须由另一位审核人员审核',
    };
  return null;
}

/**
 * The full check of a transition on one patch: the role may attempt the action, a unit officer
 * only on their own unit's patch, the state allows it, and — for passing — the second-person rule.
 */
export function authorizeTransition(
  subject: Subject,
  username: string,
  t: Transition,
  record: { unitCode: string | null; state: WorkflowState; people?: WorkPeople },
): WorkflowDecision {
  const base: Decision = authorize(subject, TRANSITION_RULES[t].action, { unitCode: record.unitCode });
  if (!base.allow) return base;
  const s = stateDecision(t, record.state);
  if (!s.allow) return s;
  if (t === 'pass' && record.people) {
    const second = secondPersonDecision(username, record.people);
    if (second) return second;
  }
  return s;
}

/** HTTP status of a denial: who you are → 401/403; the record's state → 409. */
export function denialStatus(reason: WorkflowDenialReason): number {
  switch (reason) {
    case 'unauthenticated':
      return 401;
    case 'role_not_allowed':
    case 'other_unit':
    case 'not_shared':
    case 'own_work':
      return 403;
    default:
      return 409;
  }
}

/** What each transition would answer for this subject on this patch (the UI greys out the rest). */
export function transitionSummary(
  subject: Subject,
  username: string,
  record: { unitCode: string | null; state: WorkflowState; people?: WorkPeople },
): Record<Transition, { allow: boolean; reason?: WorkflowDenialReason; message?: string }> {
  const out = {} as Record<Transition, { allow: boolean; reason?: WorkflowDenialReason; message?: string }>;
  for (const t of TRANSITIONS) {
    const d = authorizeTransition(subject, username, t, record);
    out[t] = d.allow ? { allow: true } : { allow: false, reason: d.reason, message: d.message };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Figures: counts by state, and parts' areas by verdict (the counted area — overlaps of a
// 例行督察/巡查/举报 patch with the satellite patches it is linked to counted once).

export const VERDICT_IDS = ['undetermined', 'legal', 'other', 'illegal'] as const;
export type VerdictId = (typeof VERDICT_IDS)[number];

export interface FigurePart {
  verdict: VerdictId;
  countedAreaM2: number;
}

export interface FigurePatch {
  unitCode: string | null;
  state: WorkflowState;
  parts: readonly FigurePart[];
}

export interface FigureRow {
  unitCode: string | null;
  patches: number;
  byState: Record<WorkflowState, number>;
  /** Number of parts per verdict. */
  partsByVerdict: Record<VerdictId, number>;
  /** Counted m² per verdict. */
  areaByVerdict: Record<VerdictId, number>;
  areaM2: number;
}

export interface Figures {
  units: FigureRow[];
  total: FigureRow;
}

function emptyRow(unitCode: string | null): FigureRow {
  const zeroStates = Object.fromEntries(WORKFLOW_STATES.map((s) => [s, 0])) as Record<WorkflowState, number>;
  const zeroVerdicts = () => Object.fromEntries(VERDICT_IDS.map((v) => [v, 0])) as Record<VerdictId, number>;
  return {
    unitCode,
    patches: 0,
    byState: zeroStates,
    partsByVerdict: zeroVerdicts(),
    areaByVerdict: zeroVerdicts(),
    areaM2: 0,
  };
}

function addInto(row: FigureRow, other: FigureRow): void {
  row.patches += other.patches;
  for (const s of WORKFLOW_STATES) row.byState[s] += other.byState[s];
  for (const v of VERDICT_IDS) {
    row.partsByVerdict[v] += other.partsByVerdict[v];
    row.areaByVerdict[v] += other.areaByVerdict[v];
  }
  row.areaM2 += other.areaM2;
}

/**
 * Figures per responsible unit (sorted by code, unassigned last) and their total. The total is the
 * sum of the unit rows, so the rows add up to it exactly.
 */
export function computeFigures(patches: readonly FigurePatch[]): Figures {
  const byUnit = new Map<string | null, FigureRow>();
  for (const p of patches) {
    let row = byUnit.get(p.unitCode);
    if (!row) byUnit.set(p.unitCode, (row = emptyRow(p.unitCode)));
    row.patches++;
    row.byState[p.state]++;
    for (const part of p.parts) {
      row.partsByVerdict[part.verdict]++;
      row.areaByVerdict[part.verdict] += part.countedAreaM2;
      row.areaM2 += part.countedAreaM2;
    }
  }
  const units = [...byUnit.values()].sort((a, b) =>
    a.unitCode === b.unitCode
      ? 0
      : a.unitCode === null
        ? 1
        : b.unitCode === null
          ? -1
          : a.unitCode < b.unitCode
            ? -1
            : 1,
  );
  const total = emptyRow(null);
  for (const u of units) addInto(total, u);
  return { units, total };
}
