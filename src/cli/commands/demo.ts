// weipian demo generate
import type { Command } from 'commander';
import { printResult, progressBar } from '../output.ts';
import { leaf, newCommand } from '../program.ts';
import { operate } from '../context.ts';
import type { DemoLoadResult } from '../../demo/load.ts';
import { ROLE_LABELS } from '../../domain/roles.ts';
import {
  DEFAULT_SCALE,
  DEFAULT_SEED,
  MAX_SCALE,
  MIN_SCALE,
  generateDemo,
  type DemoManifest,
} from '../../demo/generate.ts';

function human(dir: string, m: DemoManifest, seconds: number): string {
  const land = m.counts.land;
  const mineral = m.counts.mineral;
  const parcels = m.layers.find((l) => l.importAs === 'land-use')?.features ?? 0;
  return [
    `已生成示例区县数据（${m.district.name}，种子 ${m.seed}，规模 ${m.scale}）到 ${dir}，用时 ${seconds.toFixed(1)} 秒`,
    `全区面积 ${(m.district.areaM2 / 1e6).toFixed(2)} 平方公里，${m.district.units.length} 个责任单位，地类图斑 ${parcels} 个`,
    `土地卫片图斑 ${land.total} 个，矿产卫片图斑 ${mineral.total} 个；各图斑的真实类别见 manifest.json`,
    ...m.layers.map(
      (l) => `  ${l.file}（${l.title}，${l.features} 个要素${l.importAs ? `，导入类型 ${l.importAs}` : ''}）`,
    ),
  ].join('\n');
}

/** The console lines after a demo load: where to go and how to log in. */
export function demoLoginLines(r: DemoLoadResult, url?: string): string[] {
  const lines = r.loaded
    ? [
        `已载入演示区县（周村区）：参考图层 ${r.layers} 个，土地卫片图斑 ${r.patches.land} 个，矿产卫片图斑 ${r.patches.mineral} 个，用时 ${r.seconds.toFixed(1)} 秒`,
      ]
    : ['数据库中已有批次，未重复载入演示数据'];
  if (url) lines.push(`打开 ${url} 登录`);
  if (r.accounts.length) {
    lines.push(`演示账号（密码均为 ${r.password}）：`);
    for (const a of r.accounts)
      lines.push(`  ${a.username.padEnd(9)} ${ROLE_LABELS[a.role]}${a.unitCode ? `（${a.unitCode}）` : ''}`);
  }
  return lines;
}

export function demoCommands(program: Command): void {
  const demo = newCommand('demo', '示例数据：按周村区生成一套完整的卫片执法检查数据，或载入到空数据库');
  program.addCommand(demo);
  const load = leaf(
    demo,
    'load',
    '生成演示区县数据并通过正式导入程序载入当前数据库（仅限空数据库；已有批次时不重复载入）',
    (c) => c.option('--scale <x>', `规模（${MIN_SCALE}–${MAX_SCALE}），默认 ${DEFAULT_SCALE}`),
    async (opts: { scale?: string; json?: boolean }) => {
      const r = await operate('demo.load', {
        scale: opts.scale === undefined ? undefined : Number(opts.scale),
      });
      printResult(opts, { ok: true, ...r }, () => demoLoginLines(r).join('\n'));
    },
  );
  // `weipian demo` alone loads, as the README says.
  (demo.commands as Command[]).splice(demo.commands.indexOf(load), 1);
  demo.addCommand(load, { isDefault: true });
  leaf(
    demo,
    'generate <dir>',
    '生成示例区县的部下发图斑与参考数据（GBK Shapefile、GeoPackage、一张表 Excel）及真值清单 manifest.json',
    (c) =>
      c
        .option('--seed <n>', `随机种子（0–4294967295），相同种子生成的文件逐字节相同，默认 ${DEFAULT_SEED}`)
        .option(
          '--scale <x>',
          `规模（${MIN_SCALE}–${MAX_SCALE}），1 为全区约 3 万个地类图斑、600 个土地图斑，默认 ${DEFAULT_SCALE}`,
        ),
    async (dir: string, opts: { seed?: string; scale?: string; json?: boolean }) => {
      const bar = progressBar('生成示例数据');
      const started = Date.now();
      const { manifest } = await generateDemo(dir, {
        seed: opts.seed,
        scale: opts.scale,
        onProgress: bar,
      }).finally(() => bar.done());
      const seconds = (Date.now() - started) / 1000;
      printResult(
        opts,
        {
          ok: true,
          dir,
          seed: manifest.seed,
          scale: manifest.scale,
          counts: manifest.counts,
          layers: manifest.layers,
        },
        () => human(dir, manifest, seconds),
      );
    },
  );
}
