// The worker loop of the analysis queue, run by `weipian worker` on any machine that reaches the
// database and by `weipian analyse` itself: claim a job, analyse its patches on every core, commit
// the results in one transaction only while still holding the job, repeat. The last job of a run
// closes it. A killed worker's job is claimed again once its heartbeat is older than the timeout.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../store/db.ts';
import { ALL_LAYERS, type AnalysisLayerType } from '../domain/analysis.ts';
import { initGeos } from '../geo/geos.ts';
import { appendEvent } from '../store/queries/events.ts';
import { upsertResults, type AnalysisRunRow, type NewResult } from '../store/queries/analysis.ts';
import {
  claimJob,
  completeJob,
  heartbeatJob,
  openJobs,
  openJobsAnywhere,
  type AnalysisJobRow,
  type JobSummary,
} from '../store/queries/analysis-jobs.ts';
import { LAYER_TYPE_LABELS, type LayerType } from '../store/queries/layers.ts';
import { loadRunContext, LICENCE_TYPES } from './analysis-context.ts';
import { openAnalyser, type Analyser } from './analysis-pool.ts';
import type { PatchTask } from './analyse-chunk.ts';

/** Seconds without a heartbeat after which a running job counts as abandoned (WEIPIAN_JOB_TIMEOUT_SECONDS). */
export function jobTimeoutSeconds(): number {
  const v = Number(process.env.WEIPIAN_JOB_TIMEOUT_SECONDS);
  return Number.isFinite(v) && v > 0 ? v : 60;
}

