// weipian batch status | round close|list|show | upper import|record | patch reassign|link
// The workflow from the command line: progress and deadlines of a batch, report rounds, upper-level
// results and the bureau's ownership and source operations. Judging and review happen in the
// browser (they need the officer's login for the second-person rule), not here.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { operate, withDb } from '../context.ts';
import { fmtArea, printResult } from '../output.ts';
import { leaf, newCommand } from '../program.ts';
import type { Db } from '../../store/db.ts';
import { isOperatorCommand } from '../../services/operator.ts';
import { workflowOperatorCommands } from '../../services/workflow.ts';
import { STATE_INFO, WORKFLOW_STATES, VERDICT_IDS, type Figures } from '../../domain/workflow.ts';

type Commands = typeof workflowOperatorCommands;
type Name = keyof Commands;
type Args<K extends Name> = Parameters<Commands[K]>[1];
type Result<K extends Name> = Awaited<ReturnType<Commands[K]>>;

/**
 * Through the running server when the operator command is registered there (then `weipian serve`
 * may keep the data folder), else in-process on the data folder.
 */
async function run<K extends Name>(name: K, args: Args<K>): Promise<Result<K>> {
  if (isOperatorCommand(name)) return (await operate(name as never, args as never)) as Result<K>;
  const fn = workflowOperatorCommands[name] as (
    db: Db,
    a: Args<K>,
    c: { actor: string },
  ) => Promise<Result<K>>;
  return withDb((db, config) => fn(db, args, { actor: config.actor }));
}

function group(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) return existing;
  const g = newCommand(name, description);
  program.addCommand(g);
  return g;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('必须是正整数');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('必须是不小于 0 的整数');
  return n;
}

function instant(value: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('应为时间，如 2018-03-14T23:59:59+08:00');
  return d.toISOString();
}

function date(value: string): string {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value)) throw new InvalidArgumentError('应为日期 YYYY-MM-DD');
  return value;
}

const RESULTS: Record<string, 'passed' | 'returned'> = {
  通过: 'passed',
  passed: 'passed',
  退回: 'returned',
  returned: 'returned',
};

function result(value: string): 'passed' | 'returned' {
  const r = Object.hasOwn(RESULTS, value) ? RESULTS[value] : undefined;
  if (!r) throw new InvalidArgumentError('只能是 通过 或 退回');
  return r;
}

const VERDICT_SHORT: Record<string, string> = {
  undetermined: '未判定',
  legal: '合法',
  other: '其他',
  illegal: '违法',
};

function figureLines(f: Figures, names: Map<string | null, string | null> = new Map()): string[] {
  const lines: string[] = [];
  const row = (name: string, r: Figures['total']) => {
    const states = WORKFLOW_STATES.filter((s) => r.byState[s] > 0)
      .map((s) => `${STATE_INFO[s].label} ${r.byState[s]}`)
      .join('，');
    const areas = VERDICT_IDS.filter((v) => r.partsByVerdict[v] > 0)
      .map((v) => `${VERDICT_SHORT[v]} ${fmtArea(r.areaByVerdict[v])}`)
      .join('；');
    lines.push(`${name}：图斑 ${r.patches} 个（${states || '无'}）`);
    if (areas) lines.push(`    ${areas}`);
  };
  for (const u of f.units)
    row(u.unitCode ? `${u.unitCode} ${names.get(u.unitCode) ?? ''}`.trim() : '（未分配单位）', u);
  row('合计', f.total);
  return lines;
}

