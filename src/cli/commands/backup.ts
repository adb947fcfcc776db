// weipian backup <file> | weipian restore <file>
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { operate, withDb } from '../context.ts';
import { printResult, progressBar } from '../output.ts';
import { leaf } from '../program.ts';
import { restore } from '../../jobs/backup.ts';

export function backupCommands(program: Command): void {
  leaf(
    program,
    'backup <file>',
    '备份全部数据（数据库与附件）到一个 zip 文件，附 SHA-256 校验和',
    (c) => c,
    async (file: string, opts: { json?: boolean }) => {
      const bar = progressBar('备份');
      const s = await operate('backup', { file: resolve(file) }, bar).finally(() => bar.done());
      printResult(
        opts,
        { ok: true, summary: s },
        () =>
          `已备份到 ${s.file}：${s.tables} 张表 ${s.rows} 行，附件 ${s.files} 个\nSHA-256 ${s.sha256}（另存于 ${s.file}.sha256）`,
      );
    },
  );
  leaf(
    program,
    'restore <file>',
    '从备份恢复到空的数据目录（WEIPIAN_DATA）或新建的 PostgreSQL 数据库（DATABASE_URL），先校验全部校验和',
    (c) => c,
    async (file: string, opts: { json?: boolean }) => {
      const bar = progressBar('恢复');
      const s = await withDb((db, config) => restore(db, config.filesDir, file, bar), false, '恢复').finally(
        () => bar.done(),
      );
      printResult(
        opts,
        { ok: true, summary: s },
        () =>
          `已恢复：${s.tables} 张表 ${s.rows} 行，附件 ${s.files} 个（数据库结构版本 ${s.schemaVersion}）`,
      );
    },
  );
}
