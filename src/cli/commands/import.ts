// weipian import patches|layer
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { operate } from '../context.ts';
import { printResult, progressBar, fmtArea } from '../output.ts';
import { leaf, newCommand } from '../program.ts';
import type { ImportSummary } from '../../jobs/import-patches.ts';
import type { LayerImportSummary } from '../../jobs/import-layer.ts';
import { WeipianError } from '../../domain/errors.ts';
import { LAYER_TYPES } from '../../store/queries/layers.ts';

const ENCODING_SOURCE: Record<string, string> = {
  option: '命令行指定',
  cpg: '.cpg 文件',
  ldid: 'DBF 语言驱动字节',
  detected: '按内容识别',
  default: '默认 UTF-8',
  format: '格式规定',
};

interface ReadFlags {
  crs?: string;
  encoding?: string;
  swapXy?: boolean;
  layer?: string;
  dryRun?: boolean;
  skipRefused?: boolean;
  json?: boolean;
}

function readFlags(c: Command): Command {
  return c
    .option('--crs <crs>', '坐标系，覆盖 .prj，如 EPSG:4527')
    .option('--encoding <encoding>', '属性编码，覆盖自动识别，如 GBK、UTF-8')
    .option('--swap-xy', '交换 X/Y（测绘习惯 X 为北坐标时使用）')
    .option('--layer <name>', '文件夹、压缩包或 GeoPackage 中有多个图层时，指定其中一个')
    .option('--dry-run', '只检查并汇总，不写入数据库')
    .option('--skip-refused', '有要素无法导入时，仍导入其余要素（默认整批拒绝）');
}

function readOptions(f: ReadFlags) {
  return {
    crs: f.crs,
    encoding: f.encoding,
    swapXY: f.swapXy === true,
    layer: f.layer,
    dryRun: f.dryRun === true,
    skipRefused: f.skipRefused === true,
  };
}

function commonLines(s: ImportSummary | LayerImportSummary): string[] {
  const lines = [
    `文件：${s.sourceFile}（SHA-256 ${s.sourceSha256.slice(0, 16)}…）`,
    `编码：${s.encoding}（${ENCODING_SOURCE[s.encodingSource] ?? s.encodingSource}）；坐标系：${s.crs}`,
    `读取 ${s.read} 个，导入 ${s.imported} 个，修复 ${s.repaired.length} 个，拒绝 ${s.refused.length} 个；总面积 ${fmtArea(s.totalAreaM2)}`,
  ];
  if (s.crsApproximate)
    lines.push('注意：该坐标系与 CGCS2000 之间未配置七参数，按同一基准近似换算，偏差可达百米量级。');
  for (const r of s.repaired.slice(0, 20))
    lines.push(`  已修复 第 ${r.index + 1} 个${'jcbh' in r ? `（${r.jcbh}）` : ''}：${r.issue}`);
  for (const r of s.refused.slice(0, 20)) lines.push(`  已拒绝 第 ${r.index + 1} 个：${r.reason}`);
  if ('points' in s && s.points > 0)
    lines.push(`其中 ${s.points} 个图斑只有中心点（表格未给出边界），面积取部下发的监测面积`);
  if ('notes' in s) for (const n of s.notes) lines.push(`说明：${n}`);
  if (s.dryRun) lines.push('（试运行：未写入数据库）');
  return lines;
}

export function importCommands(program: Command): void {
  const imp = newCommand('import', '导入：图斑与参考图层');
  program.addCommand(imp);

  leaf(
    imp,
    'patches <file>',
    '导入部下发图斑（Shapefile、GeoPackage、FileGDB、GeoJSON、KML、Excel/CSV；文件、文件夹或 zip），整批成功或整批不导入',
    (c) =>
      readFlags(
        c
          .requiredOption('--batch <slug>', '导入到哪个批次')
          .option('--mapping <file>', '字段映射 JSON 文件：{"jcbh": "字段名", …}')
          .option('--area-unit <unit>', '监测面积、耕地面积的单位：m2（平方米）或 mu（亩）', 'm2')
          .option('--source <source>', '图斑来源：卫片、例行督察、巡查、举报', '卫片'),
      ),
    async (
      file: string,
      flags: ReadFlags & { batch: string; mapping?: string; areaUnit: string; source: string },
    ) => {
      const bar = progressBar('导入图斑');
      const summary = await operate(
        'import.patches',
        {
          ...readOptions(flags),
          file: resolve(file),
          batch: flags.batch,
          mapping: flags.mapping && resolve(flags.mapping),
          areaUnit:
            flags.areaUnit === 'mu' ? 'mu' : flags.areaUnit === 'm2' ? 'm2' : invalidUnit(flags.areaUnit),
          source: flags.source,
        },
        bar,
      ).finally(() => bar.done());
      printResult(flags, { ok: true, summary }, () =>
        [`${summary.dryRun ? '检查完毕' : '已导入'}：批次 ${summary.batch}`, ...commonLines(summary)].join(
          '\n',
        ),
      );
    },
  );

  leaf(
    imp,
    'layer <file>',
    '导入参考图层（地类图斑、耕地、永久基本农田、规划、批准、界线、矿业权等），作为该类型的新版本',
    (c) =>
      readFlags(
        c
          .requiredOption('--type <type>', `图层类型：${LAYER_TYPES.join(', ')}`)
          .option('--name <名称>', '图层名称'),
      ),
    async (file: string, flags: ReadFlags & { type: string; name?: string }) => {
      const bar = progressBar('导入图层');
      const summary = await operate(
        'import.layer',
        { ...readOptions(flags), file: resolve(file), type: flags.type, name: flags.name },
        bar,
      ).finally(() => bar.done());
      printResult(flags, { ok: true, summary }, () =>
        [
          `${summary.dryRun ? '检查完毕' : '已导入'}：${summary.typeLabel}（${summary.type}）${summary.version ? ` 第 ${summary.version} 版` : ''}`,
          ...commonLines(summary),
          ...(summary.units.length
            ? [`责任单位：${summary.units.map((u) => `${u.name}(${u.code})`).join('、')}`]
            : []),
        ].join('\n'),
      );
    },
  );
}

function invalidUnit(unit: string): never {
  throw new WeipianError('area_unit_invalid', `--area-unit 只能是 m2（平方米）或 mu（亩）：${unit}`);
}
