// weipian audit verify|log
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { operate, withDb } from '../context.ts';
import { printResult, progressBar } from '../output.ts';
import { leaf, newCommand } from '../program.ts';
import { WeipianError } from '../../domain/errors.ts';
import { canonicalJson } from '../../domain/hashchain.ts';
import { listEvents, type EventRecord } from '../../store/queries/events.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('必须是正整数');
  return n;
}

function recordRef(value: string): { type: string; id: string } {
  const i = value.indexOf(':');
  if (i <= 0 || i === value.length - 1)
    throw new InvalidArgumentError('格式为 <类型>:<标识>，如 batch:2017-land');
  return { type: value.slice(0, i), id: value.slice(i + 1) };
}

const clip = (s: string, n = 100) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** One line per event, then one line per top-level field that changed. */
function describe(e: EventRecord): string {
  const head = `#${e.seq}\t${e.at}\t${e.actor}${e.actorRole ? `（${e.actorRole}）` : ''}\t${e.action}\t${e.recordType}:${e.recordId}`;
  const lines = [e.reason ? `${head}\t原因：${e.reason}` : head];
  const before = (e.before ?? {}) as Record<string, unknown>;
  const after = (e.after ?? {}) as Record<string, unknown>;
  if (e.before !== null && typeof e.before === 'object' && e.after !== null && typeof e.after === 'object')
    for (const k of Object.keys(after))
      if (canonicalJson(before[k] ?? null) !== canonicalJson(after[k] ?? null))
        lines.push(
          `    ${k}：${clip(JSON.stringify(before[k] ?? null))} → ${clip(JSON.stringify(after[k] ?? null))}`,
        );
  return lines.join('\n');
}

export function auditCommands(program: Command): void {
  const audit = newCommand('audit', '审计：校验留痕链、查看操作记录');
  program.addCommand(audit);

  leaf(
    audit,
    'verify',
    '逐条重算审计事件的哈希链，报告第一处被篡改的位置（不完整时退出码为 1）',
    (c) => c,
    async (opts: { json?: boolean }) => {
      const bar = progressBar('校验审计链');
      const result = await operate('audit.verify', {}, bar).finally(() => bar.done());
      if (!result.ok)
        throw new WeipianError('audit_chain_broken', `审计链不完整：${result.broken.message}`, {
          verified: result.count,
          broken: result.broken,
        });
      printResult(
        opts,
        { ok: true, count: result.count, head: result.head },
        () => `审计链完整：${result.count} 条事件，链头 ${result.head.hash}`,
      );
    },
  );

  leaf(
    audit,
    'log',
    '查看操作记录（最近的在最后）',
    (c) =>
      c
        .option('--record <类型:标识>', '只看一条记录的时间线，如 batch:2017-land', recordRef)
        .option('--limit <n>', '最多显示多少条（最近的）', positiveInt, 50),
    async (opts: { record?: { type: string; id: string }; limit: number; json?: boolean }) => {
      const events = await withDb((db) =>
        listEvents(db, {
          recordType: opts.record?.type,
          recordId: opts.record?.id,
          limit: opts.limit,
          latest: true,
        }),
      );
      printResult(opts, { ok: true, events }, () =>
        events.length === 0 ? '没有操作记录。' : events.map(describe).join('\n'),
      );
    },
  );
}
