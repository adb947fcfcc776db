// The operator commands: what the `weipian` CLI does to the data, as plain functions of a database.
// The CLI runs them in-process when it owns the data folder, and through the running server's API
// (POST /api/operator/:command, authenticated by the local operator token) when `weipian serve`
// owns it — one implementation either way.
//
// Each command loads its implementation when it runs: importing all of them (Excel, the analysis,
// the demo generator, the workflow service) cost every CLI command ~0.5 s before it could start.
import type { Db } from '../store/db.ts';
import type { CreateBatchInput } from './batches.ts';
import type { ImportPatchesOptions } from '../jobs/import-patches.ts';
import type { ImportLayerOptions } from '../jobs/import-layer.ts';
import type { ExportOptions } from '../jobs/export-patches.ts';
import type { AnalyseOptions } from '../jobs/analyse-batch.ts';
import type { ProgressFn } from '../jobs/progress.ts';
import type { LayerStream } from '../jobs/layer-stream.ts';

export interface OperatorContext {
  actor: string;
  filesDir: string;
  maxUnzippedBytes: number;
  onProgress?: ProgressFn;
  /** What startEarly began for this command before the database was open. */
  early?: EarlyWork;
}

/** Work a command began before the database was open (startEarly). */
export interface EarlyWork {
  layerStream?: Promise<LayerStream>;
}

type Args<T> = Omit<T, 'actor' | 'maxUnzippedBytes' | 'onProgress'>;
type CommandFn = (db: Db, a: never, c: never) => unknown;

/**
 * A module's table of commands, each loading the module when called. `names` must list every
 * command of the table (the type checks it both ways), since the table itself is not loaded here.
 */
function deferred<T extends Record<string, CommandFn>, N extends keyof T & string>(
  load: () => Promise<T>,
  names: readonly N[] & ([Exclude<keyof T, N>] extends [never] ? unknown : never),
): T {
  const table: Record<string, unknown> = {};
  for (const name of names)
    table[name] = async (...args: unknown[]) =>
      ((await load())[name] as unknown as (...a: unknown[]) => unknown)(...args);
  return table as T;
}

export const operatorCommands = {
  'batch.create': async (db: Db, a: Args<CreateBatchInput>, c: OperatorContext) =>
    (await import('./batches.ts')).createBatch(db, { ...a, actor: c.actor }),
  'batch.list': async (db: Db, _a: Record<string, never>) =>
    (await import('../store/queries/batches.ts')).listBatches(db),
  'import.patches': async (db: Db, a: { file: string } & Args<ImportPatchesOptions>, c: OperatorContext) =>
    (await import('../jobs/import-patches.ts')).importPatches(db, a.file, {
      ...a,
      actor: c.actor,
      maxUnzippedBytes: c.maxUnzippedBytes,
      onProgress: c.onProgress,
    }),
  'import.layer': async (db: Db, a: { file: string } & Args<ImportLayerOptions>, c: OperatorContext) =>
    (await import('../jobs/import-layer.ts')).importLayer(db, a.file, {
      ...a,
      actor: c.actor,
      maxUnzippedBytes: c.maxUnzippedBytes,
      onProgress: c.onProgress,
      stream: c.early?.layerStream,
    }),
  'export.patches': async (db: Db, a: Args<ExportOptions>, c: OperatorContext) =>
    (await import('../jobs/export-patches.ts')).exportPatches(db, { ...a, onProgress: c.onProgress }),
  analyse: async (db: Db, a: Args<AnalyseOptions>, c: OperatorContext) =>
    (await import('../jobs/analyse-batch.ts')).analyseBatch(db, {
      ...a,
      actor: c.actor,
      onProgress: c.onProgress,
    }),
  backup: async (db: Db, a: { file: string }, c: OperatorContext) =>
    (await import('../jobs/backup.ts')).backup(db, c.filesDir, a.file, c.onProgress),
  'demo.load': async (db: Db, a: { scale?: number }, c: OperatorContext) =>
    (await import('../demo/load.ts')).loadDemo(db, {
      scale: a.scale,
      actor: c.actor,
      onProgress: c.onProgress,
    }),
  'audit.verify': async (db: Db, _a: Record<string, never>, c: OperatorContext) =>
    (await import('../store/queries/events.ts')).verifyChain(db, c.onProgress),
  ...deferred(
    async () => (await import('../auth/commands.ts')).userOperatorCommands,
    ['users.add', 'users.list', 'users.disable', 'users.enable', 'users.reset'],
  ),
  ...deferred(
    async () => (await import('./workflow.ts')).workflowOperatorCommands,
    [
      'workflow.status',
      'round.close',
      'round.list',
      'round.show',
      'upper.import',
      'upper.record',
      'patch.reassign',
      'patch.link',
    ],
  ),
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

/**
 * Starts what a command can do before the database is open — opening a PGlite folder takes ~1 s of
 * the main thread, in which a layer import's reader thread loads its modules and GEOS and opens
 * and hashes the delivery. The command takes it over in OperatorContext.early; call discardEarly
 * if the command never runs.
 */
export async function startEarly<K extends OperatorCommand>(
  name: K,
  args: OperatorArgs<K>,
  ctx: Pick<OperatorContext, 'maxUnzippedBytes'>,
  engine: Db['engine'],
): Promise<EarlyWork | undefined> {
  if (name !== 'import.layer') return undefined;
  const a = args as OperatorArgs<'import.layer'>;
  const { openLayerImportStream } = await import('../jobs/import-layer.ts');
  const layerStream = openLayerImportStream(a.file, { ...a, maxUnzippedBytes: ctx.maxUnzippedBytes }, engine);
  layerStream.catch(() => undefined); // its failure is reported by the command, which awaits it
  return { layerStream };
}

/** Releases what startEarly began, when its command did not run. */
export async function discardEarly(early: EarlyWork | undefined): Promise<void> {
  const stream = await early?.layerStream?.catch(() => null);
  await stream?.close();
}
