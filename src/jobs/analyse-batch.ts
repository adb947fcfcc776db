// `weipian analyse --batch <slug> [--all]`: overlays the patches of a batch with the reference
// layers in force and stores each patch's contract fields and detail (domain/analysis.ts) with the
// layer versions used. By default only patches without a result or with a stale one are computed
// (a new layer version marks stale what it may change: queries/analysis.ts markStaleForLayer).
//
// The run is split into queue jobs (analysis-worker.ts). This process works them on every core;
// `weipian worker` processes on other machines sharing the PostgreSQL database may join, and a job
// of a worker that died is taken over. `--queue-only` leaves all the work to the workers.
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import type { RulePack } from '../domain/rulepack.ts';
import { loadRulePack } from '../domain/rulepack.ts';
import { findBatchBySlug, type BatchRow } from '../store/queries/batches.ts';
import { currentLayers } from '../store/queries/layers.ts';
import {
  insertRun,
  liveRun,
  patchIdsToAnalyse,
  type AnalysisRunRow,
  type LayerIds,
} from '../store/queries/analysis.ts';
import { enqueueJobs } from '../store/queries/analysis-jobs.ts';
import { noProgress, type ProgressFn } from './progress.ts';
import { closeRun, jobTimeoutSeconds, workQueue, type AnalyseRunSummary } from './analysis-worker.ts';

/** Patches per queue job: small enough to spread over workers, large enough to amortise a commit. */
export const JOB_SIZE = 50;

export type AnalyseSummary = AnalyseRunSummary;

export interface AnalyseOptions {
  batch: string;
  /** Recompute every patch, not only the stale and the missing ones. */
  all?: boolean;
  /** Only enqueue the jobs; `weipian worker` processes do the work. */
  queueOnly?: boolean;
  /** Worker threads of this process (default: the cores). */
  threads?: number;
  /** Patches per job (default JOB_SIZE). */
  jobSize?: number;
  actor: string;
  actorRole?: string | null;
  onProgress?: ProgressFn;
  /** Called with a Chinese line for each preparation step. */
  onStep?: (line: string) => void;
}

/** The batch's rule pack; a pack file newer than the batch's is used and said (the result records which). */
function packFor(batch: BatchRow, warnings: string[]): RulePack {
  const pack = loadRulePack(batch.rule_pack_id);
  if (pack.version !== batch.rule_pack_version)
    warnings.push(
      `批次创建时的规则包 ${batch.rule_pack_id} 为 ${batch.rule_pack_version} 版，现按 ${pack.version} 版分析`,
    );
  return pack;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function analyseBatch(db: Db, opts: AnalyseOptions): Promise<AnalyseSummary> {
  const onProgress = opts.onProgress ?? noProgress;
  const batch = await findBatchBySlug(db, opts.batch);
  if (!batch)
    throw new WeipianError('batch_not_found', `批次不存在：${opts.batch}`, { batch: opts.batch }, 404);
  const warnings: string[] = [];
  const pack = packFor(batch, warnings);
  const layerIds: LayerIds = {};
  for (const l of await currentLayers(db)) layerIds[l.type] = l.id;
  const ids = await patchIdsToAnalyse(db, batch.id, opts.all === true);

  const run = await db.transaction(async (tx) => {
    const live = await liveRun(tx, batch.id, Math.max(120, 2 * jobTimeoutSeconds()));
    if (live)
      throw new WeipianError(
        'analysis_running',
        `批次 ${batch.slug} 的分析正在进行（第 ${live.id} 次，由 ${live.started_by} 于 ${live.started_at.toISOString()} 开始，已完成 ${live.done}/${live.total}），请等待其结束`,
        { runId: live.id },
        409,
      );
    const r = await insertRun(tx, {
      batchId: batch.id,
      mode: opts.all ? 'all' : 'stale',
      total: ids.length,
      layerIds,
      rulePackId: pack.id,
      rulePackVersion: pack.version,
      startedBy: opts.actor,
      warnings,
    });
    await enqueueJobs(tx, r.id, ids, opts.jobSize ?? JOB_SIZE);
    // Nothing to do: the run is complete as it starts.
    return ids.length === 0 ? closeRun(tx, r, opts) : r;
  });
  if (opts.queueOnly || ids.length === 0) return summaryOf(db, run);

  onProgress(0, ids.length);
  const report = (r: AnalysisRunRow) => onProgress(r.done, r.total);
  for (;;) {
    await workQueue(db, { ...opts, runId: run.id, onJob: report });
    const [now] = await db.query<AnalysisRunRow>('SELECT * FROM analysis_runs WHERE id = $1', [run.id]);
    if (now!.status !== 'running') return summaryOf(db, now!);
    // Other workers hold the last jobs: wait for them (or for their heartbeat to lapse).
    report(now!);
    await sleep(500);
  }
}

async function summaryOf(db: Db, run: AnalysisRunRow): Promise<AnalyseSummary> {
  if (run.status === 'failed')
    throw new WeipianError(
      'analysis_failed',
      `第 ${run.id} 次分析失败：${run.error ?? '未知原因'}`,
      { runId: run.id },
      500,
    );
  if (run.status === 'done') return run.summary as unknown as AnalyseSummary;
  // Queued for workers: say so with the counts known now.
  const [b] = await db.query<{ slug: string; n: number }>(
    'SELECT b.slug, (SELECT count(*)::int FROM patches WHERE batch_id = b.id) AS n FROM batches b WHERE b.id = $1',
    [run.batch_id],
  );
  return {
    batch: b!.slug,
    runId: run.id,
    mode: run.mode,
    patches: b!.n,
    analysed: 0,
    queued: run.total,
    unitsChanged: 0,
    byPrejudgement: {},
    layers: [],
    missingLayers: [],
    withErrors: [],
    rulePack: { id: run.rule_pack_id, version: run.rule_pack_version },
    warnings: ((run.summary ?? {}) as { warnings?: string[] }).warnings ?? [],
    seconds: 0,
  };
}
