// Query module for the patch workflow: the per-patch workflow row (state, version, last return,
// submission), the parts with their judgements, evidence counts per part, review opens, links of
// non-satellite patches, report rounds and upper-level results. SQL only; the rules are in
// src/domain/workflow.ts and src/services/workflow.ts.
import type { Queryable } from '../db.ts';
import { WeipianError } from '../../domain/errors.ts';
import type { WorkflowState, VerdictId } from '../../domain/workflow.ts';
import type { PatchSource } from './patches.ts';

export interface WorkflowRow {
  patch_id: number;
  state: WorkflowState;
  version: number;
  return_source: 'bureau' | 'upper' | null;
  return_reason: string | null;
  return_due_date: string | null;
  returned_by: string | null;
  returned_at: Date | null;
  submission_no: number;
  submitted_by: string | null;
  submitted_at: Date | null;
  reviewed_by: string | null;
  reviewed_at: Date | null;
  reported_round_id: number | null;
  links_checked_at: Date | null;
  updated_at: Date;
  updated_by: string | null;
}

/** The workflow row with what the rules need of its patch. */
export interface PatchWorkflowRow extends WorkflowRow {
  batch_id: number;
  jcbh: string;
  source: PatchSource;
  unit_code: string | null;
  unit_source: string;
  geometry_kind: 'polygon' | 'point';
  patch_area_m2: number;
}

const WITH_PATCH = `SELECT w.*, p.batch_id, p.jcbh, p.source, p.unit_code, p.unit_source, p.geometry_kind,
  p.area_m2 AS patch_area_m2
  FROM patch_workflow w JOIN patches p ON p.id = w.patch_id`;

export async function findWorkflow(q: Queryable, patchId: number): Promise<PatchWorkflowRow | undefined> {
  return (await q.query<PatchWorkflowRow>(`${WITH_PATCH} WHERE w.patch_id = $1`, [patchId]))[0];
}

/** The workflow row locked for this transaction (every change of a patch's workflow starts here). */
export async function lockWorkflow(q: Queryable, patchId: number): Promise<PatchWorkflowRow | undefined> {
  return (
    await q.query<PatchWorkflowRow>(`${WITH_PATCH} WHERE w.patch_id = $1 FOR UPDATE OF w`, [patchId])
  )[0];
}

/** Several workflow rows locked in patch-id order (the order every writer uses: no deadlocks). */
export async function lockWorkflows(q: Queryable, patchIds: readonly number[]): Promise<PatchWorkflowRow[]> {
  return q.query<PatchWorkflowRow>(
    `${WITH_PATCH} WHERE w.patch_id = ANY($1::int[]) ORDER BY w.patch_id FOR UPDATE OF w`,
    [patchIds],
  );
}

/** Every workflow row of a batch, locked (a report round freezes them all). */
export async function lockBatchWorkflows(q: Queryable, batchId: number): Promise<PatchWorkflowRow[]> {
  return q.query<PatchWorkflowRow>(
    `${WITH_PATCH} WHERE p.batch_id = $1 ORDER BY w.patch_id FOR UPDATE OF w`,
    [batchId],
  );
}

/** 409 version_conflict (the shape of store/versioned.ts) when the editor read an older version. */
export function checkVersion(row: WorkflowRow, expected: number): void {
  if (row.version !== expected)
    throw new WeipianError(
      'version_conflict',
      '记录已被他人修改，请刷新后重试',
      {
        expectedVersion: expected,
        currentVersion: row.version,
        current: { patchId: row.patch_id, state: row.state, version: row.version },
      },
      409,
    );
}

export interface WorkflowChanges {
  state?: WorkflowState;
  return_source?: 'bureau' | 'upper' | null;
  return_reason?: string | null;
  return_due_date?: string | null;
  returned_by?: string | null;
  returned_at?: Date | null;
  submission_no?: number;
  submitted_by?: string | null;
  submitted_at?: Date | null;
  reviewed_by?: string | null;
  reviewed_at?: Date | null;
  reported_round_id?: number | null;
  links_checked_at?: Date | null;
}

/** Applies changes and bumps the version (the row must be locked by the caller). */
export async function updateWorkflow(
  q: Queryable,
  patchId: number,
  changes: WorkflowChanges,
  actor: string,
): Promise<WorkflowRow> {
  const cols = Object.keys(changes).filter((k) => (changes as Record<string, unknown>)[k] !== undefined);
  const sets = cols.map((c, i) => `${c} = $${i + 3}`);
  sets.push('version = version + 1', 'updated_at = now()', 'updated_by = $2');
  const rows = await q.query<WorkflowRow>(
    `UPDATE patch_workflow SET ${sets.join(', ')} WHERE patch_id = $1 RETURNING *`,
    [patchId, actor, ...cols.map((c) => (changes as Record<string, unknown>)[c])],
  );
  return rows[0]!;
}

