// The operator commands: what the `weipian` CLI does to the data, as plain functions of a database.
// The CLI runs them in-process when it owns the data folder, and through the running server's API
// (POST /api/operator/:command, authenticated by the local operator token) when `weipian serve`
// owns it — one implementation either way.
import type { Db } from '../store/db.ts';
import { createBatch, type CreateBatchInput } from './batches.ts';
import { listBatches } from '../store/queries/batches.ts';
import { importPatches, type ImportPatchesOptions } from '../jobs/import-patches.ts';
import { importLayer, type ImportLayerOptions } from '../jobs/import-layer.ts';
import { exportPatches, type ExportOptions } from '../jobs/export-patches.ts';
import { analyseBatch, type AnalyseOptions } from '../jobs/analyse-batch.ts';
import { backup } from '../jobs/backup.ts';
import { verifyChain } from '../store/queries/events.ts';
import { loadDemo } from '../demo/load.ts';
import type { ProgressFn } from '../jobs/progress.ts';
import { userOperatorCommands } from '../auth/commands.ts';
import { workflowOperatorCommands } from './workflow.ts';

export interface OperatorContext {
  actor: string;
  filesDir: string;
  maxUnzippedBytes: number;
  onProgress?: ProgressFn;
}

type Args<T> = Omit<T, 'actor' | 'maxUnzippedBytes' | 'onProgress'>;

export const operatorCommands = {
  'batch.create': (db: Db, a: Args<CreateBatchInput>, c: OperatorContext) =>
    createBatch(db, { ...a, actor: c.actor }),
  'batch.list': (db: Db, _a: Record<string, never>) => listBatches(db),
  'import.patches': (db: Db, a: { file: string } & Args<ImportPatchesOptions>, c: OperatorContext) =>
    importPatches(db, a.file, {
      ...a,
      actor: c.actor,
      maxUnzippedBytes: c.maxUnzippedBytes,
      onProgress: c.onProgress,
    }),
  'import.layer': (db: Db, a: { file: string } & Args<ImportLayerOptions>, c: OperatorContext) =>
    importLayer(db, a.file, {
      ...a,
      actor: c.actor,
      maxUnzippedBytes: c.maxUnzippedBytes,
      onProgress: c.onProgress,
    }),
  'export.patches': (db: Db, a: Args<ExportOptions>, c: OperatorContext) =>
    exportPatches(db, { ...a, onProgress: c.onProgress }),
  analyse: (db: Db, a: Args<AnalyseOptions>, c: OperatorContext) =>
    analyseBatch(db, { ...a, actor: c.actor, onProgress: c.onProgress }),
  backup: (db: Db, a: { file: string }, c: OperatorContext) => backup(db, c.filesDir, a.file, c.onProgress),
  'demo.load': (db: Db, a: { scale?: number }, c: OperatorContext) =>
    loadDemo(db, { scale: a.scale, actor: c.actor, onProgress: c.onProgress }),
  'audit.verify': (db: Db, _a: Record<string, never>, c: OperatorContext) => verifyChain(db, c.onProgress),
  ...userOperatorCommands,
  ...workflowOperatorCommands,
} as const;

export type OperatorCommand = keyof typeof operatorCommands;
export type OperatorArgs<K extends OperatorCommand> = Parameters<(typeof operatorCommands)[K]>[1];
export type OperatorResult<K extends OperatorCommand> = Awaited<ReturnType<(typeof operatorCommands)[K]>>;

export function isOperatorCommand(name: string): name is OperatorCommand {
  return Object.hasOwn(operatorCommands, name);
}

export function runOperatorCommand<K extends OperatorCommand>(
  db: Db,
  name: K,
  args: OperatorArgs<K>,
  ctx: OperatorContext,
): Promise<OperatorResult<K>> {
  const fn = operatorCommands[name] as (db: Db, a: unknown, c: OperatorContext) => Promise<OperatorResult<K>>;
  return fn(db, args, ctx);
}
