// Query module for analysis results and runs (叠加分析结果). A result records the reference-layer
// versions it was computed from; publishing a new version marks stale exactly the results that
// version may change (markStaleForLayer), so `weipian analyse` recomputes only those.
import type { Queryable } from '../db.ts';
import type { LayerRow } from './layers.ts';
import { LAYER_TYPE_LABELS } from './layers.ts';

/** reference_layers.id per layer type used; a type that is absent was missing. */
export type LayerIds = Partial<Record<string, number>>;

export interface AnalysisRunRow {
  id: number;
  batch_id: number;
  mode: 'stale' | 'all';
  status: 'running' | 'done' | 'failed';
  total: number;
  done: number;
  layer_ids: LayerIds;
  rule_pack_id: string;
  rule_pack_version: string;
  summary: Record<string, unknown> | null;
  error: string | null;
  started_at: Date;
  heartbeat_at: Date;
  finished_at: Date | null;
  started_by: string;
}

export interface AnalysisResultRow {
  patch_id: number;
  batch_id: number;
  run_id: number;
  job_id: number | null;
  layer_ids: LayerIds;
  rule_pack_id: string;
  rule_pack_version: string;
  fields: Record<string, string | number | null>;
  detail: Record<string, unknown>;
  prejudgement: string;
  stale: boolean;
  stale_reason: string | null;
  computed_at: Date;
}

export interface NewRun {
  batchId: number;
  mode: 'stale' | 'all';
  total: number;
  layerIds: LayerIds;
  rulePackId: string;
  rulePackVersion: string;
  startedBy: string;
  /** Said when the run starts (e.g. a newer rule pack file); kept in its summary. */
  warnings?: string[];
}

export async function insertRun(q: Queryable, r: NewRun): Promise<AnalysisRunRow> {
  const rows = await q.query<AnalysisRunRow>(
    `INSERT INTO analysis_runs (batch_id, mode, status, total, layer_ids, rule_pack_id, rule_pack_version, started_by, summary)
     VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8) RETURNING *`,
    [
      r.batchId,
      r.mode,
      r.total,
      JSON.stringify(r.layerIds),
      r.rulePackId,
      r.rulePackVersion,
      r.startedBy,
      JSON.stringify({ warnings: r.warnings ?? [] }),
    ],
  );
  return rows[0]!;
}

export async function updateRunProgress(q: Queryable, runId: number, done: number): Promise<void> {
  await q.query('UPDATE analysis_runs SET done = $2, heartbeat_at = now() WHERE id = $1', [runId, done]);
}

/**
 * The run of this batch still alive (a job committed within `aliveSeconds`), after marking failed
 * (and cancelling the jobs of) the runs nobody worked on since. Call in the transaction that starts
 * a run.
 */
export async function liveRun(
  q: Queryable,
  batchId: number,
  aliveSeconds = 120,
): Promise<AnalysisRunRow | undefined> {
  await q.query('SELECT pg_advisory_xact_lock(7421102, $1)', [batchId]);
  const dead = await q.query<{ id: number }>(
    `UPDATE analysis_runs SET status = 'failed', error = '运行中断（进程已退出）', finished_at = now()
     WHERE batch_id = $1 AND status = 'running' AND heartbeat_at < now() - make_interval(secs => $2)
     RETURNING id`,
    [batchId, aliveSeconds],
  );
  if (dead.length > 0)
    await q.query(
      "UPDATE analysis_jobs SET status = 'cancelled' WHERE run_id = ANY($1::int[]) AND status IN ('queued', 'running')",
      [dead.map((d) => d.id)],
    );
  return (
    await q.query<AnalysisRunRow>(
      "SELECT * FROM analysis_runs WHERE batch_id = $1 AND status = 'running' ORDER BY id LIMIT 1",
      [batchId],
    )
  )[0];
}

export async function finishRun(
  q: Queryable,
  runId: number,
  outcome: { status: 'done' | 'failed'; done: number; summary?: unknown; error?: string },
): Promise<void> {
  await q.query(
    `UPDATE analysis_runs SET status = $2, done = $3, summary = $4, error = $5, finished_at = now() WHERE id = $1`,
    [runId, outcome.status, outcome.done, JSON.stringify(outcome.summary ?? null), outcome.error ?? null],
  );
}

export interface RunProgress {
  done: number;
  total: number;
  /** Patches per second since the run started. */
  rate: number;
  /** Seconds left at that rate; null when finished or not started. */
  etaSeconds: number | null;
}

/** Progress of a run as the web app and the CLI show it (done / total / rate / ETA). */
export function runProgress(run: AnalysisRunRow, now = new Date()): RunProgress {
  const end = run.finished_at ? new Date(run.finished_at) : now;
  const elapsed = Math.max(0.001, (end.getTime() - new Date(run.started_at).getTime()) / 1000);
  const rate = run.done / elapsed;
  const etaSeconds = run.status === 'running' && rate > 0 ? Math.ceil((run.total - run.done) / rate) : null;
  return { done: run.done, total: run.total, rate, etaSeconds };
}

export async function listRuns(q: Queryable, batchId: number, limit = 20): Promise<AnalysisRunRow[]> {
  return q.query<AnalysisRunRow>(
    'SELECT * FROM analysis_runs WHERE batch_id = $1 ORDER BY id DESC LIMIT $2',
    [batchId, limit],
  );
}

export interface NewResult {
  patchId: number;
  batchId: number;
  runId: number;
  /** The queue job that computed it (analysis_jobs). */
  jobId: number | null;
  layerIds: LayerIds;
  rulePackId: string;
  rulePackVersion: string;
  fields: Record<string, unknown>;
  detail: unknown;
  prejudgement: string;
}