// ---------------------------------------------------------------------------------------------
// Parts

export interface PartRow {
  id: number;
  patch_id: number;
  no: number;
  origin: 'whole' | 'drawn' | 'rest' | 'approved' | 'unapproved' | 'merged';
  geometry_kind: 'polygon' | 'point';
  geom: Uint8Array;
  area_m2: number;
  counted_area_m2: number;
  minx: number;
  miny: number;
  maxx: number;
  maxy: number;
  verdict: VerdictId;
  subtype: string | null;
  fields: Record<string, string | number | boolean>;
  handling: 'file_case' | 'handle_without_case' | 'should_file_not_filed' | 'no_action' | null;
  handling_reason_code: string | null;
  handling_reason: string | null;
  rule_pack_id: string | null;
  rule_pack_version: string | null;
  judged_by: string | null;
  judged_at: Date | null;
  created_at: Date;
  created_by: string;
  retired_at: Date | null;
  retired_by: string | null;
}

export async function currentParts(q: Queryable, patchId: number): Promise<PartRow[]> {
  return q.query<PartRow>(
    'SELECT * FROM patch_parts WHERE patch_id = $1 AND retired_at IS NULL ORDER BY no',
    [patchId],
  );
}

/** Current parts of many patches (no geometry), for figures and snapshots. */
export type PartSummaryRow = Omit<PartRow, 'geom'>;

export async function currentPartsOfBatch(q: Queryable, batchId: number): Promise<PartSummaryRow[]> {
  return q.query<PartSummaryRow>(
    `SELECT pp.id, pp.patch_id, pp.no, pp.origin, pp.geometry_kind, pp.area_m2, pp.counted_area_m2, pp.minx,
       pp.miny, pp.maxx, pp.maxy, pp.verdict, pp.subtype, pp.fields, pp.handling, pp.handling_reason_code,
       pp.handling_reason, pp.rule_pack_id, pp.rule_pack_version, pp.judged_by, pp.judged_at, pp.created_at,
       pp.created_by, pp.retired_at, pp.retired_by
     FROM patch_parts pp JOIN patches p ON p.id = pp.patch_id
     WHERE p.batch_id = $1 AND pp.retired_at IS NULL ORDER BY pp.patch_id, pp.no`,
    [batchId],
  );
}

export interface NewPart {
  patchId: number;
  no: number;
  origin: PartRow['origin'];
  geometryKind: 'polygon' | 'point';
  geom: Uint8Array;
  areaM2: number;
  countedAreaM2: number;
  bbox: { minx: number; miny: number; maxx: number; maxy: number };
  createdBy: string;
  judgement?: PartJudgement;
}

export interface PartJudgement {
  verdict: VerdictId;
  subtype: string | null;
  fields: Record<string, string | number | boolean>;
  handling: PartRow['handling'];
  handlingReasonCode: string | null;
  handlingReason: string | null;
  rulePackId: string | null;
  rulePackVersion: string | null;
  judgedBy: string | null;
  judgedAt: Date | null;
}

export async function insertPart(q: Queryable, p: NewPart): Promise<PartRow> {
  const j = p.judgement;
  const rows = await q.query<PartRow>(
    `INSERT INTO patch_parts (patch_id, no, origin, geometry_kind, geom, area_m2, counted_area_m2, minx, miny,
       maxx, maxy, created_by, verdict, subtype, fields, handling, handling_reason_code, handling_reason,
       rule_pack_id, rule_pack_version, judged_by, judged_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16, $17, $18, $19, $20, $21,
       $22) RETURNING *`,
    [
      p.patchId,
      p.no,
      p.origin,
      p.geometryKind,
      p.geom,
      p.areaM2,
      p.countedAreaM2,
      p.bbox.minx,
      p.bbox.miny,
      p.bbox.maxx,
      p.bbox.maxy,
      p.createdBy,
      j?.verdict ?? 'undetermined',
      j?.subtype ?? null,
      JSON.stringify(j?.fields ?? {}),
      j?.handling ?? null,
      j?.handlingReasonCode ?? null,
      j?.handlingReason ?? null,
      j?.rulePackId ?? null,
      j?.rulePackVersion ?? null,
      j?.judgedBy ?? null,
      j?.judgedAt ?? null,
    ],
  );
  return rows[0]!;
}

