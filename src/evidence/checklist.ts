// The evidence checklist (举证清单) of a patch: what the rule pack requires for its verdict and
// subtype (the branch's common evidence, then the subtype's), and what is present — so a unit sees
// what is missing before submitting and a reviewer sees it at a glance. A pure function of
// (rule pack, verdict, subtype, evidence present); which verdict applies is the caller's business.
import { WeipianError } from '../domain/errors.ts';
import {
  VERDICT_BRANCH_IDS,
  type EvidenceRequirement,
  type DeepReadonly,
  type RuleField,
  type RulePack,
  type VerdictBranchId,
} from '../domain/rulepack.ts';

/** One evidence item as the checklist sees it. */
export interface PresentEvidence {
  id: number;
  kind: 'photo' | 'document';
  docType: string | null;
  /** Replaced by a newer version: kept in the timeline, no longer counted. */
  superseded: boolean;
  /** Integrity signals still waiting for a reviewer. */
  openSignals: number;
  /** Signals a reviewer confirmed as a finding (虚假举证 …): such an item proves nothing. */
  confirmedFindings: number;
}

export interface ChecklistItem {
  id: string;
  label: string;
  /** 'branch' = every subtype of the verdict needs it; 'subtype' = this subtype's own. */
  from: 'branch' | 'subtype';
  required: boolean;
  kinds: readonly ('photo' | 'document')[];
  docType: string | null;
  docTypeLabel: string | null;
  minCount: number;
  description: string | null;
  /** Current items that count for it (not superseded, no confirmed finding). */
  evidenceIds: number[];
  present: number;
  /** How many more are needed (0 when satisfied). */
  missing: number;
  satisfied: boolean;
  /** Counted items with signals still open: present, but not yet trusted. */
  withOpenSignals: number[];
  /** Matching items a reviewer found false (confirmed finding): not counted. */
  rejectedIds: number[];
}

export interface Checklist {
  packId: string;
  packVersion: string;
  verdict: VerdictBranchId | null;
  verdictLabel: string | null;
  subtype: string | null;
  subtypeLabel: string | null;
  /** 'no_verdict' until the patch is judged: nothing can be required yet. */
  status: 'no_verdict' | 'complete' | 'incomplete';
  items: ChecklistItem[];
  /** Labels of the required items still missing, for a one-line summary. */
  missing: string[];
  /** Current items no requirement asks for (kept, shown, not counted). */
  unmatchedIds: number[];
  /** What the judgement form records for this subtype (批准文号、批准时间 …), for the documents' fields. */
  fields: readonly DeepReadonly<RuleField>[];
  /** One-line Chinese summary. */
  summary: string;
}

function matches(req: DeepReadonly<EvidenceRequirement>, e: PresentEvidence): boolean {
  if (!req.kinds.includes(e.kind)) return false;
  // A document requirement naming a type wants exactly that type; photos have no type.
  if (e.kind === 'document' && req.docType !== undefined) return e.docType === req.docType;
  return true;
}

export function buildChecklist(
  pack: RulePack,
  verdict: string | null | undefined,
  subtype: string | null | undefined,
  evidence: readonly PresentEvidence[],
): Checklist {
  const base = { packId: pack.id, packVersion: pack.version };
  const current = evidence.filter((e) => !e.superseded);
  if (!verdict) {
    if (subtype)
      throw new WeipianError('checklist_verdict_invalid', `指定细类“${subtype}”时必须同时指定判定类别`);
    return {
      ...base,
      verdict: null,
      verdictLabel: null,
      subtype: null,
      subtypeLabel: null,
      status: 'no_verdict',
      items: [],
      missing: [],
      unmatchedIds: current.map((e) => e.id),
      fields: [],
      summary: '图斑尚未判定：判定后才能确定需要哪些举证材料。',
    };
  }
  if (!(VERDICT_BRANCH_IDS as readonly string[]).includes(verdict))
    throw new WeipianError(
      'checklist_verdict_invalid',
      `判定类别无效：${verdict}（可选：${VERDICT_BRANCH_IDS.map((v) => `${v}（${pack.verdicts[v].label}）`).join('、')}）`,
      { verdict },
    );
  const branchId = verdict as VerdictBranchId;
  const branch = pack.verdicts[branchId];
  const sub = subtype ? branch.subtypes.find((s) => s.id === subtype) : undefined;
  if (subtype && !sub)
    throw new WeipianError(
      'checklist_subtype_invalid',
      `规则包 ${pack.id} 的“${branch.label}”中没有细类“${subtype}”（可选：${branch.subtypes.map((s) => `${s.id}（${s.label}）`).join('、')}）`,
      { verdict, subtype },
    );
  const docLabel = new Map(pack.documentTypes.map((d) => [d.id, d.label]));
  const reqs: { req: DeepReadonly<EvidenceRequirement>; from: 'branch' | 'subtype' }[] = [
    ...(branch.evidence ?? []).map((req) => ({ req, from: 'branch' as const })),
    ...(sub?.evidence ?? []).map((req) => ({ req, from: 'subtype' as const })),
  ];
  const used = new Set<number>();
  const items = reqs.map(({ req, from }): ChecklistItem => {
    const matching = current.filter((e) => matches(req, e));
    matching.forEach((e) => used.add(e.id));
    const counted = matching.filter((e) => e.confirmedFindings === 0);
    const minCount = req.minCount ?? 1;
    const missing = Math.max(0, minCount - counted.length);
    return {
      id: req.id,
      label: req.label,
      from,
      required: req.required,
      kinds: req.kinds,
      docType: req.docType ?? null,
      docTypeLabel: req.docType ? (docLabel.get(req.docType) ?? req.docType) : null,
      minCount,
      description: req.description ?? null,
      evidenceIds: counted.map((e) => e.id),
      present: counted.length,
      missing,
      satisfied: missing === 0,
      withOpenSignals: counted.filter((e) => e.openSignals > 0).map((e) => e.id),
      rejectedIds: matching.filter((e) => e.confirmedFindings > 0).map((e) => e.id),
    };
  });
  const missingLabels = items
    .filter((i) => i.required && !i.satisfied)
    .map((i) => (i.minCount > 1 ? `${i.label}（还差 ${i.missing} 份）` : i.label));
  const complete = missingLabels.length === 0;
  const title = `${branch.label}${sub ? `·${sub.label}` : ''}`;
  const flagged = new Set(items.flatMap((i) => i.withOpenSignals)).size;
  const summary = complete
    ? `${title}：必需的举证材料已齐全${flagged > 0 ? `，其中 ${flagged} 份有待审核的疑点` : ''}。`
    : `${title}：还缺 ${missingLabels.join('、')}。`;
  return {
    ...base,
    verdict: branchId,
    verdictLabel: branch.label,
    subtype: sub?.id ?? null,
    subtypeLabel: sub?.label ?? null,
    status: complete ? 'complete' : 'incomplete',
    items,
    missing: missingLabels,
    unmatchedIds: current.filter((e) => !used.has(e.id)).map((e) => e.id),
    fields: [...(branch.fields ?? []), ...(sub?.fields ?? [])],
    summary,
  };
}
