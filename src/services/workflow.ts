// The operations of the patch workflow (issue 8), shared by the API and the CLI: judge a part,
// change its handling, submit, pass, return, bulk pass, split and merge parts, reassign, create a
// 例行督察/巡查/举报 patch and link it to the patches it overlaps, close a report round, record or
// import upper-level results, and the batch's progress and deadlines.
//
// Every change runs in one transaction that first locks the patch's workflow row, checks the
// caller through the policy functions (role, own unit, record state, second person), checks the
// version the caller read (409 when stale), and appends its event before committing.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { Db, Queryable } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import { authorize, mayAttempt, unitScope, type Decision, type Subject } from '../domain/policies.ts';
import type { Role } from '../domain/roles.ts';
import { digestOf, loadRulePack, type RulePack, type ReportRoundId } from '../domain/rulepack.ts';
import {
  STATE_INFO,
  TRANSITION_RULES,
  WORKFLOW_STATES,
  authorizeTransition,
  computeFigures,
  denialStatus,
  stateAfter,
  transitionSummary,
  type Figures,
  type Transition,
  type WorkflowDecision,
  type WorkflowState,
  type WorkPeople,
} from '../domain/workflow.ts';
import {
  describeShortfall,
  evidenceShortfall,
  handlingLabel,
  judgementForm,
  subtypeLabel,
  validateHandling,
  validateJudgement,
  verdictLabel,
  type EvidenceCounts,
  type HandlingInput,
  type JudgementInput,
} from '../domain/judgement.ts';
import {
  DEFAULT_SOON_DAYS,
  deadlineStatus,
  daysOverdue,
  dueInstant,
  localDate,
  nextRoundDeadline,
  patchDeadline,
  type MilestoneLike,
} from '../domain/deadlines.ts';
import {
  assertValidDrawn,
  countedArea,
  coverParts,
  drawnParts,
  mergeShapes,
  overlapM2,
  parseDrawnGeometry,
  TILING_TOLERANCE_M2,
  type PartShape,
} from '../domain/parts.ts';
import { initGeos, type Geos } from '../geo/geos.ts';
import { ellipsoidalArea } from '../geo/area.ts';
import { bboxOf, type Areal } from '../geo/geometry.ts';
import { decodeGeometry, decodeWkb, encodeWkb } from '../geo/wkb.ts';
import { appendEvent } from '../store/queries/events.ts';
import { findBatchBySlug, type BatchRow } from '../store/queries/batches.ts';
import { PATCH_SOURCES } from '../jobs/import-patches.ts';
import { PATCH_SOURCES as SOURCE_LABELS } from '../domain/fields.ts';
import {
  analysisBeside,
  approvalCoverNear,
  batchPatchStates,
  checkVersion,
  countedBeforeNear,
  currentParts,
  currentPartsOfBatch,
  evidenceCounts,
  findRound,
  findWorkflow,
  insertPart,
  insertRound,
  insertUpperResult,
  linkedFrom,
  linksOf,
  listRoundRows,
  lockBatchWorkflows,
  lockWorkflow,
  lockWorkflows,
  openedSubmissions,
  recordOpen,
  replaceLinks,
  retireParts,
  setCountedArea,
  setPartHandling,
  setPartJudgement,
  unitsNear,
  updateWorkflow,
  upperResultsOf,
  type PartJudgement,
  type PartRow,
  type PatchWorkflowRow,
  type RoundRow,
} from '../store/queries/workflow.ts';

// ---------------------------------------------------------------------------------------------
// Who acts

export interface WorkflowActor {
  username: string;
  /** null: the local operator (the CLI on the data folder), with the rights of a bureau admin. */
  role: Role | null;
  unitCode: string | null;
}

export function operatorActor(name: string): WorkflowActor {
  return { username: name, role: null, unitCode: null };
}

function subjectOf(a: WorkflowActor): Subject {
  return a.role === null
    ? { role: 'bureau_admin', unit_code: null, department_code: null }
    : { role: a.role, unit_code: a.unitCode, department_code: null };
}

function enforce(d: Decision | WorkflowDecision): void {
  if (!d.allow) throw new WeipianError(d.reason, d.message, { reason: d.reason }, denialStatus(d.reason));
}

const eventActor = (a: WorkflowActor) => ({ actor: a.username, actorRole: a.role });

// ---------------------------------------------------------------------------------------------
// Shared steps

const packs = new Map<string, RulePack>();
function packOf(batch: Pick<BatchRow, 'rule_pack_id'>): RulePack {
  let p = packs.get(batch.rule_pack_id);
  if (!p) packs.set(batch.rule_pack_id, (p = loadRulePack(batch.rule_pack_id)));
  return p;
}

async function batchById(q: Queryable, id: number): Promise<BatchRow & { version: number }> {
  const [b] = await q.query<BatchRow & { version: number }>('SELECT * FROM batches WHERE id = $1', [id]);
  return b!;
}

async function batchOr404(q: Queryable, slug: string): Promise<BatchRow & { version: number }> {
  const b = await findBatchBySlug(q, slug);
  if (!b) throw new WeipianError('batch_not_found', `批次不存在：${slug}`, { slug }, 404);
  return b as BatchRow & { version: number };
}

function patchNotFound(id: number): WeipianError {
  return new WeipianError('patch_not_found', `图斑不存在：${id}`, { patchId: id }, 404);
}

/**
 * The common opening of a change: role may attempt the transition's action, the patch exists and
 * is locked, a unit officer owns it, the version is the one the caller read, the state allows it.
 */
async function open(
  tx: Queryable,
  patchId: number,
  actor: WorkflowActor,
  t: Transition,
  version: number | undefined,
  people?: (row: PatchWorkflowRow) => Promise<WorkPeople>,
): Promise<PatchWorkflowRow> {
  const subject = subjectOf(actor);
  enforce(mayAttempt(subject, TRANSITION_RULES[t].action));
  const row = await lockWorkflow(tx, patchId);
  if (!row) throw patchNotFound(patchId);
  enforce(authorize(subject, TRANSITION_RULES[t].action, { unitCode: row.unit_code }));
  if (version !== undefined) checkVersion(row, version);
  enforce(
    authorizeTransition(subject, actor.username, t, {
      unitCode: row.unit_code,
      state: row.state,
      people: people ? await people(row) : undefined,
    }),
  );
  return row;
}

async function peopleOf(tx: Queryable, row: PatchWorkflowRow): Promise<WorkPeople> {
  const parts = await currentParts(tx, row.patch_id);
  return {
    judgedBy: [...new Set(parts.map((p) => p.judged_by).filter((x): x is string => x !== null))],
    submittedBy: row.submitted_by,
  };
}

function partBrief(p: PartRow) {
  return {
    id: p.id,
    no: p.no,
    areaM2: p.area_m2,
    verdict: p.verdict,
    subtype: p.subtype,
    fields: p.fields,
    handling: p.handling,
    handlingReasonCode: p.handling_reason_code,
    handlingReason: p.handling_reason,
    rulePackVersion: p.rule_pack_version,
  };
}

function checkReason(reason: unknown, what: string, max = 1000): string {
  const r = typeof reason === 'string' ? reason.trim() : '';
  if (r === '') throw new WeipianError('reason_required', `${what}必须填写原因`, { field: 'reason' });
  if (r.length > max)
    throw new WeipianError('reason_invalid', `原因过长（最多 ${max} 个字符）`, { field: 'reason' });
  return r;
}

