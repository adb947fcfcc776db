// weipian export patches
import type { Command } from 'commander';
import { withDb } from '../context.ts';
import { printResult, progressBar } from '../output.ts';
import { leaf, newCommand } from '../program.ts';
import { exportPatches, EXPORT_FORMATS } from '../../jobs/export-patches.ts';

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
        .requiredOption('--out <file>', '输出文件')
        .option('--with-delivered', '同时输出部下发的原始属性'),
    async (opts: { batch: string; format: string; out: string; withDelivered?: boolean; json?: boolean }) => {
      const bar = progressBar('导出图斑');
      const summary = await withDb((db) =>
        exportPatches(db, { ...opts, onProgress: bar }),
      ).finally(() => bar.done());
      printResult(opts, { ok: true, summary }, () => `已导出 ${summary.count} 个图斑到 ${summary.out}`);
    },
  );
}
