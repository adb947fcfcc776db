// Rule packs: every year- and province-specific rule (verdict categories, evidence, handling modes,
// the "六个该", thresholds, indicators, warning-interview triggers, milestones) as versioned data in
// rules/<id>.json, validated by rules/schema.json plus the cross-reference checks below that JSON
// Schema cannot express. A new year or province is a new pack, not a code change (ARCHITECTURE §1).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { WeipianError } from './errors.ts';
import { areaFieldIds } from './fields.ts';

// ---------------------------------------------------------------------------------------------
// Types (mirror rules/schema.json; keep both in step)

export const RULEPACK_FORMAT_VERSION = 1;

export type PackKind = 'land' | 'mineral';
export type VerdictBranchId = 'legal' | 'other' | 'illegal';
export const VERDICT_BRANCH_IDS: readonly VerdictBranchId[] = ['legal', 'other', 'illegal'];

export type Unit =
  | 'm2'
  | 'mu'
  | 'ha'
  | 'm'
  | 'm3'
  | 't'
  | 'yuan'
  | 'person'
  | 'item'
  | 'count'
  | 'day'
  | 'month'
  | 'ratio'
  | 'none';
export type Comparison = '>' | '>=' | '<' | '<=' | '==' | '!=';

export interface RuleFieldEnumValue {
  value: string;
  label: string;
}

/** A value a town officer fills in for a judgement (批准文号, 宽度 …). */
export interface RuleField {
  id: string;
  label: string;
  type: 'string' | 'number' | 'date' | 'boolean' | 'enum';
  unit?: Unit;
  required: boolean;
  description?: string;
  enum?: RuleFieldEnumValue[];
  min?: number;
  max?: number;
  pattern?: string;
}

export interface EvidenceRequirement {
  id: string;
  label: string;
  required: boolean;
  kinds: ('photo' | 'document')[];
  docType?: string;
  minCount?: number;
  description?: string;
}

export interface VerdictSubtype {
  id: string;
  label: string;
  aliases?: string[];
  description: string;
  fields: RuleField[];
  evidence: EvidenceRequirement[];
}

export interface VerdictBranch {
  label: string;
  description: string;
  /** Fields every subtype of the branch has (e.g. the illegal flags). */
  fields?: RuleField[];
  /** Evidence every subtype of the branch needs (e.g. field photos). */
  evidence?: EvidenceRequirement[];
  subtypes: VerdictSubtype[];
}

export type HandlingModeId = 'file_case' | 'handle_without_case' | 'should_file_not_filed' | 'no_action';

export interface HandlingReason {
  code: string;
  label: string;
  description?: string;
}

export interface HandlingMode {
  id: HandlingModeId;
  label: string;
  description: string;
  createsCase: boolean;
  requiresReasonCode: boolean;
  requiresWrittenReason: boolean;
  reasons?: HandlingReason[];
}

export interface MetricCondition {
  metric: string;
  comparison: Comparison;
  threshold: number;
  /** Unit of threshold; areas may be written in mu or ha and are compared in m². */
  unit?: Unit;
  /** Milestone id (warning triggers and indicator thresholds only). */
  asOf?: string;
}

/** All given parts must hold; within subtypes/handling any listed id matches. {} always holds. */
export interface Condition {
  subtypes?: string[];
  handling?: string[];
  fields?: Record<string, boolean | string | number>;
  metrics?: MetricCondition[];
  any?: Condition[];
  all?: Condition[];
  not?: Condition;
}

export interface ObligationQuantity {
  id: string;
  label: string;
  unit: Unit;
}

export interface Obligation {
  id: string;
  label: string;
  description?: string;
  variant: boolean;
  enabled: boolean;
  requiredWhen: Condition;
  quantities: ObligationQuantity[];
  /** documentTypes ids needed before the obligation can be accepted as done. */
  evidence: string[];
}

export type PrejudgementOutcomeId = 'likely_legal' | 'likely_other' | 'likely_illegal' | 'needs_check';
export type PlanZone = 'allowed' | 'conditional' | 'restricted' | 'forbidden';

interface PrejudgementBase {
  note: string;
  outcomes: { id: PrejudgementOutcomeId; label: string }[];
  sliverToleranceM2: number;
}
export interface PrejudgementLand extends PrejudgementBase {
  land: {
    legal: { minApprovedShare: number };
    other: { minCoverShare: number; coverSources: ('facility' | 'temporary')[] };
    illegal: { minUncoveredM2: number; onFarmland: boolean; zones: PlanZone[] };
  };
}
export interface PrejudgementMineral extends PrejudgementBase {
  mineral: { boundaryToleranceM: number; minInsideShare: number; minOutsideM2: number };
}

export type LandGroupId = 'agricultural' | 'construction' | 'unused';
export interface LandClass {
  code: string;
  name: string;
  group: LandGroupId;
  cultivated?: boolean;
}
export interface LandClassScheme {
  id: string;
  label: string;
  note?: string;
  classes: LandClass[];
}
export interface LandClasses {
  note: string;
  primaryScheme: string;
  groups: { id: LandGroupId; label: string }[];
  schemes: LandClassScheme[];
}

