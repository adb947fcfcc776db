import type { Migration } from './index.ts';

// The analysis queue: a run is split into jobs of a few dozen patches that any `weipian worker`
// (or the `weipian analyse` process itself) claims with FOR UPDATE SKIP LOCKED, so several
// processes on several machines sharing one PostgreSQL finish a batch together. A job whose
// worker stopped sending heartbeats is claimed again; a job's results are committed only by the
// worker that holds it, so no patch is ever stored twice by one run.
export const m010AnalysisJobs: Migration = {
  version: 10,
  name: 'analysis job queue',
  sql: `
CREATE TABLE analysis_jobs (
  id serial PRIMARY KEY,
  run_id integer NOT NULL REFERENCES analysis_runs (id),
  seq integer NOT NULL,
  patch_ids integer[] NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'cancelled')),
  worker text,
  attempts integer NOT NULL DEFAULT 0,
  claimed_at timestamptz,
  heartbeat_at timestamptz,
  finished_at timestamptz,
  summary jsonb,
  UNIQUE (run_id, seq)
);
CREATE INDEX analysis_jobs_open ON analysis_jobs (id) WHERE status IN ('queued', 'running');

ALTER TABLE analysis_results ADD COLUMN job_id integer REFERENCES analysis_jobs (id);
`,
};
