import type { Migration } from './index.ts';

// The audit trail: one global SHA-256 hash chain of events (who, when, what, why, before/after),
// appended inside the transaction of the change it records. Triggers refuse UPDATE, DELETE and
// TRUNCATE; a DBA can still disable them, which is why `weipian audit verify` recomputes the chain.
// The one-row head is locked by every append (SELECT … FOR UPDATE), so concurrent writers on one
// PostgreSQL get gapless sequence numbers in commit order.
// `version` on batches and patches lets writers refuse lost updates (src/store/versioned.ts).
export const m003Events: Migration = {
  version: 3,
  name: 'hash-chained audit events, row versions',
  sql: `
ALTER TABLE batches ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE patches ADD COLUMN version integer NOT NULL DEFAULT 1;

CREATE TABLE events (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  at timestamptz NOT NULL,
  actor text NOT NULL,
  actor_role text,
  action text NOT NULL,
  record_type text NOT NULL,
  record_id text NOT NULL,
  reason text,
  before jsonb,
  after jsonb,
  prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX events_record ON events (record_type, record_id, seq);

CREATE TABLE event_chain_head (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO event_chain_head (seq, hash) VALUES (0, '${'0'.repeat(64)}');

CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '审计事件只能追加，不能修改或删除（%）', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- The head only moves forward, one event at a time, onto an event that exists.
CREATE FUNCTION event_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.seq = OLD.seq + 1 AND EXISTS (SELECT 1 FROM events WHERE seq = NEW.seq AND hash = NEW.hash) THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '审计链头只能随新事件前移（%）', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER event_chain_head_forward BEFORE UPDATE OR DELETE ON event_chain_head
  FOR EACH ROW EXECUTE FUNCTION event_chain_head_guard();
CREATE TRIGGER event_chain_head_no_truncate BEFORE TRUNCATE ON event_chain_head
  FOR EACH STATEMENT EXECUTE FUNCTION event_chain_head_guard();
`,
};
