// The pre-judgement (预判) of a patch from its overlay figures, by the thresholds of the rule
// pack's `prejudgement` section: likely_legal / likely_other / likely_illegal / needs_check, a
// plain-Chinese reason quoting the numbers and thresholds it used, the suspected verdict subtype,
// and the evidence (举证) that subtype still needs. A pre-judgement only orders the town's work;
// the judgement itself is the town's and the district's.

import type {
  DeepReadonly,
  EvidenceRequirement,
  PlanZone,
  PrejudgementOutcomeId,
  RulePack,
  VerdictBranchId,
} from './rulepack.ts';
import { evidenceFor, findSubtype, VERDICT_BRANCH_IDS } from './rulepack.ts';

export type LegalSource = 'approval' | 'expropriation' | 'supply' | 'linkage';
export type OtherSource = 'facility' | 'temporary';

export const ZONE_LABELS: Readonly<Record<PlanZone, string>> = {
  allowed: '允许建设区',
  conditional: '有条件建设区',
  restricted: '限制建设区',
  forbidden: '禁止建设区',
};

const LEGAL_SOURCE_SUBTYPE: Readonly<Record<LegalSource, string>> = {
  approval: 'agri_conversion_approval',
  expropriation: 'agri_conversion_approval',
  supply: 'land_supply',
  linkage: 'linkage_quota',
};
const OTHER_SOURCE_SUBTYPE: Readonly<Record<OtherSource, string>> = {
  facility: 'facility_agricultural',
  temporary: 'temporary_use',
};
const OTHER_SOURCE_LABEL: Readonly<Record<OtherSource, string>> = {
  facility: '设施农用地',
  temporary: '临时用地',
};

/** What the analysis found for a land patch, in m² (ellipsoidal). null: the layer was not given. */
export interface LandFigures {
  areaM2: number;
  /** Union over all legal covers (approval, expropriation, supply, linkage); null: none of those layers given. */
  approvedM2: number | null;
  /** Document numbers of the legal covers, largest cover first. */
  approvalDocs: readonly string[];
  /** The legal source covering most of the patch. */
  legalSource: LegalSource | null;
  /** Union over the pack's `other.coverSources`; null: none of those layers given. */
  otherCoverM2: number | null;
  otherSource: OtherSource | null;
  otherDocs: readonly string[];
  /** Patch minus the union of legal and other covers. */
  uncoveredM2: number;
  /** Cultivated land inside the uncovered part; null: no farmland information. */
  uncoveredFarmlandM2: number | null;
  /** Area of each planning zone inside the uncovered part; null: no planning layer. */
  uncoveredZoneM2: Readonly<Partial<Record<PlanZone, number>>> | null;
  /** Pair overlays that failed: the figures may be incomplete. */
  errorCount?: number;
}

export interface LicenceRef {
  no: string;
  /** 'YYYY-MM-DD' end of validity, when known. */
  validTo?: string | null;
}

/** What the analysis found for a mineral patch. Licence areas are measured with the boundary tolerance. */
export interface MineralFigures {
  areaM2: number;
  /** false: no mining-right layer given. */
  miningLayer: boolean;
  explorationLayer: boolean;
  /** Area inside mining licences valid at the after-image date. */
  insideM2: number;
  outsideM2: number;
  /** Valid mining licences meeting the patch, largest share first. */
  validLicences: readonly LicenceRef[];
  /** Mining licences meeting the patch but not valid at the after-image date. */
  invalidLicences: readonly LicenceRef[];
  /** Area inside valid exploration licences, and their numbers. */
  explorationM2: number;
  explorationLicences: readonly LicenceRef[];
  toleranceM: number;
  /** false when the after-image date is unknown, so validity could not be checked. */
  datesChecked: boolean;
  errorCount?: number;
}

export interface SuspectedSubtype {
  branch: VerdictBranchId;
  id: string;
  label: string;
}

export interface EvidenceNeed {
  id: string;
  label: string;
  required: boolean;
  kinds: readonly ('photo' | 'document')[];
  docType?: string;
  minCount?: number;
}

