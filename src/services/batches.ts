// Creating a batch: the rule pack is resolved and its milestones copied onto the batch, so a later
// edit of the pack never silently moves a running batch's deadlines.
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import { loadRulePack } from '../domain/rulepack.ts';
import { findBatchBySlug, insertBatch, type BatchRow, type NewBatch } from '../store/queries/batches.ts';
import { appendEvent } from '../store/queries/events.ts';
import { updateVersioned } from '../store/versioned.ts';

export interface CreateBatchInput {
  slug: string;
  kind: string;
  year: number;
  rules?: string;
  name?: string;
  period?: string;
  actor: string;
  actorRole?: string | null;
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
    throw new WeipianError(
      'batch_kind_invalid',
      `批次类型只能是 land（土地）或 mineral（矿产）：${input.kind}`,
    );
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
  const row: NewBatch = {
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
  };
  try {
    return await db.transaction(async (tx) => {
      const batch = await insertBatch(tx, row);
      await appendEvent(tx, {
        actor: input.actor,
        actorRole: input.actorRole,
        action: 'batch.create',
        recordType: 'batch',
        recordId: batch.slug,
        after: batch,
      });
      return batch;
    });
  } catch (e) {
    // Two creations of one slug at once: the loser meets the unique constraint.
    if ((e as { code?: string }).code === '23505')
      throw new WeipianError('batch_exists', `批次已存在：${input.slug}`, { slug: input.slug }, 409);
    throw e;
  }
}

export interface MilestoneInput {
  id: string;
  label: string;
  date: string;
  description?: string;
}

export interface UpdateBatchInput {
  /** The version the editor read; a different current version is a conflict (409). */
  version: number;
  name?: string;
  milestones?: MilestoneInput[];
  reason?: string;
  actor: string;
  actorRole?: string | null;
}

function isCalendarDate(s: string): boolean {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Same rules as a rule pack's milestones; ids may be added but not removed (rules refer to them). */
function checkMilestones(ms: MilestoneInput[], current: MilestoneInput[]): void {
  if (ms.length === 0) throw new WeipianError('milestones_invalid', '时间节点不能为空');
  const ids = new Set<string>();
  ms.forEach((m, i) => {
    if (!/^[a-z][a-z0-9_]*$/.test(m.id ?? ''))
      throw new WeipianError('milestones_invalid', `第 ${i + 1} 个时间节点的标识无效：${m.id}`, { index: i });
    if (ids.has(m.id))
      throw new WeipianError('milestones_invalid', `时间节点标识重复：${m.id}`, { index: i });
    ids.add(m.id);
    if (typeof m.label !== 'string' || m.label.trim() === '')
      throw new WeipianError('milestones_invalid', `时间节点“${m.id}”缺少名称`, { index: i });
    if (!isCalendarDate(m.date))
      throw new WeipianError('milestones_invalid', `时间节点“${m.id}”的日期无效：${m.date}`, { index: i });
    const prev = ms[i - 1];
    if (prev && m.date < prev.date)
      throw new WeipianError(
        'milestones_invalid',
        `时间节点“${m.id}”的日期 ${m.date} 早于上一节点“${prev.id}”（${prev.date}）`,
        { index: i },
      );
  });
  const removed = current.map((m) => m.id).filter((id) => !ids.has(id));
  if (removed.length > 0)
    throw new WeipianError(
      'milestone_removed',
      `不能删除时间节点（规则中的报送轮次和约谈条件按标识引用它们）：${removed.join('、')}`,
      { removed },
    );
}

/**
 * Edits a batch's name and milestones under optimistic concurrency, and records 'batch.update' with
 * the changed fields before and after (and the editor's reason) in the same transaction.
 */
export async function updateBatch(
  db: Db,
  slug: string,
  input: UpdateBatchInput,
): Promise<BatchRow & { version: number }> {
  const name = input.name?.trim();
  if (input.name !== undefined && (!name || name.length > 200))
    throw new WeipianError('batch_name_invalid', '批次名称不能为空，且不超过 200 个字符');
  if (name === undefined && input.milestones === undefined)
    throw new WeipianError('nothing_to_update', '没有要修改的内容（可修改 name、milestones）');
  const reason = input.reason?.trim() || null;
  return db.transaction(async (tx) => {
    // Locked so that `before` is exactly the state the update replaces.
    const [batch] = await tx.query<BatchRow & { version: number }>(
      'SELECT * FROM batches WHERE slug = $1 FOR UPDATE',
      [slug],
    );
    if (!batch) throw new WeipianError('batch_not_found', `批次不存在：${slug}`, { slug }, 404);
    // A stale editor gets the version conflict (below) rather than a complaint about a list it never saw.
    if (input.milestones !== undefined && batch.version === input.version)
      checkMilestones(input.milestones, batch.milestones as MilestoneInput[]);
    const changes: Record<string, unknown> = {};
    const before: Record<string, unknown> = { version: batch.version };
    if (name !== undefined) {
      changes.name = name;
      before.name = batch.name;
    }
    if (input.milestones !== undefined) {
      changes.milestones = input.milestones;
      before.milestones = batch.milestones;
    }
    const updated = await updateVersioned<BatchRow & { version: number }>(
      tx,
      'batches',
      batch.id,
      input.version,
      changes,
    );
    await appendEvent(tx, {
      actor: input.actor,
      actorRole: input.actorRole,
      action: 'batch.update',
      recordType: 'batch',
      recordId: batch.slug,
      reason,
      before,
      after: { ...changes, version: updated.version },
    });
    return updated;
  });
}