function isCalendarDate(s: string): boolean {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** A new due date: a real date, not before today (Asia/Shanghai). */
function checkDueDate(d: unknown, now: Date, timeZone: string, field = 'dueDate'): string {
  if (typeof d !== 'string' || !isCalendarDate(d))
    throw new WeipianError('due_date_invalid', `截止日期应为有效日期（YYYY-MM-DD）：${String(d)}`, { field });
  const today = localDate(now, timeZone);
  if (d < today)
    throw new WeipianError('due_date_invalid', `截止日期 ${d} 早于今天（${today}）`, { field, today });
  return d;
}

let geosPromise: Promise<Geos> | undefined;
const geos = () => (geosPromise ??= initGeos());

function patchGeometry(row: { geom: Uint8Array; geom_repaired: Uint8Array | null }): Areal {
  return decodeWkb(row.geom_repaired ?? row.geom);
}

async function patchGeomRow(q: Queryable, patchId: number) {
  const [r] = await q.query<{
    geom: Uint8Array;
    geom_repaired: Uint8Array | null;
    geometry_kind: 'polygon' | 'point';
    batch_id: number;
    source: string;
    minx: number;
    miny: number;
    maxx: number;
    maxy: number;
  }>(
    'SELECT geom, geom_repaired, geometry_kind, batch_id, source, minx, miny, maxx, maxy FROM patches WHERE id = $1',
    [patchId],
  );
  return r!;
}

/** Geometries counted before a patch that meet it (empty for satellite patches, which count first). */
async function countedBeforeGeoms(q: Queryable, patchId: number): Promise<Areal[]> {
  const links = await linksOf(q, patchId);
  if (links.length === 0) return [];
  const rows = await q.query<{ geom: Uint8Array; geom_repaired: Uint8Array | null }>(
    'SELECT geom, geom_repaired FROM patches WHERE id = ANY($1::int[]) ORDER BY id',
    [links.map((l) => l.linked_patch_id)],
  );
  return rows.map(patchGeometry);
}

// ---------------------------------------------------------------------------------------------
// Reading: the patch's workflow, judgement form and analysis side by side

function evidenceByPart(
  rows: Awaited<ReturnType<typeof evidenceCounts>>,
  parts: PartRow[],
): Map<number, EvidenceCounts> {
  const out = new Map<number, EvidenceCounts>();
  for (const p of parts) {
    const docs: Record<string, number> = {};
    let photos = 0;
    for (const r of rows) {
      // Evidence counts for a part when attached to it, to the whole patch, or to a part since
      // replaced by a split or merge (the photo still shows the place).
      const applies = r.part_id === null || r.part_id === p.id || r.part_current === false;
      if (!applies) continue;
      if (r.kind === 'photo') photos += r.n;
      else docs[r.doc_type ?? ''] = (docs[r.doc_type ?? ''] ?? 0) + r.n;
    }
    out.set(p.id, { photos, documents: docs });
  }
  return out;
}

export interface ViewOptions {
  now?: Date;
  soonDays?: number;
}

/** The workflow of one patch as the UI shows it. A reviewer opening a submission is recorded. */
export async function getPatchWorkflow(
  db: Db,
  patchId: number,
  actor: WorkflowActor,
  opts: ViewOptions = {},
) {
  const subject = subjectOf(actor);
  enforce(mayAttempt(subject, 'workflow.read'));
  const row = await findWorkflow(db, patchId);
  if (!row) throw patchNotFound(patchId);
  enforce(authorize(subject, 'workflow.read', { unitCode: row.unit_code }));
  if (row.state === 'submitted' && actor.role !== null && ['reviewer', 'bureau_admin'].includes(actor.role))
    await recordOpen(db, patchId, actor.username, row.submission_no);
  return presentWorkflow(db, row, actor, opts);
}

async function presentWorkflow(
  db: Queryable,
  row: PatchWorkflowRow,
  actor: WorkflowActor,
  opts: ViewOptions,
) {
  const now = opts.now ?? new Date();
  const batch = await batchById(db, row.batch_id);
  const pack = packOf(batch);
  const tz = pack.calendar.timeZone;
  const parts = await currentParts(db, row.patch_id);
  const evidence = evidenceByPart(await evidenceCounts(db, row.patch_id), parts);
  const analysis = await analysisBeside(db, row.patch_id);
  const [unit] = row.unit_code
    ? await db.query<{ name: string }>('SELECT name FROM responsible_units WHERE code = $1', [row.unit_code])
    : [];
  const rounds = await listRoundRows(db, row.batch_id);
  const next = nextRoundDeadline(
    pack.reportRounds,
    rounds.map((r) => r.kind as ReportRoundId).filter((k) => k !== 'update'),
    batch.milestones as MilestoneLike[],
  );
  const deadline = patchDeadline({ state: row.state, returnDueDate: row.return_due_date }, next);
  const reportedRound = rounds.find((r) => r.id === row.reported_round_id);
  const people = await peopleOf(db, row);
  const info = STATE_INFO[row.state];
  const returned = row.state === 'returned' || row.state === 'upper_returned';
  return {
    patch: {
      id: row.patch_id,
      jcbh: row.jcbh,
      batch: batch.slug,
      source: row.source,
      sourceLabel: SOURCE_LABELS.find((s) => s.id === row.source)?.label ?? row.source,
      unitCode: row.unit_code,
      unitName: unit?.name ?? null,
      unitSource: row.unit_source,
      areaM2: row.patch_area_m2,
      geometryKind: row.geometry_kind,
    },
    workflow: {
      state: row.state,
      label: info.label,
      explanation: info.explanation,
      waitingFor: info.waitingFor,
      version: row.version,
      // The reason of a return is put on top while the unit corrects.
      return: returned
        ? {
            by: row.return_source,
            reason: row.return_reason,
            dueDate: row.return_due_date,
            returnedBy: row.returned_by,
            returnedAt: row.returned_at,
          }
        : null,
      deadline: deadline
        ? {
            ...deadline,
            dueAt: dueInstant(deadline.date, tz).toISOString(),
            status: deadlineStatus(deadline.date, now, tz, opts.soonDays ?? DEFAULT_SOON_DAYS),
          }
        : null,
      submissionNo: row.submission_no,
      submittedBy: row.submitted_by,
      submittedAt: row.submitted_at,
      reviewedBy: row.reviewed_by,
      reviewedAt: row.reviewed_at,
      reportedRound: reportedRound ? { seq: reportedRound.seq, label: reportedRound.label } : null,
      allowed: transitionSummary(subjectOf(actor), actor.username, {
        unitCode: row.unit_code,
        state: row.state,
        people,
      }),
    },
    rulePack: { id: pack.id, version: pack.version },
    parts: parts.map((p) => {
      const ev = evidence.get(p.id)!;
      return {
        id: p.id,
        no: p.no,
        origin: p.origin,
        areaM2: p.area_m2,
        countedAreaM2: p.counted_area_m2,
        verdict: p.verdict,
        verdictLabel: verdictLabel(pack, p.verdict),
        subtype: p.subtype,
        subtypeLabel: subtypeLabel(pack, p.subtype),
        fields: p.fields,
        handling: p.handling
          ? {
              mode: p.handling,
              label: handlingLabel(pack, p.handling),
              reasonCode: p.handling_reason_code,
              reason: p.handling_reason,
            }
          : null,
        rulePack: p.rule_pack_id ? { id: p.rule_pack_id, version: p.rule_pack_version } : null,
        judgedBy: p.judged_by,
        judgedAt: p.judged_at,
        evidence: ev,
        missingEvidence: p.subtype ? evidenceShortfall(pack, p.subtype, ev) : [],
        geometry: decodeGeometry(p.geom),
      };
    }),
    analysis: analysis
      ? {
          prejudgement: analysis.prejudgement,
          prejudgementReason: analysis.fields.prejudgement_reason ?? null,
          // The analysis lists the evidence its suspected sub-type needs (prejudgement.evidence).
          missingEvidence: analysis.detail.prejudgement?.evidence ?? null,
          stale: analysis.stale,
          staleReason: analysis.stale_reason,
          computedAt: analysis.computed_at,
          rulePackVersion: analysis.rule_pack_version,
        }
      : null,
    upperResults: (await upperResultsOf(db, row.patch_id)).map((u) => ({
      result: u.result,
      reason: u.reason,
      dueDate: u.due_date,
      round: u.round_label,
      source: u.source,
      sourceFile: u.source_file,
      sourceRow: u.source_row,
      recordedBy: u.recorded_by,
      recordedAt: u.recorded_at,
    })),
    links: {
      countedWith: (await linksOf(db, row.patch_id)).map((l) => ({
        patchId: l.linked_patch_id,
        jcbh: l.linked_jcbh,
        source: l.linked_source,
        overlapM2: l.overlap_m2,
      })),
      overlappedBy: (await linkedFrom(db, row.patch_id)).map((l) => ({
        patchId: l.patch_id,
        jcbh: l.linked_jcbh,
        source: l.linked_source,
        overlapM2: l.overlap_m2,
      })),
    },
  };
}

export type PatchWorkflowView = Awaited<ReturnType<typeof presentWorkflow>>;

/** The judgement form of a batch's rule pack, with the workflow vocabulary. */
export async function judgementFormOf(db: Db, slug: string) {
  const batch = await batchOr404(db, slug);
  const pack = packOf(batch);
  return {
    form: judgementForm(pack),
    states: WORKFLOW_STATES.map((s) => ({ id: s, ...STATE_INFO[s] })),
    transitions: Object.entries(TRANSITION_RULES).map(([id, r]) => ({
      id,
      label: r.label,
      from: r.from,
      to: r.to ?? null,
    })),
    reportRounds: pack.reportRounds,
    calendar: pack.calendar,
  };
}

// ---------------------------------------------------------------------------------------------
// Judging

export interface JudgeInput extends JudgementInput {
  version: number;
}

/** Records (or replaces) the judgement of one part; the patch moves to 核查中 on the first one. */
export async function judgePart(
  db: Db,
  patchId: number,
  partId: number,
  input: JudgeInput,
  actor: WorkflowActor,
  opts: { now?: Date } = {},
): Promise<PatchWorkflowView> {
  const now = opts.now ?? new Date();
  const row = await db.transaction(async (tx) => {
    const w = await open(tx, patchId, actor, 'judge', input.version);
    const batch = await batchById(tx, w.batch_id);
    const pack = packOf(batch);
    const part = (await currentParts(tx, patchId)).find((p) => p.id === partId);
    if (!part)
      throw new WeipianError(
        'part_not_found',
        `图斑 ${w.jcbh} 没有当前部分 ${partId}`,
        { patchId, partId },
        404,
      );
    const j = validateJudgement(pack, input, {
      partAreaM2: part.area_m2,
      today: localDate(now, pack.calendar.timeZone),
    });
    const judgement: PartJudgement = {
      verdict: j.verdict,
      subtype: j.subtype,
      fields: j.fields,
      handling: j.handling?.mode ?? null,
      handlingReasonCode: j.handling?.reasonCode ?? null,
      handlingReason: j.handling?.reason ?? null,
      rulePackId: j.verdict === 'undetermined' ? null : j.rulePack.id,
      rulePackVersion: j.verdict === 'undetermined' ? null : j.rulePack.version,
      judgedBy: j.verdict === 'undetermined' ? null : actor.username,
      judgedAt: j.verdict === 'undetermined' ? null : now,
    };
    const updated = await setPartJudgement(tx, part.id, judgement);
    const to = stateAfter('judge', w.state);
    const after = await updateWorkflow(tx, patchId, { state: to }, actor.username);
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'patch.judge',
      recordType: 'patch',
      recordId: patchId,
      before: { state: w.state, version: w.version, part: partBrief(part) },
      after: {
        state: to,
        version: after.version,
        part: partBrief(updated),
        rulePack: j.rulePack,
      },
    });
    return (await findWorkflow(tx, patchId))!;
  });
  return presentWorkflow(db, row, actor, { now });
}

