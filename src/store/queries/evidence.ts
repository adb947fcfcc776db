// Query module for evidence (举证材料) and its integrity signals (举证疑点). Items are only ever
// inserted, and marked superseded once (a trigger refuses anything else); signals are inserted on
// upload and decided once.
import type { Queryable } from '../db.ts';
import type { ExifSummary, BrowserCapture } from '../../evidence/exif.ts';
import type { Finding, SignalCode } from '../../evidence/signals.ts';

export interface EvidenceRow {
  id: number;
  patch_id: number;
  part_id: number | null;
  kind: 'photo' | 'document';
  doc_type: string | null;
  doc_no: string | null;
  doc_date: string | null;
  fields: Record<string, unknown>;
  note: string | null;
  original_name: string;
  mime: string;
  size_bytes: number;
  sha256: string;
  phash: string | null;
  width: number | null;
  height: number | null;
  exif: ExifSummary | null;
  browser_capture: BrowserCapture | null;
  storage_key: string;
  thumb_key: string | null;
  superseded_by: number | null;
  /** ISO UTC with milliseconds (read as text: the same on both engines). */
  created_at: string;
  created_by: string;
}

export interface EvidenceWithPatch extends EvidenceRow {
  unit_code: string | null;
  jcbh: string;
  batch_id: number;
}

export interface NewEvidence {
  patchId: number;
  partId: number | null;
  kind: 'photo' | 'document';
  docType: string | null;
  docNo: string | null;
  docDate: string | null;
  fields: Record<string, unknown>;
  note: string | null;
  originalName: string;
  mime: string;
  sizeBytes: number;
  sha256: string;
  phash: string | null;
  width: number | null;
  height: number | null;
  exif: ExifSummary | null;
  browserCapture: BrowserCapture | null;
  storageKey: string;
  thumbKey: string | null;
  createdAt: Date;
  createdBy: string;
}

const AT = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const ITEM_COLUMNS = `e.id, e.patch_id, e.part_id, e.kind, e.doc_type, e.doc_no, e.doc_date, e.fields, e.note,
  e.original_name, e.mime, e.size_bytes, e.sha256, e.phash, e.width, e.height, e.exif, e.browser_capture,
  e.storage_key, e.thumb_key, e.superseded_by, ${AT('e.created_at')} AS created_at, e.created_by`;

