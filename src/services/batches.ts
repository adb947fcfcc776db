// Creating a batch: the rule pack is resolved and its milestones copied onto the batch, so a later
// edit of the pack never silently moves a running batch's deadlines.
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import { loadRulePack } from '../domain/rulepack.ts';
import { findBatchBySlug, insertBatch, type BatchRow } from '../store/queries/batches.ts';

export interface CreateBatchInput {
  slug: string;
  kind: string;
  year: number;
  rules?: string;
  name?: string;
  period?: string;
  actor: string;
}

const KIND_LABEL = { land: '土地', mineral: '矿产' } as const;
const PERIODS = ['annual', 'quarterly', 'monthly'] as const;

export async function createBatch(db: Db, input: CreateBatchInput): Promise<BatchRow> {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(input.slug))
    throw new WeipianError(
      'batch_slug_invalid',
      `批次标识只能由小写字母、数字、- 和 _ 组成（最长 64 个字符）：${input.slug}`,
    );
  if (input.kind !== 'land' && input.kind !== 'mineral')
    throw new WeipianError('batch_kind_invalid', `批次类型只能是 land（土地）或 mineral（矿产）：${input.kind}`);
  if (!Number.isInteger(input.year) || input.year < 1990 || input.year > 2100)
    throw new WeipianError('batch_year_invalid', `年度无效：${input.year}`);
  const period = input.period ?? 'annual';
  if (!(PERIODS as readonly string[]).includes(period))
    throw new WeipianError('batch_period_invalid', `期别只能是 annual、quarterly 或 monthly：${period}`);
  const pack = loadRulePack(input.rules ?? `${input.year}-${input.kind}`);
  if (pack.kind !== input.kind)
    throw new WeipianError(
      'batch_rules_kind_mismatch',
      `规则包 ${pack.id} 适用于${KIND_LABEL[pack.kind]}卫片，不能用于${KIND_LABEL[input.kind]}批次`,
    );
  if (await findBatchBySlug(db, input.slug))
    throw new WeipianError('batch_exists', `批次已存在：${input.slug}`, { slug: input.slug }, 409);
  return insertBatch(db, {
    slug: input.slug,
    name: input.name ?? `${input.year}年度${KIND_LABEL[input.kind]}卫片`,
    kind: input.kind,
    year: input.year,
    period: period as (typeof PERIODS)[number],
    rulePackId: pack.id,
    rulePackVersion: pack.version,
    rulePackDigest: pack.digest,
    milestones: pack.milestones,
    createdBy: input.actor,
  });
}
