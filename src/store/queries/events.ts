// Query module for the audit trail (events): append inside the caller's transaction, read a record's
// timeline, and verify the whole hash chain page by page.
import type { Db, Queryable } from '../db.ts';
import {
  ChainVerifier,
  eventHash,
  toJson,
  GENESIS_HASH,
  type ChainedEvent,
  type Json,
  type VerifyResult,
} from '../../domain/hashchain.ts';
import { noProgress, type ProgressFn } from '../../jobs/progress.ts';

export interface NewEvent {
  /** A username, or 'cli:<os user>' for the command line. */
  actor: string;
  actorRole?: string | null;
  /** e.g. 'batch.create', 'batch.update', 'import.patches', 'layer.import'. */
  action: string;
  recordType: string;
  recordId: string | number;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
}

export type EventRecord = ChainedEvent;

interface EventDbRow {
  seq: number;
  at: string;
  actor: string;
  actor_role: string | null;
  action: string;
  record_type: string;
  record_id: string;
  reason: string | null;
  before: Json | null;
  after: Json | null;
  prev_hash: string;
  hash: string;
}

// `at` is read as text in SQL, the same on both engines and exactly what was hashed: ISO UTC with
// milliseconds (microseconds are never stored: appends truncate to milliseconds).
const AT_TEXT = `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `seq, ${AT_TEXT} AS at, actor, actor_role, action, record_type, record_id, reason, before, after,
  prev_hash, hash`;

function fromRow(r: EventDbRow): EventRecord {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    actorRole: r.actor_role,
    action: r.action,
    recordType: r.record_type,
    recordId: r.record_id,
    reason: r.reason,
    before: r.before,
    after: r.after,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

function isDb(q: Queryable): q is Db {
  return typeof (q as Partial<Db>).transaction === 'function';
}

/**
 * Appends one event to the chain. Call it with the transaction that makes the change the event
 * records, as late as possible in it: the chain head stays locked until that transaction ends, so
 * the event commits or rolls back with the change and concurrent writers line up one by one.
 * Given a Db rather than a transaction, it opens its own.
 */
export async function appendEvent(tx: Queryable, e: NewEvent): Promise<EventRecord> {
  if (isDb(tx)) return tx.transaction((inner) => appendEvent(inner, e));
  const [head] = await tx.query<{ seq: number; hash: string; at: string }>(
    `SELECT seq, hash,
       to_char(date_trunc('milliseconds', clock_timestamp()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
     FROM event_chain_head FOR UPDATE`,
  );
  if (!head) throw new Error('event_chain_head is empty: the audit chain head row is missing');
  const content = {
    seq: head.seq + 1,
    at: head.at,
    actor: e.actor,
    actorRole: e.actorRole ?? null,
    action: e.action,
    recordType: e.recordType,
    recordId: String(e.recordId),
    reason: e.reason ?? null,
    before: toJson(e.before),
    after: toJson(e.after),
  };
  const event: EventRecord = { ...content, prevHash: head.hash, hash: eventHash(head.hash, content) };
  await tx.query(
    `INSERT INTO events (seq, at, actor, actor_role, action, record_type, record_id, reason, before, after,
       prev_hash, hash)
     VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12)`,
    [
      event.seq,
      event.at,
      event.actor,
      event.actorRole,
      event.action,
      event.recordType,
      event.recordId,
      event.reason,
      event.before === null ? null : JSON.stringify(event.before),
      event.after === null ? null : JSON.stringify(event.after),
      event.prevHash,
      event.hash,
    ],
  );
  await tx.query('UPDATE event_chain_head SET seq = $1, hash = $2', [event.seq, event.hash]);
  return event;
}

export interface EventQuery {
  recordType?: string;
  recordId?: string | number;
  /** Only events after this seq (paging forward). */
  afterSeq?: number;
  /** At most this many (default 100). */
  limit?: number;
  /** The latest `limit` events instead of the first ones (still returned oldest first). */
  latest?: boolean;
}

/** Events in seq order, optionally of one record (its timeline) or of one record type. */
export async function listEvents(q: Queryable, opts: EventQuery = {}): Promise<EventRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.recordType !== undefined) {
    params.push(opts.recordType);
    where.push(`record_type = $${params.length}`);
  }
  if (opts.recordId !== undefined) {
    params.push(String(opts.recordId));
    where.push(`record_id = $${params.length}`);
  }
  if (opts.afterSeq !== undefined) {
    params.push(opts.afterSeq);
    where.push(`seq > $${params.length}`);
  }
  params.push(opts.limit ?? 100);
  const sql = `SELECT ${COLUMNS} FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY seq ${opts.latest ? 'DESC' : ''} LIMIT $${params.length}`;
  const rows = (await q.query<EventDbRow>(sql, params)).map(fromRow);
  return opts.latest ? rows.reverse() : rows;
}

export interface ChainHead {
  /** Number of events appended so far (seq of the last one; 0 when empty). */
  seq: number;
  /** Hash of the last event (64 zeros when empty). Publish it to make later rewriting detectable. */
  hash: string;
  /** When the last event was appended (null when empty). */
  at: string | null;
}

export async function chainHead(q: Queryable): Promise<ChainHead> {
  const [h] = await q.query<{ seq: number; hash: string }>('SELECT seq, hash FROM event_chain_head');
  if (!h) throw new Error('event_chain_head is empty: the audit chain head row is missing');
  const [last] =
    h.seq > 0
      ? await q.query<{ at: string }>(`SELECT ${AT_TEXT} AS at FROM events WHERE seq = $1`, [h.seq])
      : [];
  return { seq: h.seq, hash: h.hash, at: last?.at ?? null };
}

/**
 * Recomputes the chain from the first event to the recorded head, `pageSize` events at a time, and
 * returns the first broken link. Events appended while it runs lie past the snapshot taken at the
 * start and are left for the next run.
 */
export async function verifyChain(
  q: Queryable,
  onProgress: ProgressFn = noProgress,
  pageSize = 2000,
): Promise<VerifyResult> {
  // Head and last event from one snapshot (an append moves both in one transaction), so events
  // written past the head behind its back are walked too, and then fail the head check.
  const [snap] = await q.query<{ seq: number | null; hash: string | null; last: number | null }>(
    'SELECT h.seq, h.hash, (SELECT max(seq) FROM events) AS last FROM (SELECT 1) one LEFT JOIN event_chain_head h ON true',
  );
  const head = snap?.seq != null && snap.hash != null ? { seq: snap.seq, hash: snap.hash } : undefined;
  // A missing head row is itself tampering: walk every event, then report it.
  const target = { seq: Math.max(head?.seq ?? 0, snap?.last ?? 0), hash: head?.hash ?? GENESIS_HASH };
  const v = new ChainVerifier();
  let after = 0;
  onProgress(0, head?.seq ?? 0);
  for (;;) {
    const rows = await q.query<EventDbRow>(
      `SELECT ${COLUMNS} FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`,
      [after, target.seq, pageSize],
    );
    for (const r of rows) {
      const broken = v.push(fromRow(r));
      if (broken) return { ok: false, count: v.verified, broken };
    }
    onProgress(v.verified, head?.seq ?? v.verified);
    if (rows.length < pageSize) break;
    after = rows[rows.length - 1]!.seq;
  }
  if (!head)
    return {
      ok: false,
      count: v.verified,
      broken: {
        index: v.verified,
        seq: v.head.seq,
        kind: 'head_mismatch',
        expected: 'event_chain_head',
        actual: 'missing',
        message: `审计链头记录缺失（event_chain_head 被删除），事件止于 seq ${v.head.seq}`,
      },
    };
  const broken = v.finish(head);
  if (broken) return { ok: false, count: v.verified, broken };
  return { ok: true, count: v.verified, head: v.head };
}