export type IndicatorConsequence = 'discipline' | 'warning_interview' | 'public_notice' | 'acceptance_fail';
export interface IndicatorThreshold {
  id: string;
  label: string;
  consequence: IndicatorConsequence;
  basis?: string;
  /** All must hold; metric is value | numerator | denominator of the indicator. */
  when: MetricCondition[];
}
export interface Exclusion {
  id: string;
  label: string;
  enabled: boolean;
  when: Condition;
}

interface IndicatorBase {
  label: string;
  formula: string;
  unit: 'ratio';
  note?: string;
  thresholds?: IndicatorThreshold[];
}
export interface IllegalFarmlandRatioIndicator extends IndicatorBase {
  id: 'illegal_farmland_ratio';
  params: {
    areaMetric: string;
    denominatorInput: { id: string; label: string; source: string; unit: 'm2' | 'mu' | 'ha' };
    exclusions: Exclusion[];
  };
}
export interface FilingRateIndicator extends IndicatorBase {
  id: 'filing_rate';
  params: { numerator: HandlingModeId[]; denominator: HandlingModeId[] };
}
export interface ClosingRateIndicator extends IndicatorBase {
  id: 'closing_rate';
  params: { denominator: 'should_file' | 'filed' };
}
export interface DemolitionRestorationRateIndicator extends IndicatorBase {
  id: 'demolition_restoration_rate';
  params: { obligation: string; quantity: string };
}
export interface RectificationRateIndicator extends IndicatorBase {
  id: 'rectification_rate';
  params: { basis: 'count' | 'area' };
}
export interface FineCollectionRateIndicator extends IndicatorBase {
  id: 'fine_collection_rate';
  /** "obligationId.quantityId" references. */
  params: { decided: string[]; collected: string[] };
}
export type Indicator =
  | IllegalFarmlandRatioIndicator
  | FilingRateIndicator
  | ClosingRateIndicator
  | DemolitionRestorationRateIndicator
  | RectificationRateIndicator
  | FineCollectionRateIndicator;
export type IndicatorId = Indicator['id'];

export interface WarningTrigger {
  id: string;
  label: string;
  basis: string;
  enabled: boolean;
  match: 'any' | 'all';
  conditions: MetricCondition[];
  note?: string;
}

export interface AssessmentItem {
  id: string;
  label: string;
  weight: number;
  indicator?: string;
  metric?: string;
  direction: 'higher_better' | 'lower_better';
  description?: string;
}

export interface Milestone {
  id: string;
  label: string;
  date: string;
  description?: string;
}

export type ReportRoundId = 'initial' | 'update' | 'final';
export interface ReportRound {
  id: ReportRoundId;
  label: string;
  dueBy?: string;
  description?: string;
}

interface RulePackBase {
  $schema?: string;
  formatVersion: 1;
  id: string;
  version: string;
  name: string;
  year: number;
  period: 'annual' | 'quarterly' | 'monthly';
  scope?: { regionCode: string; regionName: string };
  notes?: string[];
  basis: { id: string; docNo: string; title: string; issuer?: string; date?: string; note?: string }[];
  calendar: { timeZone: string; dueAt: 'end_of_day'; note: string };
  documentTypes: { id: string; label: string; description?: string }[];
  verdicts: Record<VerdictBranchId, VerdictBranch>;
  handling: { appliesTo: 'illegal'[]; note?: string; modes: HandlingMode[] };
  obligations: { confirmed: boolean; note: string; items: Obligation[] };
  indicators: Indicator[];
  warningInterview: { note: string; majorViolation: Condition; triggers: WarningTrigger[] };
  assessment: { note: string; total: number; items: AssessmentItem[] };
  milestones: Milestone[];
  reportRounds: ReportRound[];
}
export interface LandRulePackData extends RulePackBase {
  kind: 'land';
  prejudgement: PrejudgementLand;
  landClasses: LandClasses;
}
export interface MineralRulePackData extends RulePackBase {
  kind: 'mineral';
  prejudgement: PrejudgementMineral;
  landClasses?: LandClasses;
}
/** The pack exactly as written in its JSON file. */
export type RulePackData = LandRulePackData | MineralRulePackData;

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * A validated, frozen pack. `digest` (sha256 of the canonical JSON) is non-enumerable, so
 * JSON.stringify(pack) is still exactly the pack data a batch copies.
 */
export type RulePack = DeepReadonly<RulePackData> & { readonly digest: string };

/** Unit-level metrics that warning-interview triggers and assessment items may use. */
export const WARNING_METRICS: Readonly<Record<string, { label: string; unit: Unit }>> = {
  illegal_farmland_area: { label: '违法占用耕地面积', unit: 'm2' },
  illegal_farmland_ratio: { label: '违法占用耕地比例', unit: 'ratio' },
  illegal_area: { label: '违法用地（用矿）面积', unit: 'm2' },
  illegal_count: { label: '违法图斑（宗）数', unit: 'count' },
  major_violation_count: { label: '重大典型违法行为数', unit: 'count' },
  filing_rate: { label: '立案率', unit: 'ratio' },
  closing_rate: { label: '结案率', unit: 'ratio' },
  rectification_rate: { label: '整改到位率', unit: 'ratio' },
  unsubmitted_share: { label: '未按时填报图斑比例', unit: 'ratio' },
  overdue_count: { label: '逾期未整改违法图斑数', unit: 'count' },
  fraud_findings: { label: '经核实的弄虚作假问题数', unit: 'count' },
};

