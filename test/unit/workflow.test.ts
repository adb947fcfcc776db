// The workflow state machine: fixed ids with unambiguous labels, the transition table pinned as a
// hand-written matrix, every forbidden transition refused with its reason, the second-person rule,
// roles and own unit through the policy functions, and the figures of a batch from its parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  STATE_INFO,
  TRANSITIONS,
  WORKFLOW_STATES,
  authorizeTransition,
  computeFigures,
  denialStatus,
  judgementLocked,
  stateDecision,
  type Transition,
  type WorkflowState,
} from '../../src/domain/workflow.ts';
import type { Subject } from '../../src/domain/policies.ts';

// The allowed moves, written out by hand from DOMAIN.md §4 and the issue.
const ALLOWED: Record<Transition, Partial<Record<WorkflowState, WorkflowState>>> = {
  judge: {
    issued: 'verifying',
    verifying: 'verifying',
    returned: 'returned',
    upper_returned: 'upper_returned',
  },
  split: {
    issued: 'verifying',
    verifying: 'verifying',
    returned: 'returned',
    upper_returned: 'upper_returned',
  },
  handling: {
    verifying: 'verifying',
    returned: 'returned',
    upper_returned: 'upper_returned',
    reported: 'reported',
    upper_passed: 'upper_passed',
  },
  submit: { verifying: 'submitted', returned: 'submitted', upper_returned: 'submitted' },
  pass: { submitted: 'passed' },
  return: { submitted: 'returned', passed: 'returned' },
  report: { passed: 'reported' },
  upper_pass: { reported: 'upper_passed' },
  upper_return: { reported: 'upper_returned', upper_passed: 'upper_returned' },
  reassign: {
    issued: 'issued',
    verifying: 'verifying',
    returned: 'returned',
    upper_returned: 'upper_returned',
  },
};

test('states have fixed ids, distinct labels, explanations, and no bare 通过/退回', () => {
  assert.deepEqual(WORKFLOW_STATES, [
    'issued',
    'verifying',
    'submitted',
    'returned',
    'passed',
    'reported',
    'upper_returned',
    'upper_passed',
  ]);
  const labels = WORKFLOW_STATES.map((s) => STATE_INFO[s].label);
  assert.equal(new Set(labels).size, labels.length);
  for (const s of WORKFLOW_STATES) {
    const { label, explanation } = STATE_INFO[s];
    assert.match(label, /[\u4e00-\u9fff]/);
    assert.ok(explanation.length > 10 && explanation.endsWith('。'), s);
    // Who passed or returned is always in the label: 分局 or 上级.
    if (/通过|退回/.test(label)) assert.match(label, /分局|上级/, label);
  }
});

test('the transition table is exactly the hand-written matrix', () => {
  for (const t of TRANSITIONS)
    for (const s of WORKFLOW_STATES) {
      const d = stateDecision(t, s);
      const want = ALLOWED[t][s];
      if (want) assert.deepEqual(d, { allow: true, to: want }, `${t} from ${s}`);
      else assert.equal(d.allow, false, `${t} from ${s} should be refused`);
    }
});

test('every forbidden transition is refused with a reason naming the current state', () => {
  let refused = 0;
  for (const t of TRANSITIONS)
    for (const s of WORKFLOW_STATES) {
      if (ALLOWED[t][s]) continue;
      const d = stateDecision(t, s);
      assert.equal(d.allow, false);
      if (d.allow) continue;
      refused++;
      assert.ok(d.message.includes(STATE_INFO[s].label), `${t} from ${s}: ${d.message}`);
      assert.ok(
        ['transition_not_allowed', 'under_review', 'judgement_locked', 'not_judged'].includes(d.reason),
        d.reason,
      );
      assert.equal(denialStatus(d.reason), 409);
    }
  // 10 transitions × 8 states = 80 cells; 4+4+5+3+1+2+1+1+2+4 = 27 of them allowed.
  assert.equal(refused, 80 - 27);
});

