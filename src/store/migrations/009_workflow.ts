import type { Migration } from './index.ts';

// The patch workflow (issue 8). Workflow state is per patch (patch_workflow, with its own version
// for optimistic concurrency); verdicts live on parts (patch_parts), which tile the patch — until a
// split, one part that is the whole patch. Parts are never deleted: a split or merge retires the
// current parts and adds new ones, so evidence attached to an old part keeps its reference.
// A trigger gives every new patch its workflow row and its whole part, whoever inserts it (the
// importer, drawing on the map); existing patches get theirs here.
// Report rounds freeze a snapshot of the batch with its SHA-256 (also in the event log) and are
// append-only. Upper-level results are recorded per patch; patch_links says which patches a
// 例行督察/巡查/举报 patch overlaps, so figures count the overlap once.
export const m009Workflow: Migration = {
  version: 9,
  name: 'patch workflow, parts, report rounds, upper-level results, source links',
  sql: `
CREATE TABLE report_rounds (
  id serial PRIMARY KEY,
  batch_id integer NOT NULL REFERENCES batches (id),
  kind text NOT NULL CHECK (kind IN ('initial', 'update', 'final')),
  seq integer NOT NULL CHECK (seq >= 1),
  label text NOT NULL,
  reason text,
  closed_at timestamptz NOT NULL DEFAULT now(),
  closed_by text NOT NULL,
  reported_count integer NOT NULL,
  snapshot jsonb NOT NULL,
  figures jsonb NOT NULL,
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  UNIQUE (batch_id, seq)
);
CREATE UNIQUE INDEX report_rounds_once ON report_rounds (batch_id, kind) WHERE kind <> 'update';

CREATE FUNCTION report_rounds_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '报送轮次的快照只能追加，不能修改或删除（%）', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER report_rounds_append_only BEFORE UPDATE OR DELETE ON report_rounds
  FOR EACH ROW EXECUTE FUNCTION report_rounds_refuse_change();

CREATE TABLE patch_workflow (
  patch_id integer PRIMARY KEY REFERENCES patches (id),
  state text NOT NULL DEFAULT 'issued' CHECK (state IN ('issued', 'verifying', 'submitted', 'returned',
    'passed', 'reported', 'upper_returned', 'upper_passed')),
  version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  -- the last return (by the bureau or an upper level): shown on top while the unit corrects
  return_source text CHECK (return_source IN ('bureau', 'upper')),
  return_reason text,
  return_due_date text CHECK (return_due_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  returned_by text,
  returned_at timestamptz,
  submission_no integer NOT NULL DEFAULT 0,
  submitted_by text,
  submitted_at timestamptz,
  reviewed_by text,
  reviewed_at timestamptz,
  reported_round_id integer REFERENCES report_rounds (id),
  links_checked_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text
);
CREATE INDEX patch_workflow_state ON patch_workflow (state);

CREATE TABLE patch_parts (
  id serial PRIMARY KEY,
  patch_id integer NOT NULL REFERENCES patches (id),
  no integer NOT NULL CHECK (no >= 1),
  origin text NOT NULL CHECK (origin IN ('whole', 'drawn', 'rest', 'approved', 'unapproved', 'merged')),
  geometry_kind text NOT NULL DEFAULT 'polygon' CHECK (geometry_kind IN ('polygon', 'point')),
  geom bytea NOT NULL,
  area_m2 double precision NOT NULL CHECK (area_m2 >= 0),
  -- what figures count: the area minus overlaps already counted with linked patches
  counted_area_m2 double precision NOT NULL CHECK (counted_area_m2 >= 0),
  minx double precision NOT NULL,
  miny double precision NOT NULL,
  maxx double precision NOT NULL,
  maxy double precision NOT NULL,
  verdict text NOT NULL DEFAULT 'undetermined' CHECK (verdict IN ('undetermined', 'legal', 'other', 'illegal')),
  subtype text,
  fields jsonb NOT NULL DEFAULT '{}'::jsonb,
  handling text CHECK (handling IN ('file_case', 'handle_without_case', 'should_file_not_filed', 'no_action')),
  handling_reason_code text,
  handling_reason text,
  rule_pack_id text,
  rule_pack_version text,
  judged_by text,
  judged_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  retired_at timestamptz,
  retired_by text,
  CONSTRAINT patch_parts_subtype CHECK ((verdict = 'undetermined') = (subtype IS NULL)),
  CONSTRAINT patch_parts_handling CHECK (handling IS NULL OR verdict = 'illegal'),
  CONSTRAINT patch_parts_judged CHECK (verdict = 'undetermined'
    OR (rule_pack_id IS NOT NULL AND rule_pack_version IS NOT NULL AND judged_by IS NOT NULL AND judged_at IS NOT NULL))
);
CREATE UNIQUE INDEX patch_parts_current_no ON patch_parts (patch_id, no) WHERE retired_at IS NULL;
CREATE INDEX patch_parts_patch ON patch_parts (patch_id, id);

-- Which patches a 例行督察/巡查/举报 patch overlaps among those counted before it (satellite patches,
-- then earlier non-satellite ones): derived data, recomputed by the link step.
CREATE TABLE patch_links (
  patch_id integer NOT NULL REFERENCES patches (id),
  linked_patch_id integer NOT NULL REFERENCES patches (id),
  overlap_m2 double precision NOT NULL CHECK (overlap_m2 > 0),
  linked_at timestamptz NOT NULL DEFAULT now(),
  linked_by text NOT NULL,
  PRIMARY KEY (patch_id, linked_patch_id),
  CHECK (patch_id <> linked_patch_id)
);
CREATE INDEX patch_links_linked ON patch_links (linked_patch_id);

-- A reviewer has opened a submission: bulk pass takes only those.
CREATE TABLE review_opens (
  patch_id integer NOT NULL REFERENCES patches (id),
  username text NOT NULL,
  submission_no integer NOT NULL,
  opened_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (patch_id, username, submission_no)
);

CREATE TABLE upper_results (
  id serial PRIMARY KEY,
  patch_id integer NOT NULL REFERENCES patches (id),
  round_id integer REFERENCES report_rounds (id),
  result text NOT NULL CHECK (result IN ('passed', 'returned')),
  reason text,
  due_date text CHECK (due_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  source text NOT NULL CHECK (source IN ('manual', 'excel')),
  source_file text,
  source_sha256 text,
  source_row integer,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  recorded_by text NOT NULL,
  CONSTRAINT upper_results_reason CHECK (result = 'passed' OR length(btrim(coalesce(reason, ''))) > 0)
);
CREATE INDEX upper_results_patch ON upper_results (patch_id, id);

CREATE FUNCTION patches_workflow_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO patch_workflow (patch_id) VALUES (NEW.id);
  INSERT INTO patch_parts (patch_id, no, origin, geometry_kind, geom, area_m2, counted_area_m2,
      minx, miny, maxx, maxy, created_at, created_by)
    VALUES (NEW.id, 1, 'whole', NEW.geometry_kind, coalesce(NEW.geom_repaired, NEW.geom), NEW.area_m2,
      NEW.area_m2, NEW.minx, NEW.miny, NEW.maxx, NEW.maxy, NEW.created_at, 'system');
  RETURN NULL;
END
$$;
CREATE TRIGGER patches_workflow_init AFTER INSERT ON patches
  FOR EACH ROW EXECUTE FUNCTION patches_workflow_init();

INSERT INTO patch_workflow (patch_id) SELECT id FROM patches;
INSERT INTO patch_parts (patch_id, no, origin, geometry_kind, geom, area_m2, counted_area_m2,
    minx, miny, maxx, maxy, created_at, created_by)
  SELECT id, 1, 'whole', geometry_kind, coalesce(geom_repaired, geom), area_m2, area_m2,
    minx, miny, maxx, maxy, created_at, 'system'
  FROM patches;

ALTER TABLE evidence_items ADD CONSTRAINT evidence_items_part_fk FOREIGN KEY (part_id) REFERENCES patch_parts (id);
`,
};