// ---------------------------------------------------------------------------------------------
// Canonical JSON and digest

/** JSON with object keys sorted at every level and no whitespace: equal data, equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    if (s === undefined) throw new TypeError('canonicalJson: value is not representable in JSON');
    return s;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    if (obj[key] === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(obj[key])}`);
  }
  return `{${parts.join(',')}}`;
}

/** sha256 (hex) of the canonical JSON: independent of key order and formatting of the file. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Locating rules/ (works from src/domain/ under tsx and from dist/src/domain/ after a build)

let rootCache: string | undefined;

/** The package root: the nearest ancestor of this module that holds rules/schema.json. */
export function packageRoot(): string {
  if (rootCache) return rootCache;
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'rules', 'schema.json'))) return (rootCache = dir);
    const parent = dirname(dir);
    if (parent === dir)
      throw new WeipianError(
        'rulepack_not_found',
        '找不到规则目录 rules/（应在程序包根目录下）',
        { from: start },
        500,
      );
    dir = parent;
  }
}

export function rulesDir(): string {
  return join(packageRoot(), 'rules');
}

// ---------------------------------------------------------------------------------------------
// Validation

export interface RulePackIssue {
  /** JSON Pointer into the pack, '' for the whole document. */
  path: string;
  message: string;
}

let validatorCache: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validatorCache) return validatorCache;
  const schema = JSON.parse(readFileSync(join(rulesDir(), 'schema.json'), 'utf8')) as object;
  // Strict mode catches typos in the schema itself; union types are used for condition values.
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  // ajv-formats is CommonJS: under NodeNext its default export arrives as module.exports.
  addFormatsModule.default(ajv);
  validatorCache = ajv.compile(schema);
  return validatorCache;
}