function statusText(s: Result<'workflow.status'>): string {
  const lines: string[] = [];
  lines.push(`批次 ${s.batch.slug}（${s.batch.name}），规则包 ${s.rulePack.id} ${s.rulePack.version} 版`);
  lines.push(`按 ${s.timeZone} 时间 ${s.today} 计；“X月X日前”指当日 24 时前`);
  if (s.nextRound)
    lines.push(
      `下一报送节点：${s.nextRound.label} ${s.nextRound.date} 前${s.nextRound.status === 'overdue' ? '（已过期）' : ''}`,
    );
  else lines.push('没有待完成的报送节点');
  if (s.rounds.length)
    lines.push(`已关闭轮次：${s.rounds.map((r) => `${r.label}（上报 ${r.reportedCount} 个）`).join('、')}`);
  const names = new Map(s.units.map((u) => [u.unitCode, u.unitName]));
  lines.push(...figureLines({ units: s.units, total: s.total }, names));
  const item = (o: (typeof s.overdue)[number], late: boolean) =>
    `  ${o.jcbh}\t${o.unitName ?? o.unitCode ?? '（未分配）'}\t${o.stateLabel}\t${o.dueDate} 前${o.source === 'return' ? '（退回时限）' : ''}${late ? `\t逾期 ${o.daysOverdue} 天` : ''}`;
  lines.push(s.overdue.length ? `逾期 ${s.overdue.length} 个：` : '没有逾期的图斑');
  for (const o of s.overdue) lines.push(item(o, true));
  lines.push(
    s.dueSoon.length
      ? `${s.soonDays} 天内到期 ${s.dueSoon.length} 个：`
      : `没有 ${s.soonDays} 天内到期的图斑`,
  );
  for (const o of s.dueSoon) lines.push(item(o, false));
  if (s.unlinkedSources > 0)
    lines.push(
      `注意：${s.unlinkedSources} 个例行督察/巡查/举报图斑尚未与重叠图斑关联，请运行 weipian patch link ${s.batch.slug}`,
    );
  return lines.join('\n');
}

