// weipian batch create|list
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { operate } from '../context.ts';
import { printResult, fmtArea } from '../output.ts';
import { leaf, newCommand } from '../program.ts';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('必须是整数');
  return n;
}

export function batchCommands(program: Command): void {
  const batch = newCommand('batch', '批次：创建与查看');
  program.addCommand(batch);

  leaf(
    batch,
    'create <slug>',
    '创建批次（从规则包复制时间节点）',
    (c) =>
      c
        .requiredOption('--kind <kind>', '类型：land（土地）或 mineral（矿产）')
        .requiredOption('--year <year>', '监测年度，如 2017', int)
        .option('--rules <pack>', '规则包标识或文件路径，默认为 <年度>-<类型>')
        .option('--name <名称>', '批次名称，默认为“<年度>年度土地卫片”')
        .option('--period <period>', '期别：annual（年度）、quarterly（季度）、monthly（月度）', 'annual'),
    async (
      slug: string,
      opts: { kind: string; year: number; rules?: string; name?: string; period: string; json?: boolean },
    ) => {
      const row = await operate('batch.create', {
        slug,
        kind: opts.kind,
        year: opts.year,
        rules: opts.rules,
        name: opts.name,
        period: opts.period,
      });
      printResult(
        opts,
        { ok: true, batch: row },
        () => `已创建批次 ${row.slug}：${row.name}（规则包 ${row.rule_pack_id} ${row.rule_pack_version}）`,
      );
    },
  );

  leaf(
    batch,
    'list',
    '列出全部批次',
    (c) => c,
    async (opts: { json?: boolean }) => {
      const rows = await operate('batch.list', {});
      printResult(opts, { ok: true, batches: rows }, () =>
        rows.length === 0
          ? '还没有批次。用 weipian batch create 创建。'
          : rows
              .map(
                (b) =>
                  `${b.slug}\t${b.name}\t${b.kind === 'land' ? '土地' : '矿产'}\t${b.year}\t图斑 ${b.patch_count} 个\t${fmtArea(b.total_area_m2)}`,
              )
              .join('\n'),
      );
    },
  );
}
