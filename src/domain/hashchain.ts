// The audit hash chain, pure: canonical JSON, the hash of one event, and a verifier that walks a
// sequence of events (in pages, so millions verify in constant memory) and names the first broken
// link. hash = sha256(prev_hash || canonical JSON of the content fields); the first event's
// prev_hash is 64 zeros. Content includes seq, so an event moved to another position breaks too.
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The fields an event's hash covers. `at` is ISO 8601 UTC with milliseconds ('…T…:…:….mmmZ'). */
export interface EventContent {
  seq: number;
  at: string;
  actor: string;
  actorRole: string | null;
  action: string;
  recordType: string;
  recordId: string;
  reason: string | null;
  before: Json | null;
  after: Json | null;
}

export interface ChainedEvent extends EventContent {
  prevHash: string;
  hash: string;
}

/**
 * JSON with object keys sorted (by UTF-16 code units) at every level and no whitespace. jsonb
 * reorders keys and drops duplicate ones, so only a canonical form hashes the same before storage
 * and after reading back.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
  }
}

/**
 * A value as it will read back from a jsonb column: Dates become ISO strings, undefined and
 * functions disappear, NaN and ±Infinity become null — exactly what JSON.stringify does.
 */
export function toJson(value: unknown): Json | null {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as Json;
}

export function eventHash(prevHash: string, e: EventContent): string {
  const content = {
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    actorRole: e.actorRole,
    action: e.action,
    recordType: e.recordType,
    recordId: e.recordId,
    reason: e.reason,
    before: e.before,
    after: e.after,
  };
  return createHash('sha256')
    .update(prevHash + canonicalJson(content), 'utf8')
    .digest('hex');
}

export type BreakKind = 'seq_gap' | 'prev_hash_mismatch' | 'hash_mismatch' | 'missing_tail' | 'head_mismatch';

export interface ChainBreak {
  /** 1-based position of the event in the walk (第 N 条). */
  index: number;
  /** seq of the first event that does not verify (for missing_tail: the first seq missing). */
  seq: number;
  kind: BreakKind;
  expected: string;
  actual: string;
  /** Chinese, one line. */
  message: string;
}

const short = (h: string) => (h.length > 16 ? `${h.slice(0, 16)}…` : h);

/** Walks events in seq order; push() returns the first break and the walk should stop there. */
export class ChainVerifier {
  private count = 0;
  private lastSeq = 0;
  private lastHash = GENESIS_HASH;

  /** Events verified so far. */
  get verified(): number {
    return this.count;
  }

  get head(): { seq: number; hash: string } {
    return { seq: this.lastSeq, hash: this.lastHash };
  }

  push(e: ChainedEvent): ChainBreak | null {
    const index = this.count + 1;
    const at = `第 ${index} 条事件（seq ${e.seq}）`;
    if (e.seq !== this.lastSeq + 1) {
      const expected = this.lastSeq + 1;
      return {
        index,
        seq: e.seq,
        kind: 'seq_gap',
        expected: String(expected),
        actual: String(e.seq),
        message:
          e.seq > expected
            ? `${at}之前缺少事件：应为 seq ${expected}${e.seq - expected > 1 ? `–${e.seq - 1}` : ''}`
            : `${at}序号不连续：应为 seq ${expected}`,
      };
    }
    if (e.prevHash !== this.lastHash)
      return {
        index,
        seq: e.seq,
        kind: 'prev_hash_mismatch',
        expected: this.lastHash,
        actual: e.prevHash,
        message: `${at}与前一条事件不相连：记录的前序哈希 ${short(e.prevHash)}，前一条事件的哈希 ${short(this.lastHash)}`,
      };
    const computed = eventHash(e.prevHash, e);
    if (computed !== e.hash)
      return {
        index,
        seq: e.seq,
        kind: 'hash_mismatch',
        expected: computed,
        actual: e.hash,
        message: `${at}哈希不符：记录为 ${short(e.hash)}，按内容重算为 ${short(computed)}（内容或哈希被改动）`,
      };
    this.count = index;
    this.lastSeq = e.seq;
    this.lastHash = e.hash;
    return null;
  }

  /** After the last event: the walk must end where the recorded chain head says it does. */
  finish(head: { seq: number; hash: string }): ChainBreak | null {
    if (head.seq > this.lastSeq)
      return {
        index: this.count + 1,
        seq: this.lastSeq + 1,
        kind: 'missing_tail',
        expected: String(head.seq),
        actual: String(this.lastSeq),
        message: `第 ${this.count + 1} 条事件（seq ${this.lastSeq + 1}）缺失：链头记录到 seq ${head.seq}，事件只到 seq ${this.lastSeq}`,
      };
    if (head.seq < this.lastSeq)
      return {
        index: head.seq + 1,
        seq: head.seq + 1,
        kind: 'head_mismatch',
        expected: String(head.seq),
        actual: String(this.lastSeq),
        message: `第 ${head.seq + 1} 条事件（seq ${head.seq + 1}）在链头之后：链头记录到 seq ${head.seq}，事件却到 seq ${this.lastSeq}（事件绕过追加写入，或链头被回退）`,
      };
    if (head.hash !== this.lastHash)
      return {
        index: this.count,
        seq: this.lastSeq,
        kind: 'head_mismatch',
        expected: `${head.seq}:${head.hash}`,
        actual: `${this.lastSeq}:${this.lastHash}`,
        message: `链头与事件不符：链头记录为 seq ${head.seq}（${short(head.hash)}），事件止于 seq ${this.lastSeq}（${short(this.lastHash)}）`,
      };
    return null;
  }
}

export type VerifyResult =
  | { ok: true; count: number; head: { seq: number; hash: string } }
  | { ok: false; count: number; broken: ChainBreak };

/** Verifies a whole sequence held in memory (tests, small exports); stores use ChainVerifier. */
export function verifySequence(
  events: Iterable<ChainedEvent>,
  head?: { seq: number; hash: string },
): VerifyResult {
  const v = new ChainVerifier();
  for (const e of events) {
    const broken = v.push(e);
    if (broken) return { ok: false, count: v.verified, broken };
  }
  const broken = head ? v.finish(head) : null;
  if (broken) return { ok: false, count: v.verified, broken };
  return { ok: true, count: v.verified, head: v.head };
}