export async function insertEvidence(q: Queryable, e: NewEvidence): Promise<EvidenceRow> {
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO evidence_items (patch_id, part_id, kind, doc_type, doc_no, doc_date, fields, note, original_name,
       mime, size_bytes, sha256, phash, width, height, exif, browser_capture, storage_key, thumb_key, created_at,
       created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, $17::jsonb, $18,
       $19, $20, $21)
     RETURNING id`,
    [
      e.patchId,
      e.partId,
      e.kind,
      e.docType,
      e.docNo,
      e.docDate,
      JSON.stringify(e.fields),
      e.note,
      e.originalName,
      e.mime,
      e.sizeBytes,
      e.sha256,
      e.phash,
      e.width,
      e.height,
      e.exif === null ? null : JSON.stringify(e.exif),
      e.browserCapture === null ? null : JSON.stringify(e.browserCapture),
      e.storageKey,
      e.thumbKey,
      e.createdAt.toISOString(),
      e.createdBy,
    ],
  );
  return (await findEvidence(q, row!.id))!;
}

export async function findEvidence(q: Queryable, id: number): Promise<EvidenceWithPatch | undefined> {
  const [row] = await q.query<EvidenceWithPatch>(
    `SELECT ${ITEM_COLUMNS}, p.unit_code, p.jcbh, p.batch_id
     FROM evidence_items e JOIN patches p ON p.id = e.patch_id WHERE e.id = $1`,
    [id],
  );
  return row;
}

/** Marks `oldId` replaced by `newId`; false when it already was (someone else replaced it first). */
export async function markSuperseded(q: Queryable, oldId: number, newId: number): Promise<boolean> {
  const rows = await q.query(
    'UPDATE evidence_items SET superseded_by = $2 WHERE id = $1 AND superseded_by IS NULL RETURNING id',
    [oldId, newId],
  );
  return rows.length === 1;
}

export interface EvidenceListRow extends EvidenceRow {
  open_signals: number;
  confirmed_findings: number;
}

/** A patch's evidence, oldest first; superseded versions included unless `currentOnly`. */
export async function listEvidence(
  q: Queryable,
  patchId: number,
  opts: { currentOnly?: boolean } = {},
): Promise<EvidenceListRow[]> {
  return q.query<EvidenceListRow>(
    `SELECT ${ITEM_COLUMNS},
       (SELECT count(*)::int FROM evidence_signals s WHERE s.evidence_id = e.id AND s.status = 'open') AS open_signals,
       (SELECT count(*)::int FROM evidence_signals s WHERE s.evidence_id = e.id AND s.status = 'confirmed')
         AS confirmed_findings
     FROM evidence_items e WHERE e.patch_id = $1 ${opts.currentOnly ? 'AND e.superseded_by IS NULL' : ''}
     ORDER BY e.id`,
    [patchId],
  );
}

export interface OtherUseRow {
  evidence_id: number;
  patch_id: number;
  jcbh: string;
  distance?: number;
}

/** Items with these exact bytes on other patches (superseded ones too: they were used). */
export async function findSameFile(
  q: Queryable,
  sha256: string,
  patchId: number,
  limit = 20,
): Promise<OtherUseRow[]> {
  return q.query<OtherUseRow>(
    `SELECT e.id AS evidence_id, e.patch_id, p.jcbh FROM evidence_items e JOIN patches p ON p.id = e.patch_id
     WHERE e.sha256 = $1 AND e.patch_id <> $2 ORDER BY e.id LIMIT $3`,
    [sha256, patchId, limit],
  );
}

/**
 * Pictures on other patches whose perceptual hash is within `maxDistance` bits, nearest first,
 * excluding the same bytes (already a duplicate_file). A scan of every hashed picture: a few
 * thousand a year per district; at province scale index the hash (BK-tree or 4×16-bit bands).
 */
export async function findSimilar(
  q: Queryable,
  phash: string,
  sha256: string,
  patchId: number,
  maxDistance: number,
  limit = 20,
): Promise<OtherUseRow[]> {
  return q.query<OtherUseRow>(
    `SELECT * FROM (
       SELECT e.id AS evidence_id, e.patch_id, p.jcbh,
         bit_count(('x' || e.phash)::bit(64) # ('x' || $1)::bit(64))::int AS distance
       FROM evidence_items e JOIN patches p ON p.id = e.patch_id
       WHERE e.phash IS NOT NULL AND e.patch_id <> $3 AND e.sha256 <> $2) m
     WHERE distance <= $4 ORDER BY distance, evidence_id LIMIT $5`,
    [phash, sha256, patchId, maxDistance, limit],
  );
}

/** Is this exact file already a current item of this patch? */
export async function findCurrentDuplicate(
  q: Queryable,
  sha256: string,
  patchId: number,
): Promise<{ id: number } | undefined> {
  const [row] = await q.query<{ id: number }>(
    'SELECT id FROM evidence_items WHERE sha256 = $1 AND patch_id = $2 AND superseded_by IS NULL ORDER BY id LIMIT 1',
    [sha256, patchId],
  );
  return row;
}

export async function storageKeyInUse(q: Queryable, key: string): Promise<boolean> {
  const rows = await q.query(
    'SELECT 1 FROM evidence_items WHERE storage_key = $1 OR thumb_key = $1 LIMIT 1',
    [key],
  );
  return rows.length > 0;
}

// ----------------------------------------------------------------------------------------------
// Signals

export interface SignalRow {
  id: number;
  evidence_id: number;
  code: SignalCode;
  details: Record<string, unknown> & { message?: string };
  status: 'open' | 'confirmed' | 'dismissed';
  finding: Finding | null;
  reason: string | null;
  decided_by: string | null;
  decided_at: string | null;
  created_at: string;
}

export interface SignalWithPatch extends SignalRow {
  patch_id: number;
  jcbh: string;
  unit_code: string | null;
  batch_id: number;
}

const SIGNAL_COLUMNS = `s.id, s.evidence_id, s.code, s.details, s.status, s.finding, s.reason, s.decided_by,
  ${AT('s.decided_at')} AS decided_at, ${AT('s.created_at')} AS created_at`;

export async function insertSignals(
  q: Queryable,
  evidenceId: number,
  signals: { code: SignalCode; details: Record<string, unknown> }[],
  at: Date,
): Promise<SignalRow[]> {
  const out: SignalRow[] = [];
  for (const s of signals) {
    const [row] = await q.query<{ id: number }>(
      `INSERT INTO evidence_signals (evidence_id, code, details, created_at) VALUES ($1, $2, $3::jsonb, $4)
       RETURNING id`,
      [evidenceId, s.code, JSON.stringify(s.details), at.toISOString()],
    );
    out.push((await findSignal(q, row!.id))!);
  }
  return out;
}

export async function findSignal(q: Queryable, id: number): Promise<SignalWithPatch | undefined> {
  const [row] = await q.query<SignalWithPatch>(
    `SELECT ${SIGNAL_COLUMNS}, e.patch_id, p.jcbh, p.unit_code, p.batch_id
     FROM evidence_signals s JOIN evidence_items e ON e.id = s.evidence_id JOIN patches p ON p.id = e.patch_id
     WHERE s.id = $1`,
    [id],
  );
  return row;
}

export interface SignalFilter {
  patchId?: number;
  evidenceId?: number;
  batchId?: number;
  /** Only this unit's patches (unit officers). */
  unitCode?: string | null;
  status?: 'open' | 'confirmed' | 'dismissed';
  limit?: number;
  offset?: number;
}

export async function listSignals(q: Queryable, f: SignalFilter): Promise<SignalWithPatch[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (f.patchId !== undefined) add('e.patch_id = ?', f.patchId);
  if (f.evidenceId !== undefined) add('s.evidence_id = ?', f.evidenceId);
  if (f.batchId !== undefined) add('p.batch_id = ?', f.batchId);
  if (f.unitCode !== undefined) add('p.unit_code IS NOT DISTINCT FROM ?', f.unitCode);
  if (f.status !== undefined) add('s.status = ?', f.status);
  params.push(f.limit ?? 1000, f.offset ?? 0);
  return q.query<SignalWithPatch>(
    `SELECT ${SIGNAL_COLUMNS}, e.patch_id, p.jcbh, p.unit_code, p.batch_id
     FROM evidence_signals s JOIN evidence_items e ON e.id = s.evidence_id JOIN patches p ON p.id = e.patch_id
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY s.id LIMIT $${params.length - 1} OFFSET $${params.length}`,
    params,
  );
}

/** Records a decision on an open signal; false when it was no longer open. */
export async function decideSignal(
  q: Queryable,
  id: number,
  d: { status: 'confirmed' | 'dismissed'; finding: Finding | null; reason: string; by: string; at: Date },
): Promise<boolean> {
  const rows = await q.query(
    `UPDATE evidence_signals SET status = $2, finding = $3, reason = $4, decided_by = $5, decided_at = $6
     WHERE id = $1 AND status = 'open' RETURNING id`,
    [id, d.status, d.finding, d.reason, d.by, d.at.toISOString()],
  );
  return rows.length === 1;
}

/**
 * Confirmed findings per responsible unit of a batch — what the warning-interview rule 弄虚作假
 * counts (pass the fraud findings, e.g. FRAUD_FINDINGS). One finding per signal; a photo with two
 * confirmed signals counts twice only if both were confirmed as findings of the listed kinds.
 */
export async function countConfirmedFindings(
  q: Queryable,
  batchId: number,
  findings: readonly Finding[],
): Promise<{ unit_code: string | null; finding: Finding; count: number; patches: number }[]> {
  return q.query(
    `SELECT p.unit_code, s.finding, count(*)::int AS count, count(DISTINCT p.id)::int AS patches
     FROM evidence_signals s JOIN evidence_items e ON e.id = s.evidence_id JOIN patches p ON p.id = e.patch_id
     WHERE p.batch_id = $1 AND s.status = 'confirmed' AND s.finding = ANY($2::text[])
     GROUP BY p.unit_code, s.finding ORDER BY p.unit_code, s.finding`,
    [batchId, [...findings]],
  );
}

/** Every stored original and thumbnail with what it must hold (for `weipian evidence verify`). */
export async function allStoredFiles(
  q: Queryable,
): Promise<
  { id: number; storage_key: string; sha256: string; size_bytes: number; thumb_key: string | null }[]
> {
  return q.query('SELECT id, storage_key, sha256, size_bytes, thumb_key FROM evidence_items ORDER BY id');
}

export interface PartVerdict {
  id: number;
  no: number;
  patch_id: number;
  /** null while undetermined. */
  verdict: string | null;
  subtype: string | null;
  retired: boolean;
}

async function hasPartVerdicts(q: Queryable): Promise<boolean> {
  const cols = await q.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = 'patch_parts'`,
  );
  const names = new Set(cols.map((c) => c.column_name));
  return ['id', 'no', 'patch_id', 'verdict', 'subtype', 'retired_at'].every((c) => names.has(c));
}

/**
 * The patch's current parts with their verdicts (the workflow's patch_parts, migration 009): one
 * part for a whole patch, several after a split (批少占多). Undefined where the workflow's tables
 * do not exist, so evidence works with or without them.
 */
export async function currentParts(q: Queryable, patchId: number): Promise<PartVerdict[] | undefined> {
  if (!(await hasPartVerdicts(q))) return undefined;
  return q.query<PartVerdict>(
    `SELECT id, no, patch_id, CASE WHEN verdict = 'undetermined' THEN NULL ELSE verdict END AS verdict, subtype,
       false AS retired
     FROM patch_parts WHERE patch_id = $1 AND retired_at IS NULL ORDER BY no`,
    [patchId],
  );
}

/** One part (retired or not), or undefined (also where parts do not exist). */
export async function findPart(q: Queryable, partId: number): Promise<PartVerdict | undefined | null> {
  if (!(await hasPartVerdicts(q))) return null;
  const [row] = await q.query<PartVerdict>(
    `SELECT id, no, patch_id, verdict, subtype, retired_at IS NOT NULL AS retired FROM patch_parts WHERE id = $1`,
    [partId],
  );
  return row;
}