export function workflowCommands(program: Command): void {
  const batch = group(program, 'batch', '批次：创建与查看');
  leaf(
    batch,
    'status <slug>',
    '批次进度：各单位按状态的图斑数与按判定的面积，逾期和临近期限的图斑',
    (c) =>
      c
        .option('--unit <代码>', '只看一个责任单位（9 位代码）')
        .option('--soon-days <n>', '“临近期限”的天数', nonNegativeInt, 3)
        .option('--at <时间>', '按这个时刻计算逾期（默认现在），如 2018-03-15T00:00:00+08:00', instant),
    async (slug: string, opts: { unit?: string; soonDays: number; at?: string; json?: boolean }) => {
      const s = await run('workflow.status', {
        batch: slug,
        unit: opts.unit,
        soonDays: opts.soonDays,
        at: opts.at,
      });
      printResult(opts, { ok: true, status: s }, () => statusText(s));
    },
  );

  const round = group(program, 'round', '报送轮次：初报、更新报、终报');
  leaf(
    round,
    'close <batch>',
    '关闭报送轮次：已初审通过的图斑上报并锁定判定，冻结全批次快照（哈希记入审计链）',
    (c) =>
      c
        .requiredOption('--round <轮次>', 'initial（初报）、update（更新报）或 final（终报）')
        .option('--reason <说明>', '说明（记入操作记录）'),
    async (slug: string, opts: { round: string; reason?: string; json?: boolean }) => {
      const r = await run('round.close', { batch: slug, round: opts.round, reason: opts.reason });
      printResult(opts, { ok: true, round: r }, () =>
        [
          `已关闭批次 ${slug} 的${r.label}（第 ${r.seq} 轮）：上报 ${r.reportedCount} 个图斑`,
          `快照哈希 ${r.hash}`,
          ...figureLines(r.figures),
        ].join('\n'),
      );
    },
  );
  leaf(
    round,
    'list <batch>',
    '列出已关闭的报送轮次',
    (c) => c,
    async (slug: string, opts: { json?: boolean }) => {
      const rounds = await run('round.list', { batch: slug });
      printResult(opts, { ok: true, rounds }, () =>
        rounds.length === 0
          ? `批次 ${slug} 还没有关闭任何报送轮次`
          : rounds
              .map(
                (r) =>
                  `第 ${r.seq} 轮\t${r.label}\t${new Date(r.closedAt).toISOString()}\t${r.closedBy}\t上报 ${r.reportedCount} 个\t${r.hash}`,
              )
              .join('\n'),
      );
    },
  );
  leaf(
    round,
    'show <batch> <seq>',
    '查看一个报送轮次的统计，并重新计算快照哈希、与审计链核对（不一致时退出码为 1）',
    (c) => c,
    async (slug: string, seqText: string, opts: { json?: boolean }) => {
      const r = await run('round.show', { batch: slug, seq: positiveInt(seqText) });
      printResult(opts, { ok: r.verification.ok, round: r }, () =>
        [
          `批次 ${slug} 第 ${r.seq} 轮：${r.label}，${new Date(r.closedAt).toISOString()} 由 ${r.closedBy} 关闭，上报 ${r.reportedCount} 个`,
          `快照哈希 ${r.hash}：${r.verification.ok ? '与重新计算的结果和审计链记录一致' : `不一致！重新计算 ${r.verification.recomputedHash}，审计链 ${r.verification.eventHash ?? '无记录'}`}`,
          ...figureLines(r.figures),
        ].join('\n'),
      );
      if (!r.verification.ok) process.exitCode = 1;
    },
  );

  const upper = group(program, 'upper', '上级审核结果：导入清单或逐个登记');
  leaf(
    upper,
    'import <file>',
    '导入上级审核结果清单（Excel：监测编号、审核结果 通过/退回、退回原因、可选整改期限）；全部或全不',
    (c) => c.requiredOption('--batch <slug>', '批次').option('--sheet <工作表>', '工作表名（默认第一个）'),
    async (file: string, opts: { batch: string; sheet?: string; json?: boolean }) => {
      const s = await run('upper.import', { batch: opts.batch, file, sheet: opts.sheet });
      printResult(
        opts,
        { ok: true, summary: s },
        () =>
          `已导入 ${s.file}（工作表 ${s.sheet}）：${s.rows} 个图斑，上级通过 ${s.passed} 个，上级退回 ${s.returned} 个`,
      );
    },
  );
  leaf(
    upper,
    'record <batch> <jcbh>',
    '登记上级对一个已上报图斑的审核结果',
    (c) =>
      c
        .requiredOption('--result <结果>', '通过 或 退回', result)
        .option('--reason <原因>', '退回原因（退回时必填）')
        .option('--due <日期>', '退回后的整改期限 YYYY-MM-DD', date),
    async (
      slug: string,
      jcbh: string,
      opts: { result: 'passed' | 'returned'; reason?: string; due?: string; json?: boolean },
    ) => {
      const r = await run('upper.record', {
        batch: slug,
        jcbh,
        result: opts.result,
        reason: opts.reason,
        dueDate: opts.due,
      });
      printResult(opts, { ok: true, ...r }, () => `图斑 ${jcbh}：${r.workflow.label}`);
    },
  );

  const patch = group(program, 'patch', '图斑：改派责任单位、关联重叠图斑');
  leaf(
    patch,
    'reassign <batch> <jcbh>',
    '把图斑改派给另一个责任单位（须说明原因）',
    (c) =>
      c
        .requiredOption('--unit <代码>', '新的责任单位（9 位代码）')
        .requiredOption('--reason <原因>', '改派原因'),
    async (slug: string, jcbh: string, opts: { unit: string; reason: string; json?: boolean }) => {
      const r = await run('patch.reassign', { batch: slug, jcbh, unit: opts.unit, reason: opts.reason });
      printResult(
        opts,
        { ok: true, ...r },
        () => `图斑 ${jcbh} 已改派给 ${r.patch.unitName ?? ''}（${r.patch.unitCode}）`,
      );
    },
  );
  leaf(
    patch,
    'link <batch>',
    '把例行督察、巡查、举报图斑与其重叠的图斑关联（统计时重叠面积只计一次）',
    (c) => c,
    async (slug: string, opts: { json?: boolean }) => {
      const r = await run('patch.link', { batch: slug });
      printResult(
        opts,
        { ok: true, ...r },
        () =>
          `已检查 ${r.checked} 个例行督察/巡查/举报图斑：${r.linked} 个与其他图斑重叠，关联变化 ${r.changed.length} 个`,
      );
    },
  );
}