export async function retireParts(q: Queryable, partIds: readonly number[], actor: string): Promise<void> {
  await q.query(
    'UPDATE patch_parts SET retired_at = now(), retired_by = $2 WHERE id = ANY($1::int[]) AND retired_at IS NULL',
    [partIds, actor],
  );
}

export async function setPartJudgement(q: Queryable, partId: number, j: PartJudgement): Promise<PartRow> {
  const rows = await q.query<PartRow>(
    `UPDATE patch_parts SET verdict = $2, subtype = $3, fields = $4::jsonb, handling = $5, handling_reason_code = $6,
       handling_reason = $7, rule_pack_id = $8, rule_pack_version = $9, judged_by = $10, judged_at = $11
     WHERE id = $1 RETURNING *`,
    [
      partId,
      j.verdict,
      j.subtype,
      JSON.stringify(j.fields),
      j.handling,
      j.handlingReasonCode,
      j.handlingReason,
      j.rulePackId,
      j.rulePackVersion,
      j.judgedBy,
      j.judgedAt,
    ],
  );
  return rows[0]!;
}

export async function setPartHandling(
  q: Queryable,
  partId: number,
  h: { mode: PartRow['handling']; reasonCode: string | null; reason: string | null },
): Promise<PartRow> {
  const rows = await q.query<PartRow>(
    `UPDATE patch_parts SET handling = $2, handling_reason_code = $3, handling_reason = $4 WHERE id = $1 RETURNING *`,
    [partId, h.mode, h.reasonCode, h.reason],
  );
  return rows[0]!;
}

export async function setCountedArea(q: Queryable, partId: number, m2: number): Promise<void> {
  await q.query('UPDATE patch_parts SET counted_area_m2 = $2 WHERE id = $1', [partId, m2]);
}

// ---------------------------------------------------------------------------------------------
// Evidence (table of the evidence module, migration 008): counted, never changed here.

export interface EvidenceCountRow {
  part_id: number | null;
  part_current: boolean | null;
  kind: 'photo' | 'document';
  doc_type: string | null;
  n: number;
}

/** Current (not superseded) evidence of a patch, grouped by the part it is attached to. */
export async function evidenceCounts(q: Queryable, patchId: number): Promise<EvidenceCountRow[]> {
  return q.query<EvidenceCountRow>(
    `SELECT e.part_id, (pp.retired_at IS NULL) AS part_current, e.kind, e.doc_type, count(*)::int AS n
     FROM evidence_items e LEFT JOIN patch_parts pp ON pp.id = e.part_id
     WHERE e.patch_id = $1 AND e.superseded_by IS NULL
     GROUP BY e.part_id, pp.retired_at, e.kind, e.doc_type`,
    [patchId],
  );
}

// ---------------------------------------------------------------------------------------------
// Review opens (bulk pass takes only submissions the reviewer has opened)

export async function recordOpen(q: Queryable, patchId: number, username: string, submissionNo: number) {
  await q.query(
    `INSERT INTO review_opens (patch_id, username, submission_no) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING`,
    [patchId, username, submissionNo],
  );
}

export async function openedSubmissions(
  q: Queryable,
  username: string,
  pairs: readonly { patchId: number; submissionNo: number }[],
): Promise<Set<number>> {
  if (pairs.length === 0) return new Set();
  const rows = await q.query<{ patch_id: number }>(
    `SELECT o.patch_id FROM review_opens o
     JOIN unnest($2::int[], $3::int[]) AS x(patch_id, submission_no)
       ON x.patch_id = o.patch_id AND x.submission_no = o.submission_no
     WHERE o.username = $1`,
    [username, pairs.map((p) => p.patchId), pairs.map((p) => p.submissionNo)],
  );
  return new Set(rows.map((r) => r.patch_id));
}

// ---------------------------------------------------------------------------------------------
// Analysis results (the lead's table, migration 007), shown beside the judgement

export interface AnalysisBeside {
  prejudgement: string;
  fields: Record<string, string | number | null>;
  detail: { prejudgement?: { missingEvidence?: unknown } & Record<string, unknown> } & Record<
    string,
    unknown
  >;
  stale: boolean;
  stale_reason: string | null;
  computed_at: Date;
  rule_pack_version: string;
}

export async function analysisBeside(q: Queryable, patchId: number): Promise<AnalysisBeside | undefined> {
  return (
    await q.query<AnalysisBeside>(
      `SELECT r.prejudgement, r.fields, r.detail, r.stale, r.stale_reason, r.computed_at, r.rule_pack_version
       FROM patches p LEFT JOIN analysis_results r ON r.patch_id = p.id
       WHERE p.id = $1 AND r.patch_id IS NOT NULL`,
      [patchId],
    )
  )[0];
}

