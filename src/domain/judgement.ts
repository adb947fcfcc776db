// Judgement forms from the rule pack: which fields and which evidence each verdict sub-type needs
// (农转用 → 批准机关/文号/时间/面积, 设施农用地 → 备案编号, 农村道路 → 宽度, 硬化 …), the handling of an
// illegal part (立案 / 不立案处理 + reason code / 应立未立), and the server-side validation that
// names the field that is missing or inconsistent. Pure: the pack and the input in, a normalised
// judgement (recording the pack id and version it was made under) or a WeipianError out.
import { WeipianError } from './errors.ts';
import {
  VERDICT_BRANCH_IDS,
  evidenceFor,
  fieldsFor,
  findSubtype,
  type DeepReadonly,
  type EvidenceRequirement,
  type HandlingModeId,
  type RuleField,
  type RulePack,
  type VerdictBranchId,
} from './rulepack.ts';
import { VERDICT_IDS, type VerdictId } from './workflow.ts';

export interface HandlingInput {
  mode: string;
  reasonCode?: string | null;
  reason?: string | null;
}

export interface JudgementInput {
  verdict: string;
  subtype?: string | null;
  fields?: Record<string, unknown> | null;
  handling?: HandlingInput | null;
}

export type FieldValue = string | number | boolean;

export interface Handling {
  mode: HandlingModeId;
  reasonCode: string | null;
  reason: string | null;
}

export interface Judgement {
  verdict: VerdictId;
  subtype: string | null;
  fields: Record<string, FieldValue>;
  handling: Handling | null;
  /** The rule pack the judgement was made under. */
  rulePack: { id: string; version: string };
}

export interface JudgementContext {
  /** Area of the part judged (m²): area fields such as 超占面积 cannot exceed it. */
  partAreaM2?: number;
  /** Today (YYYY-MM-DD, Asia/Shanghai): approval and filing dates cannot lie after it. */
  today?: string;
}

const UNDETERMINED_LABEL = '未判定';

export function verdictLabel(pack: RulePack, verdict: VerdictId): string {
  return verdict === 'undetermined' ? UNDETERMINED_LABEL : pack.verdicts[verdict].label;
}

export function subtypeLabel(pack: RulePack, subtype: string | null): string | null {
  if (subtype === null) return null;
  return findSubtype(pack, subtype)?.subtype.label ?? subtype;
}

export function handlingLabel(pack: RulePack, mode: string | null): string | null {
  if (mode === null) return null;
  return pack.handling.modes.find((m) => m.id === mode)?.label ?? mode;
}

// ---------------------------------------------------------------------------------------------
// The form, for the UI and the API

export interface FormSubtype {
  id: string;
  label: string;
  aliases: readonly string[];
  description: string;
  fields: readonly DeepReadonly<RuleField>[];
  evidence: readonly DeepReadonly<EvidenceRequirement>[];
}

export interface JudgementForm {
  rulePack: { id: string; version: string; name: string };
  verdicts: {
    id: VerdictId;
    label: string;
    description: string;
    subtypes: FormSubtype[];
  }[];
  handling: {
    appliesTo: readonly string[];
    note: string | null;
    modes: {
      id: HandlingModeId;
      label: string;
      description: string;
      requiresReasonCode: boolean;
      requiresWrittenReason: boolean;
      reasons: readonly { code: string; label: string; description?: string }[];
    }[];
  };
}