/** Changes the handling (立案 / 不立案处理 / 应立未立 …) of an illegal part; stays open after the report. */
export async function setHandling(
  db: Db,
  patchId: number,
  partId: number,
  input: { version: number; handling: HandlingInput },
  actor: WorkflowActor,
  opts: { now?: Date } = {},
): Promise<PatchWorkflowView> {
  const row = await db.transaction(async (tx) => {
    const w = await open(tx, patchId, actor, 'handling', input.version);
    const pack = packOf(await batchById(tx, w.batch_id));
    const part = (await currentParts(tx, patchId)).find((p) => p.id === partId);
    if (!part)
      throw new WeipianError(
        'part_not_found',
        `图斑 ${w.jcbh} 没有当前部分 ${partId}`,
        { patchId, partId },
        404,
      );
    const h = validateHandling(pack, part.verdict, input.handling);
    if (!h) throw new WeipianError('handling_missing', '请填写处理方式', { field: 'handling' });
    const updated = await setPartHandling(tx, part.id, h);
    const after = await updateWorkflow(tx, patchId, {}, actor.username);
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'patch.handling',
      recordType: 'patch',
      recordId: patchId,
      before: { state: w.state, version: w.version, part: partBrief(part) },
      after: { state: w.state, version: after.version, part: partBrief(updated) },
    });
    return (await findWorkflow(tx, patchId))!;
  });
  return presentWorkflow(db, row, actor, opts);
}

/** The reasons a patch cannot be submitted yet (all of them, part by part). */
async function submitProblems(
  tx: Queryable,
  w: PatchWorkflowRow,
  pack: RulePack,
): Promise<{ part: number; field?: string; message: string }[]> {
  const parts = await currentParts(tx, w.patch_id);
  const evidence = evidenceByPart(await evidenceCounts(tx, w.patch_id), parts);
  const problems: { part: number; field?: string; message: string }[] = [];
  const many = parts.length > 1;
  for (const p of parts) {
    const where = many ? `第 ${p.no} 部分` : '图斑';
    if (p.verdict === 'undetermined') {
      problems.push({ part: p.no, field: 'verdict', message: `${where}尚未判定` });
      continue;
    }
    // Checked again under the pack in force: a judgement made under an older pack may lack a field.
    try {
      validateJudgement(
        pack,
        {
          verdict: p.verdict,
          subtype: p.subtype,
          fields: p.fields,
          handling: p.handling
            ? { mode: p.handling, reasonCode: p.handling_reason_code, reason: p.handling_reason }
            : null,
        },
        { partAreaM2: p.area_m2 },
      );
    } catch (e) {
      if (!(e instanceof WeipianError)) throw e;
      problems.push({
        part: p.no,
        field: (e.details as { field?: string })?.field,
        message: `${where}：${e.message}`,
      });
      continue;
    }
    if ((pack.handling.appliesTo as readonly string[]).includes(p.verdict) && p.handling === null)
      problems.push({
        part: p.no,
        field: 'handling',
        message: `${where}判定为${verdictLabel(pack, p.verdict)}，须选择处理方式（${pack.handling.modes.map((m) => m.label).join('、')}）`,
      });
    const short = evidenceShortfall(pack, p.subtype!, evidence.get(p.id)!);
    if (short.length)
      problems.push({
        part: p.no,
        field: 'evidence',
        message: `${where}（${verdictLabel(pack, p.verdict)}·${subtypeLabel(pack, p.subtype)}）缺少举证：${short.map(describeShortfall).join('、')}`,
      });
  }
  return problems;
}

/** The unit submits its judgement for review: every part judged, complete, handled and evidenced. */
export async function submitPatch(
  db: Db,
  patchId: number,
  input: { version: number },
  actor: WorkflowActor,
  opts: { now?: Date } = {},
): Promise<PatchWorkflowView> {
  const row = await db.transaction(async (tx) => {
    const w = await open(tx, patchId, actor, 'submit', input.version);
    const pack = packOf(await batchById(tx, w.batch_id));
    const problems = await submitProblems(tx, w, pack);
    if (problems.length)
      throw new WeipianError(
        problems.some((p) => p.field === 'evidence') && problems.every((p) => p.field === 'evidence')
          ? 'evidence_missing'
          : 'submit_incomplete',
        `图斑 ${w.jcbh} 还不能提交：${problems.map((p) => p.message).join('；')}`,
        { problems },
      );
    const after = await updateWorkflow(
      tx,
      patchId,
      {
        state: 'submitted',
        submission_no: w.submission_no + 1,
        submitted_by: actor.username,
        submitted_at: opts.now ?? new Date(),
      },
      actor.username,
    );
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'patch.submit',
      recordType: 'patch',
      recordId: patchId,
      before: { state: w.state, version: w.version },
      after: {
        state: after.state,
        version: after.version,
        submissionNo: after.submission_no,
        parts: (await currentParts(tx, patchId)).map(partBrief),
      },
    });
    return (await findWorkflow(tx, patchId))!;
  });
  return presentWorkflow(db, row, actor, opts);
}

// ---------------------------------------------------------------------------------------------
// Review

export async function passPatch(
  db: Db,
  patchId: number,
  input: { version: number; note?: string },
  actor: WorkflowActor,
  opts: { now?: Date } = {},
): Promise<PatchWorkflowView> {
  const row = await db.transaction(async (tx) => {
    const w = await open(tx, patchId, actor, 'pass', input.version, (r) => peopleOf(tx, r));
    const after = await updateWorkflow(
      tx,
      patchId,
      { state: 'passed', reviewed_by: actor.username, reviewed_at: opts.now ?? new Date() },
      actor.username,
    );
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'patch.pass',
      recordType: 'patch',
      recordId: patchId,
      reason: input.note?.trim() || null,
      before: { state: w.state, version: w.version },
      after: { state: after.state, version: after.version, submissionNo: w.submission_no },
    });
    return (await findWorkflow(tx, patchId))!;
  });
  return presentWorkflow(db, row, actor, opts);
}

/** The bureau returns a submitted (or passed, not yet reported) patch with a reason and a new due date. */
export async function returnPatch(
  db: Db,
  patchId: number,
  input: { version: number; reason: string; dueDate: string },
  actor: WorkflowActor,
  opts: { now?: Date } = {},
): Promise<PatchWorkflowView> {
  const now = opts.now ?? new Date();
  const row = await db.transaction(async (tx) => {
    const w = await open(tx, patchId, actor, 'return', input.version);
    const pack = packOf(await batchById(tx, w.batch_id));
    const reason = checkReason(input.reason, '退回');
    const dueDate = checkDueDate(input.dueDate, now, pack.calendar.timeZone);
    const after = await updateWorkflow(
      tx,
      patchId,
      {
        state: 'returned',
        return_source: 'bureau',
        return_reason: reason,
        return_due_date: dueDate,
        returned_by: actor.username,
        returned_at: now,
        reviewed_by: actor.username,
        reviewed_at: now,
      },
      actor.username,
    );
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'patch.return',
      recordType: 'patch',
      recordId: patchId,
      reason,
      before: { state: w.state, version: w.version },
      after: { state: after.state, version: after.version, dueDate },
    });
    return (await findWorkflow(tx, patchId))!;
  });
  return presentWorkflow(db, row, actor, { now });
}

export interface BulkPassItem {
  patchId: number;
  version: number;
}

/**
 * Passes several submitted patches at once — only those this reviewer has opened (since their last
 * submission), each under the same rules as a single pass. All or nothing: one refusal refuses all,
 * with the reason of every refused patch.
 */
