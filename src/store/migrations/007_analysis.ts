import type { Migration } from './index.ts';

// Analysis results, one row per patch: the contract fields (fields.ts OUTPUT_FIELD_IDS) and the
// detail behind them, with the reference-layer versions and rule pack they were computed from.
// Publishing a new layer version marks the results it may change stale (queries/analysis.ts);
// `weipian analyse` recomputes the stale and the missing ones. Each run is recorded.
export const m007Analysis: Migration = {
  version: 7,
  name: 'analysis results and runs',
  sql: `
CREATE TABLE analysis_runs (
  id serial PRIMARY KEY,
  batch_id integer NOT NULL REFERENCES batches (id),
  mode text NOT NULL CHECK (mode IN ('stale', 'all')),
  status text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  total integer NOT NULL,
  done integer NOT NULL DEFAULT 0,
  layer_ids jsonb NOT NULL,
  rule_pack_id text NOT NULL,
  rule_pack_version text NOT NULL,
  summary jsonb,
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  -- a run whose heartbeat stopped (its process died) is taken over by the next run
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  started_by text NOT NULL
);
CREATE INDEX analysis_runs_batch ON analysis_runs (batch_id, id);

CREATE TABLE analysis_results (
  patch_id integer PRIMARY KEY REFERENCES patches (id),
  batch_id integer NOT NULL REFERENCES batches (id),
  run_id integer NOT NULL REFERENCES analysis_runs (id),
  -- {"farmland": 12, …}: reference_layers.id of each layer type used; a type absent was missing
  layer_ids jsonb NOT NULL,
  rule_pack_id text NOT NULL,
  rule_pack_version text NOT NULL,
  fields jsonb NOT NULL,
  detail jsonb NOT NULL,
  prejudgement text NOT NULL,
  stale boolean NOT NULL DEFAULT false,
  stale_reason text,
  computed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analysis_results_batch ON analysis_results (batch_id, stale);

-- Who set the responsible unit: the delivered 行政区代码, the analysis (largest share), or the
-- bureau's reassignment, which the analysis never overrides.
ALTER TABLE patches ADD COLUMN unit_source text NOT NULL DEFAULT 'delivered'
  CHECK (unit_source IN ('delivered', 'analysis', 'reassigned'));
`,
};