export interface Prejudgement {
  outcome: PrejudgementOutcomeId;
  /** The pack's label of the outcome, e.g. 疑似合法 (mineral likely_other: 疑似伪变化). */
  label: string;
  /** Plain Chinese: the figures, the thresholds, the conclusion. */
  reason: string;
  /** The verdict subtype the figures point to; null when they point nowhere in particular. */
  suspected: SuspectedSubtype | null;
  /** Evidence the suspected subtype needs that has not been provided (common evidence when none). */
  evidence: EvidenceNeed[];
}

export interface PrejudgeOptions {
  /** Evidence requirement ids already satisfied; they are left out of `evidence`. */
  providedEvidence?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** 0.9623 → '96.2%'. */
export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** 1234.5 → '1234.50 平方米'. */
export function formatM2(m2: number): string {
  return `${m2.toFixed(2)} 平方米`;
}

/** At most `max` items joined by '、', then '等 N 个'. */
export function listShort(items: readonly string[], max = 2): string {
  if (items.length <= max) return items.join('、');
  return `${items.slice(0, max).join('、')}等 ${items.length} 个`;
}

// ---------------------------------------------------------------------------------------------

function outcomeLabel(pack: RulePack, id: PrejudgementOutcomeId): string {
  return pack.prejudgement.outcomes.find((o) => o.id === id)?.label ?? id;
}

function toNeed(e: DeepReadonly<EvidenceRequirement>): EvidenceNeed {
  const need: EvidenceNeed = { id: e.id, label: e.label, required: e.required, kinds: [...e.kinds] };
  if (e.docType !== undefined) need.docType = e.docType;
  if (e.minCount !== undefined) need.minCount = e.minCount;
  return need;
}

/** Evidence of the subtype, or — without one — the evidence every branch asks for (site photos). */
function evidenceNeeds(pack: RulePack, subtypeId: string | null, opts: PrejudgeOptions): EvidenceNeed[] {
  const provided = new Set(opts.providedEvidence ?? []);
  let list: readonly DeepReadonly<EvidenceRequirement>[];
  if (subtypeId) list = evidenceFor(pack, subtypeId);
  else {
    const perBranch = VERDICT_BRANCH_IDS.map((b) => pack.verdicts[b].evidence ?? []);
    list = perBranch[0]!.filter((e) => perBranch.every((l) => l.some((x) => x.id === e.id)));
  }
  const seen = new Set<string>();
  const out: EvidenceNeed[] = [];
  for (const e of list) {
    if (provided.has(e.id) || seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(toNeed(e));
  }
  return out;
}

function suspect(pack: RulePack, subtypeId: string | null): SuspectedSubtype | null {
  if (!subtypeId) return null;
  const ref = findSubtype(pack, subtypeId);
  return ref ? { branch: ref.branch, id: ref.subtype.id, label: ref.subtype.label } : null;
}

function result(
  pack: RulePack,
  outcome: PrejudgementOutcomeId,
  reason: string,
  subtypeId: string | null,
  opts: PrejudgeOptions,
): Prejudgement {
  const suspected = suspect(pack, subtypeId);
  return {
    outcome,
    label: outcomeLabel(pack, outcome),
    reason,
    suspected,
    evidence: evidenceNeeds(pack, suspected?.id ?? null, opts),
  };
}

function noArea(pack: RulePack, opts: PrejudgeOptions): Prejudgement {
  return result(
    pack,
    'needs_check',
    '图斑没有可叠加的面（仅有中心点或几何无效），无法叠加分析，需核实',
    null,
    opts,
  );
}

function failed(pack: RulePack, n: number, opts: PrejudgeOptions): Prejudgement {
  return result(pack, 'needs_check', `有 ${n} 处叠加计算失败（见分析明细），数据不完整，需核实`, null, opts);
}

/**
 * Land pre-judgement, in the pack's order: approved share reaches `legal.minApprovedShare` →
 * likely_legal; facility/temporary cover reaches `other.minCoverShare` → likely_other; the uncovered
 * part reaches `illegal.minUncoveredM2` and lies on cultivated land (when `onFarmland`) or in one of
 * `illegal.zones` → likely_illegal (批少占多 when partly approved, else 未批先建); else needs_check.
 * Thresholds named min… are reached at equality.
 */
export function prejudgeLand(pack: RulePack, f: LandFigures, opts: PrejudgeOptions = {}): Prejudgement {
  if (pack.kind !== 'land') throw new TypeError(`prejudgeLand: pack ${pack.id} is not a land pack`);
  const pj = pack.prejudgement.land;
  const sliver = pack.prejudgement.sliverToleranceM2;
  if (!(f.areaM2 > sliver)) return noArea(pack, opts);
  if (f.errorCount) return failed(pack, f.errorCount, opts);
  const area = f.areaM2;
  const docs = (list: readonly string[]) => (list.length > 0 ? `（${listShort(list)}）` : '');

  const approvedShare = f.approvedM2 === null ? null : f.approvedM2 / area;
  if (approvedShare !== null && approvedShare >= pj.legal.minApprovedShare)
    return result(
      pack,
      'likely_legal',
      `已批准面积占 ${formatShare(approvedShare)}${docs(f.approvalDocs)}，判为疑似合法`,
      f.legalSource ? LEGAL_SOURCE_SUBTYPE[f.legalSource] : 'agri_conversion_approval',
      opts,
    );

  if (f.otherCoverM2 !== null && f.otherCoverM2 / area >= pj.other.minCoverShare) {
    const what = f.otherSource
      ? OTHER_SOURCE_LABEL[f.otherSource]
      : pj.other.coverSources.map((s) => OTHER_SOURCE_LABEL[s]).join('或');
    return result(
      pack,
      'likely_other',
      `${what}覆盖 ${formatShare(f.otherCoverM2 / area)}${docs(f.otherDocs)}，判为疑似其他（非新增建设）`,
      f.otherSource ? OTHER_SOURCE_SUBTYPE[f.otherSource] : null,
      opts,
    );
  }

  const approvedPart =
    f.approvedM2 === null
      ? '未提供批准范围图层'
      : f.approvedM2 > sliver
        ? `已批准 ${formatShare(approvedShare!)}${docs(f.approvalDocs)}`
        : '无批准范围覆盖';
  const farm = f.uncoveredFarmlandM2;
  const onFarm = pj.illegal.onFarmland && farm !== null && farm > sliver;
  const zoneHits = f.uncoveredZoneM2
    ? pj.illegal.zones.filter((z) => (f.uncoveredZoneM2![z] ?? 0) > sliver)
    : [];
  const inZone = zoneHits.length > 0;
  const bigEnough = f.uncoveredM2 >= pj.illegal.minUncoveredM2;

  if (bigEnough && (onFarm || inZone)) {
    const partial = f.approvedM2 !== null && f.approvedM2 > sliver;
    const subtype = partial ? 'exceed_approved_area' : 'build_without_approval';
    const where: string[] = [];
    if (onFarm) where.push(`占耕地 ${formatM2(farm!)}`);
    for (const z of zoneHits) where.push(`${ZONE_LABELS[z]} ${formatM2(f.uncoveredZoneM2![z]!)}`);
    const label = findSubtype(pack, subtype)?.subtype.label ?? subtype;
    return result(
      pack,
      'likely_illegal',
      `${approvedPart}，未覆盖 ${formatM2(f.uncoveredM2)}（${where.join('，')}），判为疑似违法（${label}）`,
      subtype,
      opts,
    );
  }

  let why: string;
  if (!bigEnough) why = `未覆盖 ${formatM2(f.uncoveredM2)}，未达 ${formatM2(pj.illegal.minUncoveredM2)}`;
  else {
    const unknown: string[] = [];
    if (pj.illegal.onFarmland && farm === null) unknown.push('耕地');
    if (pj.illegal.zones.length > 0 && f.uncoveredZoneM2 === null) unknown.push('规划分区');
    const zonesText = pj.illegal.zones.map((z) => ZONE_LABELS[z]).join('、');
    why =
      unknown.length > 0
        ? `未覆盖 ${formatM2(f.uncoveredM2)}，但未提供${unknown.join('、')}图层，无法判断`
        : `未覆盖 ${formatM2(f.uncoveredM2)}，但未占耕地${zonesText ? `且不在${zonesText}` : ''}`;
  }
  return result(pack, 'needs_check', `${approvedPart}，${why}，需核实`, null, opts);
}

/**
 * Mineral pre-judgement, in the pack's order, with licences grown by `boundaryToleranceM` and only
 * licences valid at the after-image date counting: no valid mining licence meets the patch →
 * likely_illegal (以采代探 when it lies in an exploration licence, else 无证开采); area outside reaches
 * `minOutsideM2` → likely_illegal (越界开采); inside share reaches `minInsideShare` → likely_legal;
 * inside an exploration licence → needs_check (以采代探 suspected); else needs_check.
 */
export function prejudgeMineral(pack: RulePack, f: MineralFigures, opts: PrejudgeOptions = {}): Prejudgement {
  if (pack.kind !== 'mineral') throw new TypeError(`prejudgeMineral: pack ${pack.id} is not a mineral pack`);
  const pj = pack.prejudgement.mineral;
  const sliver = pack.prejudgement.sliverToleranceM2;
  if (!(f.areaM2 > sliver)) return noArea(pack, opts);
  if (f.errorCount) return failed(pack, f.errorCount, opts);
  if (!f.miningLayer)
    return result(pack, 'needs_check', '未提供采矿权图层，无法判断是否持证，需核实', null, opts);
  const tol = `（边界容差 ${f.toleranceM} 米）`;
  const nos = (l: readonly LicenceRef[]) => listShort(l.map((x) => x.no));
  const dateNote = f.datesChecked ? '' : '；后时相日期不详，未核对有效期';
  const expired =
    f.invalidLicences.length > 0
      ? `；采矿权 ${listShort(
          f.invalidLicences.map((x) => (x.validTo ? `${x.no}（有效期至 ${x.validTo}）` : x.no)),
          1,
        )}在后时相时不在有效期内`
      : '';
  const inExploration = f.explorationM2 > sliver;

  if (f.insideM2 <= sliver) {
    if (inExploration)
      return result(
        pack,
        'likely_illegal',
        `未与有效采矿权相交${tol}，位于探矿权 ${nos(f.explorationLicences)} 范围内${expired}，判为疑似违法（以采代探）`,
        'mining_under_exploration_licence',
        opts,
      );
    return result(
      pack,
      'likely_illegal',
      `未与任何有效采矿权相交${tol}${expired}${dateNote}，判为疑似违法（无证开采）`,
      'mining_without_licence',
      opts,
    );
  }
  if (f.outsideM2 >= pj.minOutsideM2)
    return result(
      pack,
      'likely_illegal',
      `越出采矿权 ${nos(f.validLicences)} 范围 ${formatM2(f.outsideM2)}${tol}，达到 ${formatM2(pj.minOutsideM2)}${dateNote}，判为疑似违法（越界开采）`,
      'mining_beyond_boundary',
      opts,
    );
  const share = f.insideM2 / f.areaM2;
  if (share >= pj.minInsideShare)
    return result(
      pack,
      'likely_legal',
      `位于有效采矿权 ${nos(f.validLicences)} 范围内 ${formatShare(share)}${tol}${dateNote}，判为疑似合法`,
      'licensed_within_boundary',
      opts,
    );
  if (inExploration)
    return result(
      pack,
      'needs_check',
      `采矿权 ${nos(f.validLicences)} 范围内 ${formatShare(share)}，另位于探矿权 ${nos(f.explorationLicences)} 范围内，疑似以采代探，需核实`,
      'mining_under_exploration_licence',
      opts,
    );
  return result(
    pack,
    'needs_check',
    `采矿权 ${nos(f.validLicences)} 范围内 ${formatShare(share)}（未达 ${formatShare(pj.minInsideShare)}），越界 ${formatM2(f.outsideM2)}（未达 ${formatM2(pj.minOutsideM2)}），需核实`,
    null,
    opts,
  );
}