export async function bulkPass(
  db: Db,
  slug: string,
  input: { items: BulkPassItem[]; note?: string },
  actor: WorkflowActor,
  opts: { now?: Date } = {},
) {
  const subject = subjectOf(actor);
  enforce(mayAttempt(subject, 'workflow.review'));
  if (!Array.isArray(input.items) || input.items.length === 0)
    throw new WeipianError('bulk_pass_empty', '没有要通过的图斑');
  const ids = input.items.map((i) => i.patchId);
  if (new Set(ids).size !== ids.length) throw new WeipianError('bulk_pass_duplicate', '图斑重复出现');
  const now = opts.now ?? new Date();
  return db.transaction(async (tx) => {
    const batch = await batchOr404(tx, slug);
    const rows = await lockWorkflows(tx, ids);
    const byId = new Map(rows.map((r) => [r.patch_id, r]));
    const opened = await openedSubmissions(
      tx,
      actor.username,
      rows.map((r) => ({ patchId: r.patch_id, submissionNo: r.submission_no })),
    );
    const refused: { patchId: number; jcbh: string | null; code: string; message: string }[] = [];
    for (const item of input.items) {
      const r = byId.get(item.patchId);
      if (!r || r.batch_id !== batch.id) {
        refused.push({
          patchId: item.patchId,
          jcbh: null,
          code: 'patch_not_found',
          message: `批次 ${slug} 中没有图斑 ${item.patchId}`,
        });
        continue;
      }
      const d = authorizeTransition(subject, actor.username, 'pass', {
        unitCode: r.unit_code,
        state: r.state,
        people: await peopleOf(tx, r),
      });
      if (!d.allow) refused.push({ patchId: r.patch_id, jcbh: r.jcbh, code: d.reason, message: d.message });
      else if (r.version !== item.version)
        refused.push({
          patchId: r.patch_id,
          jcbh: r.jcbh,
          code: 'version_conflict',
          message: '已被他人修改，请刷新后重试',
        });
      else if (!opened.has(r.patch_id))
        refused.push({
          patchId: r.patch_id,
          jcbh: r.jcbh,
          code: 'not_opened',
          message: '您还没有打开查看过这次提交，批量通过只能包含已查看的图斑',
        });
    }
    if (refused.length)
      throw new WeipianError(
        'bulk_pass_refused',
        `批量通过未执行（全部或全不）：${refused.length} 个图斑不能通过，第一个：${refused[0]!.jcbh ?? refused[0]!.patchId} ${refused[0]!.message}`,
        { refused },
        409,
      );
    const passed: { patchId: number; jcbh: string; version: number }[] = [];
    for (const item of [...input.items].sort((a, b) => a.patchId - b.patchId)) {
      const r = byId.get(item.patchId)!;
      const after = await updateWorkflow(
        tx,
        r.patch_id,
        { state: 'passed', reviewed_by: actor.username, reviewed_at: now },
        actor.username,
      );
      await appendEvent(tx, {
        ...eventActor(actor),
        action: 'patch.pass',
        recordType: 'patch',
        recordId: r.patch_id,
        reason: input.note?.trim() || null,
        before: { state: r.state, version: r.version },
        after: { state: after.state, version: after.version, submissionNo: r.submission_no, bulk: true },
      });
      passed.push({ patchId: r.patch_id, jcbh: r.jcbh, version: after.version });
    }
    return { passed };
  });
}

// ---------------------------------------------------------------------------------------------
// Parts: split and merge

export interface SplitInput {
  version: number;
  /** 'drawn': parts given as GeoJSON; 'approval': patch ∩ / − the current approval layers. */
  mode: 'drawn' | 'approval';
  parts?: unknown[];
  clipToPatch?: boolean;
  rest?: boolean;
}

/** Layer types whose features make up the approval cover (legal sources of a land patch). */
export const APPROVAL_LAYER_TYPES = ['approval', 'expropriation', 'supply', 'linkage'] as const;

async function writeParts(
  tx: Queryable,
  patchId: number,
  shapes: {
    geometry: Areal;
    areaM2: number;
    origin: PartRow['origin'];
    no: number;
    judgement?: PartJudgement;
  }[],
  actor: WorkflowActor,
): Promise<PartRow[]> {
  const g = await geos();
  const before = await countedBeforeGeoms(tx, patchId);
  const out: PartRow[] = [];
  for (const s of shapes)
    out.push(
      await insertPart(tx, {
        patchId,
        no: s.no,
        origin: s.origin,
        geometryKind: 'polygon',
        geom: encodeWkb(s.geometry),
        areaM2: s.areaM2,
        countedAreaM2: before.length ? countedArea(g, s.geometry, before) : s.areaM2,
        bbox: bboxOf(s.geometry),
        createdBy: actor.username,
        judgement: s.judgement,
      }),
    );
  return out;
}

/** Splits the patch into parts that tile it; the new parts start 未判定. */
export async function splitPatch(
  db: Db,
  patchId: number,
  input: SplitInput,
  actor: WorkflowActor,
  opts: { now?: Date } = {},
): Promise<PatchWorkflowView> {
  const g = await geos();
  const row = await db.transaction(async (tx) => {
    const w = await open(tx, patchId, actor, 'split', input.version);
    const p = await patchGeomRow(tx, patchId);
    if (p.geometry_kind === 'point')
      throw new WeipianError('split_point_patch', '该图斑只有中心点、没有边界，不能拆分；请先补充图斑范围');
    const patch = patchGeometry(p);
    let shapes: PartShape[];
    if (input.mode === 'drawn') {
      if (!Array.isArray(input.parts) || input.parts.length === 0)
        throw new WeipianError('split_parts_missing', '请给出拆分后的各部分（GeoJSON 多边形）', {
          field: 'parts',
        });
      const drawn = input.parts.map((x, i) => parseDrawnGeometry(x, `第 ${i + 1} 部分`));
      shapes = drawnParts(g, patch, drawn, { clipToPatch: input.clipToPatch, rest: input.rest });
    } else if (input.mode === 'approval') {
      const cover = await approvalCoverNear(tx, APPROVAL_LAYER_TYPES, p);
      shapes = coverParts(g, patch, cover.map(patchGeometry));
    } else
      throw new WeipianError('split_mode_invalid', `拆分方式只能是 drawn（手绘）或 approval（按批准范围）`, {
        field: 'mode',
      });
    const old = await currentParts(tx, patchId);
    await retireParts(
      tx,
      old.map((x) => x.id),
      actor.username,
    );
    const created = await writeParts(
      tx,
      patchId,
      shapes.map((s, i) => ({ ...s, no: i + 1 })),
      actor,
    );
    const to = stateAfter('split', w.state);
    const after = await updateWorkflow(tx, patchId, { state: to }, actor.username);
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'patch.split',
      recordType: 'patch',
      recordId: patchId,
      before: { state: w.state, version: w.version, parts: old.map(partBrief) },
      after: {
        state: to,
        version: after.version,
        mode: input.mode,
        parts: created.map((c) => ({ id: c.id, no: c.no, origin: c.origin, areaM2: c.area_m2 })),
      },
    });
    return (await findWorkflow(tx, patchId))!;
  });
  return presentWorkflow(db, row, actor, opts);
}

function sameJudgement(a: PartRow, b: PartRow): boolean {
  return (
    a.verdict === b.verdict &&
    a.subtype === b.subtype &&
    digestOf(a.fields) === digestOf(b.fields) &&
    a.handling === b.handling &&
    a.handling_reason_code === b.handling_reason_code &&
    a.handling_reason === b.handling_reason
  );
}

/**
 * Merges parts back: all of them into the whole patch (the default), or the given ones into one.
 * The merged part keeps the judgement only when every merged part had the same one.
 */
export async function mergeParts(
  db: Db,
  patchId: number,
  input: { version: number; partIds?: number[] },
  actor: WorkflowActor,
  opts: { now?: Date } = {},
): Promise<PatchWorkflowView> {
  const g = await geos();
  const row = await db.transaction(async (tx) => {
    const w = await open(tx, patchId, actor, 'split', input.version);
    const parts = await currentParts(tx, patchId);
    if (parts.length < 2) throw new WeipianError('merge_nothing', '图斑没有拆分，无需合并');
    const ids = input.partIds ?? parts.map((p) => p.id);
    const chosen = parts.filter((p) => ids.includes(p.id));
    const unknown = ids.filter((id) => !parts.some((p) => p.id === id));
    if (unknown.length)
      throw new WeipianError(
        'part_not_found',
        `图斑 ${w.jcbh} 没有当前部分：${unknown.join('、')}`,
        { unknown },
        404,
      );
    if (chosen.length < 2) throw new WeipianError('merge_too_few', '至少选择两个部分才能合并');
    const all = chosen.length === parts.length;
    const geometry = all
      ? patchGeometry(await patchGeomRow(tx, patchId))
      : mergeShapes(
          g,
          chosen.map((c) => decodeWkb(c.geom)),
        );
    const first = chosen[0]!;
    const keep = chosen.every((c) => sameJudgement(c, first)) && first.verdict !== 'undetermined';
    const latest = [...chosen].sort(
      (a, b) => (b.judged_at?.getTime() ?? 0) - (a.judged_at?.getTime() ?? 0),
    )[0]!;
    await retireParts(
      tx,
      chosen.map((c) => c.id),
      actor.username,
    );
    const [merged] = await writeParts(
      tx,
      patchId,
      [
        {
          geometry,
          areaM2: ellipsoidalArea(geometry),
          origin: all ? 'whole' : 'merged',
          no: Math.min(...chosen.map((c) => c.no)),
          judgement: keep
            ? {
                verdict: first.verdict,
                subtype: first.subtype,
                fields: first.fields,
                handling: first.handling,
                handlingReasonCode: first.handling_reason_code,
                handlingReason: first.handling_reason,
                rulePackId: latest.rule_pack_id,
                rulePackVersion: latest.rule_pack_version,
                judgedBy: latest.judged_by,
                judgedAt: latest.judged_at,
              }
            : undefined,
        },
      ],
      actor,
    );
    const to = stateAfter('split', w.state);
    const after = await updateWorkflow(tx, patchId, { state: to }, actor.username);
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'patch.merge',
      recordType: 'patch',
      recordId: patchId,
      before: { state: w.state, version: w.version, parts: chosen.map(partBrief) },
      after: { state: to, version: after.version, part: partBrief(merged!), judgementKept: keep },
    });
    return (await findWorkflow(tx, patchId))!;
  });
  return presentWorkflow(db, row, actor, opts);
}

// ---------------------------------------------------------------------------------------------
// Ownership and sources

