// Deadlines: "3月14日前" is on time until 23:59:59.999 Asia/Shanghai on 14 March and late from
// 00:00 on 15 March (= 16:00 UTC on the 14th); per-patch due dates from the next round's milestone or
// from a return's new due date.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRulePack } from '../../src/domain/rulepack.ts';
import {
  daysOverdue,
  deadlineStatus,
  dueInstant,
  isOverdue,
  localDate,
  nextRoundDeadline,
  patchDeadline,
} from '../../src/domain/deadlines.ts';

const at = (s: string) => new Date(s);

test('“3月14日前” ends at 00:00 Asia/Shanghai on 15 March, i.e. 2018-03-14T16:00:00Z', () => {
  assert.equal(dueInstant('2018-03-14').toISOString(), '2018-03-14T16:00:00.000Z');
  assert.equal(isOverdue('2018-03-14', at('2018-03-14T23:59:59+08:00')), false);
  assert.equal(isOverdue('2018-03-14', at('2018-03-14T23:59:59.999+08:00')), false);
  assert.equal(isOverdue('2018-03-14', at('2018-03-15T00:00:00+08:00')), true);
  // The same instants in UTC: a server clock in UTC must not move the deadline by 8 hours.
  assert.equal(isOverdue('2018-03-14', at('2018-03-14T15:59:59Z')), false);
  assert.equal(isOverdue('2018-03-14', at('2018-03-14T16:00:00Z')), true);
  // Midnight at the start of the due day is of course still on time.
  assert.equal(isOverdue('2018-03-14', at('2018-03-14T00:00:00+08:00')), false);
});

test('status around the edges: due soon within the window, overdue from 00:00, days late', () => {
  assert.equal(deadlineStatus('2018-03-14', at('2018-03-14T23:59:59+08:00')), 'due_soon');
  assert.equal(deadlineStatus('2018-03-14', at('2018-03-15T00:00:00+08:00')), 'overdue');
  // Three days before the end instant is still "soon"; a millisecond earlier it is not.
  assert.equal(deadlineStatus('2018-03-14', at('2018-03-12T00:00:00+08:00'), 'Asia/Shanghai', 3), 'due_soon');
  assert.equal(deadlineStatus('2018-03-14', at('2018-03-11T23:59:59.999+08:00'), 'Asia/Shanghai', 3), 'open');
  assert.equal(deadlineStatus('2018-03-14', at('2018-03-13T12:00:00+08:00'), 'Asia/Shanghai', 0), 'open');
  assert.equal(daysOverdue('2018-03-14', at('2018-03-14T23:59:59+08:00')), 0);
  assert.equal(daysOverdue('2018-03-14', at('2018-03-15T00:00:00+08:00')), 1);
  assert.equal(daysOverdue('2018-03-14', at('2018-03-15T23:59:59+08:00')), 1);
  assert.equal(daysOverdue('2018-03-14', at('2018-03-16T00:00:00+08:00')), 2);
});

test('the local date follows Asia/Shanghai, not UTC', () => {
  assert.equal(localDate(at('2018-03-14T16:00:00Z')), '2018-03-15');
  assert.equal(localDate(at('2018-03-14T15:59:59Z')), '2018-03-14');
});

test('next round deadline: 初报 until closed, then 终报 (更新报 has no date); batch milestones win', () => {
  const pack = loadRulePack('2017-land');
  const milestones = pack.milestones.map((m) => ({ ...m }));
  assert.deepEqual(nextRoundDeadline(pack.reportRounds, [], milestones), {
    round: 'initial',
    label: '初报',
    milestone: 'land_initial_report',
    date: '2018-03-14',
  });
  assert.equal(nextRoundDeadline(pack.reportRounds, ['initial'], milestones)!.date, '2018-05-10');
  assert.equal(nextRoundDeadline(pack.reportRounds, ['initial', 'final'], milestones), null);
  // The batch moved its initial report to 3/16 (an audited edit): that date is the deadline.
  const moved = milestones.map((m) => (m.id === 'land_initial_report' ? { ...m, date: '2018-03-16' } : m));
  assert.equal(nextRoundDeadline(pack.reportRounds, [], moved)!.date, '2018-03-16');
  const mineral = loadRulePack('2017-mineral');
  assert.equal(
    nextRoundDeadline(
      mineral.reportRounds,
      [],
      mineral.milestones.map((m) => ({ ...m })),
    )!.date,
    '2018-04-09',
  );
});

test('a patch is due by the round while the unit holds it, by the return date after a return', () => {
  const next = {
    round: 'initial' as const,
    label: '初报',
    milestone: 'land_initial_report',
    date: '2018-03-14',
  };
  assert.deepEqual(patchDeadline({ state: 'issued', returnDueDate: null }, next), {
    date: '2018-03-14',
    source: 'round',
    round: 'initial',
  });
  assert.deepEqual(patchDeadline({ state: 'verifying', returnDueDate: null }, next)?.date, '2018-03-14');
  assert.deepEqual(patchDeadline({ state: 'returned', returnDueDate: '2018-03-20' }, next), {
    date: '2018-03-20',
    source: 'return',
  });
  // An upper return without a date falls back to the next round.
  assert.equal(patchDeadline({ state: 'upper_returned', returnDueDate: null }, next)?.source, 'round');
  for (const s of ['submitted', 'passed', 'reported', 'upper_passed'] as const)
    assert.equal(patchDeadline({ state: s, returnDueDate: '2018-03-20' }, next), null, s);
  assert.equal(patchDeadline({ state: 'issued', returnDueDate: null }, null), null);
});
