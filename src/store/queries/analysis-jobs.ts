// Query module for the analysis queue (analysis_jobs, migration 010). Claiming uses
// FOR UPDATE SKIP LOCKED so that concurrent workers never take the same job; a running job whose
// heartbeat is older than the timeout counts as abandoned and is claimed again.
import type { Queryable } from '../db.ts';

export interface AnalysisJobRow {
  id: number;
  run_id: number;
  seq: number;
  patch_ids: number[];
  status: 'queued' | 'running' | 'done' | 'cancelled';
  worker: string | null;
  attempts: number;
  claimed_at: Date | null;
  heartbeat_at: Date | null;
  finished_at: Date | null;
  summary: JobSummary | null;
}

/** What one job did, kept on the job so that a run's summary adds up across workers. */
export interface JobSummary {
  unitsChanged: number;
  withErrors: string[];
  seconds: number;
}

/** Splits the patches of a run into jobs of `size` (in the order given). */
export async function enqueueJobs(
  q: Queryable,
  runId: number,
  patchIds: readonly number[],
  size: number,
): Promise<number> {
  let seq = 0;
  for (let i = 0; i < patchIds.length; i += size * 200) {
    // Up to 200 jobs per statement.
    const params: unknown[] = [runId];
    const tuples: string[] = [];
    for (let j = i; j < Math.min(patchIds.length, i + size * 200); j += size) {
      params.push(seq++, patchIds.slice(j, j + size));
      tuples.push(`($1, $${params.length - 1}, $${params.length}::int[])`);
    }
    await q.query(`INSERT INTO analysis_jobs (run_id, seq, patch_ids) VALUES ${tuples.join(', ')}`, params);
  }
  return seq;
}

/**
 * Claims the next open job (of one run, or of any run), or a running one abandoned for longer
 * than timeoutSeconds. Returns undefined when there is nothing to claim.
 */
export async function claimJob(
  q: Queryable,
  worker: string,
  opts: { runId?: number; timeoutSeconds: number },
): Promise<AnalysisJobRow | undefined> {
  const rows = await q.query<AnalysisJobRow>(
    `UPDATE analysis_jobs SET status = 'running', worker = $1, attempts = attempts + 1,
       claimed_at = now(), heartbeat_at = now()
     WHERE id = (
       SELECT id FROM analysis_jobs
       WHERE (status = 'queued' OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => $2)))
         AND ($3::int IS NULL OR run_id = $3)
       ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [worker, opts.timeoutSeconds, opts.runId ?? null],
  );
  return rows[0];
}

export async function heartbeatJob(q: Queryable, jobId: number, worker: string): Promise<void> {
  await q.query(
    "UPDATE analysis_jobs SET heartbeat_at = now() WHERE id = $1 AND worker = $2 AND status = 'running'",
    [jobId, worker],
  );
}

/**
 * Marks the job done if this worker still holds it; false when another worker took it over (the
 * caller must then roll back what it wrote in the same transaction). Locks the job row.
 */
export async function completeJob(
  q: Queryable,
  jobId: number,
  worker: string,
  summary: JobSummary,
): Promise<boolean> {
  const rows = await q.query<{ id: number }>(
    `UPDATE analysis_jobs SET status = 'done', finished_at = now(), summary = $3
     WHERE id = $1 AND worker = $2 AND status = 'running' RETURNING id`,
    [jobId, worker, JSON.stringify(summary)],
  );
  return rows.length === 1;
}

/** Jobs of a run not done yet (queued or running). */
export async function openJobs(q: Queryable, runId: number): Promise<number> {
  const rows = await q.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM analysis_jobs WHERE run_id = $1 AND status IN ('queued', 'running')",
    [runId],
  );
  return rows[0]!.n;
}

/** Jobs of any run not done yet. */
export async function openJobsAnywhere(q: Queryable): Promise<number> {
  const rows = await q.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM analysis_jobs WHERE status IN ('queued', 'running')",
  );
  return rows[0]!.n;
}

/** Cancels the open jobs of a run (the run failed or was abandoned). */
export async function cancelJobs(q: Queryable, runId: number): Promise<void> {
  await q.query(
    "UPDATE analysis_jobs SET status = 'cancelled' WHERE run_id = $1 AND status IN ('queued', 'running')",
    [runId],
  );
}

export async function jobsOfRun(q: Queryable, runId: number): Promise<AnalysisJobRow[]> {
  return q.query<AnalysisJobRow>('SELECT * FROM analysis_jobs WHERE run_id = $1 ORDER BY seq', [runId]);
}