function pointer(parts: (string | number)[]): string {
  return parts.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

function describeAjvError(e: ErrorObject): RulePackIssue {
  const p = e.params as Record<string, unknown>;
  let path = e.instancePath;
  let message: string;
  switch (e.keyword) {
    case 'required':
      path += pointer([String(p.missingProperty)]);
      message = '缺少必填项';
      break;
    case 'additionalProperties':
      path += pointer([String(p.additionalProperty)]);
      message = '不允许的属性（拼写错误或规则包格式不支持）';
      break;
    case 'type':
      message = `类型应为 ${String(p.type)}`;
      break;
    case 'enum':
      message = `取值应为以下之一：${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join('、')}`;
      break;
    case 'const':
      message = `取值应为 ${JSON.stringify(p.allowedValue)}`;
      break;
    case 'pattern':
      message = `格式不符（应匹配 ${String(p.pattern)}）`;
      break;
    case 'format':
      message =
        p.format === 'date'
          ? '不是有效的日期（应为 YYYY-MM-DD 且日期真实存在）'
          : p.format === 'regex'
            ? '不是有效的正则表达式'
            : `格式应为 ${String(p.format)}`;
      break;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      message = `数值应 ${String(p.comparison)} ${String(p.limit)}`;
      break;
    case 'minItems':
      message = `至少应有 ${String(p.limit)} 项`;
      break;
    case 'maxItems':
      message = `至多只能有 ${String(p.limit)} 项`;
      break;
    case 'minLength':
      message = p.limit === 1 ? '不能为空' : `长度至少为 ${String(p.limit)}`;
      break;
    case 'maxLength':
      message = `长度至多为 ${String(p.limit)}`;
      break;
    case 'uniqueItems':
      message = `第 ${Number(p.j) + 1} 项与第 ${Number(p.i) + 1} 项重复`;
      break;
    default:
      message = e.message ?? e.keyword;
  }
  return { path, message };
}

function fail(issues: RulePackIssue[], source?: string): never {
  const first = issues[0]!;
  const where = source ? `规则包 ${source} ` : '规则包';
  const more = issues.length > 1 ? `（共 ${issues.length} 处错误）` : '';
  throw new WeipianError(
    'rulepack_invalid',
    `${where}校验失败：${first.path || '/'} ${first.message}${more}`,
    { errors: issues, ...(source ? { source } : {}) },
  );
}

/**
 * Validates parsed JSON as a rule pack (schema, then cross-references) and returns a frozen copy
 * with its digest. Throws WeipianError 'rulepack_invalid' whose message names the JSON path of the
 * first problem and whose details.errors lists all of them.
 */
export function validateRulePack(json: unknown, options: { source?: string } = {}): RulePack {
  const validate = schemaValidator();
  if (!validate(json)) {
    // "if" errors only say that a then-branch failed; the branch's own errors carry the detail.
    const issues = (validate.errors ?? []).filter((e) => e.keyword !== 'if').map(describeAjvError);
    fail(issues.length ? issues : [{ path: '', message: '不符合规则包格式' }], options.source);
  }
  const data = json as RulePackData;
  const issues = semanticIssues(data);
  if (issues.length) fail(issues, options.source);

  const copy = structuredClone(data);
  Object.defineProperty(copy, 'digest', { value: digestOf(copy), enumerable: false });
  return deepFreeze(copy) as unknown as RulePack;
}

/**
 * A pack validated elsewhere and passed on as data (e.g. to a worker thread by structured clone,
 * which drops the digest and the freeze): restored without running the schema again (~0.7 s).
 */
export function adoptRulePack(data: RulePack): RulePack {
  const copy = structuredClone(data) as unknown as RulePackData;
  Object.defineProperty(copy, 'digest', { value: digestOf(copy), enumerable: false });
  return deepFreeze(copy) as unknown as RulePack;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

// ----- cross-reference checks ----------------------------------------------------------------

const AREA_UNITS: readonly Unit[] = ['m2', 'mu', 'ha'];
const COUNT_UNITS: readonly Unit[] = ['count', 'item', 'person'];

/** Units a threshold may be written in for a metric whose native unit is `native`. */
function compatibleUnits(native: Unit): readonly Unit[] {
  if (native === 'm2') return AREA_UNITS;
  if (COUNT_UNITS.includes(native)) return COUNT_UNITS;
  return [native];
}

function semanticIssues(pack: RulePackData): RulePackIssue[] {
  const issues: RulePackIssue[] = [];
  const add = (path: (string | number)[], message: string): void => {
    issues.push({ path: pointer(path), message });
  };
  const unique = <T>(
    items: readonly T[],
    key: (t: T) => string,
    path: (i: number) => (string | number)[],
    what: string,
  ) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const k = key(item);
      const prev = seen.get(k);
      if (prev !== undefined) add(path(i), `${what}“${k}”重复（与第 ${prev + 1} 项相同）`);
      else seen.set(k, i);
    });
    return seen;
  };

  unique(
    pack.basis,
    (b) => b.id,
    (i) => ['basis', i, 'id'],
    '依据文件 id',
  );
  const docTypes = unique(
    pack.documentTypes,
    (d) => d.id,
    (i) => ['documentTypes', i, 'id'],
    '材料类型 id',
  );
  const checkDocType = (docType: string | undefined, path: (string | number)[]) => {
    if (docType !== undefined && !docTypes.has(docType))
      add(path, `材料类型“${docType}”未在 documentTypes 中定义`);
  };

  // Verdict subtypes: ids unique across the whole pack, since a judgement stores only the id.
  const subtypeBranch = new Map<string, VerdictBranchId>();
  for (const b of VERDICT_BRANCH_IDS) {
    const branch = pack.verdicts[b];
    checkFieldList(branch.fields ?? [], ['verdicts', b, 'fields'], add);
    branch.subtypes.forEach((st, i) => {
      const base = ['verdicts', b, 'subtypes', i];
      const prev = subtypeBranch.get(st.id);
      if (prev) add([...base, 'id'], `判定细类 id“${st.id}”重复（已用于 ${prev}）`);
      else subtypeBranch.set(st.id, b);
      checkFieldList(st.fields, [...base, 'fields'], add);
      const branchFieldIds = new Set((branch.fields ?? []).map((f) => f.id));
      st.fields.forEach((f, j) => {
        if (branchFieldIds.has(f.id)) add([...base, 'fields', j, 'id'], `字段 id“${f.id}”与大类公共字段重复`);
      });
      const branchEvidenceIds = new Set((branch.evidence ?? []).map((e) => e.id));
      unique(
        st.evidence,
        (e) => e.id,
        (j) => [...base, 'evidence', j, 'id'],
        '举证材料 id',
      );
      st.evidence.forEach((e, j) => {
        if (branchEvidenceIds.has(e.id))
          add([...base, 'evidence', j, 'id'], `举证材料 id“${e.id}”与大类公共举证重复`);
        checkDocType(e.docType, [...base, 'evidence', j, 'docType']);
      });
    });
    unique(
      branch.evidence ?? [],
      (e) => e.id,
      (j) => ['verdicts', b, 'evidence', j, 'id'],
      '举证材料 id',
    );
    (branch.evidence ?? []).forEach((e, j) =>
      checkDocType(e.docType, ['verdicts', b, 'evidence', j, 'docType']),
    );
  }

  // Handling modes.
  const modes = unique(
    pack.handling.modes,
    (m) => m.id,
    (i) => ['handling', 'modes', i, 'id'],
    '处理方式',
  );
  pack.handling.modes.forEach((m, i) => {
    if (m.requiresReasonCode && !(m.reasons && m.reasons.length))
      add(['handling', 'modes', i, 'reasons'], '要求填写理由代码，但未列出任何理由');
    unique(
      m.reasons ?? [],
      (r) => r.code,
      (j) => ['handling', 'modes', i, 'reasons', j, 'code'],
      '理由代码',
    );
  });
  if (!modes.has('file_case')) add(['handling', 'modes'], '必须包含处理方式 file_case（立案）');

  // Everything a condition may look at: illegal subtypes, handling modes, illegal fields, metrics.
  const illegal = pack.verdicts.illegal;
  const illegalSubtypes = new Set(illegal.subtypes.map((s) => s.id));
  const illegalFields = new Map<string, RuleField>();
  for (const f of illegal.fields ?? []) illegalFields.set(f.id, f);
  for (const st of illegal.subtypes)
    for (const f of st.fields) if (!illegalFields.has(f.id)) illegalFields.set(f.id, f);
  const metricUnits = new Map<string, Unit>();
  for (const id of areaFieldIds()) metricUnits.set(id, 'm2');
  for (const f of illegalFields.values()) if (f.type === 'number') metricUnits.set(f.id, f.unit ?? 'none');
  const milestones = new Set(pack.milestones.map((m) => m.id));

  const checkMetric = (
    mc: MetricCondition,
    path: (string | number)[],
    known: ReadonlyMap<string, Unit>,
    what: string,
    allowAsOf: boolean,
  ) => {
    const native = known.get(mc.metric);
    if (native === undefined) add([...path, 'metric'], `${what}“${mc.metric}”未定义`);
    else if (mc.unit !== undefined && !compatibleUnits(native).includes(mc.unit))
      add([...path, 'unit'], `单位 ${mc.unit} 与指标“${mc.metric}”的单位 ${native} 不相容`);
    if (mc.asOf !== undefined) {
      if (!allowAsOf) add([...path, 'asOf'], 'asOf 只能用于约谈触发条件和指标阈值');
      else if (!milestones.has(mc.asOf)) add([...path, 'asOf'], `里程碑“${mc.asOf}”未定义`);
    }
  };

  const checkCondition = (c: Condition, path: (string | number)[]): void => {
    c.subtypes?.forEach((s, i) => {
      if (!illegalSubtypes.has(s))
        add([...path, 'subtypes', i], `违法细类“${s}”未在 verdicts.illegal 中定义`);
    });
    c.handling?.forEach((h, i) => {
      if (!modes.has(h)) add([...path, 'handling', i], `处理方式“${h}”未在 handling.modes 中定义`);
    });
    for (const [key, value] of Object.entries(c.fields ?? {})) {
      const f = illegalFields.get(key);
      const p = [...path, 'fields', key];
      if (!f) add(p, `字段“${key}”不是违法判定的字段`);
      else if (!fieldAccepts(f, value))
        add(p, `取值 ${JSON.stringify(value)} 与字段“${key}”（${f.type}）不符`);
    }
    c.metrics?.forEach((m, i) => checkMetric(m, [...path, 'metrics', i], metricUnits, '指标', false));
    c.any?.forEach((sub, i) => checkCondition(sub, [...path, 'any', i]));
    c.all?.forEach((sub, i) => checkCondition(sub, [...path, 'all', i]));
    if (c.not) checkCondition(c.not, [...path, 'not']);
  };

  // Obligations ("六个该").
  const obligations = unique(
    pack.obligations.items,
    (o) => o.id,
    (i) => ['obligations', 'items', i, 'id'],
    '义务 id',
  );
  pack.obligations.items.forEach((o, i) => {
    const base = ['obligations', 'items', i];
    checkCondition(o.requiredWhen, [...base, 'requiredWhen']);
    unique(
      o.quantities,
      (q) => q.id,
      (j) => [...base, 'quantities', j, 'id'],
      '数量 id',
    );
    o.evidence.forEach((d, j) => checkDocType(d, [...base, 'evidence', j]));
  });
  const quantityOf = (ref: string): ObligationQuantity | undefined => {
    const [ob, q] = ref.split('.');
    const o = pack.obligations.items[obligations.get(ob ?? '') ?? -1];
    return o?.quantities.find((x) => x.id === q);
  };

  // Prejudgement outcomes: each id once.
  unique(
    pack.prejudgement.outcomes,
    (o) => o.id,
    (i) => ['prejudgement', 'outcomes', i, 'id'],
    '预判结果 id',
  );

  // Land classes.
  if (pack.landClasses) {
    const lc = pack.landClasses;
    unique(
      lc.groups,
      (g) => g.id,
      (i) => ['landClasses', 'groups', i, 'id'],
      '三大类 id',
    );
    const schemes = unique(
      lc.schemes,
      (s) => s.id,
      (i) => ['landClasses', 'schemes', i, 'id'],
      '分类体系 id',
    );
    if (!schemes.has(lc.primaryScheme))
      add(['landClasses', 'primaryScheme'], `分类体系“${lc.primaryScheme}”未定义`);
    const codes = new Map<string, string>();
    lc.schemes.forEach((s, i) =>
      s.classes.forEach((c, j) => {
        const p = ['landClasses', 'schemes', i, 'classes', j];
        const prev = codes.get(c.code);
        if (prev !== undefined) add([...p, 'code'], `地类编码“${c.code}”重复（已见于 ${prev}）`);
        else codes.set(c.code, s.id);
        if (c.cultivated && c.group !== 'agricultural') add([...p, 'cultivated'], '耕地必须属于农用地');
      }),
    );
  }

  // Indicators.
  unique(
    pack.indicators,
    (ind) => ind.id,
    (i) => ['indicators', i, 'id'],
    '指标 id',
  );
  const areaFields = new Set(areaFieldIds());
  pack.indicators.forEach((ind, i) => {
    const base = ['indicators', i];
    const partUnits = new Map<string, Unit>([['value', 'ratio']]);
    switch (ind.id) {
      case 'illegal_farmland_ratio':
        if (!areaFields.has(ind.params.areaMetric))
          add([...base, 'params', 'areaMetric'], `“${ind.params.areaMetric}”不是面积字段`);
        unique(
          ind.params.exclusions,
          (x) => x.id,
          (j) => [...base, 'params', 'exclusions', j, 'id'],
          '扣除项 id',
        );
        ind.params.exclusions.forEach((x, j) =>
          checkCondition(x.when, [...base, 'params', 'exclusions', j, 'when']),
        );
        partUnits.set('numerator', 'm2').set('denominator', 'm2');
        break;
      case 'filing_rate':
        for (const side of ['numerator', 'denominator'] as const)
          ind.params[side].forEach((m, j) => {
            if (!modes.has(m)) add([...base, 'params', side, j], `处理方式“${m}”未在 handling.modes 中定义`);
          });
        partUnits.set('numerator', 'count').set('denominator', 'count');
        break;
      case 'closing_rate':
        if (ind.params.denominator === 'should_file' && !modes.has('should_file_not_filed'))
          add([...base, 'params', 'denominator'], '分母为应立案数，但未定义处理方式 should_file_not_filed');
        partUnits.set('numerator', 'count').set('denominator', 'count');
        break;
      case 'demolition_restoration_rate': {
        const q = quantityOf(`${ind.params.obligation}.${ind.params.quantity}`);
        if (!obligations.has(ind.params.obligation))
          add([...base, 'params', 'obligation'], `义务“${ind.params.obligation}”未定义`);
        else if (!q)
          add(
            [...base, 'params', 'quantity'],
            `义务“${ind.params.obligation}”没有数量“${ind.params.quantity}”`,
          );
        else if (!AREA_UNITS.includes(q.unit))
          add([...base, 'params', 'quantity'], '拆除复耕率的数量必须是面积');
        partUnits.set('numerator', 'm2').set('denominator', 'm2');
        break;
      }
      case 'rectification_rate': {
        const u: Unit = ind.params.basis === 'area' ? 'm2' : 'count';
        partUnits.set('numerator', u).set('denominator', u);
        break;
      }
      case 'fine_collection_rate':
        for (const side of ['decided', 'collected'] as const)
          ind.params[side].forEach((ref, j) => {
            const q = quantityOf(ref);
            if (!q) add([...base, 'params', side, j], `义务数量“${ref}”未定义`);
            else if (q.unit !== 'yuan') add([...base, 'params', side, j], `“${ref}”的单位应为 yuan`);
          });
        partUnits.set('numerator', 'yuan').set('denominator', 'yuan');
        break;
    }
    unique(
      ind.thresholds ?? [],
      (t) => t.id,
      (j) => [...base, 'thresholds', j, 'id'],
      '阈值 id',
    );
    (ind.thresholds ?? []).forEach((t, j) =>
      t.when.forEach((mc, k) =>
        checkMetric(
          mc,
          [...base, 'thresholds', j, 'when', k],
          partUnits,
          '指标分量（value/numerator/denominator）',
          true,
        ),
      ),
    );
  });

  // Warning-interview triggers.
  const warningMetrics = new Map(Object.entries(WARNING_METRICS).map(([k, v]) => [k, v.unit]));
  checkCondition(pack.warningInterview.majorViolation, ['warningInterview', 'majorViolation']);
  unique(
    pack.warningInterview.triggers,
    (t) => t.id,
    (i) => ['warningInterview', 'triggers', i, 'id'],
    '触发条件 id',
  );
  pack.warningInterview.triggers.forEach((t, i) =>
    t.conditions.forEach((mc, j) =>
      checkMetric(mc, ['warningInterview', 'triggers', i, 'conditions', j], warningMetrics, '约谈指标', true),
    ),
  );

  // Assessment.
  const indicatorIds = new Set<string>(pack.indicators.map((x) => x.id));
  unique(
    pack.assessment.items,
    (a) => a.id,
    (i) => ['assessment', 'items', i, 'id'],
    '考核项 id',
  );
  let weights = 0;
  pack.assessment.items.forEach((a, i) => {
    weights += a.weight;
    const p = ['assessment', 'items', i];
    if ((a.indicator === undefined) === (a.metric === undefined))
      add(p, '考核项必须且只能指定 indicator 或 metric 之一');
    if (a.indicator !== undefined && !indicatorIds.has(a.indicator))
      add([...p, 'indicator'], `指标“${a.indicator}”未在 indicators 中定义`);
    if (a.metric !== undefined && !warningMetrics.has(a.metric))
      add([...p, 'metric'], `约谈指标“${a.metric}”未定义`);
  });
  if (Math.abs(weights - pack.assessment.total) > 1e-9)
    add(['assessment', 'total'], `各考核项权重之和 ${weights} 不等于总分 ${pack.assessment.total}`);

  // Milestones: unique, in date order, so "the next deadline" is simply the next entry.
  unique(
    pack.milestones,
    (m) => m.id,
    (i) => ['milestones', i, 'id'],
    '里程碑 id',
  );
  pack.milestones.forEach((m, i) => {
    const prev = pack.milestones[i - 1];
    if (prev && m.date < prev.date)
      add(['milestones', i, 'date'], `日期 ${m.date} 早于上一里程碑“${prev.id}”（${prev.date}）`);
  });

  // Report rounds: initial and final exist with due dates; order initial → update → final.
  unique(
    pack.reportRounds,
    (r) => r.id,
    (i) => ['reportRounds', i, 'id'],
    '报送轮次',
  );
  const order: ReportRoundId[] = ['initial', 'update', 'final'];
  let lastRank = -1;
  let lastDate = '';
  pack.reportRounds.forEach((r, i) => {
    const rank = order.indexOf(r.id);
    if (rank < lastRank) add(['reportRounds', i, 'id'], '报送轮次应按 初报 → 更新报 → 终报 排列');
    lastRank = Math.max(lastRank, rank);
    if (r.dueBy === undefined) {
      if (r.id !== 'update') add(['reportRounds', i, 'dueBy'], `${r.label}必须指定截止里程碑`);
      return;
    }
    const m = pack.milestones.find((x) => x.id === r.dueBy);
    if (!m) add(['reportRounds', i, 'dueBy'], `里程碑“${r.dueBy}”未定义`);
    else if (m.date < lastDate) add(['reportRounds', i, 'dueBy'], `${r.label}的截止日期早于前一轮次`);
    else lastDate = m.date;
  });
  for (const id of ['initial', 'final'] as const)
    if (!pack.reportRounds.some((r) => r.id === id)) add(['reportRounds'], `缺少报送轮次 ${id}`);

  return issues;
}

