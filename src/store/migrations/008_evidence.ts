import type { Migration } from './index.ts';

// Evidence (举证): photos and documents attached to a patch (or a part of one, once parts exist —
// migration 009 adds the foreign key). Files are never deleted: a replacement is a new row and the
// old row points at it through superseded_by, so both stay in the timeline. Triggers refuse DELETE
// and allow UPDATE only to set superseded_by once. Integrity signals are computed on upload; a
// reviewer confirms one as a finding (核查发现) or dismisses it with a reason, once.
export const m008Evidence: Migration = {
  version: 8,
  name: 'evidence items and integrity signals',
  sql: `
CREATE TABLE evidence_items (
  id serial PRIMARY KEY,
  patch_id integer NOT NULL REFERENCES patches (id),
  part_id integer,
  kind text NOT NULL CHECK (kind IN ('photo', 'document')),
  doc_type text,
  doc_no text,
  doc_date text CHECK (doc_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  fields jsonb NOT NULL DEFAULT '{}'::jsonb,
  note text,
  original_name text NOT NULL,
  mime text NOT NULL,
  size_bytes bigint NOT NULL CHECK (size_bytes > 0),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  phash text CHECK (phash ~ '^[0-9a-f]{16}$'),
  width integer,
  height integer,
  exif jsonb,
  browser_capture jsonb,
  storage_key text NOT NULL,
  thumb_key text,
  -- Deferred: a restore loads rows in id order, and an old row points at a newer one.
  superseded_by integer REFERENCES evidence_items (id) DEFERRABLE INITIALLY DEFERRED,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  CONSTRAINT evidence_items_not_self CHECK (superseded_by IS NULL OR superseded_by <> id),
  CONSTRAINT evidence_items_doc_fields CHECK (kind = 'document' OR (doc_type IS NULL AND doc_no IS NULL AND doc_date IS NULL))
);
CREATE INDEX evidence_items_patch ON evidence_items (patch_id, id);
CREATE INDEX evidence_items_sha256 ON evidence_items (sha256);
CREATE INDEX evidence_items_phash ON evidence_items (phash) WHERE phash IS NOT NULL;

CREATE FUNCTION evidence_items_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL
     AND (to_jsonb(NEW) - 'superseded_by') = (to_jsonb(OLD) - 'superseded_by') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '举证材料只能追加和替换，不能修改或删除（%）', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER evidence_items_append_only BEFORE UPDATE OR DELETE ON evidence_items
  FOR EACH ROW EXECUTE FUNCTION evidence_items_guard();

CREATE TABLE evidence_signals (
  id serial PRIMARY KEY,
  evidence_id integer NOT NULL REFERENCES evidence_items (id),
  code text NOT NULL CHECK (code IN ('far_from_patch', 'no_position', 'no_time', 'outside_work_window',
    'before_after_image', 'facing_away', 'duplicate_file', 'similar_image', 'exif_upload_gap')),
  details jsonb NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
  -- 核查发现: 虚假举证 and 照片复用 are what the warning-interview rule 弄虚作假 counts; 举证不规范 is not fraud.
  finding text CHECK (finding IN ('false_evidence', 'photo_reuse', 'nonconforming')),
  reason text,
  decided_by text,
  decided_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (evidence_id, code),
  CONSTRAINT evidence_signals_finding CHECK ((status = 'confirmed') = (finding IS NOT NULL)),
  CONSTRAINT evidence_signals_decision CHECK ((status = 'open') = (decided_at IS NULL)
    AND (status = 'open') = (decided_by IS NULL)
    AND (status = 'open' OR length(btrim(coalesce(reason, ''))) > 0))
);
CREATE INDEX evidence_signals_open ON evidence_signals (evidence_id) WHERE status = 'open';
CREATE INDEX evidence_signals_finding ON evidence_signals (finding) WHERE status = 'confirmed';
`,
};
