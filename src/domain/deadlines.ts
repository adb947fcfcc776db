// Deadlines: a date "X月X日前" means before the end of that day in the pack's calendar time zone
// (Asia/Shanghai): something is on time strictly before 00:00 (+08:00) of the next day
// (rulepack.ts endOfDayInstant). A patch's due date comes from the return that sent it back (its new
// due date) or else from the milestone of the next report round the unit has to meet; the batch
// carries its own (editable, audited) copy of the milestones. Pure.
import { endOfDayInstant, type DeepReadonly, type ReportRound, type ReportRoundId } from './rulepack.ts';
import type { WorkflowState } from './workflow.ts';

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';
/** "Due soon": the deadline ends within this many days. */
export const DEFAULT_SOON_DAYS = 3;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface MilestoneLike {
  id: string;
  label: string;
  date: string;
}

/** The first instant that is late for a due date (next local midnight). */
export function dueInstant(date: string, timeZone = DEFAULT_TIME_ZONE): Date {
  return endOfDayInstant(date, timeZone);
}

export function isOverdue(date: string, now: Date, timeZone = DEFAULT_TIME_ZONE): boolean {
  return now.getTime() >= dueInstant(date, timeZone).getTime();
}

export type DeadlineStatus = 'overdue' | 'due_soon' | 'open';

/** overdue from the end instant on; due_soon when it ends within soonDays; otherwise open. */
export function deadlineStatus(
  date: string,
  now: Date,
  timeZone = DEFAULT_TIME_ZONE,
  soonDays = DEFAULT_SOON_DAYS,
): DeadlineStatus {
  const left = dueInstant(date, timeZone).getTime() - now.getTime();
  if (left <= 0) return 'overdue';
  return left <= soonDays * DAY_MS ? 'due_soon' : 'open';
}

/** Today's date (YYYY-MM-DD) in the time zone. */
export function localDate(now: Date, timeZone = DEFAULT_TIME_ZONE): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Whole days late (1 on the day after the due date), 0 when not late. */
export function daysOverdue(date: string, now: Date, timeZone = DEFAULT_TIME_ZONE): number {
  const late = now.getTime() - dueInstant(date, timeZone).getTime();
  return late < 0 ? 0 : Math.floor(late / DAY_MS) + 1;
}

export interface RoundDeadline {
  round: ReportRoundId;
  label: string;
  milestone: string;
  date: string;
}

/**
 * The next report round with a deadline that is not closed yet, with its date from the batch's
 * milestones (rounds without a due milestone, i.e. 更新报, are skipped). null after the last one.
 */
export function nextRoundDeadline(
  rounds: readonly DeepReadonly<ReportRound>[],
  closed: readonly ReportRoundId[],
  milestones: readonly MilestoneLike[],
): RoundDeadline | null {
  for (const r of rounds) {
    if (r.dueBy === undefined || closed.includes(r.id)) continue;
    const m = milestones.find((x) => x.id === r.dueBy);
    if (m) return { round: r.id, label: r.label, milestone: m.id, date: m.date };
  }
  return null;
}

export interface PatchDeadlineInput {
  state: WorkflowState;
  /** The new due date a return (by the bureau or an upper level) set, if any. */
  returnDueDate: string | null;
}

export interface PatchDeadline {
  date: string;
  source: 'return' | 'round';
  /** The round whose deadline applies (source 'round'). */
  round?: ReportRoundId;
}

/**
 * The unit's due date for a patch: while the unit holds it (issued, verifying, returned), the
 * return's new due date or else the next round's deadline; none while the bureau or an upper level
 * holds it, or once it has passed every check.
 */
export function patchDeadline(p: PatchDeadlineInput, next: RoundDeadline | null): PatchDeadline | null {
  switch (p.state) {
    case 'returned':
    case 'upper_returned':
      if (p.returnDueDate) return { date: p.returnDueDate, source: 'return' };
      return next ? { date: next.date, source: 'round', round: next.round } : null;
    case 'issued':
    case 'verifying':
      return next ? { date: next.date, source: 'round', round: next.round } : null;
    default:
      return null;
  }
}
