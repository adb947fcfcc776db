// weipian export patches
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { operate } from '../context.ts';
import { printResult, progressBar } from '../output.ts';
import { leaf, newCommand } from '../program.ts';
import { EXPORT_FORMATS, type ExportSummary } from '../../jobs/export-patches.ts';

const REASONS: Record<string, string> = {
  clash: '与已有列名重复',
  too_long: '超过字段名长度上限',
  invalid: '无法作为字段名',
};

function human(s: ExportSummary): string {
  const lines = [`已导出 ${s.count} 个图斑到 ${s.out}`];
  const what = [s.crs ? `坐标系 ${s.crs}` : '', s.encoding ? `编码 ${s.encoding.toUpperCase()}` : '']
    .filter(Boolean)
    .join('，');
  if (what) lines.push(what);
  if (s.files.length > 1) lines.push(`文件：${s.files.join('、')}`);
  if (s.pointCount > 0) lines.push(`其中点状图斑 ${s.pointCount} 个，另存为 _point 图层`);
  for (const r of s.renamedColumns)
    lines.push(`列名调整：部下发属性“${r.from}”${REASONS[r.reason] ?? ''}，输出为“${r.to}”`);
  for (const w of s.warnings) lines.push(`注意：${w}`);
  return lines.join('\n');
}

export function exportCommands(program: Command): void {
  const exp = newCommand('export', '导出');
  program.addCommand(exp);
  leaf(
    exp,
    'patches',
    '导出批次的图斑',
    (c) =>
      c
        .requiredOption('--batch <slug>', '批次')
        .requiredOption('--format <format>', `格式：${EXPORT_FORMATS.join('|')}`)
        .requiredOption('--out <file>', '输出文件（shp 可用 .shp 或 .zip，gpkg 用 .gpkg，xlsx 用 .xlsx）')
        .option('--crs <crs>', 'shp/gpkg 的坐标系，默认 EPSG:4490，如 EPSG:4527（3度带39带，带带号）')
        .option('--encoding <encoding>', 'shp 属性编码：gbk（默认）或 utf-8')
        .option('--with-delivered', '同时输出部下发的原始属性'),
    async (opts: {
      batch: string;
      format: string;
      out: string;
      crs?: string;
      encoding?: string;
      withDelivered?: boolean;
      json?: boolean;
    }) => {
      const bar = progressBar('导出图斑');
      const { json: _json, ...args } = opts;
      const summary = await operate('export.patches', { ...args, out: resolve(opts.out) }, bar).finally(() =>
        bar.done(),
      );
      printResult(opts, { ok: true, summary }, () => human(summary));
    },
  );
}