// ---------------------------------------------------------------------------------------------
// Links of 例行督察/巡查/举报 patches

export interface LinkRow {
  patch_id: number;
  linked_patch_id: number;
  overlap_m2: number;
  linked_at: Date;
  linked_by: string;
  linked_jcbh: string;
  linked_source: PatchSource;
}

export async function linksOf(q: Queryable, patchId: number): Promise<LinkRow[]> {
  return q.query<LinkRow>(
    `SELECT l.*, p.jcbh AS linked_jcbh, p.source AS linked_source
     FROM patch_links l JOIN patches p ON p.id = l.linked_patch_id
     WHERE l.patch_id = $1 ORDER BY l.linked_patch_id`,
    [patchId],
  );
}

/** Patches linked *to* this one (a satellite patch sees the 巡查 patches that overlap it). */
export async function linkedFrom(q: Queryable, patchId: number): Promise<LinkRow[]> {
  return q.query<LinkRow>(
    `SELECT l.*, p.jcbh AS linked_jcbh, p.source AS linked_source
     FROM patch_links l JOIN patches p ON p.id = l.patch_id
     WHERE l.linked_patch_id = $1 ORDER BY l.patch_id`,
    [patchId],
  );
}

export async function replaceLinks(
  q: Queryable,
  patchId: number,
  links: readonly { linkedPatchId: number; overlapM2: number }[],
  actor: string,
): Promise<void> {
  await q.query('DELETE FROM patch_links WHERE patch_id = $1', [patchId]);
  if (links.length)
    await q.query(
      `INSERT INTO patch_links (patch_id, linked_patch_id, overlap_m2, linked_by)
       SELECT $1, x.id, x.m2, $4 FROM unnest($2::int[], $3::float8[]) AS x(id, m2)`,
      [patchId, links.map((l) => l.linkedPatchId), links.map((l) => l.overlapM2), actor],
    );
}

// ---------------------------------------------------------------------------------------------
// Report rounds and upper-level results

export interface RoundRow {
  id: number;
  batch_id: number;
  kind: 'initial' | 'update' | 'final';
  seq: number;
  label: string;
  reason: string | null;
  closed_at: Date;
  closed_by: string;
  reported_count: number;
  snapshot: Record<string, unknown>;
  figures: Record<string, unknown>;
  hash: string;
}

export type RoundSummaryRow = Omit<RoundRow, 'snapshot'>;

export async function listRoundRows(q: Queryable, batchId: number): Promise<RoundSummaryRow[]> {
  return q.query<RoundSummaryRow>(
    `SELECT id, batch_id, kind, seq, label, reason, closed_at, closed_by, reported_count, figures, hash
     FROM report_rounds WHERE batch_id = $1 ORDER BY seq`,
    [batchId],
  );
}

export async function findRound(q: Queryable, batchId: number, seq: number): Promise<RoundRow | undefined> {
  return (
    await q.query<RoundRow>('SELECT * FROM report_rounds WHERE batch_id = $1 AND seq = $2', [batchId, seq])
  )[0];
}

export async function insertRound(
  q: Queryable,
  r: {
    batchId: number;
    kind: RoundRow['kind'];
    seq: number;
    label: string;
    reason: string | null;
    closedBy: string;
    reportedCount: number;
    snapshot: unknown;
    figures: unknown;
    hash: string;
  },
): Promise<RoundRow> {
  const rows = await q.query<RoundRow>(
    `INSERT INTO report_rounds (batch_id, kind, seq, label, reason, closed_by, reported_count, snapshot, figures, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10) RETURNING *`,
    [
      r.batchId,
      r.kind,
      r.seq,
      r.label,
      r.reason,
      r.closedBy,
      r.reportedCount,
      JSON.stringify(r.snapshot),
      JSON.stringify(r.figures),
      r.hash,
    ],
  );
  return rows[0]!;
}

export interface UpperResultRow {
  id: number;
  patch_id: number;
  round_id: number | null;
  result: 'passed' | 'returned';
  reason: string | null;
  due_date: string | null;
  source: 'manual' | 'excel';
  source_file: string | null;
  source_sha256: string | null;
  source_row: number | null;
  recorded_at: Date;
  recorded_by: string;
}