function checkFieldList(
  fields: readonly RuleField[],
  path: (string | number)[],
  add: (path: (string | number)[], message: string) => void,
): void {
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    const p = [...path, i];
    if (seen.has(f.id)) add([...p, 'id'], `字段 id“${f.id}”重复`);
    seen.add(f.id);
    if (f.enum && f.type !== 'enum') add([...p, 'enum'], 'enum 只能用于 type 为 enum 的字段');
    if ((f.min !== undefined || f.max !== undefined) && f.type !== 'number')
      add([...p, f.min !== undefined ? 'min' : 'max'], 'min/max 只能用于 type 为 number 的字段');
    if (f.min !== undefined && f.max !== undefined && f.min > f.max) add([...p, 'max'], 'max 小于 min');
    if (f.pattern !== undefined && f.type !== 'string')
      add([...p, 'pattern'], 'pattern 只能用于 type 为 string 的字段');
    const values = new Set<string>();
    f.enum?.forEach((v, j) => {
      if (values.has(v.value)) add([...p, 'enum', j, 'value'], `枚举值“${v.value}”重复`);
      values.add(v.value);
    });
  });
}

function fieldAccepts(f: RuleField, value: unknown): boolean {
  switch (f.type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number';
    case 'enum':
      return typeof value === 'string' && (f.enum ?? []).some((v) => v.value === value);
    case 'date':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
    case 'string':
      return typeof value === 'string';
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

const PACK_ID = /^[0-9]{4}-[a-z][a-z0-9-]*$/;

/**
 * Loads and validates a pack. An id like '2017-land' resolves to rules/2017-land.json in the
 * package; anything containing a path separator or ending in .json is a file path.
 */
export function loadRulePack(idOrPath: string): RulePack {
  const isPath = /[\\/]/.test(idOrPath) || idOrPath.endsWith('.json');
  if (!isPath && !PACK_ID.test(idOrPath))
    throw new WeipianError(
      'rulepack_not_found',
      `规则包标识不合法：“${idOrPath}”（应形如 2017-land）`,
      { id: idOrPath },
      404,
    );
  const file = isPath ? resolve(idOrPath) : join(rulesDir(), `${idOrPath}.json`);
  const source = basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new WeipianError(
        'rulepack_not_found',
        `找不到规则包：${isPath ? file : idOrPath}`,
        { file },
        404,
      );
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail([{ path: '', message: `不是合法的 JSON：${(e as Error).message}` }], source);
  }
  const pack = validateRulePack(json, { source });
  if (!isPath && pack.id !== idOrPath)
    fail([{ path: '/id', message: `规则包 id“${pack.id}”与文件名 ${idOrPath}.json 不一致` }], source);
  return pack;
}

export interface RulePackSummary {
  file: string;
  id: string;
  valid: boolean;
  version?: string;
  name?: string;
  kind?: PackKind;
  year?: number;
  digest?: string;
  /** Chinese error message when the pack does not validate. */
  error?: string;
}

/** Every pack in rules/ (sorted by file name); broken packs are listed with their error, not hidden. */
export function listRulePacks(): RulePackSummary[] {
  const dir = rulesDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'schema.json')
    .sort()
    .map((f): RulePackSummary => {
      const id = f.slice(0, -'.json'.length);
      try {
        const p = loadRulePack(PACK_ID.test(id) ? id : join(dir, f));
        return {
          file: f,
          id: p.id,
          valid: true,
          version: p.version,
          name: p.name,
          kind: p.kind,
          year: p.year,
          digest: p.digest,
        };
      } catch (e) {
        if (!(e instanceof WeipianError)) throw e;
        return { file: f, id, valid: false, error: e.message };
      }
    });
}