export function workerName(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface AnalyseRunSummary {
  batch: string;
  runId: number;
  mode: 'stale' | 'all';
  patches: number;
  analysed: number;
  /** Patches left to the workers (`--queue-only`). */
  queued?: number;
  unitsChanged: number;
  byPrejudgement: Record<string, number>;
  layers: { type: LayerType; label: string; version: number; features: number }[];
  missingLayers: AnalysisLayerType[];
  withErrors: string[];
  rulePack: { id: string; version: string };
  warnings: string[];
  seconds: number;
}

export interface WorkOptions {
  actor: string;
  actorRole?: string | null;
  /** Only jobs of this run (`weipian analyse`); any run when absent (`weipian worker`). */
  runId?: number;
  /** Worker threads (default: the cores, WEIPIAN_THREADS). */
  threads?: number;
  worker?: string;
  /** After each committed job: the run and how many of its patches are done. */
  onJob?: (run: AnalysisRunRow) => void;
  onStep?: (line: string) => void;
}

interface PatchRowLite {
  id: number;
  jcbh: string;
  wkb: Uint8Array;
  hsx: string | null;
  unit_code: string | null;
  unit_source: string;
}

class LostJob extends Error {}

/** Runs smaller than this are analysed in the worker's own thread. */
export const THREADS_FROM_PATCHES = 300;

/**
 * Works the queue until nothing is left to claim (for one run, or for any). Returns the number of
 * jobs this worker committed.
 */
export async function workQueue(db: Db, opts: WorkOptions): Promise<number> {
  const worker = opts.worker ?? workerName();
  const timeout = jobTimeoutSeconds();
  const geos = await initGeos();
  let analyser: Analyser | null = null;
  let current: number | null = null;
  let committed = 0;
  try {
    for (;;) {
      const job = await claimJob(db, worker, { runId: opts.runId, timeoutSeconds: timeout });
      if (!job) return committed;
      const [run] = await db.query<AnalysisRunRow>('SELECT * FROM analysis_runs WHERE id = $1', [job.run_id]);
      if (current !== job.run_id) {
        await analyser?.close();
        analyser = null;
        const ctx = await loadRunContext(db, geos, run!, opts.onStep);
        // Starting threads (a GEOS each) costs about a second: worth it for larger runs only.
        analyser = await openAnalyser(
          geos,
          ctx,
          opts.threads ?? (run!.total >= THREADS_FROM_PATCHES ? undefined : 1),
        );
        current = job.run_id;
      }
      const beat = setInterval(
        () => void heartbeatJob(db, job.id, worker).catch(() => undefined),
        (timeout * 1000) / 3,
      );
      try {
        const done = await runJob(db, analyser!, run!, job, worker, opts);
        if (done) {
          committed++;
          opts.onJob?.(done);
        }
      } finally {
        clearInterval(beat);
      }
    }
  } finally {
    await analyser?.close();
  }
}

async function runJob(
  db: Db,
  analyser: Analyser,
  run: AnalysisRunRow,
  job: AnalysisJobRow,
  worker: string,
  opts: WorkOptions,
): Promise<AnalysisRunRow | null> {
  const started = Date.now();
  const patches = await db.query<PatchRowLite>(
    `SELECT id, jcbh, coalesce(geom_repaired, geom) AS wkb, hsx, unit_code, unit_source
     FROM patches WHERE id = ANY($1::int[]) ORDER BY id`,
    [job.patch_ids],
  );
  const tasks: PatchTask[] = patches.map((p) => ({ id: p.id, jcbh: p.jcbh, wkb: p.wkb, hsx: p.hsx }));
  const outcomes = await analyser.analyse(tasks);
  const byId = new Map(patches.map((p) => [p.id, p]));
  const results: NewResult[] = outcomes.map((o) => ({
    patchId: o.id,
    batchId: run.batch_id,
    runId: run.id,
    jobId: job.id,
    layerIds: run.layer_ids,
    rulePackId: run.rule_pack_id,
    rulePackVersion: run.rule_pack_version,
    fields: o.fields,
    detail: o.detail,
    prejudgement: o.prejudgement,
  }));
  const unitChanges = outcomes.flatMap((o) => {
    const p = byId.get(o.id)!;
    const code = o.fields.unit_code;
    return typeof code === 'string' && code !== p.unit_code && p.unit_source !== 'reassigned'
      ? [{ p, code }]
      : [];
  });
  const summary: JobSummary = {
    unitsChanged: unitChanges.length,
    withErrors: outcomes.filter((o) => o.hasErrors).map((o) => o.jcbh),
    seconds: (Date.now() - started) / 1000,
  };
  try {
    return await db.transaction(async (tx) => {
      // First, so that the job row is locked: a worker that lost the job writes nothing.
      if (!(await completeJob(tx, job.id, worker, summary))) throw new LostJob();
      await upsertResults(tx, results);
      for (const { p, code } of unitChanges) {
        await tx.query("UPDATE patches SET unit_code = $2, unit_source = 'analysis' WHERE id = $1", [
          p.id,
          code,
        ]);
        await appendEvent(tx, {
          actor: opts.actor,
          actorRole: opts.actorRole ?? null,
          action: 'patch.unit_assign',
          recordType: 'patch',
          recordId: p.id,
          reason: '叠加分析：面积占比最大的责任单位',
          before: { unit_code: p.unit_code, unit_source: p.unit_source },
          after: { unit_code: code, unit_source: 'analysis', runId: run.id },
        });
      }
      const [updated] = await tx.query<AnalysisRunRow>(
        'UPDATE analysis_runs SET done = done + $2, heartbeat_at = now() WHERE id = $1 RETURNING *',
        [run.id, results.length],
      );
      if ((await openJobs(tx, run.id)) === 0) return closeRun(tx, updated!, opts);
      return updated!;
    });
  } catch (e) {
    if (e instanceof LostJob) return null;
    throw e;
  }
}

/** Sums the jobs of a finished run into its summary, records it and the event. */
export async function closeRun(
  q: Queryable,
  run: AnalysisRunRow,
  opts: Pick<WorkOptions, 'actor' | 'actorRole'>,
) {
  const [locked] = await q.query<AnalysisRunRow & { slug: string; kind: string }>(
    `SELECT r.*, b.slug, b.kind FROM analysis_runs r JOIN batches b ON b.id = r.batch_id WHERE r.id = $1 FOR UPDATE OF r`,
    [run.id],
  );
  if (!locked || locked.status !== 'running') return locked ?? run;
  const summary = await runSummary(q, locked);
  await q.query("UPDATE analysis_runs SET status = 'done', finished_at = now(), summary = $2 WHERE id = $1", [
    run.id,
    JSON.stringify(summary),
  ]);
  await appendEvent(q, {
    actor: opts.actor,
    actorRole: opts.actorRole ?? null,
    action: 'analysis.run',
    recordType: 'batch',
    recordId: locked.slug,
    after: { ...summary, withErrors: summary.withErrors.length },
  });
  return { ...locked, status: 'done' as const, summary: summary as unknown as Record<string, unknown> };
}

async function runSummary(
  q: Queryable,
  run: AnalysisRunRow & { slug: string; kind: string },
): Promise<AnalyseRunSummary> {
  const jobs = await q.query<{ summary: JobSummary | null }>(
    "SELECT summary FROM analysis_jobs WHERE run_id = $1 AND status = 'done' ORDER BY seq",
    [run.id],
  );
  const counts = await q.query<{ prejudgement: string; n: number }>(
    'SELECT prejudgement, count(*)::int AS n FROM analysis_results WHERE run_id = $1 GROUP BY prejudgement',
    [run.id],
  );
  const [patches] = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM patches WHERE batch_id = $1',
    [run.batch_id],
  );
  const layers = await q.query<{ type: LayerType; version: number; feature_count: number }>(
    'SELECT type, version, feature_count FROM reference_layers WHERE id = ANY($1::int[]) ORDER BY type',
    [Object.values(run.layer_ids)],
  );
  const prior = (run.summary ?? {}) as { warnings?: string[] };
  return {
    batch: run.slug,
    runId: run.id,
    mode: run.mode,
    patches: patches!.n,
    analysed: counts.reduce((s, c) => s + c.n, 0),
    unitsChanged: jobs.reduce((s, j) => s + (j.summary?.unitsChanged ?? 0), 0),
    byPrejudgement: Object.fromEntries(counts.map((c) => [c.prejudgement, c.n])),
    layers: layers.map((l) => ({
      type: l.type,
      label: LAYER_TYPE_LABELS[l.type],
      version: l.version,
      features: l.feature_count,
    })),
    missingLayers: ALL_LAYERS.filter(
      (t) => run.layer_ids[t] === undefined && (run.kind === 'mineral' || !LICENCE_TYPES.has(t)),
    ),
    withErrors: jobs.flatMap((j) => j.summary?.withErrors ?? []),
    rulePack: { id: run.rule_pack_id, version: run.rule_pack_version },
    warnings: prior.warnings ?? [],
    seconds: (Date.now() - new Date(run.started_at).getTime()) / 1000,
  };
}

export interface RunWorkerOptions {
  actor: string;
  threads?: number;
  /** Return when no job is queued or running anywhere, instead of waiting for new jobs. */
  untilIdle?: boolean;
  /** Seconds between polls of an empty queue (default 2). */
  pollSeconds?: number;
  onJob?: (run: AnalysisRunRow) => void;
}

/** `weipian worker`: works the queue of every run, waiting for new jobs unless untilIdle. */
export async function runWorker(db: Db, opts: RunWorkerOptions): Promise<{ worker: string; jobs: number }> {
  const worker = workerName();
  let stop = false;
  const onSignal = () => (stop = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let jobs = 0;
  try {
    while (!stop) {
      jobs += await workQueue(db, { actor: opts.actor, threads: opts.threads, worker, onJob: opts.onJob });
      // Idle means no job left at all: one still held by another worker may yet be abandoned.
      if (opts.untilIdle && (await openJobsAnywhere(db)) === 0) break;
      await new Promise((r) => setTimeout(r, (opts.pollSeconds ?? 2) * 1000));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return { worker, jobs };
}