/** The bureau gives the patch to another responsible unit, with a reason. */
export async function reassignPatch(
  db: Db,
  patchId: number,
  input: { version?: number; unitCode: string; reason: string },
  actor: WorkflowActor,
  opts: { now?: Date } = {},
): Promise<PatchWorkflowView> {
  const row = await db.transaction(async (tx) => {
    const w = await open(tx, patchId, actor, 'reassign', input.version);
    const reason = checkReason(input.reason, '改派责任单位');
    const [unit] = await tx.query<{ code: string; name: string }>(
      'SELECT code, name FROM responsible_units WHERE code = $1',
      [input.unitCode],
    );
    if (!unit)
      throw new WeipianError(
        'unit_not_found',
        `责任单位不存在：${input.unitCode}`,
        { field: 'unitCode' },
        404,
      );
    if (unit.code === w.unit_code)
      throw new WeipianError('reassign_same_unit', `图斑已属于${unit.name}（${unit.code}）`, {
        field: 'unitCode',
      });
    await tx.query(
      "UPDATE patches SET unit_code = $2, unit_source = 'reassigned', version = version + 1 WHERE id = $1",
      [patchId, unit.code],
    );
    const after = await updateWorkflow(tx, patchId, {}, actor.username);
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'patch.reassign',
      recordType: 'patch',
      recordId: patchId,
      reason,
      before: { unitCode: w.unit_code, unitSource: w.unit_source, version: w.version },
      after: { unitCode: unit.code, unitName: unit.name, unitSource: 'reassigned', version: after.version },
    });
    return (await findWorkflow(tx, patchId))!;
  });
  return presentWorkflow(db, row, actor, opts);
}

const SOURCE_PREFIX: Record<string, string> = { routine_inspection: 'LXDC', patrol: 'XC', report: 'JB' };

export interface CreatePatchInput {
  /** 例行督察 / 巡查 / 举报 (or routine_inspection / patrol / report). */
  source: string;
  /** GeoJSON Polygon or MultiPolygon in EPSG:4490 longitude/latitude. */
  geometry: unknown;
  jcbh?: string;
  unitCode?: string;
  note?: string;
  reason?: string;
}

/**
 * A 例行督察/巡查/举报 patch drawn on the map: measured, given to its unit (given, or the unit holding
 * the largest share), linked to the patches it overlaps, and then in the same workflow as any patch.
 */