test('specific reasons: locked after report, frozen under review, nothing to submit', () => {
  const r = (t: Transition, s: WorkflowState) => {
    const d = stateDecision(t, s);
    return d.allow ? 'allowed' : d.reason;
  };
  assert.equal(r('judge', 'reported'), 'judgement_locked');
  assert.equal(r('split', 'upper_passed'), 'judgement_locked');
  assert.equal(r('reassign', 'reported'), 'judgement_locked');
  assert.equal(r('judge', 'submitted'), 'under_review');
  assert.equal(r('judge', 'passed'), 'under_review');
  assert.equal(r('handling', 'submitted'), 'under_review');
  assert.equal(r('submit', 'issued'), 'not_judged');
  assert.equal(r('pass', 'verifying'), 'transition_not_allowed');
  assert.equal(r('report', 'submitted'), 'transition_not_allowed');
  const locked = stateDecision('judge', 'reported');
  assert.ok(!locked.allow && /上级退回/.test(locked.message));
  assert.equal(judgementLocked('reported'), true);
  assert.equal(judgementLocked('upper_returned'), false);
});

const officer = (unit: string): Subject => ({ role: 'unit_officer', unit_code: unit, department_code: null });
const reviewer: Subject = { role: 'reviewer', unit_code: null, department_code: null };
const leader: Subject = { role: 'leader', unit_code: null, department_code: null };

test('roles and own unit come first, then state, then the second person', () => {
  const rec = { unitCode: '370306101', state: 'verifying' as WorkflowState };
  assert.deepEqual(authorizeTransition(officer('370306101'), 'u1', 'judge', rec), {
    allow: true,
    to: 'verifying',
  });
  const other = authorizeTransition(officer('370306102'), 'u2', 'judge', rec);
  assert.ok(!other.allow && other.reason === 'other_unit');
  const role = authorizeTransition(leader, 'leader', 'judge', rec);
  assert.ok(!role.allow && role.reason === 'role_not_allowed');
  const officerPass = authorizeTransition(officer('370306101'), 'u1', 'pass', { ...rec, state: 'submitted' });
  assert.ok(!officerPass.allow && officerPass.reason === 'role_not_allowed');
  // The state is checked after the role: a reviewer may review, but not a patch still being verified.
  const early = authorizeTransition(reviewer, 'r', 'pass', rec);
  assert.ok(!early.allow && early.reason === 'transition_not_allowed');
  const people = { judgedBy: ['r'], submittedBy: 'u1' };
  const own = authorizeTransition(reviewer, 'r', 'pass', { ...rec, state: 'submitted', people });
  assert.ok(!own.allow && own.reason === 'own_work' && /不能审核自己的工作/.test(own.message));
  assert.equal(denialStatus('own_work'), 403);
  const submitter = authorizeTransition(reviewer, 'u1', 'pass', { ...rec, state: 'submitted', people });
  assert.ok(!submitter.allow && submitter.reason === 'own_work');
  assert.deepEqual(authorizeTransition(reviewer, 'r2', 'pass', { ...rec, state: 'submitted', people }), {
    allow: true,
    to: 'passed',
  });
});

test('figures: counted areas by verdict per unit, the total is the sum of the rows', () => {
  const f = computeFigures([
    {
      unitCode: '370306102',
      state: 'passed',
      parts: [
        { verdict: 'legal', countedAreaM2: 6000.25 },
        { verdict: 'illegal', countedAreaM2: 3999.75 },
      ],
    },
    { unitCode: '370306101', state: 'issued', parts: [{ verdict: 'undetermined', countedAreaM2: 800 }] },
    { unitCode: null, state: 'verifying', parts: [{ verdict: 'other', countedAreaM2: 12.5 }] },
    { unitCode: '370306102', state: 'reported', parts: [{ verdict: 'illegal', countedAreaM2: 100 }] },
  ]);
  assert.deepEqual(
    f.units.map((u) => u.unitCode),
    ['370306101', '370306102', null],
  );
  const u102 = f.units[1]!;
  assert.equal(u102.patches, 2);
  assert.equal(u102.byState.passed, 1);
  assert.equal(u102.byState.reported, 1);
  assert.deepEqual(u102.partsByVerdict, { undetermined: 0, legal: 1, other: 0, illegal: 2 });
  assert.deepEqual(u102.areaByVerdict, { undetermined: 0, legal: 6000.25, other: 0, illegal: 4099.75 });
  assert.equal(u102.areaM2, 10100);
  assert.equal(f.total.patches, 4);
  assert.deepEqual(f.total.areaByVerdict, {
    undetermined: 800,
    legal: 6000.25,
    other: 12.5,
    illegal: 4099.75,
  });
  assert.equal(f.total.areaM2, 10912.5);
  assert.equal(f.total.byState.issued + f.total.byState.verifying, 2);
});
