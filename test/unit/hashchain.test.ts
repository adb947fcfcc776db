// The audit hash chain without a database: canonical JSON, a hash pinned against `sha256sum` of the
// hand-written canonical text, and the verifier naming the first broken link for each kind of tampering.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalJson,
  eventHash,
  toJson,
  verifySequence,
  GENESIS_HASH,
  type ChainedEvent,
  type EventContent,
} from '../../src/domain/hashchain.ts';

const content: EventContent = {
  seq: 1,
  at: '2018-03-14T01:02:03.456Z',
  actor: 'cli:张三',
  actorRole: null,
  action: 'batch.update',
  recordType: 'batch',
  recordId: '2017-land',
  reason: '更正名称',
  before: { version: 1, name: '旧名称' },
  after: { version: 2, name: '新名称' },
};

/** A valid chain of n events, built the way appendEvent builds it. */
function chain(n: number): ChainedEvent[] {
  const out: ChainedEvent[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const c: EventContent = { ...content, seq, after: { version: seq + 1, name: `名称${seq}` } };
    const hash = eventHash(prev, c);
    out.push({ ...c, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

describe('hash chain', () => {
  it('writes canonical JSON: sorted keys at every level, no spaces, undefined dropped', () => {
    assert.equal(
      canonicalJson({ b: 1, a: [true, null, '中', undefined], c: { y: undefined, x: 1.5, 甲: -0 } }),
      '{"a":[true,null,"中",null],"b":1,"c":{"x":1.5,"甲":0}}',
    );
    assert.equal(canonicalJson('引号"与\\反斜杠\n'), '"引号\\"与\\\\反斜杠\\n"');
    assert.throws(() => canonicalJson(Number.NaN), TypeError);
  });

  it('turns values into what jsonb gives back (dates as ISO strings, undefined dropped)', () => {
    assert.deepEqual(
      toJson({ at: new Date(Date.UTC(2018, 2, 14, 1, 2, 3, 456)), gone: undefined, n: Infinity }),
      {
        at: '2018-03-14T01:02:03.456Z',
        n: null,
      },
    );
    assert.equal(toJson(undefined), null);
  });

  it('hashes prev_hash followed by the canonical content (pinned against sha256sum)', () => {
    // printf '%s' '000…0{"action":"batch.update",…,"seq":1}' | sha256sum
    assert.equal(
      eventHash(GENESIS_HASH, content),
      'daa3f86f2a7a524c33951f6297a22e94b1bc571b5ba72892f75a329d7a5f0288',
    );
    // Key order of the JSON values does not matter; their content does.
    assert.equal(
      eventHash(GENESIS_HASH, { ...content, after: { name: '新名称', version: 2 } }),
      'daa3f86f2a7a524c33951f6297a22e94b1bc571b5ba72892f75a329d7a5f0288',
    );
    assert.notEqual(
      eventHash(GENESIS_HASH, { ...content, after: { name: '新名称', version: 3 } }),
      eventHash(GENESIS_HASH, content),
    );
  });

  it('accepts an intact chain and checks it against the recorded head', () => {
    const events = chain(5);
    const ok = verifySequence(events, { seq: 5, hash: events[4]!.hash });
    assert.deepEqual(ok, { ok: true, count: 5, head: { seq: 5, hash: events[4]!.hash } });
    assert.deepEqual(verifySequence([]), { ok: true, count: 0, head: { seq: 0, hash: GENESIS_HASH } });
  });

  it('names the first broken event for each kind of tampering', () => {
    const edited = chain(5);
    edited[2] = { ...edited[2]!, after: { version: 4, name: '篡改' } };
    const r1 = verifySequence(edited);
    assert.equal(r1.ok, false);
    if (!r1.ok) {
      assert.deepEqual(
        [r1.broken.index, r1.broken.seq, r1.broken.kind, r1.count],
        [3, 3, 'hash_mismatch', 2],
      );
      assert.match(r1.broken.message, /^第 3 条事件（seq 3）哈希不符：/);
    }

    const deleted = chain(5).filter((e) => e.seq !== 3);
    const r2 = verifySequence(deleted);
    assert.ok(!r2.ok && r2.broken.seq === 4 && r2.broken.kind === 'seq_gap' && r2.broken.index === 3);
    assert.ok(!r2.ok && /应为 seq 3/.test(r2.broken.message));

    // Two events swapped and renumbered: the one now at seq 2 does not follow seq 1.
    const c = chain(5);
    const swapped = [c[0]!, { ...c[2]!, seq: 2 }, { ...c[1]!, seq: 3 }, c[3]!, c[4]!];
    const r3 = verifySequence(swapped);
    assert.ok(!r3.ok && r3.broken.seq === 2 && r3.broken.kind === 'prev_hash_mismatch');

    // Rewritten and re-hashed in place: the next event no longer links to it.
    const rehashed = chain(5);
    const forged = { ...rehashed[1]!, after: { version: 3, name: '伪造' } };
    rehashed[1] = { ...forged, hash: eventHash(forged.prevHash, forged) };
    const r4 = verifySequence(rehashed);
    assert.ok(!r4.ok && r4.broken.seq === 3 && r4.broken.kind === 'prev_hash_mismatch');

    // The last event deleted: only the recorded head can tell.
    const tail = chain(5);
    const r5 = verifySequence(tail.slice(0, 4), { seq: 5, hash: tail[4]!.hash });
    assert.ok(!r5.ok && r5.broken.seq === 5 && r5.broken.kind === 'missing_tail' && r5.broken.index === 5);
    assert.ok(verifySequence(tail.slice(0, 4)).ok, 'without a head, a truncated chain looks whole');
  });
});
