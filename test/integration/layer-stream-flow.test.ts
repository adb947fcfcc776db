// The worker that reads a large layer (jobs/layer-worker.ts) runs ahead of the database by a
// bounded number of chunks: it reads while the main thread writes, but never piles a whole
// delivery up in memory when the database is the slower side.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeShapefile, skipWithoutOgr, type FixtureFeature } from '../helpers/ogr.ts';
import { square } from '../helpers/delivery.ts';
import { MAX_AHEAD, openLayerStream } from '../../src/jobs/layer-stream.ts';
import { decodeCopyBinary } from '../../src/store/bulk.ts';
import { FEATURE_COPY_COLUMNS } from '../../src/store/queries/layers.ts';

const parcels = (n: number): FixtureFeature[] =>
  Array.from({ length: n }, (_, i) => ({
    properties: { BSM: i + 1, DLMC: '水田' },
    geometry: {
      type: 'Polygon',
      coordinates: [square(39571000 + (i % 10) * 50, 4063000 + Math.floor(i / 10) * 50, 40)],
    },
  }));

/** n parcels as a GBK Shapefile, opened in a worker thread that reads one feature per chunk. */
async function streamOf(dir: string, name: string, n: number) {
  const f = await writeShapefile(dir, parcels(n), { name, lco: ['ENCODING=CP936'] });
  return openLayerStream(f.shp, {
    maxUnzippedBytes: 1 << 24,
    encodeRows: true,
    wantUnits: false,
    chunkRows: 1,
    worker: true,
  });
}

describe('the layer worker’s flow control', { skip: skipWithoutOgr() }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weipian-flow-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('stays MAX_AHEAD chunks ahead of a slow consumer, then hands over every chunk in order', async () => {
    const n = MAX_AHEAD + 20;
    const s = await streamOf(dir, '地类', n);
    try {
      assert.equal(s.inWorker, true);
      const it = s.chunks(7)[Symbol.asyncIterator]();
      const reads = [(await it.next()).value!.read];
      // The consumer stalls: the worker fills the queue up to its bound and waits there.
      const deadline = Date.now() + 20_000;
      while (s.queued() < MAX_AHEAD && Date.now() < deadline) await sleep(20);
      assert.equal(s.queued(), MAX_AHEAD);
      await sleep(300);
      assert.equal(s.queued(), MAX_AHEAD, 'no more than MAX_AHEAD chunks read ahead');
      for (let r = await it.next(); !r.done; r = await it.next()) {
        assert.ok(s.queued() <= MAX_AHEAD);
        reads.push(r.value.read);
      }
      assert.deepEqual(
        reads,
        Array.from({ length: n }, (_, i) => i + 1),
      );
    } finally {
      await s.close();
    }
  });

  it('stops a worker that waits for room when the consumer gives up', async () => {
    const s = await streamOf(dir, '停止', MAX_AHEAD + 20);
    const it = s.chunks(7)[Symbol.asyncIterator]();
    await it.next();
    const deadline = Date.now() + 20_000;
    while (s.queued() < MAX_AHEAD && Date.now() < deadline) await sleep(20);
    const t0 = performance.now();
    await s.close(); // the worker is parked in Atomics.waitAsync: the stop must wake it
    assert.ok(performance.now() - t0 < 5_000, 'closed without waiting for the 10 s termination');
  });

  it('reads ahead while the import has not started, and gives those rows the layer id it starts with', async () => {
    const s = await streamOf(dir, '预读', 2 * MAX_AHEAD + 5);
    try {
      await sleep(1_000); // the database opening: the worker reads its first MAX_AHEAD chunks meanwhile
      const indexes: number[] = [];
      const layerIds = new Set<unknown>();
      for await (const c of s.chunks(4321))
        for (const row of decodeCopyBinary(
          c.copy!,
          FEATURE_COPY_COLUMNS.map((col) => col.type),
        )) {
          layerIds.add(row[0]);
          indexes.push(row[1] as number);
        }
      assert.deepEqual([...layerIds], [4321]);
      assert.deepEqual(
        indexes,
        Array.from({ length: 2 * MAX_AHEAD + 5 }, (_, i) => i),
      );
    } finally {
      await s.close();
    }
  });
});