export async function insertUpperResult(
  q: Queryable,
  r: {
    patchId: number;
    roundId: number | null;
    result: 'passed' | 'returned';
    reason: string | null;
    dueDate: string | null;
    source: 'manual' | 'excel';
    sourceFile?: string | null;
    sourceSha256?: string | null;
    sourceRow?: number | null;
    recordedBy: string;
  },
): Promise<UpperResultRow> {
  const rows = await q.query<UpperResultRow>(
    `INSERT INTO upper_results (patch_id, round_id, result, reason, due_date, source, source_file, source_sha256,
       source_row, recorded_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [
      r.patchId,
      r.roundId,
      r.result,
      r.reason,
      r.dueDate,
      r.source,
      r.sourceFile ?? null,
      r.sourceSha256 ?? null,
      r.sourceRow ?? null,
      r.recordedBy,
    ],
  );
  return rows[0]!;
}

export async function upperResultsOf(
  q: Queryable,
  patchId: number,
): Promise<(UpperResultRow & { round_label: string | null })[]> {
  return q.query(
    `SELECT u.*, r.label AS round_label FROM upper_results u LEFT JOIN report_rounds r ON r.id = u.round_id
     WHERE u.patch_id = $1 ORDER BY u.id`,
    [patchId],
  );
}

// ---------------------------------------------------------------------------------------------
// Batch overview

export interface StatusPatchRow {
  id: number;
  jcbh: string;
  source: PatchSource;
  unit_code: string | null;
  unit_name: string | null;
  geometry_kind: 'polygon' | 'point';
  area_m2: number;
  state: WorkflowState;
  version: number;
  return_due_date: string | null;
  return_source: 'bureau' | 'upper' | null;
  links_checked_at: Date | null;
  created_at: Date;
}

export async function batchPatchStates(
  q: Queryable,
  batchId: number,
  unitCode?: string | null,
): Promise<StatusPatchRow[]> {
  const scoped = unitCode !== undefined;
  return q.query<StatusPatchRow>(
    `SELECT p.id, p.jcbh, p.source, p.unit_code, ru.name AS unit_name, p.geometry_kind, p.area_m2, w.state,
       w.version, w.return_due_date, w.return_source, w.links_checked_at, p.created_at
     FROM patches p JOIN patch_workflow w ON w.patch_id = p.id
     LEFT JOIN responsible_units ru ON ru.code = p.unit_code
     WHERE p.batch_id = $1 ${scoped ? 'AND p.unit_code IS NOT DISTINCT FROM $2' : ''}
     ORDER BY p.jcbh`,
    scoped ? [batchId, unitCode] : [batchId],
  );
}

// ---------------------------------------------------------------------------------------------
// Geometry neighbours

interface Box {
  minx: number;
  miny: number;
  maxx: number;
  maxy: number;
}

export interface GeomRow {
  id: number;
  geom: Uint8Array;
  geom_repaired: Uint8Array | null;
}

/**
 * Approval cover near a box: features of the current published approval-type layers. The box index
 * alone finds them (`layer_id + 0`: see markStaleForLayer in analysis.ts).
 */
export async function approvalCoverNear(q: Queryable, types: readonly string[], b: Box): Promise<GeomRow[]> {
  return q.query<GeomRow>(
    `SELECT f.id, f.geom, f.geom_repaired FROM reference_features f
     WHERE f.layer_id + 0 IN (SELECT DISTINCT ON (type) id FROM reference_layers
                          WHERE status = 'published' AND type = ANY($1::text[]) ORDER BY type, version DESC)
       AND box(point(f.minx, f.miny), point(f.maxx, f.maxy)) && box(point($2, $3), point($4, $5))
     ORDER BY f.id`,
    [types, b.minx, b.miny, b.maxx, b.maxy],
  );
}

/**
 * Polygon patches of the batch counted before patch `patchId` (every satellite patch, and the
 * non-satellite patches created before it) whose boxes meet b.
 */
export async function countedBeforeNear(
  q: Queryable,
  batchId: number,
  patchId: number,
  b: Box,
): Promise<GeomRow[]> {
  return q.query<GeomRow>(
    `SELECT id, geom, geom_repaired FROM patches
     WHERE batch_id = $1 AND id <> $2 AND geometry_kind = 'polygon' AND (source = 'satellite' OR id < $2)
       AND box(point(minx, miny), point(maxx, maxy)) && box(point($3, $4), point($5, $6))
     ORDER BY id`,
    [batchId, patchId, b.minx, b.miny, b.maxx, b.maxy],
  );
}

/** Responsible units with a boundary meeting b (to find the unit of a drawn patch). */
export async function unitsNear(
  q: Queryable,
  b: Box,
): Promise<{ code: string; name: string; boundary: Uint8Array }[]> {
  return q.query(
    `SELECT code, name, boundary FROM responsible_units
     WHERE boundary IS NOT NULL AND box(point(minx, miny), point(maxx, maxy)) && box(point($1, $2), point($3, $4))
     ORDER BY code`,
    [b.minx, b.miny, b.maxx, b.maxy],
  );
}
