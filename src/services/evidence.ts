// Evidence (举证): upload a photo or document to a patch, supersede it with a new version, decide a
// reviewer's view of an integrity signal, list a patch's evidence and its checklist, verify the
// store. Routes and the CLI parse and authorise; everything else happens here. Every change appends
// an event to the patch's timeline in the transaction that makes it.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import { loadRulePack, type RulePack } from '../domain/rulepack.ts';
import { decodeGeometry } from '../geo/wkb.ts';
import { findPatch, type PatchRow } from '../store/queries/patches.ts';
import { appendEvent } from '../store/queries/events.ts';
import {
  currentParts,
  decideSignal,
  findPart,
  findCurrentDuplicate,
  findEvidence,
  findSameFile,
  findSignal,
  findSimilar,
  insertEvidence,
  insertSignals,
  listEvidence,
  listSignals,
  markSuperseded,
  storageKeyInUse,
  allStoredFiles,
  type EvidenceListRow,
  type EvidenceRow,
  type EvidenceWithPatch,
  type SignalRow,
  type SignalWithPatch,
} from '../store/queries/evidence.ts';
import { sniffFile, type Sniffed } from '../evidence/sniff.ts';
import { EMPTY_EXIF, parseBrowserCapture, readExif, type BrowserCaptureInput } from '../evidence/exif.ts';
import { analyseImage } from '../evidence/image.ts';
import {
  computeSignals,
  DEFAULT_SIGNAL_SETTINGS,
  FINDINGS,
  isFinding,
  SIGNAL_LABELS,
  workWindow,
  type ComputedSignal,
  type SignalSettings,
} from '../evidence/signals.ts';
import { buildChecklist, type Checklist } from '../evidence/checklist.ts';
import { originalKey, sha256OfStream, thumbnailKey, type EvidenceStore } from '../evidence/store.ts';

export interface EvidenceContext {
  db: Db;
  store: EvidenceStore;
  settings?: SignalSettings;
  /** The clock (tests pin it): upload time for the time checks and created_at. */
  now?: () => Date;
}

export interface UploadMeta {
  patchId: number;
  partId?: number | null;
  kind: 'photo' | 'document';
  /** The name the file had on the uploader's machine (kept; never used to decide the type). */
  originalName: string;
  docType?: string | null;
  docNo?: string | null;
  docDate?: string | null;
  /** Further values of the document, keyed by rule-pack field ids (approval_authority …). */
  fields?: Record<string, unknown>;
  note?: string | null;
  /** What the page measured at capture. */
  capture?: BrowserCaptureInput;
  /** The item this upload replaces (a new version; the old one stays in the timeline). */
  supersedes?: number | null;
  /** Why (required when superseding). */
  reason?: string | null;
  actor: string;
  actorRole?: string | null;
}

/** An upload whose metadata has been checked against the patch, batch and rule pack. */
export interface UploadPlan {
  meta: UploadMeta;
  patch: PatchRow;
  batch: BatchFacts;
  pack: RulePack;
  replaces: EvidenceWithPatch | null;
  capture: ReturnType<typeof parseBrowserCapture>;
  fields: Record<string, string | number | boolean>;
}

interface BatchFacts {
  id: number;
  slug: string;
  year: number;
  period: string;
  milestones: unknown;
  rule_pack_id: string;
  rule_pack_digest: string;
}

export interface EvidenceView extends Omit<EvidenceRow, 'storage_key' | 'thumb_key'> {
  /** Replaces this item (the previous version), when it is a new version. */
  supersedes: number | null;
  has_thumbnail: boolean;
  signals: SignalView[];
}

export interface SignalView extends SignalRow {
  label: string;
  message: string;
  finding_label: string | null;
}

