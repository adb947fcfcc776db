// weipian analyse --batch <slug> [--all]
import type { Command } from 'commander';
import { operate, withDb } from '../context.ts';
import { printResult, progressBar } from '../output.ts';
import { leaf } from '../program.ts';
import { WeipianError } from '../../domain/errors.ts';
import { runWorker } from '../../jobs/analysis-worker.ts';
import type { AnalyseSummary } from '../../jobs/analyse-batch.ts';
import { PREJUDGEMENT_VALUES } from '../../domain/fields.ts';
import { LAYER_TYPE_LABELS } from '../../store/queries/layers.ts';

function human(s: AnalyseSummary): string {
  const lines: string[] = [];
  if (s.queued !== undefined)
    lines.push(
      `已把批次 ${s.batch} 的 ${s.queued} 个图斑排入分析队列（第 ${s.runId} 次分析），由 weipian worker 进程计算`,
    );
  else if (s.analysed === 0)
    lines.push(`批次 ${s.batch} 的 ${s.patches} 个图斑分析结果均为最新，无需重新分析（全部重算请加 --all）`);
  else
    lines.push(
      `已分析批次 ${s.batch} 的 ${s.analysed} 个图斑（共 ${s.patches} 个，${s.mode === 'all' ? '全部重算' : '只算过期和未分析的'}），用时 ${s.seconds.toFixed(1)} 秒`,
    );
  if (s.analysed > 0) {
    const counts = PREJUDGEMENT_VALUES.filter((v) => s.byPrejudgement[v.id]).map(
      (v) => `${v.label} ${s.byPrejudgement[v.id]} 个`,
    );
    if (counts.length > 0) lines.push(`预判：${counts.join('，')}`);
    lines.push(`参考图层：${s.layers.map((l) => `${l.label}第${l.version}版`).join('、') || '无'}`);
    if (s.missingLayers.length > 0)
      lines.push(
        `缺少图层：${s.missingLayers.map((t) => LAYER_TYPE_LABELS[t]).join('、')}（相应面积为“未知”，不是 0）`,
      );
    if (s.unitsChanged > 0) lines.push(`按面积占比调整责任单位的图斑 ${s.unitsChanged} 个（已记入操作记录）`);
    if (s.withErrors.length > 0)
      lines.push(
        `有 ${s.withErrors.length} 个图斑部分叠加失败，预判为需核实：${s.withErrors.slice(0, 5).join('、')}${s.withErrors.length > 5 ? ' 等' : ''}`,
      );
  }
  lines.push(`规则包 ${s.rulePack.id} ${s.rulePack.version} 版；第 ${s.runId} 次分析`);
  for (const w of s.warnings) lines.push(`注意：${w}`);
  return lines.join('\n');
}

function threadsOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new WeipianError('threads_invalid', `--threads 应为 1 到 256 的整数：${v}`, { threads: v });
  return n;
}

export function analyseCommand(program: Command): void {
  leaf(
    program,
    'analyse',
    '叠加分析并预判批次的图斑（默认只算未分析和图层更新后过期的图斑）',
    (c) =>
      c
        .requiredOption('--batch <slug>', '批次')
        .option('--all', '全部图斑重新分析')
        .option('--queue-only', '只排入分析队列，由 weipian worker 进程计算（可在多台机器上运行）')
        .option('--threads <n>', '本进程的计算线程数，默认为 CPU 核数'),
    async (opts: { batch: string; all?: boolean; queueOnly?: boolean; threads?: string; json?: boolean }) => {
      const bar = progressBar('叠加分析');
      const summary = await operate(
        'analyse',
        {
          batch: opts.batch,
          all: opts.all === true,
          queueOnly: opts.queueOnly === true,
          threads: threadsOption(opts.threads),
        },
        bar,
      ).finally(() => bar.done());
      printResult(opts, { ok: true, summary }, () => human(summary));
    },
  );
  leaf(
    program,
    'worker',
    '分析队列的工作进程：领取并计算分析任务（多台机器共用一个 PostgreSQL 时可同时运行多个）',
    (c) =>
      c
        .option('--until-idle', '队列为空时退出（默认一直等待新任务）')
        .option('--threads <n>', '计算线程数，默认为 CPU 核数'),
    async (opts: { untilIdle?: boolean; threads?: string; json?: boolean }) => {
      const threads = threadsOption(opts.threads);
      const summary = await withDb(
        (db, config) => runWorker(db, { actor: config.actor, threads, untilIdle: opts.untilIdle === true }),
        true,
        '运行分析工作进程',
      );
      printResult(opts, { ok: true, summary }, () => `工作进程结束：完成分析任务 ${summary.jobs} 个`);
    },
  );
}
