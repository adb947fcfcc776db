// weipian evidence list|add|checklist|signals|verify — evidence (举证) from the command line. These
// open the data directly (withDb), so with the embedded database they refuse while `weipian serve`
// runs; use the web API then.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { basename, join, resolve } from 'node:path';
import { withDb } from '../context.ts';
import { printResult, progressBar } from '../output.ts';
import { leaf, newCommand } from '../program.ts';
import { WeipianError } from '../../domain/errors.ts';
import { DirectoryStore } from '../../evidence/store.ts';
import { signalSettingsFromEnv, SIGNAL_LABELS } from '../../evidence/signals.ts';
import {
  addEvidence,
  patchChecklist,
  patchEvidence,
  signalView,
  verifyEvidenceStore,
  type EvidenceView,
} from '../../services/evidence.ts';
import { listSignals } from '../../store/queries/evidence.ts';
import { findBatchBySlug } from '../../store/queries/batches.ts';
import type { Config } from '../../config.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('必须是正整数');
  return n;
}

const storeOf = (config: Config) => new DirectoryStore(join(config.filesDir, 'evidence'));

const KIND = { photo: '照片', document: '文件' } as const;

function describeItem(e: EvidenceView): string {
  const head = `#${e.id}\t${KIND[e.kind]}\t${e.original_name}\t${e.mime}\t${e.size_bytes} 字节\t${e.created_at}\t${e.created_by}`;
  const lines = [e.superseded_by !== null ? `${head}\t（已被 #${e.superseded_by} 替换）` : head];
  if (e.kind === 'document')
    lines.push(`    类型 ${e.doc_type ?? '—'}  文号 ${e.doc_no ?? '—'}  日期 ${e.doc_date ?? '—'}`);
  if (e.exif?.takenAt || e.exif?.lat != null)
    lines.push(
      `    EXIF：${e.exif.takenAt ?? '无时间'}  ${e.exif.lat != null ? `${e.exif.lat.toFixed(6)},${e.exif.lon!.toFixed(6)}` : '无位置'}  方向 ${e.exif.directionDeg ?? '—'}`,
    );
  if (e.browser_capture)
    lines.push(
      `    浏览器：${e.browser_capture.takenAt ?? '无时间'}  ${e.browser_capture.lat != null ? `${e.browser_capture.lat},${e.browser_capture.lon}` : '无位置'}  朝向 ${e.browser_capture.headingDeg ?? '—'}`,
    );
  for (const s of e.signals)
    lines.push(
      `    [${s.status === 'open' ? '待审核' : s.status === 'confirmed' ? `已认定：${s.finding_label}` : '已排除'}] ${s.label}：${s.message}`,
    );
  lines.push(`    SHA-256 ${e.sha256}`);
  return lines.join('\n');
}