export interface UploadResult {
  evidence: EvidenceView;
  /** The signals raised, in order (empty for a clean photo and for documents). */
  signals: SignalView[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isCalendarDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function cleanText(v: string | null | undefined, what: string, max: number): string | null {
  if (v === undefined || v === null) return null;
  const s = v.trim();
  if (s === '') return null;
  if (s.length > max) throw new WeipianError('evidence_meta_invalid', `${what}过长（最多 ${max} 个字符）`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new WeipianError('evidence_meta_invalid', `${what}含有控制字符`);
  return s;
}

export function signalView(s: SignalRow): SignalView {
  return {
    ...s,
    label: SIGNAL_LABELS[s.code],
    message: typeof s.details.message === 'string' ? s.details.message : SIGNAL_LABELS[s.code],
    finding_label: s.finding ? FINDINGS[s.finding].label : null,
  };
}

async function batchOf(db: Db, batchId: number): Promise<BatchFacts> {
  const [b] = await db.query<BatchFacts>(
    'SELECT id, slug, year, period, milestones, rule_pack_id, rule_pack_digest FROM batches WHERE id = $1',
    [batchId],
  );
  return b!;
}

/** The patch, or 404 evidence_patch_not_found. For routes: authorise on its unit_code before reading a body. */
export async function patchForEvidence(db: Db, patchId: number): Promise<PatchRow> {
  const p = await findPatch(db, patchId);
  if (!p) throw new WeipianError('patch_not_found', `图斑不存在：${patchId}`, { patchId }, 404);
  return p;
}

/** An evidence item, or 404. */
export async function evidenceOr404(db: Db, id: number): Promise<EvidenceWithPatch> {
  const e = await findEvidence(db, id);
  if (!e) throw new WeipianError('evidence_not_found', `举证材料不存在：${id}`, { id }, 404);
  return e;
}

/** Checks everything about an upload that does not need the file: call it before receiving the body. */
export async function planUpload(db: Db, meta: UploadMeta): Promise<UploadPlan> {
  if (meta.kind !== 'photo' && meta.kind !== 'document')
    throw new WeipianError(
      'evidence_kind_invalid',
      `材料类别只能是 photo（照片）或 document（文件）：${String(meta.kind)}`,
    );
  const patch = await patchForEvidence(db, meta.patchId);
  const batch = await batchOf(db, patch.batch_id);
  const pack = loadRulePack(batch.rule_pack_id);
  const originalName = cleanText(path.basename(meta.originalName ?? ''), '文件名', 255);
  if (!originalName) throw new WeipianError('evidence_meta_invalid', '缺少文件名（filename）');
  const docType = cleanText(meta.docType, '文件类型', 64);
  const docNo = cleanText(meta.docNo, '文号', 200);
  const docDate = cleanText(meta.docDate, '文件日期', 10);
  const note = cleanText(meta.note, '说明', 2000);
  if (meta.kind === 'photo') {
    if (docType || docNo || docDate)
      throw new WeipianError('evidence_meta_invalid', '照片不填文件类型、文号和日期（这些只用于文件类材料）');
  } else {
    if (!docType)
      throw new WeipianError(
        'evidence_doc_type_required',
        `文件类材料须注明文件类型（可选：${pack.documentTypes.map((d) => `${d.id}（${d.label}）`).join('、')}）`,
      );
    if (!pack.documentTypes.some((d) => d.id === docType))
      throw new WeipianError(
        'evidence_doc_type_invalid',
        `规则包 ${pack.id} 中没有文件类型“${docType}”（可选：${pack.documentTypes.map((d) => `${d.id}（${d.label}）`).join('、')}）`,
        { docType },
      );
    if (docDate && !isCalendarDate(docDate))
      throw new WeipianError('evidence_doc_date_invalid', `文件日期无效：${docDate}（应为 YYYY-MM-DD）`);
  }
  const fields = checkFields(pack, meta.fields ?? {});
  if (meta.kind === 'photo' && Object.keys(fields).length > 0)
    throw new WeipianError('evidence_meta_invalid', '照片不填文件字段');
  const capture = parseBrowserCapture(meta.capture ?? {});
  if (capture && meta.kind !== 'photo')
    throw new WeipianError('evidence_meta_invalid', '浏览器采集的位置、朝向和时间只用于照片');
  if (meta.partId !== undefined && meta.partId !== null) {
    if (!(Number.isInteger(meta.partId) && meta.partId > 0))
      throw new WeipianError('evidence_meta_invalid', `部分编号无效：${meta.partId}`);
    const part = await findPart(db, meta.partId);
    if (part === undefined || (part && part.patch_id !== patch.id))
      throw new WeipianError(
        'evidence_part_not_found',
        `图斑 ${patch.jcbh} 没有编号为 ${meta.partId} 的部分`,
        undefined,
        404,
      );
    if (part?.retired)
      throw new WeipianError(
        'evidence_part_retired',
        `图斑部分 ${meta.partId} 已因拆分或合并停用，请上传到现行部分`,
        { partId: meta.partId },
        409,
      );
  }
  let replaces: EvidenceWithPatch | null = null;
  if (meta.supersedes !== undefined && meta.supersedes !== null) {
    replaces = await evidenceOr404(db, meta.supersedes);
    if (replaces.patch_id !== patch.id)
      throw new WeipianError(
        'evidence_supersede_invalid',
        `被替换的举证材料 #${replaces.id} 属于另一个图斑（${replaces.jcbh}）`,
        { supersedes: replaces.id },
      );
    if (replaces.kind !== meta.kind)
      throw new WeipianError(
        'evidence_supersede_invalid',
        `${meta.kind === 'photo' ? '照片' : '文件'}不能替换${replaces.kind === 'photo' ? '照片' : '文件'}（#${replaces.id}）`,
      );
    if (replaces.superseded_by !== null)
      throw new WeipianError(
        'evidence_already_superseded',
        `举证材料 #${replaces.id} 已被 #${replaces.superseded_by} 替换，请替换最新版本`,
        { supersededBy: replaces.superseded_by },
        409,
      );
    if (!cleanText(meta.reason, '替换原因', 500))
      throw new WeipianError('evidence_reason_required', '替换举证材料须说明原因');
  }
  return {
    meta: {
      ...meta,
      originalName,
      docType,
      docNo,
      docDate,
      note,
      reason: cleanText(meta.reason, '替换原因', 500),
    },
    patch,
    batch,
    pack,
    replaces,
    capture,
    fields,
  };
}

/** Document fields: ids and value types from the rule pack's judgement fields. */
function checkFields(
  pack: RulePack,
  raw: Record<string, unknown>,
): Record<string, string | number | boolean> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new WeipianError('evidence_fields_invalid', '文件字段应为对象');
  const defs = new Map<string, { label: string; type: string }>();
  for (const b of Object.values(pack.verdicts)) {
    for (const f of b.fields ?? []) defs.set(f.id, f);
    for (const s of b.subtypes) for (const f of s.fields) defs.set(f.id, f);
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(raw)) {
    const def = defs.get(k);
    if (!def)
      throw new WeipianError('evidence_fields_invalid', `规则包 ${pack.id} 中没有字段“${k}”`, { field: k });
    const ok =
      (def.type === 'number' && typeof v === 'number' && Number.isFinite(v)) ||
      (def.type === 'boolean' && typeof v === 'boolean') ||
      (def.type === 'date' && typeof v === 'string' && isCalendarDate(v)) ||
      ((def.type === 'string' || def.type === 'enum') && typeof v === 'string' && v.length <= 500);
    if (!ok)
      throw new WeipianError(
        'evidence_fields_invalid',
        `字段“${def.label}”（${k}）的值无效：${JSON.stringify(v)}`,
        {
          field: k,
        },
      );
    out[k] = v as string | number | boolean;
  }
  return out;
}

function toView(
  row: EvidenceRow | EvidenceListRow,
  signals: SignalRow[],
  supersedes: number | null,
): EvidenceView {
  const { storage_key: _k, thumb_key, ...rest } = row as EvidenceRow & Partial<EvidenceListRow>;
  delete (rest as Partial<EvidenceListRow>).open_signals;
  delete (rest as Partial<EvidenceListRow>).confirmed_findings;
  return { ...rest, supersedes, has_thumbnail: thumb_key !== null, signals: signals.map(signalView) };
}

/**
 * Stores the received file as the planned evidence: type by content, SHA-256, EXIF, perceptual
 * hash and thumbnail, integrity signals, then one transaction (item, supersession, signals, event).
 * A refused file changes nothing: no row, no stored object.
 */
export async function uploadEvidence(
  ctx: EvidenceContext,
  plan: UploadPlan,
  file: string,
): Promise<UploadResult> {
  const { db, store } = ctx;
  const now = (ctx.now ?? (() => new Date()))();
  const settings = ctx.settings ?? DEFAULT_SIGNAL_SETTINGS;
  const { meta, patch, pack } = plan;
  const name = meta.originalName;
  const sniffed: Sniffed = await sniffFile(file, name);
  if (meta.kind === 'photo' && !sniffed.image)
    throw new WeipianError(
      'evidence_type_refused',
      `照片须是图片文件，“${name}”是${sniffed.label}：请作为文件类材料上传`,
      { name, format: sniffed.format },
      415,
    );
  const sha256 = await sha256OfStream(createReadStream(file));
  const size = (await stat(file)).size;
  const dup = await findCurrentDuplicate(db, sha256, patch.id);
  if (dup)
    throw new WeipianError(
      'evidence_duplicate',
      `同一文件已是本图斑的举证材料 #${dup.id}，无需重复上传`,
      { existing: dup.id },
      409,
    );
  const tz = pack.calendar.timeZone;
  const image = sniffed.decodable ? await analyseImage(file, name) : null;
  const exif = sniffed.image ? await readExif(file, tz) : null;

  let computed: ComputedSignal[] = [];
  if (meta.kind === 'photo') {
    const sameFile = await findSameFile(db, sha256, patch.id);
    const similar = image
      ? await findSimilar(db, image.phash, sha256, patch.id, settings.maxPhashDistance)
      : [];
    computed = computeSignals({
      exif: exif ?? EMPTY_EXIF,
      browser: plan.capture,
      patch: { geometry: decodeGeometry(patch.geom), hsx: patch.hsx },
      window: workWindow(plan.batch, patch.hsx, tz),
      timeZone: tz,
      uploadedAt: now,
      sameFile: sameFile.map((u) => ({ evidenceId: u.evidence_id, patchId: u.patch_id, jcbh: u.jcbh })),
      similar: similar.map((u) => ({
        evidenceId: u.evidence_id,
        patchId: u.patch_id,
        jcbh: u.jcbh,
        distance: u.distance,
      })),
      settings,
    });
  }

  // Bytes first (content-addressed, so an existing key already holds them), then the rows.
  const created: string[] = [];
  const key = originalKey(sha256);
  if ((await store.putFile(key, file)).created) created.push(key);
  let thumbKey: string | null = null;
  if (image) {
    thumbKey = thumbnailKey(sha256);
    const dir = await mkdtemp(path.join(tmpdir(), 'weipian-thumb-'));
    try {
      const t = path.join(dir, 'thumb.jpg');
      await writeFile(t, image.thumbnail);
      if ((await store.putFile(thumbKey, t)).created) created.push(thumbKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  try {
    return await db.transaction(async (tx) => {
      const row = await insertEvidence(tx, {
        patchId: patch.id,
        partId: meta.partId ?? null,
        kind: meta.kind,
        docType: meta.docType ?? null,
        docNo: meta.docNo ?? null,
        docDate: meta.docDate ?? null,
        fields: plan.fields,
        note: meta.note ?? null,
        originalName: name,
        mime: sniffed.mime,
        sizeBytes: size,
        sha256,
        phash: image?.phash ?? null,
        width: image?.width ?? null,
        height: image?.height ?? null,
        exif,
        browserCapture: plan.capture ?? null,
        storageKey: key,
        thumbKey,
        createdAt: now,
        createdBy: meta.actor,
      });
      if (plan.replaces && !(await markSuperseded(tx, plan.replaces.id, row.id)))
        throw new WeipianError(
          'evidence_already_superseded',
          `举证材料 #${plan.replaces.id} 刚被其他人替换，请刷新后替换最新版本`,
          { supersedes: plan.replaces.id },
          409,
        );
      const signals = await insertSignals(
        tx,
        row.id,
        computed.map((c) => ({ code: c.code, details: { message: c.message, ...c.details } })),
        now,
      );
      await appendEvent(tx, {
        actor: meta.actor,
        actorRole: meta.actorRole,
        action: plan.replaces ? 'evidence.supersede' : 'evidence.upload',
        recordType: 'patch',
        recordId: patch.id,
        reason: plan.replaces ? (meta.reason ?? null) : null,
        before: plan.replaces ? { evidenceId: plan.replaces.id, sha256: plan.replaces.sha256 } : null,
        after: {
          evidenceId: row.id,
          kind: row.kind,
          originalName: row.original_name,
          mime: row.mime,
          sizeBytes: row.size_bytes,
          sha256: row.sha256,
          docType: row.doc_type,
          docNo: row.doc_no,
          docDate: row.doc_date,
          partId: row.part_id,
          supersedes: plan.replaces?.id ?? null,
          signals: signals.map((s) => s.code),
        },
      });
      return {
        evidence: toView(row, signals, plan.replaces?.id ?? null),
        signals: signals.map(signalView),
      };
    });
  } catch (e) {
    // Nothing committed: remove what this upload wrote unless a committed row already uses it.
    for (const k of created) if (!(await storageKeyInUse(db, k))) await store.discard(k);
    if ((e as { code?: string }).code === '23503' && meta.partId)
      throw new WeipianError('evidence_part_not_found', `图斑部分不存在：${meta.partId}`, undefined, 404);
    throw e;
  }
}

/** plan + upload in one call (CLI, tests). */
export async function addEvidence(
  ctx: EvidenceContext,
  meta: UploadMeta,
  file: string,
): Promise<UploadResult> {
  return uploadEvidence(ctx, await planUpload(ctx.db, meta), file);
}

export interface PatchEvidence {
  patchId: number;
  jcbh: string;
  /** Current items (the newest version of each), oldest first. */
  current: EvidenceView[];
  /** Every item including replaced versions, oldest first (the timeline). */
  all: EvidenceView[];
  openSignals: number;
}

export async function patchEvidence(db: Db, patchId: number): Promise<PatchEvidence> {
  const patch = await patchForEvidence(db, patchId);
  const rows = await listEvidence(db, patchId);
  const signals = await listSignals(db, { patchId, limit: 100_000 });
  const byItem = new Map<number, SignalRow[]>();
  for (const s of signals) byItem.set(s.evidence_id, [...(byItem.get(s.evidence_id) ?? []), s]);
  const prev = new Map<number, number>();
  for (const r of rows) if (r.superseded_by !== null) prev.set(r.superseded_by, r.id);
  const all = rows.map((r) => toView(r, byItem.get(r.id) ?? [], prev.get(r.id) ?? null));
  return {
    patchId,
    jcbh: patch.jcbh,
    current: all.filter((e) => e.superseded_by === null),
    all,
    openSignals: signals.filter((s) => s.status === 'open').length,
  };
}

export interface DecideInput {
  decision: 'confirm' | 'dismiss';
  /** Required to confirm: what the finding is (false_evidence 虚假举证, photo_reuse 照片复用 …). */
  finding?: string | null;
  reason: string;
  actor: string;
  actorRole?: string | null;
}

/** The signal, or 404. For routes: authorise on its patch's unit before deciding. */
export async function signalOr404(db: Db, id: number): Promise<SignalWithPatch> {
  const s = await findSignal(db, id);
  if (!s) throw new WeipianError('evidence_signal_not_found', `举证疑点不存在：${id}`, { id }, 404);
  return s;
}

/** A reviewer confirms a signal as a finding (核查发现) or dismisses it, with a reason, once. */
export async function decideEvidenceSignal(
  ctx: Pick<EvidenceContext, 'db' | 'now'>,
  signalId: number,
  input: DecideInput,
): Promise<SignalView> {
  const { db } = ctx;
  const now = (ctx.now ?? (() => new Date()))();
  if (input.decision !== 'confirm' && input.decision !== 'dismiss')
    throw new WeipianError(
      'evidence_decision_invalid',
      `处理方式只能是 confirm（认定）或 dismiss（排除）：${String(input.decision)}`,
    );
  const reason = cleanText(input.reason, '理由', 2000);
  if (!reason) throw new WeipianError('evidence_reason_required', '认定或排除疑点都须写明理由');
  let finding: keyof typeof FINDINGS | null = null;
  if (input.decision === 'confirm') {
    if (!input.finding || !isFinding(input.finding))
      throw new WeipianError(
        'evidence_finding_invalid',
        `认定疑点须选择核查发现：${Object.entries(FINDINGS)
          .map(([k, v]) => `${k}（${v.label}）`)
          .join('、')}`,
        { finding: input.finding ?? null },
      );
    finding = input.finding;
  } else if (input.finding) throw new WeipianError('evidence_finding_invalid', '排除疑点时不填核查发现');
  const signal = await signalOr404(db, signalId);
  if (signal.status !== 'open')
    throw new WeipianError(
      'evidence_signal_decided',
      `该疑点已由 ${signal.decided_by} 于 ${signal.decided_at} ${signal.status === 'confirmed' ? '认定' : '排除'}，不能再次处理`,
      { status: signal.status },
      409,
    );
  return db.transaction(async (tx) => {
    const ok = await decideSignal(tx, signalId, {
      status: input.decision === 'confirm' ? 'confirmed' : 'dismissed',
      finding,
      reason,
      by: input.actor,
      at: now,
    });
    if (!ok)
      throw new WeipianError('evidence_signal_decided', '该疑点刚被其他人处理，请刷新后查看', undefined, 409);
    const after = (await findSignal(tx, signalId))!;
    await appendEvent(tx, {
      actor: input.actor,
      actorRole: input.actorRole,
      action: input.decision === 'confirm' ? 'evidence.signal.confirm' : 'evidence.signal.dismiss',
      recordType: 'patch',
      recordId: signal.patch_id,
      reason,
      before: { signalId, evidenceId: signal.evidence_id, code: signal.code, status: 'open' },
      after: { signalId, evidenceId: signal.evidence_id, code: signal.code, status: after.status, finding },
    });
    return signalView(after);
  });
}

export interface PartChecklist {
  partId: number;
  no: number;
  checklist: Checklist;
}

export interface ChecklistResult {
  patchId: number;
  jcbh: string;
  /** Where the verdict came from: the workflow's judgement of the parts, the request, or none. */
  verdictSource: 'judgement' | 'request' | 'none';
  /** The batch's rule pack file has changed since the batch was created (digest differs). */
  packChanged: boolean;
  /** Every current part's requirements are met. */
  complete: boolean;
  /**
   * The checklist to show first: the only part's (a whole patch), else the first part still
   * incomplete (a split patch), else the first.
   */
  checklist: Checklist;
  /** One checklist per current part when the workflow has judged (a split patch has several). */
  parts: PartChecklist[];
}

/**
 * The checklist of a patch. The verdict is the workflow's judgement of its current parts when it
 * has one (migration 009: patch_parts); evidence attached to the patch counts for every part, evidence
 * attached to a part only for it. Before any judgement, the verdict given (the page's draft) applies
 * to the whole patch; without either, nothing can be required yet.
 */
export async function patchChecklist(
  db: Db,
  patchId: number,
  given: { verdict?: string | null; subtype?: string | null } = {},
): Promise<ChecklistResult> {
  const patch = await patchForEvidence(db, patchId);
  const batch = await batchOf(db, patch.batch_id);
  const pack = loadRulePack(batch.rule_pack_id);
  const rows = await listEvidence(db, patchId);
  const present = (partId: number | null) =>
    rows
      .filter((r) => partId === null || r.part_id === null || r.part_id === partId)
      .map((r) => ({
        id: r.id,
        kind: r.kind,
        docType: r.doc_type,
        superseded: r.superseded_by !== null,
        openSignals: r.open_signals,
        confirmedFindings: r.confirmed_findings,
      }));
  const parts = (await currentParts(db, patchId)) ?? [];
  const judged = parts.some((p) => p.verdict !== null);
  let list: PartChecklist[] = [];
  let checklist: Checklist;
  if (judged) {
    list = parts.map((p) => ({
      partId: p.id,
      no: p.no,
      checklist: buildChecklist(pack, p.verdict, p.subtype, present(p.id)),
    }));
    checklist = (
      list.length === 1 ? list[0] : (list.find((p) => p.checklist.status !== 'complete') ?? list[0])
    )!.checklist;
  } else checklist = buildChecklist(pack, given.verdict ?? null, given.subtype ?? null, present(null));
  const all = judged ? list.map((p) => p.checklist) : [checklist];
  return {
    patchId,
    jcbh: patch.jcbh,
    verdictSource: judged ? 'judgement' : given.verdict ? 'request' : 'none',
    packChanged: pack.digest !== batch.rule_pack_digest,
    complete: all.every((c) => c.status === 'complete'),
    checklist,
    parts: list,
  };
}

/** The stored bytes of an item (original or thumbnail). */
export async function openEvidenceFile(
  ctx: Pick<EvidenceContext, 'store'>,
  item: EvidenceRow,
  which: 'original' | 'thumbnail',
): Promise<{ stream: Readable; bytes: number; mime: string; name: string }> {
  const key = which === 'original' ? item.storage_key : item.thumb_key;
  if (!key)
    throw new WeipianError(
      'evidence_no_thumbnail',
      `举证材料 #${item.id} 没有缩略图（${item.mime}）`,
      undefined,
      404,
    );
  const f = await ctx.store.open(key);
  if (!f)
    throw new WeipianError(
      'evidence_file_missing',
      `举证材料 #${item.id} 的文件在存储中不存在（${key}）：请运行 weipian evidence verify 并从备份恢复`,
      { key },
      500,
    );
  const base = item.original_name.replace(/\.[^.]*$/, '');
  return {
    ...f,
    mime: which === 'original' ? item.mime : 'image/jpeg',
    name: which === 'original' ? item.original_name : `${base}-缩略图.jpg`,
  };
}

export interface VerifyReport {
  ok: boolean;
  items: number;
  checked: number;
  problems: {
    id: number;
    key: string;
    problem: 'missing' | 'sha256_mismatch' | 'size_mismatch' | 'thumbnail_missing';
  }[];
}

/** Re-hashes every stored original against its recorded SHA-256 (and checks thumbnails exist). */
export async function verifyEvidenceStore(
  db: Db,
  store: EvidenceStore,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<VerifyReport> {
  const rows = await allStoredFiles(db);
  const problems: VerifyReport['problems'] = [];
  const seen = new Map<string, string | null>();
  let checked = 0;
  for (const [i, r] of rows.entries()) {
    if (!seen.has(r.storage_key)) {
      const f = await store.open(r.storage_key);
      if (!f) seen.set(r.storage_key, 'missing');
      else if (f.bytes !== r.size_bytes) {
        f.stream.destroy();
        seen.set(r.storage_key, 'size_mismatch');
      } else {
        seen.set(r.storage_key, (await sha256OfStream(f.stream)) === r.sha256 ? null : 'sha256_mismatch');
        checked++;
      }
    }
    const p = seen.get(r.storage_key);
    if (p)
      problems.push({
        id: r.id,
        key: r.storage_key,
        problem: p as VerifyReport['problems'][number]['problem'],
      });
    if (r.thumb_key && !(await store.exists(r.thumb_key)))
      problems.push({ id: r.id, key: r.thumb_key, problem: 'thumbnail_missing' });
    onProgress(i + 1, rows.length);
  }
  return { ok: problems.length === 0, items: rows.length, checked, problems };
}