// ---------------------------------------------------------------------------------------------
// Reading a pack

export interface SubtypeRef {
  branch: VerdictBranchId;
  subtype: DeepReadonly<VerdictSubtype>;
}

export function allSubtypes(pack: RulePack): SubtypeRef[] {
  return VERDICT_BRANCH_IDS.flatMap((branch) =>
    pack.verdicts[branch].subtypes.map((subtype) => ({ branch, subtype })),
  );
}

export function findSubtype(pack: RulePack, subtypeId: string): SubtypeRef | undefined {
  return allSubtypes(pack).find((s) => s.subtype.id === subtypeId);
}

/** The fields a judgement of this subtype has: the branch's common fields, then the subtype's. */
export function fieldsFor(pack: RulePack, subtypeId: string): readonly DeepReadonly<RuleField>[] {
  const ref = findSubtype(pack, subtypeId);
  if (!ref) return [];
  return [...(pack.verdicts[ref.branch].fields ?? []), ...ref.subtype.fields];
}

/** The evidence a judgement of this subtype needs: the branch's common evidence, then the subtype's. */
export function evidenceFor(pack: RulePack, subtypeId: string): readonly DeepReadonly<EvidenceRequirement>[] {
  const ref = findSubtype(pack, subtypeId);
  if (!ref) return [];
  return [...(pack.verdicts[ref.branch].evidence ?? []), ...ref.subtype.evidence];
}

