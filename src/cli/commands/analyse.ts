// weipian analyse --batch <slug> [--all]
import type { Command } from 'commander';
import { operate } from '../context.ts';
import { printResult, progressBar } from '../output.ts';
import { leaf } from '../program.ts';
import type { AnalyseSummary } from '../../jobs/analyse-batch.ts';
import { PREJUDGEMENT_VALUES } from '../../domain/fields.ts';
import { LAYER_TYPE_LABELS } from '../../store/queries/layers.ts';

function human(s: AnalyseSummary): string {
  const lines: string[] = [];
  if (s.analysed === 0)
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

export function analyseCommand(program: Command): void {
  leaf(
    program,
    'analyse',
    '叠加分析并预判批次的图斑（默认只算未分析和图层更新后过期的图斑）',
    (c) => c.requiredOption('--batch <slug>', '批次').option('--all', '全部图斑重新分析'),
    async (opts: { batch: string; all?: boolean; json?: boolean }) => {
      const bar = progressBar('叠加分析');
      const summary = await operate('analyse', { batch: opts.batch, all: opts.all === true }, bar).finally(
        () => bar.done(),
      );
      printResult(opts, { ok: true, summary }, () => human(summary));
    },
  );
}