export function evidenceCommands(program: Command): void {
  const ev = newCommand('evidence', '举证材料：查看、上传、清单、疑点与存储校验');
  program.addCommand(ev);

  leaf(
    ev,
    'list',
    '列出一个图斑的举证材料（含被替换的旧版本）与疑点',
    (c) => c.requiredOption('--patch <id>', '图斑编号（数据库 id）', positiveInt),
    async (opts: { patch: number; json?: boolean }) => {
      const r = await withDb((db) => patchEvidence(db, opts.patch));
      printResult(opts, { ok: true, ...r }, () =>
        r.all.length === 0
          ? `图斑 ${r.jcbh} 还没有举证材料。`
          : [
              `图斑 ${r.jcbh}：${r.current.length} 份现行材料，${r.openSignals} 个待审核疑点`,
              ...r.all.map(describeItem),
            ].join('\n'),
      );
    },
  );

  leaf(
    ev,
    'add <文件>',
    '上传一份举证材料（按内容识别类型，计算 SHA-256，检查疑点）',
    (c) =>
      c
        .requiredOption('--patch <id>', '图斑编号（数据库 id）', positiveInt)
        .option('--kind <kind>', 'photo（照片）或 document（文件）', 'photo')
        .option('--doc-type <id>', '文件类型（规则包 documentTypes，如 approval_doc）')
        .option('--doc-no <文号>', '文号')
        .option('--doc-date <YYYY-MM-DD>', '文件日期')
        .option('--note <说明>', '说明')
        .option('--supersedes <id>', '替换的举证材料编号（旧版本保留）', positiveInt)
        .option('--reason <原因>', '替换原因'),
    async (
      file: string,
      opts: {
        patch: number;
        kind: string;
        docType?: string;
        docNo?: string;
        docDate?: string;
        note?: string;
        supersedes?: number;
        reason?: string;
        json?: boolean;
      },
    ) => {
      const r = await withDb((db, config) =>
        addEvidence(
          { db, store: storeOf(config), settings: signalSettingsFromEnv() },
          {
            patchId: opts.patch,
            kind: opts.kind as 'photo' | 'document',
            originalName: basename(file),
            docType: opts.docType,
            docNo: opts.docNo,
            docDate: opts.docDate,
            note: opts.note,
            supersedes: opts.supersedes,
            reason: opts.reason,
            actor: config.actor,
          },
          resolve(file),
        ),
      );
      printResult(opts, { ok: true, ...r }, () =>
        [
          `已保存举证材料 #${r.evidence.id}（${r.evidence.mime}，SHA-256 ${r.evidence.sha256}）`,
          ...(r.signals.length === 0
            ? ['没有疑点。']
            : r.signals.map((s) => `疑点：${s.label}——${s.message}`)),
        ].join('\n'),
      );
    },
  );

  leaf(
    ev,
    'checklist',
    '举证清单：判定所需材料与已有材料',
    (c) =>
      c
        .requiredOption('--patch <id>', '图斑编号（数据库 id）', positiveInt)
        .option('--verdict <id>', '判定类别（legal/other/illegal），尚无判定记录时使用')
        .option('--subtype <id>', '细类，如 agri_conversion_approval'),
    async (opts: { patch: number; verdict?: string; subtype?: string; json?: boolean }) => {
      const r = await withDb((db) => patchChecklist(db, opts.patch, opts));
      const c = r.checklist;
      printResult(opts, { ok: true, ...r }, () =>
        [
          `图斑 ${r.jcbh}：${c.summary}`,
          ...c.items.map(
            (i) =>
              `  ${i.satisfied ? '✓' : i.required ? '✗' : '○'} ${i.label}${i.required ? '' : '（可选）'}：${i.present}/${i.minCount}${i.evidenceIds.length ? `（#${i.evidenceIds.join('、#')}）` : ''}`,
          ),
        ].join('\n'),
      );
    },
  );

  leaf(
    ev,
    'signals',
    '列出一个批次的举证疑点（默认只列待审核的）',
    (c) => c.requiredOption('--batch <slug>', '批次标识').option('--all', '包括已认定和已排除的'),
    async (opts: { batch: string; all?: boolean; json?: boolean }) => {
      const rows = await withDb(async (db) => {
        const b = await findBatchBySlug(db, opts.batch);
        if (!b)
          throw new WeipianError('batch_not_found', `批次不存在：${opts.batch}`, { slug: opts.batch }, 404);
        return listSignals(db, { batchId: b.id, status: opts.all ? undefined : 'open', limit: 100_000 });
      });
      const signals = rows.map((s) => ({ ...signalView(s), patch_id: s.patch_id, jcbh: s.jcbh }));
      printResult(opts, { ok: true, signals }, () =>
        signals.length === 0
          ? '没有疑点。'
          : signals
              .map(
                (s) =>
                  `#${s.id}\t图斑 ${s.jcbh}\t举证 #${s.evidence_id}\t${SIGNAL_LABELS[s.code]}\t${s.status}\t${s.message}`,
              )
              .join('\n'),
      );
    },
  );

  leaf(
    ev,
    'verify',
    '重新计算存储中每份原件的 SHA-256，核对是否完整未改（不一致时退出码为 1）',
    (c) => c,
    async (opts: { json?: boolean }) => {
      const bar = progressBar('校验举证文件');
      const r = await withDb((db, config) => verifyEvidenceStore(db, storeOf(config), bar)).finally(() =>
        bar.done(),
      );
      if (!r.ok)
        throw new WeipianError(
          'evidence_store_damaged',
          `举证文件不完整：${r.problems.length} 处问题，首个为 #${r.problems[0]!.id} ${r.problems[0]!.key}（${r.problems[0]!.problem}）`,
          r,
        );
      printResult(opts, r, () => `举证文件完整：${r.items} 份材料，${r.checked} 个原件均与 SHA-256 一致`);
    },
  );
}