/** The whole judgement form of a pack: per verdict, per sub-type, the fields and the evidence. */
export function judgementForm(pack: RulePack): JudgementForm {
  return {
    rulePack: { id: pack.id, version: pack.version, name: pack.name },
    verdicts: [
      { id: 'undetermined', label: UNDETERMINED_LABEL, description: '尚未判定。', subtypes: [] },
      ...VERDICT_BRANCH_IDS.map((b) => ({
        id: b,
        label: pack.verdicts[b].label,
        description: pack.verdicts[b].description,
        subtypes: pack.verdicts[b].subtypes.map((st) => ({
          id: st.id,
          label: st.label,
          aliases: st.aliases ?? [],
          description: st.description,
          fields: fieldsFor(pack, st.id),
          evidence: evidenceFor(pack, st.id),
        })),
      })),
    ],
    handling: {
      appliesTo: pack.handling.appliesTo,
      note: pack.handling.note ?? null,
      modes: pack.handling.modes.map((m) => ({
        id: m.id,
        label: m.label,
        description: m.description,
        requiresReasonCode: m.requiresReasonCode,
        requiresWrittenReason: m.requiresWrittenReason,
        reasons: m.reasons ?? [],
      })),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Validation

function fieldError(
  code: string,
  f: DeepReadonly<RuleField> | string,
  message: string,
  extra = {},
): WeipianError {
  const id = typeof f === 'string' ? f : f.id;
  const name = typeof f === 'string' ? f : `“${f.label}”（${f.id}）`;
  return new WeipianError(code, message.replace('{field}', name), { field: id, ...extra });
}

function isCalendarDate(s: string): boolean {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function checkValue(f: DeepReadonly<RuleField>, raw: unknown): FieldValue | undefined {
  const bad = (what: string) =>
    fieldError('judgement_field_invalid', f, `判定字段{field}${what}`, { value: raw });
  if (raw === null || raw === undefined) return undefined;
  switch (f.type) {
    case 'string': {
      if (typeof raw !== 'string') throw bad('应为文字');
      const s = raw.trim();
      if (s === '') return undefined;
      if (s.length > 2000) throw bad('过长（最多 2000 个字符）');
      if (f.pattern !== undefined && !new RegExp(f.pattern).test(s))
        throw bad(`格式不正确（应匹配 ${f.pattern}）`);
      return s;
    }
    case 'number': {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) throw bad('应为数字');
      const unit = f.unit === 'm2' ? ' 平方米' : f.unit === 'm' ? ' 米' : '';
      if (f.min !== undefined && raw < f.min) throw bad(`不能小于 ${f.min}${unit}（填写为 ${raw}）`);
      if (f.max !== undefined && raw > f.max) throw bad(`不能大于 ${f.max}${unit}（填写为 ${raw}）`);
      return raw;
    }
    case 'boolean':
      if (typeof raw !== 'boolean') throw bad('应为“是”或“否”（true/false）');
      return raw;
    case 'date':
      if (typeof raw !== 'string' || !isCalendarDate(raw.trim())) throw bad('应为有效日期（YYYY-MM-DD）');
      return raw.trim();
    case 'enum': {
      const values = f.enum ?? [];
      if (typeof raw !== 'string' || !values.some((v) => v.value === raw))
        throw bad(`只能是：${values.map((v) => `${v.value}（${v.label}）`).join('、')}`);
      return raw;
    }
  }
}

// Consistency between fields, applied wherever the form has both fields. Kept beside the
// validation because they are logic about the fields, not data that varies by year.
/** [a, b]: a = true requires b = true. */
const IMPLIES: readonly [string, string, string][] = [
  ['occupies_basic_farmland', 'occupies_farmland', '占用永久基本农田的，必然占用耕地'],
  ['occupies_farmland', 'occupies_agricultural', '占用耕地的，必然占用农用地'],
  ['restored_before_inspection', 'occupies_farmland', '“检查前已恢复耕种”只适用于占用耕地的情形'],
];
/** [from, to]: from must not lie after to. */
const DATE_ORDER: readonly [string, string][] = [
  ['term_start', 'term_end'],
  ['valid_from', 'valid_to'],
];
/** Dates of documents already issued: not after today. */
const PAST_DATES: readonly string[] = ['approval_date', 'filing_date'];
/** Areas of the part itself (not of an approval): at most the part's area. */
const WITHIN_PART: readonly string[] = ['exceeded_area_m2', 'outside_area_m2'];
/** Tolerance of area comparisons, m² (the tiling tolerance). */
const AREA_TOLERANCE_M2 = 0.01;

function consistency(
  fields: Record<string, FieldValue>,
  form: readonly DeepReadonly<RuleField>[],
  ctx: JudgementContext,
): void {
  const def = (id: string) => form.find((f) => f.id === id);
  for (const [a, b, why] of IMPLIES) {
    const fa = def(a);
    const fb = def(b);
    if (fa && fb && fields[a] === true && fields[b] !== true)
      throw fieldError('judgement_inconsistent', fb, `判定字段{field}与“${fa.label}”矛盾：${why}`, {
        with: a,
      });
  }
  for (const [a, b] of DATE_ORDER) {
    const fa = def(a);
    const fb = def(b);
    const va = fields[a];
    const vb = fields[b];
    if (fa && fb && typeof va === 'string' && typeof vb === 'string' && va > vb)
      throw fieldError('judgement_inconsistent', fb, `判定字段{field}（${vb}）早于“${fa.label}”（${va}）`, {
        with: a,
      });
  }
  if (ctx.today)
    for (const id of PAST_DATES) {
      const f = def(id);
      const v = fields[id];
      if (f && typeof v === 'string' && v > ctx.today)
        throw fieldError('judgement_inconsistent', f, `判定字段{field}（${v}）晚于今天（${ctx.today}）`);
    }
  if (ctx.partAreaM2 !== undefined)
    for (const id of WITHIN_PART) {
      const f = def(id);
      const v = fields[id];
      if (f && typeof v === 'number' && v > ctx.partAreaM2 + AREA_TOLERANCE_M2)
        throw fieldError(
          'judgement_inconsistent',
          f,
          `判定字段{field}为 ${v} 平方米，超过该部分的面积 ${ctx.partAreaM2.toFixed(2)} 平方米`,
          { partAreaM2: ctx.partAreaM2 },
        );
    }
}

/**
 * The handling of an illegal part, checked against the pack: a known mode, the reason code the
 * mode requires (from its list) and the written reason it requires.
 */
export function validateHandling(
  pack: RulePack,
  verdict: VerdictId,
  h: HandlingInput | null | undefined,
): Handling | null {
  if (h === null || h === undefined) return null;
  if (!(pack.handling.appliesTo as readonly string[]).includes(verdict))
    throw new WeipianError(
      'handling_invalid',
      `只有判定为“${pack.verdicts.illegal.label}”的部分才填写处理方式`,
      { field: 'handling' },
    );
  const mode = pack.handling.modes.find((m) => m.id === h.mode);
  if (!mode)
    throw new WeipianError(
      'handling_invalid',
      `处理方式无效：${h.mode}（可选：${pack.handling.modes.map((m) => `${m.id}（${m.label}）`).join('、')}）`,
      { field: 'handling.mode' },
    );
  const code = typeof h.reasonCode === 'string' && h.reasonCode.trim() !== '' ? h.reasonCode.trim() : null;
  const reason = typeof h.reason === 'string' && h.reason.trim() !== '' ? h.reason.trim() : null;
  if (mode.requiresReasonCode) {
    if (code === null)
      throw new WeipianError('handling_invalid', `处理方式“${mode.label}”须选择理由代码`, {
        field: 'handling.reasonCode',
      });
    if (!(mode.reasons ?? []).some((r) => r.code === code))
      throw new WeipianError(
        'handling_invalid',
        `理由代码无效：${code}（可选：${(mode.reasons ?? []).map((r) => `${r.code} ${r.label}`).join('、')}）`,
        { field: 'handling.reasonCode' },
      );
  } else if (code !== null)
    throw new WeipianError('handling_invalid', `处理方式“${mode.label}”不使用理由代码`, {
      field: 'handling.reasonCode',
    });
  if (mode.requiresWrittenReason && reason === null)
    throw new WeipianError('handling_invalid', `处理方式“${mode.label}”须书面说明理由`, {
      field: 'handling.reason',
    });
  return { mode: mode.id, reasonCode: code, reason };
}

/**
 * Validates a judgement against the pack: the verdict and its sub-type (id, label or alias), every
 * field of the sub-type's form (required ones present, values of the right type and range, no
 * unknown fields), their consistency, and the handling of an illegal part. 'undetermined' clears
 * the judgement. Errors name the field (details.field).
 */
export function validateJudgement(
  pack: RulePack,
  input: JudgementInput,
  ctx: JudgementContext = {},
): Judgement {
  const rulePack = { id: pack.id, version: pack.version };
  if (!(VERDICT_IDS as readonly string[]).includes(input.verdict))
    throw new WeipianError(
      'verdict_invalid',
      `判定结果无效：${input.verdict}（可选：${VERDICT_IDS.join('、')}）`,
      { field: 'verdict' },
    );
  const verdict = input.verdict as VerdictId;
  if (verdict === 'undetermined') {
    const hasContent =
      (input.subtype ?? null) !== null ||
      Object.keys(input.fields ?? {}).length > 0 ||
      (input.handling ?? null) !== null;
    if (hasContent)
      throw new WeipianError('verdict_invalid', '“未判定”不能带判定细类、字段或处理方式', {
        field: 'verdict',
      });
    return { verdict, subtype: null, fields: {}, handling: null, rulePack };
  }
  const branch = pack.verdicts[verdict as VerdictBranchId];
  const given = (input.subtype ?? '').trim();
  if (given === '')
    throw new WeipianError(
      'subtype_missing',
      `请选择“${branch.label}”的判定细类（${branch.subtypes.map((s) => s.label).join('、')}）`,
      { field: 'subtype' },
    );
  const st = branch.subtypes.find(
    (s) => s.id === given || s.label === given || (s.aliases ?? []).includes(given),
  );
  if (!st) {
    const elsewhere = findSubtype(pack, given);
    throw new WeipianError(
      'subtype_invalid',
      elsewhere
        ? `判定细类“${elsewhere.subtype.label}”属于“${pack.verdicts[elsewhere.branch].label}”，不属于“${branch.label}”`
        : `“${branch.label}”没有判定细类“${given}”（可选：${branch.subtypes.map((s) => `${s.id}（${s.label}）`).join('、')}）`,
      { field: 'subtype' },
    );
  }
  const form = fieldsFor(pack, st.id);
  const raw = input.fields ?? {};
  for (const key of Object.keys(raw))
    if (!form.some((f) => f.id === key))
      throw fieldError(
        'judgement_field_unknown',
        key,
        `“${st.label}”的判定没有字段“${key}”（可填：${form.map((f) => `${f.id}（${f.label}）`).join('、') || '无'}）`,
      );
  const fields: Record<string, FieldValue> = {};
  for (const f of form) {
    const v = checkValue(f, raw[f.id]);
    if (v === undefined) {
      if (f.required) throw fieldError('judgement_field_missing', f, `“${st.label}”必须填写判定字段{field}`);
      continue;
    }
    fields[f.id] = v;
  }
  consistency(fields, form, ctx);
  const handling = validateHandling(pack, verdict, input.handling);
  return { verdict, subtype: st.id, fields, handling, rulePack };
}

// ---------------------------------------------------------------------------------------------
// Evidence

/** Current (not superseded) evidence of a part: photos, and documents by doc_type. */
export interface EvidenceCounts {
  photos: number;
  documents: Readonly<Record<string, number>>;
}

export interface EvidenceShortfall {
  id: string;
  label: string;
  kinds: readonly string[];
  docType: string | null;
  required: number;
  have: number;
}

function countFor(req: DeepReadonly<EvidenceRequirement>, counts: EvidenceCounts): number {
  let n = 0;
  if (req.kinds.includes('photo')) n += counts.photos;
  if (req.kinds.includes('document'))
    n +=
      req.docType !== undefined
        ? (counts.documents[req.docType] ?? 0)
        : Object.values(counts.documents).reduce((a, b) => a + b, 0);
  return n;
}

/** The required evidence of the sub-type that is missing or short (empty when complete). */
export function evidenceShortfall(
  pack: RulePack,
  subtype: string,
  counts: EvidenceCounts,
): EvidenceShortfall[] {
  const out: EvidenceShortfall[] = [];
  for (const req of evidenceFor(pack, subtype)) {
    if (!req.required) continue;
    const need = req.minCount ?? 1;
    const have = countFor(req, counts);
    if (have < need)
      out.push({
        id: req.id,
        label: req.label,
        kinds: req.kinds,
        docType: req.docType ?? null,
        required: need,
        have,
      });
  }
  return out;
}

export function describeShortfall(s: EvidenceShortfall): string {
  return `${s.label}（需要 ${s.required} 份，已有 ${s.have} 份）`;
}