export interface LandClassInfo {
  code: string;
  name: string;
  group: LandGroupId;
  cultivated: boolean;
  scheme: string;
}

/** Looks up a land-class code (地类编码) in any scheme of the pack; undefined if unknown. */
export function landClassOf(pack: RulePack, code: string): LandClassInfo | undefined {
  const c = code.trim();
  for (const s of pack.landClasses?.schemes ?? [])
    for (const k of s.classes)
      if (k.code === c)
        return {
          code: k.code,
          name: k.name,
          group: k.group,
          cultivated: k.cultivated === true,
          scheme: s.id,
        };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Conditions and deadlines

const M2_PER: Partial<Record<Unit, number>> = { m2: 1, mu: 2000 / 3, ha: 10000 };

export function compareValues(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/**
 * Evaluates a metric condition against a value in the metric's native unit (areas in m²);
 * a threshold written in mu or ha is converted to m² first. A missing value never matches.
 */
export function metricHolds(mc: DeepReadonly<MetricCondition>, value: number | undefined): boolean {
  if (value === undefined || !Number.isFinite(value)) return false;
  const factor = (mc.unit && M2_PER[mc.unit]) ?? 1;
  return compareValues(value, mc.comparison, mc.threshold * factor);
}

export interface ConditionContext {
  subtype?: string;
  handling?: string;
  /** Judgement field values; an unset boolean counts as false. */
  fields?: Readonly<Record<string, unknown>>;
  /** Per-violation metrics in native units (analysis fields such as farmland_m2, numeric judgement fields). */
  metrics?: Readonly<Record<string, number | undefined>>;
}

export function evaluateCondition(c: DeepReadonly<Condition>, ctx: ConditionContext): boolean {
  if (c.subtypes && !(ctx.subtype !== undefined && c.subtypes.includes(ctx.subtype))) return false;
  if (c.handling && !(ctx.handling !== undefined && c.handling.includes(ctx.handling))) return false;
  for (const [key, expected] of Object.entries(c.fields ?? {})) {
    const actual = ctx.fields?.[key];
    const ok = typeof expected === 'boolean' ? (actual === true) === expected : actual === expected;
    if (!ok) return false;
  }
  for (const mc of c.metrics ?? []) if (!metricHolds(mc, ctx.metrics?.[mc.metric])) return false;
  if (c.all && !c.all.every((sub) => evaluateCondition(sub, ctx))) return false;
  if (c.any && !c.any.some((sub) => evaluateCondition(sub, ctx))) return false;
  if (c.not && evaluateCondition(c.not, ctx)) return false;
  return true;
}

/** The obligations ("六个该") a violation must fulfil under this pack. */
export function requiredObligations(
  pack: RulePack,
  ctx: ConditionContext,
): readonly DeepReadonly<Obligation>[] {
  return pack.obligations.items.filter((o) => o.enabled && evaluateCondition(o.requiredWhen, ctx));
}

/** Offset (ms) of timeZone from UTC at the given instant, via Intl (no tz database of our own). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The first instant after a due date "YYYY-MM-DD 前" in timeZone: the next day's local midnight.
 * Something is on time when it happens strictly before this instant.
 */
export function endOfDayInstant(date: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const localMidnightAsUtc = Date.UTC(y, m - 1, d + 1);
  // Two passes settle the offset even if it changes around that midnight (DST zones).
  let t = localMidnightAsUtc - zoneOffsetMs(localMidnightAsUtc, timeZone);
  t = localMidnightAsUtc - zoneOffsetMs(t, timeZone);
  return new Date(t);
}

/** The exclusive deadline of a milestone of the pack (see endOfDayInstant). */
export function milestoneDue(pack: RulePack, milestoneId: string): Date {
  const m = pack.milestones.find((x) => x.id === milestoneId);
  if (!m)
    throw new WeipianError('milestone_not_found', `规则包 ${pack.id} 中没有里程碑“${milestoneId}”`, {
      milestoneId,
    });
  return endOfDayInstant(m.date, pack.calendar.timeZone);
}