export async function createPatch(db: Db, slug: string, input: CreatePatchInput, actor: WorkflowActor) {
  const subject = subjectOf(actor);
  enforce(mayAttempt(subject, 'patch.create'));
  const source = Object.hasOwn(PATCH_SOURCES, input.source) ? PATCH_SOURCES[input.source] : undefined;
  if (!source || source === 'satellite')
    throw new WeipianError(
      'source_invalid',
      `绘制的图斑来源只能是 例行督察、巡查 或 举报（卫片图斑只能导入部下发的数据）：${input.source}`,
      { field: 'source' },
    );
  const g = await geos();
  const geometry = parseDrawnGeometry(input.geometry, '新图斑');
  assertValidDrawn(g, geometry, '新图斑');
  const areaM2 = ellipsoidalArea(geometry);
  if (areaM2 < TILING_TOLERANCE_M2)
    throw new WeipianError('geometry_invalid', `新图斑的面积小于 ${TILING_TOLERANCE_M2} 平方米`, {
      field: 'geometry',
    });
  const jcbhGiven = input.jcbh?.trim();
  if (jcbhGiven !== undefined && (jcbhGiven === '' || jcbhGiven.length > 64))
    throw new WeipianError('jcbh_invalid', '监测编号不能为空，且不超过 64 个字符', { field: 'jcbh' });
  const bbox = bboxOf(geometry);
  const id = await db.transaction(async (tx) => {
    const [batch] = await tx.query<BatchRow>('SELECT * FROM batches WHERE slug = $1 FOR UPDATE', [slug]);
    if (!batch) throw new WeipianError('batch_not_found', `批次不存在：${slug}`, { slug }, 404);
    let unitCode: string;
    if (input.unitCode) {
      const [u] = await tx.query('SELECT 1 FROM responsible_units WHERE code = $1', [input.unitCode]);
      if (!u)
        throw new WeipianError(
          'unit_not_found',
          `责任单位不存在：${input.unitCode}`,
          { field: 'unitCode' },
          404,
        );
      unitCode = input.unitCode;
    } else {
      let best: { code: string; m2: number } | null = null;
      for (const u of await unitsNear(tx, bbox)) {
        const m2 = overlapM2(g, geometry, decodeWkb(u.boundary));
        if (m2 > (best?.m2 ?? 0)) best = { code: u.code, m2 };
      }
      if (!best)
        throw new WeipianError(
          'unit_required',
          '无法从责任单位界线确定新图斑所属单位，请指定责任单位（unitCode）',
          {
            field: 'unitCode',
          },
        );
      unitCode = best.code;
    }
    let jcbh = jcbhGiven;
    if (jcbh === undefined) {
      // Batch row locked above: numbers are handed out one at a time.
      const prefix = `${SOURCE_PREFIX[source]}${batch.year}`;
      const [{ n }] = (await tx.query<{ n: number }>(
        `SELECT coalesce(max(substr(jcbh, $2)::int), 0) AS n FROM patches
         WHERE batch_id = $1 AND jcbh ~ ('^' || $3 || '[0-9]{4,}$')`,
        [batch.id, prefix.length + 1, prefix],
      )) as [{ n: number }];
      jcbh = `${prefix}${String(n + 1).padStart(4, '0')}`;
    } else {
      const [dup] = await tx.query('SELECT 1 FROM patches WHERE batch_id = $1 AND jcbh = $2', [
        batch.id,
        jcbh,
      ]);
      if (dup)
        throw new WeipianError('jcbh_exists', `批次 ${slug} 中已有监测编号 ${jcbh}`, { field: 'jcbh' }, 409);
    }
    const wkb = encodeWkb(geometry);
    const [row] = await tx.query<{ id: number }>(
      `INSERT INTO patches (batch_id, source, jcbh, area_unit, bz, attributes, src_crs, geom_source, geom, area_m2,
         minx, miny, maxx, maxy, unit_code)
       VALUES ($1, $2, $3, 'm2', $4, '{}'::json, 'EPSG:4490', $5, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
      [
        batch.id,
        source,
        jcbh,
        input.note?.trim() || null,
        wkb,
        areaM2,
        bbox.minx,
        bbox.miny,
        bbox.maxx,
        bbox.maxy,
        unitCode,
      ],
    );
    const patchId = row!.id;
    const links = await linkPatch(tx, g, patchId, actor);
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'patch.create',
      recordType: 'patch',
      recordId: patchId,
      reason: input.reason?.trim() || null,
      after: { batch: slug, jcbh, source, unitCode, areaM2, links },
    });
    return patchId;
  });
  const row = (await findWorkflow(db, id))!;
  return presentWorkflow(db, row, actor, {});
}

/**
 * Links one non-satellite patch to the patches counted before it that it overlaps, and sets the
 * counted area of its current parts. Returns the links.
 */
async function linkPatch(tx: Queryable, g: Geos, patchId: number, actor: WorkflowActor) {
  const p = await patchGeomRow(tx, patchId);
  if (p.source === 'satellite' || p.geometry_kind === 'point') {
    await updateWorkflowQuiet(tx, patchId);
    return [];
  }
  const geom = patchGeometry(p);
  const links: { linkedPatchId: number; overlapM2: number }[] = [];
  const geoms: Areal[] = [];
  for (const c of await countedBeforeNear(tx, p.batch_id, patchId, p)) {
    const cg = patchGeometry(c);
    const m2 = overlapM2(g, geom, cg);
    if (m2 >= TILING_TOLERANCE_M2) {
      links.push({ linkedPatchId: c.id, overlapM2: m2 });
      geoms.push(cg);
    }
  }
  await replaceLinks(tx, patchId, links, actor.username);
  for (const part of await currentParts(tx, patchId))
    await setCountedArea(
      tx,
      part.id,
      geoms.length ? countedArea(g, decodeWkb(part.geom), geoms) : part.area_m2,
    );
  await updateWorkflowQuiet(tx, patchId);
  return links;
}

/** Marks the links as checked without moving the version (linking is derived data, not an edit). */
async function updateWorkflowQuiet(tx: Queryable, patchId: number) {
  await tx.query('UPDATE patch_workflow SET links_checked_at = now() WHERE patch_id = $1', [patchId]);
}

/**
 * (Re)links every 例行督察/巡查/举报 patch of the batch to the patches it overlaps (run after an import
 * of such patches, or of satellite patches after them). One event per patch whose links changed.
 */
export async function refreshLinks(db: Db, slug: string, actor: WorkflowActor) {
  enforce(mayAttempt(subjectOf(actor), 'patch.create'));
  const g = await geos();
  return db.transaction(async (tx) => {
    const batch = await batchOr404(tx, slug);
    const ids = await tx.query<{ id: number; jcbh: string }>(
      "SELECT id, jcbh FROM patches WHERE batch_id = $1 AND source <> 'satellite' ORDER BY id",
      [batch.id],
    );
    const changed: {
      patchId: number;
      jcbh: string;
      links: { linkedPatchId: number; overlapM2: number }[];
    }[] = [];
    let linked = 0;
    for (const { id, jcbh } of ids) {
      await lockWorkflow(tx, id);
      const before = (await linksOf(tx, id)).map((l) => ({
        linkedPatchId: l.linked_patch_id,
        overlapM2: l.overlap_m2,
      }));
      const after = await linkPatch(tx, g, id, actor);
      if (after.length) linked++;
      const key = (ls: { linkedPatchId: number }[]) => ls.map((l) => l.linkedPatchId).join(',');
      if (key(before) !== key(after)) {
        changed.push({ patchId: id, jcbh, links: after });
        await appendEvent(tx, {
          ...eventActor(actor),
          action: 'patch.link',
          recordType: 'patch',
          recordId: id,
          before: { links: before },
          after: { links: after },
        });
      }
    }
    return { batch: slug, checked: ids.length, linked, changed };
  });
}

// ---------------------------------------------------------------------------------------------
// Report rounds

interface SnapshotPatch {
  id: number;
  jcbh: string;
  source: string;
  unitCode: string | null;
  state: WorkflowState;
  reportedNow: boolean;
  areaM2: number;
  parts: {
    no: number;
    areaM2: number;
    countedAreaM2: number;
    verdict: string;
    subtype: string | null;
    fields: Record<string, unknown>;
    handling: string | null;
    handlingReasonCode: string | null;
    handlingReason: string | null;
    rulePackVersion: string | null;
  }[];
}

/**
 * Closes a report round (初报 / 更新报 / 终报): every patch the bureau has passed is reported (its
 * judgement locked), and a snapshot of the whole batch — each patch's state and parts, and the
 * figures — is frozen with its SHA-256, which also goes into the event log.
 */
export async function closeRound(
  db: Db,
  slug: string,
  input: { round: string; reason?: string },
  actor: WorkflowActor,
) {
  enforce(mayAttempt(subjectOf(actor), 'round.close'));
  return db.transaction(async (tx) => {
    const [batch] = await tx.query<BatchRow & { version: number }>(
      'SELECT * FROM batches WHERE slug = $1 FOR UPDATE',
      [slug],
    );
    if (!batch) throw new WeipianError('batch_not_found', `批次不存在：${slug}`, { slug }, 404);
    const pack = packOf(batch);
    const def = pack.reportRounds.find((r) => r.id === input.round);
    if (!def)
      throw new WeipianError(
        'round_invalid',
        `报送轮次无效：${input.round}（可选：${pack.reportRounds.map((r) => `${r.id}（${r.label}）`).join('、')}）`,
        { field: 'round' },
      );
    const closed = await listRoundRows(tx, batch.id);
    const has = (k: string) => closed.some((r) => r.kind === k);
    const refuse = (msg: string) =>
      new WeipianError('round_not_allowed', msg, { round: def.id, closed: closed.map((r) => r.label) }, 409);
    if (has('final'))
      throw refuse(
        `${pack.reportRounds.find((r) => r.id === 'final')?.label ?? '终报'}已关闭，本批次不再报送`,
      );
    if (def.id === 'initial' && has('initial'))
      throw refuse(`${def.label}已关闭，不能再次关闭；后续请关闭更新报或终报`);
    if (def.id !== 'initial' && !has('initial'))
      throw refuse(
        `尚未关闭${pack.reportRounds.find((r) => r.id === 'initial')?.label ?? '初报'}，不能关闭${def.label}`,
      );
    const rows = await lockBatchWorkflows(tx, batch.id);
    for (const r of rows)
      if (r.state === 'passed')
        enforce(
          authorizeTransition(subjectOf(actor), actor.username, 'report', {
            unitCode: r.unit_code,
            state: r.state,
          }),
        );
    const parts = await currentPartsOfBatch(tx, batch.id);
    const partsOf = new Map<number, typeof parts>();
    for (const p of parts) partsOf.set(p.patch_id, [...(partsOf.get(p.patch_id) ?? []), p]);
    const areas = new Map(
      (
        await tx.query<{ id: number; area_m2: number }>(
          'SELECT id, area_m2 FROM patches WHERE batch_id = $1',
          [batch.id],
        )
      ).map((r) => [r.id, r.area_m2]),
    );
    const patches: SnapshotPatch[] = rows.map((r) => ({
      id: r.patch_id,
      jcbh: r.jcbh,
      source: r.source,
      unitCode: r.unit_code,
      state: r.state === 'passed' ? 'reported' : r.state,
      reportedNow: r.state === 'passed',
      areaM2: areas.get(r.patch_id) ?? r.patch_area_m2,
      parts: (partsOf.get(r.patch_id) ?? []).map((p) => ({
        no: p.no,
        areaM2: p.area_m2,
        countedAreaM2: p.counted_area_m2,
        verdict: p.verdict,
        subtype: p.subtype,
        fields: p.fields,
        handling: p.handling,
        handlingReasonCode: p.handling_reason_code,
        handlingReason: p.handling_reason,
        rulePackVersion: p.rule_pack_version,
      })),
    }));
    const figures = computeFigures(
      patches.map((p) => ({
        unitCode: p.unitCode,
        state: p.state,
        parts: p.parts.map((x) => ({ verdict: x.verdict as never, countedAreaM2: x.countedAreaM2 })),
      })),
    );
    const seq = closed.length + 1;
    const updates = closed.filter((r) => r.kind === 'update').length;
    const label = def.id === 'update' ? `${def.label}（第 ${updates + 1} 次）` : def.label;
    const reason = input.reason?.trim() || null;
    const reported = patches.filter((p) => p.reportedNow);
    const snapshot = {
      format: 'weipian-round/1',
      batch: {
        slug: batch.slug,
        name: batch.name,
        kind: batch.kind,
        year: batch.year,
        rulePack: { id: pack.id, version: pack.version, digest: pack.digest },
      },
      round: { kind: def.id, seq, label },
      milestones: batch.milestones,
      patches,
      figures,
    };
    const hash = digestOf(snapshot);
    const round = await insertRound(tx, {
      batchId: batch.id,
      kind: def.id,
      seq,
      label,
      reason,
      closedBy: actor.username,
      reportedCount: reported.length,
      snapshot,
      figures,
      hash,
    });
    for (const p of reported) {
      const before = rows.find((r) => r.patch_id === p.id)!;
      const after = await updateWorkflow(
        tx,
        p.id,
        { state: 'reported', reported_round_id: round.id },
        actor.username,
      );
      await appendEvent(tx, {
        ...eventActor(actor),
        action: 'patch.report',
        recordType: 'patch',
        recordId: p.id,
        before: { state: before.state, version: before.version },
        after: { state: after.state, version: after.version, round: { seq, label } },
      });
    }
    const notReported: Partial<Record<WorkflowState, number>> = {};
    for (const p of patches)
      if (!p.reportedNow && p.state !== 'reported' && p.state !== 'upper_passed')
        notReported[p.state] = (notReported[p.state] ?? 0) + 1;
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'round.close',
      recordType: 'batch',
      recordId: batch.slug,
      reason,
      after: {
        round: { kind: def.id, seq, label },
        hash,
        reported: reported.length,
        notReported,
        total: figures.total,
      },
    });
    return presentRound(round, false);
  });
}

function presentRound(r: RoundRow | Omit<RoundRow, 'snapshot'>, withSnapshot: boolean) {
  return {
    seq: r.seq,
    kind: r.kind,
    label: r.label,
    reason: r.reason,
    closedAt: r.closed_at,
    closedBy: r.closed_by,
    reportedCount: r.reported_count,
    hash: r.hash,
    figures: r.figures as unknown as Figures,
    ...(withSnapshot && 'snapshot' in r ? { snapshot: r.snapshot } : {}),
  };
}

export async function listRounds(db: Db, slug: string, actor: WorkflowActor) {
  enforce(mayAttempt(subjectOf(actor), 'round.read'));
  const batch = await batchOr404(db, slug);
  return (await listRoundRows(db, batch.id)).map((r) => presentRound(r, false));
}

/** One round with its snapshot, the hash recomputed, and the hash the event log recorded. */
export async function getRound(db: Db, slug: string, seq: number, actor: WorkflowActor) {
  enforce(mayAttempt(subjectOf(actor), 'round.read'));
  const batch = await batchOr404(db, slug);
  const r = await findRound(db, batch.id, seq);
  if (!r) throw new WeipianError('round_not_found', `批次 ${slug} 没有第 ${seq} 轮报送`, { seq }, 404);
  const recomputed = digestOf(r.snapshot);
  const [ev] = await db.query<{ hash: string | null }>(
    `SELECT after->>'hash' AS hash FROM events
     WHERE record_type = 'batch' AND record_id = $1 AND action = 'round.close' AND (after->'round'->>'seq')::int = $2
     ORDER BY seq LIMIT 1`,
    [slug, seq],
  );
  return {
    ...presentRound(r, true),
    verification: {
      recomputedHash: recomputed,
      eventHash: ev?.hash ?? null,
      ok: recomputed === r.hash && ev?.hash === r.hash,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Upper-level results

export interface UpperResultInput {
  version?: number;
  result: 'passed' | 'returned';
  reason?: string | null;
  dueDate?: string | null;
}

async function applyUpperResult(
  tx: Queryable,
  w: PatchWorkflowRow,
  input: UpperResultInput,
  actor: WorkflowActor,
  now: Date,
  source: { kind: 'manual' | 'excel'; file?: string; sha256?: string; row?: number },
) {
  const to: WorkflowState = input.result === 'passed' ? 'upper_passed' : 'upper_returned';
  const reason = input.reason?.trim() || null;
  await insertUpperResult(tx, {
    patchId: w.patch_id,
    roundId: w.reported_round_id,
    result: input.result,
    reason,
    dueDate: input.dueDate ?? null,
    source: source.kind,
    sourceFile: source.file,
    sourceSha256: source.sha256,
    sourceRow: source.row,
    recordedBy: actor.username,
  });
  const after = await updateWorkflow(
    tx,
    w.patch_id,
    input.result === 'returned'
      ? {
          state: to,
          return_source: 'upper',
          return_reason: reason,
          return_due_date: input.dueDate ?? null,
          returned_by: actor.username,
          returned_at: now,
        }
      : { state: to },
    actor.username,
  );
  await appendEvent(tx, {
    ...eventActor(actor),
    action: input.result === 'passed' ? 'patch.upper_pass' : 'patch.upper_return',
    recordType: 'patch',
    recordId: w.patch_id,
    reason,
    before: { state: w.state, version: w.version },
    after: {
      state: to,
      version: after.version,
      dueDate: input.dueDate ?? null,
      source: source.kind,
      ...(source.file ? { file: source.file, sha256: source.sha256, row: source.row } : {}),
    },
  });
}

function checkUpperInput(input: UpperResultInput, now: Date, timeZone: string): UpperResultInput {
  if (input.result !== 'passed' && input.result !== 'returned')
    throw new WeipianError(
      'upper_result_invalid',
      `上级审核结果只能是 passed（通过）或 returned（退回）：${String(input.result)}`,
      {
        field: 'result',
      },
    );
  const reason =
    input.result === 'returned' ? checkReason(input.reason, '上级退回') : input.reason?.trim() || null;
  const dueDate =
    input.dueDate === undefined || input.dueDate === null || input.dueDate === ''
      ? null
      : checkDueDate(input.dueDate, now, timeZone);
  if (input.result === 'passed' && dueDate !== null)
    throw new WeipianError('upper_result_invalid', '上级通过的图斑不需要截止日期', { field: 'dueDate' });
  return { ...input, reason, dueDate };
}

/** Records an upper level's result for one reported patch (通过, or 退回 with a reason). */
export async function recordUpperResult(
  db: Db,
  patchId: number,
  input: UpperResultInput,
  actor: WorkflowActor,
  opts: { now?: Date } = {},
): Promise<PatchWorkflowView> {
  const now = opts.now ?? new Date();
  const t: Transition = input.result === 'passed' ? 'upper_pass' : 'upper_return';
  const row = await db.transaction(async (tx) => {
    const w = await open(tx, patchId, actor, t, input.version);
    const pack = packOf(await batchById(tx, w.batch_id));
    const checked = checkUpperInput(input, now, pack.calendar.timeZone);
    await applyUpperResult(tx, w, checked, actor, now, { kind: 'manual' });
    return (await findWorkflow(tx, patchId))!;
  });
  return presentWorkflow(db, row, actor, { now });
}

const HEADERS = {
  jcbh: ['监测编号', '图斑编号', '监测图斑编号', 'jcbh'],
  result: ['审核结果', '上级审核结果', '核查结果', '结果'],
  reason: ['退回原因', '审核意见', '退回意见', '原因', '意见'],
  dueDate: ['整改期限', '截止日期', '完成时限', '期限'],
} as const;

const RESULT_WORDS: Record<string, 'passed' | 'returned'> = {
  通过: 'passed',
  审核通过: 'passed',
  合格: 'passed',
  passed: 'passed',
  退回: 'returned',
  不通过: 'returned',
  审核不通过: 'returned',
  驳回: 'returned',
  不合格: 'returned',
  returned: 'returned',
};

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    const o = v as { richText?: { text: string }[]; text?: unknown; result?: unknown };
    if (Array.isArray(o.richText))
      return o.richText
        .map((t) => t.text)
        .join('')
        .trim();
    if (o.text !== undefined) return cellText(o.text);
    if (o.result !== undefined) return cellText(o.result);
    return '';
  }
  return String(v).trim();
}

const norm = (s: string) => s.replace(/\s+/g, '').toLowerCase();

/** Dates in a sheet: YYYY-MM-DD, YYYY/M/D, YYYY.M.D or YYYY年M月D日. */
function parseSheetDate(s: string): string | null {
  const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(s);
  if (!m) return null;
  const d = `${m[1]}-${m[2]!.padStart(2, '0')}-${m[3]!.padStart(2, '0')}`;
  return isCalendarDate(d) ? d : null;
}

export interface UpperImportRow {
  row: number;
  jcbh: string;
  result: 'passed' | 'returned';
  reason: string | null;
  dueDate: string | null;
}

/** Reads an upper level's result list (Excel): 监测编号, 审核结果 (通过/退回), 退回原因, optional 整改期限. */
export async function readUpperResultSheet(
  file: string,
  sheet?: string,
): Promise<{
  sheet: string;
  rows: UpperImportRow[];
  problems: { row: number; jcbh: string | null; message: string }[];
}> {
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.readFile(file);
  } catch (e) {
    throw new WeipianError(
      'upper_import_unreadable',
      `无法读取 Excel 文件 ${path.basename(file)}：${(e as Error).message}`,
    );
  }
  const ws = sheet ? wb.getWorksheet(sheet) : wb.worksheets[0];
  if (!ws)
    throw new WeipianError(
      'upper_import_unreadable',
      sheet ? `工作簿中没有工作表“${sheet}”` : '工作簿中没有工作表',
    );
  let headerRow = -1;
  const col: Partial<Record<keyof typeof HEADERS, number>> = {};
  for (let r = 1; r <= Math.min(ws.rowCount, 10) && headerRow < 0; r++) {
    const values = ws.getRow(r).values as unknown[];
    const found: Partial<Record<keyof typeof HEADERS, number>> = {};
    for (const key of Object.keys(HEADERS) as (keyof typeof HEADERS)[])
      for (const name of HEADERS[key]) {
        const i = values.findIndex((v) => norm(cellText(v)) === norm(name));
        if (i > 0 && found[key] === undefined) found[key] = i;
      }
    if (found.jcbh !== undefined && found.result !== undefined) {
      headerRow = r;
      Object.assign(col, found);
    }
  }
  if (headerRow < 0)
    throw new WeipianError(
      'upper_import_header',
      `工作表“${ws.name}”的前 10 行中找不到表头：需要“监测编号”和“审核结果”两列（可选“退回原因”“整改期限”）`,
      { expected: HEADERS },
    );
  const rows: UpperImportRow[] = [];
  const problems: { row: number; jcbh: string | null; message: string }[] = [];
  for (let r = headerRow + 1; r <= ws.rowCount; r++) {
    const values = ws.getRow(r).values as unknown[];
    const get = (k: keyof typeof HEADERS) => (col[k] === undefined ? '' : cellText(values[col[k]!]));
    const jcbh = get('jcbh');
    const resultText = get('result');
    if (jcbh === '' && resultText === '') continue;
    if (jcbh === '') {
      problems.push({ row: r, jcbh: null, message: '监测编号为空' });
      continue;
    }
    const word = norm(resultText);
    const result = Object.hasOwn(RESULT_WORDS, word) ? RESULT_WORDS[word] : undefined;
    if (!result) {
      problems.push({ row: r, jcbh, message: `审核结果“${resultText}”无法识别（应为 通过 或 退回）` });
      continue;
    }
    const reason = get('reason') || null;
    const dueText = get('dueDate');
    const dueDate = dueText === '' ? null : parseSheetDate(dueText);
    if (dueText !== '' && dueDate === null) {
      problems.push({ row: r, jcbh, message: `整改期限“${dueText}”不是有效日期` });
      continue;
    }
    rows.push({ row: r, jcbh, result, reason, dueDate });
  }
  return { sheet: ws.name, rows, problems };
}

/**
 * Imports an upper level's result list for a batch. All or nothing: a row that cannot be applied
 * (unknown 监测编号, patch not reported, 退回 without a reason, a patch twice) refuses the whole file,
 * with every problem listed by row.
 */
export async function importUpperResults(
  db: Db,
  slug: string,
  file: string,
  actor: WorkflowActor,
  opts: { now?: Date; sheet?: string; fileName?: string } = {},
) {
  const subject = subjectOf(actor);
  enforce(mayAttempt(subject, 'upper.record'));
  const now = opts.now ?? new Date();
  const bytes = await readFile(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const fileName = opts.fileName ?? path.basename(file);
  const sheet = await readUpperResultSheet(file, opts.sheet);
  return db.transaction(async (tx) => {
    const batch = await batchOr404(tx, slug);
    const pack = packOf(batch);
    const problems = [...sheet.problems];
    const ids = await tx.query<{ id: number; jcbh: string }>(
      'SELECT id, jcbh FROM patches WHERE batch_id = $1 AND jcbh = ANY($2::text[])',
      [batch.id, sheet.rows.map((r) => r.jcbh)],
    );
    const idOf = new Map(ids.map((r) => [r.jcbh, r.id]));
    const locked = new Map(
      (
        await lockWorkflows(
          tx,
          ids.map((r) => r.id),
        )
      ).map((r) => [r.patch_id, r]),
    );
    const seen = new Map<string, number>();
    const apply: { w: PatchWorkflowRow; input: UpperResultInput; row: number }[] = [];
    for (const r of sheet.rows) {
      const prev = seen.get(r.jcbh);
      if (prev !== undefined) {
        problems.push({ row: r.row, jcbh: r.jcbh, message: `与第 ${prev} 行重复` });
        continue;
      }
      seen.set(r.jcbh, r.row);
      const id = idOf.get(r.jcbh);
      const w = id === undefined ? undefined : locked.get(id);
      if (!w) {
        problems.push({ row: r.row, jcbh: r.jcbh, message: `批次 ${slug} 中没有这个监测编号` });
        continue;
      }
      const d = authorizeTransition(
        subject,
        actor.username,
        r.result === 'passed' ? 'upper_pass' : 'upper_return',
        {
          unitCode: w.unit_code,
          state: w.state,
        },
      );
      if (!d.allow) {
        problems.push({ row: r.row, jcbh: r.jcbh, message: d.message });
        continue;
      }
      try {
        apply.push({ w, input: checkUpperInput(r, now, pack.calendar.timeZone), row: r.row });
      } catch (e) {
        if (!(e instanceof WeipianError)) throw e;
        problems.push({ row: r.row, jcbh: r.jcbh, message: e.message });
      }
    }
    if (problems.length) {
      problems.sort((a, b) => a.row - b.row);
      const first = problems[0]!;
      throw new WeipianError(
        'upper_import_refused',
        `上级审核结果未导入（全部或全不）：${problems.length} 行有问题，第一处：第 ${first.row} 行${first.jcbh ? `（${first.jcbh}）` : ''}${first.message}`,
        { problems, file: fileName },
      );
    }
    if (apply.length === 0) throw new WeipianError('upper_import_empty', `${fileName} 中没有审核结果`);
    for (const a of apply)
      await applyUpperResult(tx, a.w, a.input, actor, now, {
        kind: 'excel',
        file: fileName,
        sha256,
        row: a.row,
      });
    const summary = {
      batch: slug,
      file: fileName,
      sha256,
      sheet: sheet.sheet,
      rows: apply.length,
      passed: apply.filter((a) => a.input.result === 'passed').length,
      returned: apply.filter((a) => a.input.result === 'returned').length,
    };
    await appendEvent(tx, {
      ...eventActor(actor),
      action: 'upper.import',
      recordType: 'batch',
      recordId: slug,
      after: summary,
    });
    return summary;
  });
}

// ---------------------------------------------------------------------------------------------
// Progress and deadlines

export interface StatusOptions {
  now?: Date;
  soonDays?: number;
  /** Only this unit (a unit officer always sees only their own). */
  unitCode?: string;
}

export interface DeadlineItem {
  patchId: number;
  jcbh: string;
  unitCode: string | null;
  unitName: string | null;
  state: WorkflowState;
  stateLabel: string;
  dueDate: string;
  dueAt: string;
  source: 'return' | 'round';
  daysOverdue: number;
}

/**
 * A batch's progress: per unit the patches by state and the parts' counted areas by verdict, the
 * next round deadline, and the overdue and due-soon patches per unit.
 */
export async function batchStatus(db: Db, slug: string, actor: WorkflowActor, opts: StatusOptions = {}) {
  const subject = subjectOf(actor);
  enforce(mayAttempt(subject, 'batch.status'));
  const now = opts.now ?? new Date();
  const soonDays = opts.soonDays ?? DEFAULT_SOON_DAYS;
  const batch = await batchOr404(db, slug);
  const pack = packOf(batch);
  const tz = pack.calendar.timeZone;
  const own = unitScope(subject);
  if (own !== null && opts.unitCode !== undefined && opts.unitCode !== own)
    enforce(authorize(subject, 'batch.status', { unitCode: opts.unitCode }));
  const scope = own ?? opts.unitCode;
  const rows = await batchPatchStates(db, batch.id, scope);
  const parts = await currentPartsOfBatch(db, batch.id);
  const partsOf = new Map<number, typeof parts>();
  for (const p of parts) partsOf.set(p.patch_id, [...(partsOf.get(p.patch_id) ?? []), p]);
  const rounds = await listRoundRows(db, batch.id);
  const next = nextRoundDeadline(
    pack.reportRounds,
    rounds.map((r) => r.kind as ReportRoundId).filter((k) => k !== 'update'),
    batch.milestones as MilestoneLike[],
  );
  const figures = computeFigures(
    rows.map((r) => ({
      unitCode: r.unit_code,
      state: r.state,
      parts: (partsOf.get(r.id) ?? []).map((p) => ({ verdict: p.verdict, countedAreaM2: p.counted_area_m2 })),
    })),
  );
  const overdue: DeadlineItem[] = [];
  const dueSoon: DeadlineItem[] = [];
  for (const r of rows) {
    const d = patchDeadline({ state: r.state, returnDueDate: r.return_due_date }, next);
    if (!d) continue;
    const status = deadlineStatus(d.date, now, tz, soonDays);
    if (status === 'open') continue;
    const item: DeadlineItem = {
      patchId: r.id,
      jcbh: r.jcbh,
      unitCode: r.unit_code,
      unitName: r.unit_name,
      state: r.state,
      stateLabel: STATE_INFO[r.state].label,
      dueDate: d.date,
      dueAt: dueInstant(d.date, tz).toISOString(),
      source: d.source,
      daysOverdue: daysOverdue(d.date, now, tz),
    };
    (status === 'overdue' ? overdue : dueSoon).push(item);
  }
  const byDue = (a: DeadlineItem, b: DeadlineItem) =>
    a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : a.jcbh < b.jcbh ? -1 : 1;
  overdue.sort(byDue);
  dueSoon.sort(byDue);
  const names = new Map(rows.map((r) => [r.unit_code, r.unit_name]));
  const latestSatellite = rows
    .filter((r) => r.source === 'satellite')
    .reduce((m, r) => Math.max(m, new Date(r.created_at).getTime()), 0);
  const unlinked = rows.filter(
    (r) =>
      r.source !== 'satellite' &&
      r.geometry_kind === 'polygon' &&
      (r.links_checked_at === null || new Date(r.links_checked_at).getTime() < latestSatellite),
  ).length;
  return {
    batch: { slug: batch.slug, name: batch.name, kind: batch.kind, year: batch.year },
    rulePack: { id: pack.id, version: pack.version },
    now: now.toISOString(),
    timeZone: tz,
    today: localDate(now, tz),
    soonDays,
    scope: scope ?? null,
    nextRound: next
      ? {
          ...next,
          dueAt: dueInstant(next.date, tz).toISOString(),
          status: deadlineStatus(next.date, now, tz, soonDays),
        }
      : null,
    rounds: rounds.map((r) => ({
      seq: r.seq,
      kind: r.kind,
      label: r.label,
      closedAt: r.closed_at,
      reportedCount: r.reported_count,
      hash: r.hash,
    })),
    units: figures.units.map((u) => ({
      ...u,
      unitName: names.get(u.unitCode) ?? null,
      overdue: overdue.filter((o) => o.unitCode === u.unitCode).length,
      dueSoon: dueSoon.filter((o) => o.unitCode === u.unitCode).length,
    })),
    total: { ...figures.total, overdue: overdue.length, dueSoon: dueSoon.length },
    overdue,
    dueSoon,
    /** 例行督察/巡查/举报 patches not linked since the last satellite import: run the link step. */
    unlinkedSources: unlinked,
  };
}

// ---------------------------------------------------------------------------------------------
// The CLI's operations (operator commands: run in-process, or through `weipian serve` once listed
// in src/services/operator.ts). Patches are named by batch and 监测编号; the operator acts on the
// current version.

async function patchIdOf(db: Db, slug: string, jcbh: string): Promise<number> {
  const batch = await batchOr404(db, slug);
  const [p] = await db.query<{ id: number }>('SELECT id FROM patches WHERE batch_id = $1 AND jcbh = $2', [
    batch.id,
    jcbh,
  ]);
  if (!p)
    throw new WeipianError(
      'patch_not_found',
      `批次 ${slug} 中没有监测编号 ${jcbh}`,
      { batch: slug, jcbh },
      404,
    );
  return p.id;
}

interface OperatorCtx {
  actor: string;
}

export const workflowOperatorCommands = {
  'workflow.status': (
    db: Db,
    a: { batch: string; unit?: string; soonDays?: number; at?: string },
    c: OperatorCtx,
  ) =>
    batchStatus(db, a.batch, operatorActor(c.actor), {
      unitCode: a.unit,
      soonDays: a.soonDays,
      now: a.at ? new Date(a.at) : undefined,
    }),
  'round.close': (db: Db, a: { batch: string; round: string; reason?: string }, c: OperatorCtx) =>
    closeRound(db, a.batch, { round: a.round, reason: a.reason }, operatorActor(c.actor)),
  'round.list': (db: Db, a: { batch: string }, c: OperatorCtx) =>
    listRounds(db, a.batch, operatorActor(c.actor)),
  'round.show': (db: Db, a: { batch: string; seq: number }, c: OperatorCtx) =>
    getRound(db, a.batch, a.seq, operatorActor(c.actor)),
  'upper.import': (db: Db, a: { batch: string; file: string; sheet?: string }, c: OperatorCtx) =>
    importUpperResults(db, a.batch, a.file, operatorActor(c.actor), { sheet: a.sheet }),
  'upper.record': async (
    db: Db,
    a: { batch: string; jcbh: string; result: 'passed' | 'returned'; reason?: string; dueDate?: string },
    c: OperatorCtx,
  ) => {
    const v = await recordUpperResult(
      db,
      await patchIdOf(db, a.batch, a.jcbh),
      { result: a.result, reason: a.reason, dueDate: a.dueDate },
      operatorActor(c.actor),
    );
    return {
      patch: v.patch,
      workflow: { state: v.workflow.state, label: v.workflow.label, version: v.workflow.version },
    };
  },
  'patch.reassign': async (
    db: Db,
    a: { batch: string; jcbh: string; unit: string; reason: string },
    c: OperatorCtx,
  ) => {
    const v = await reassignPatch(
      db,
      await patchIdOf(db, a.batch, a.jcbh),
      { unitCode: a.unit, reason: a.reason },
      operatorActor(c.actor),
    );
    return {
      patch: v.patch,
      workflow: { state: v.workflow.state, label: v.workflow.label, version: v.workflow.version },
    };
  },
  'patch.link': (db: Db, a: { batch: string }, c: OperatorCtx) =>
    refreshLinks(db, a.batch, operatorActor(c.actor)),
} as const;