/** Writes (or replaces) the results of some patches; a replaced result is no longer stale. */
export async function upsertResults(q: Queryable, results: readonly NewResult[]): Promise<void> {
  if (results.length === 0) return;
  const params: unknown[] = [];
  const tuples = results.map((r) => {
    const base = params.length;
    params.push(
      r.patchId,
      r.batchId,
      r.runId,
      r.jobId,
      JSON.stringify(r.layerIds),
      r.rulePackId,
      r.rulePackVersion,
      JSON.stringify(r.fields),
      JSON.stringify(r.detail),
      r.prejudgement,
    );
    return `(${Array.from({ length: 10 }, (_, k) => `$${base + k + 1}`).join(', ')})`;
  });
  await q.query(
    `INSERT INTO analysis_results (patch_id, batch_id, run_id, job_id, layer_ids, rule_pack_id, rule_pack_version,
       fields, detail, prejudgement)
     VALUES ${tuples.join(', ')}
     ON CONFLICT (patch_id) DO UPDATE SET run_id = EXCLUDED.run_id, job_id = EXCLUDED.job_id, layer_ids = EXCLUDED.layer_ids,
       rule_pack_id = EXCLUDED.rule_pack_id, rule_pack_version = EXCLUDED.rule_pack_version,
       fields = EXCLUDED.fields, detail = EXCLUDED.detail, prejudgement = EXCLUDED.prejudgement,
       stale = false, stale_reason = NULL, computed_at = now()`,
    params,
  );
}

export async function findResult(q: Queryable, patchId: number): Promise<AnalysisResultRow | undefined> {
  return (
    await q.query<AnalysisResultRow>('SELECT * FROM analysis_results WHERE patch_id = $1', [patchId])
  )[0];
}

/** The patches of a batch that need analysing: no result yet, or a stale one (or all of them). */
export async function patchIdsToAnalyse(q: Queryable, batchId: number, all: boolean): Promise<number[]> {
  const rows = await q.query<{ id: number }>(
    `SELECT p.id FROM patches p LEFT JOIN analysis_results r ON r.patch_id = p.id
     WHERE p.batch_id = $1 ${all ? '' : 'AND (r.patch_id IS NULL OR r.stale)'} ORDER BY p.id`,
    [batchId],
  );
  return rows.map((r) => r.id);
}

export interface AnalysisCounts {
  patches: number;
  analysed: number;
  stale: number;
  missing: number;
  byPrejudgement: Record<string, number>;
}

export async function analysisCounts(
  q: Queryable,
  batchId: number,
  unitCode?: string | null,
): Promise<AnalysisCounts> {
  const params: unknown[] = [batchId];
  let unit = '';
  if (unitCode !== undefined) {
    params.push(unitCode);
    unit = ' AND p.unit_code IS NOT DISTINCT FROM $2';
  }
  const rows = await q.query<{ prejudgement: string | null; stale: boolean | null; n: number }>(
    `SELECT r.prejudgement, r.stale, count(*)::int AS n FROM patches p
     LEFT JOIN analysis_results r ON r.patch_id = p.id WHERE p.batch_id = $1${unit}
     GROUP BY r.prejudgement, r.stale`,
    params,
  );
  const c: AnalysisCounts = { patches: 0, analysed: 0, stale: 0, missing: 0, byPrejudgement: {} };
  for (const r of rows) {
    c.patches += r.n;
    if (r.prejudgement === null) {
      c.missing += r.n;
      continue;
    }
    c.analysed += r.n;
    if (r.stale) c.stale += r.n;
    c.byPrejudgement[r.prejudgement] = (c.byPrejudgement[r.prejudgement] ?? 0) + r.n;
  }
  return c;
}

/**
 * Marks stale the results a newly published layer version may change: those computed without any
 * layer of its type, and those whose patch box meets a feature of the new version or of the
 * version the result used (the search box grows by `marginDeg` so that licence tolerances and
 * edge-touching features count). Call in the publishing transaction. Returns how many were marked.
 *
 * `layer_id + 0` keeps the (layer_id, feature_index) index out of the plan: without statistics
 * (PGlite never gathers any; a server before autovacuum has) the planner ANDed it with the box
 * index, reading every feature id of both versions for each patch — 5,000 patches against two
 * 100,000-feature versions took 36–50 s on PGlite and 23 s on PostgreSQL, and 0.3–0.65 s so.
 */
export async function markStaleForLayer(q: Queryable, layer: LayerRow, marginDeg = 0.001): Promise<number> {
  const reason = `${LAYER_TYPE_LABELS[layer.type]}图层更新为第 ${layer.version} 版`;
  const rows = await q.query<{ patch_id: number }>(
    `UPDATE analysis_results r SET stale = true, stale_reason = $3
     FROM patches p
     WHERE p.id = r.patch_id AND NOT r.stale
       AND (r.layer_ids ->> $1::text) IS DISTINCT FROM $2::text
       AND (NOT (r.layer_ids ? $1::text) OR EXISTS (
         SELECT 1 FROM reference_features f
         WHERE f.layer_id + 0 IN ($2::int, (r.layer_ids ->> $1::text)::int)
           AND box(point(f.minx, f.miny), point(f.maxx, f.maxy))
               && box(point(p.minx - $4, p.miny - $4), point(p.maxx + $4, p.maxy + $4))))
     RETURNING r.patch_id`,
    [layer.type, layer.id, reason, marginDeg],
  );
  return rows.length;
}
