// Reading a reference layer in a worker thread (jobs/layer-stream.ts, layer-worker.ts) must be
// indistinguishable from reading it in the main thread: the same COPY bytes, the same summary, the
// same errors in the same order, temporary folders removed — and, through importLayer, the same
// stored layer on both engines.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yazl from 'yazl';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { writeShapefile, skipWithoutOgr, rect, type FixtureFeature } from '../helpers/ogr.ts';
import { square } from '../helpers/delivery.ts';
import { openLayerStream, type LayerChunk, type LayerStreamOptions } from '../../src/jobs/layer-stream.ts';
import { importLayer } from '../../src/jobs/import-layer.ts';
import { decodeCopyBinary } from '../../src/store/bulk.ts';
import { FEATURE_COPY_COLUMNS } from '../../src/store/queries/layers.ts';
import { isWeipianError, type WeipianError } from '../../src/domain/errors.ts';
import type { Db } from '../../src/store/db.ts';

/** 23 parcels (GBK names): a bowtie at 5 (repaired), no geometry at 11 (refused), the rest squares. */
function parcels(outsideAt?: number): FixtureFeature[] {
  return Array.from({ length: 23 }, (_, i): FixtureFeature => {
    const x = 39571000 + (i % 5) * 50;
    const y = 4063000 + Math.floor(i / 5) * 50;
    const props = { BSM: i + 1, DLMC: i % 2 ? '水田' : '农村宅基地', ZLDWMC: '周村区南郊镇' };
    if (i === 11) return { properties: props, geometry: null };
    if (i === outsideAt)
      return { properties: props, geometry: { type: 'Polygon', coordinates: [square(1000, 1000, 40)] } };
    if (i === 5)
      return {
        properties: props,
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [x, y],
              [x + 40, y + 40],
              [x + 40, y],
              [x, y + 40],
              [x, y],
            ],
          ],
        },
      };
    return { properties: props, geometry: { type: 'Polygon', coordinates: [square(x, y, 40)] } };
  });
}

const base = (o: Partial<LayerStreamOptions> = {}): LayerStreamOptions => ({
  maxUnzippedBytes: 1 << 24,
  encodeRows: true,
  wantUnits: false,
  chunkRows: 5,
  ...o,
});

/** Every chunk (copy bytes as arrays) and how the stream ended. */
async function drain(file: string, o: LayerStreamOptions) {
  const s = await openLayerStream(file, o);
  const chunks: (Omit<LayerChunk, 'copy'> & { copy: number[] | null })[] = [];
  let error: WeipianError | null = null;
  try {
    for await (const c of s.chunks(42)) chunks.push({ ...c, copy: c.copy ? [...c.copy] : null });
  } catch (e) {
    assert.ok(isWeipianError(e), String(e));
    error = e;
  } finally {
    await s.close();
  }
  return { inWorker: s.inWorker, meta: s.meta, chunks, error };
}

async function zipOf(files: string[], out: string) {
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addFile(f, `地类图斑/${path.basename(f)}`);
  zip.end();
  const ws = createWriteStream(out);
  zip.outputStream.pipe(ws);
  await once(ws, 'close');
  return out;
}

describe('reading a layer in a worker thread', { skip: skipWithoutOgr() }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'weipian-stream-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('gives the very same chunks, bytes and summary as reading in the main thread', async () => {
    const f = await writeShapefile(dir, parcels(), { name: '地类', lco: ['ENCODING=CP936'] });
    const here = await drain(f.shp, base({ worker: false }));
    const there = await drain(f.shp, base({ worker: true }));
    assert.deepEqual([here.inWorker, there.inWorker], [false, true]);
    assert.equal(here.error, null);
    assert.deepEqual(there, { ...here, inWorker: true });
    // Hand-checked: 23 read in chunks of 5; 22 accepted; the bowtie repaired, the empty one refused.
    assert.deepEqual(
      here.chunks.map((c) => [c.read, c.imported, c.rows]),
      [
        [5, 5, 5],
        [10, 10, 5],
        [15, 14, 4],
        [20, 19, 5],
        [23, 22, 3],
      ],
    );
    assert.deepEqual(
      here.chunks.flatMap((c) => c.repaired.map((r) => r.index)),
      [5],
    );
    assert.deepEqual(
      here.chunks.flatMap((c) => c.refused),
      [{ index: 11, reason: '空几何（该记录没有图形）' }],
    );
    assert.equal(here.meta.encoding, 'gbk');
    assert.equal(here.meta.featureCount, 23);
    // The COPY rows: layer id, feature number and the GBK names decoded.
    const rows = here.chunks.flatMap((c) =>
      decodeCopyBinary(
        Uint8Array.from(c.copy ?? []),
        FEATURE_COPY_COLUMNS.map((x) => x.type),
      ),
    );
    assert.equal(rows.length, 22);
    assert.deepEqual(rows[0]!.slice(0, 3), [42, 0, '{"BSM":1,"DLMC":"农村宅基地","ZLDWMC":"周村区南郊镇"}']);
    assert.equal(
      rows.find((r) => r[1] === 5)![5],
      here.chunks.flatMap((c) => c.repaired)[0]!.issue,
      'the validity issue of the bowtie',
    );
    assert.ok(rows.find((r) => r[1] === 5)![4] instanceof Uint8Array, 'its repaired geometry');
    assert.deepEqual(
      rows.filter((r) => r[4] !== null).map((r) => r[1]),
      [5],
    );
  });

  it('hands over an error found mid-file as the same Chinese error, after the features before it', async () => {
    const f = await writeShapefile(dir, parcels(17), { name: '出界', lco: ['ENCODING=CP936'] });
    const here = await drain(f.shp, base({ worker: false }));
    const there = await drain(f.shp, base({ worker: true }));
    assert.ok(here.error);
    assert.equal(here.error.code, 'coords_outside_china');
    assert.match(here.error.message, /^第 18 个要素的坐标/);
    assert.ok(there.error instanceof Error && isWeipianError(there.error));
    assert.deepEqual(
      [there.error.code, there.error.message, there.error.details, there.error.status],
      [here.error.code, here.error.message, here.error.details, here.error.status],
    );
    // Features 1–17 arrived first (the last, partial chunk flushed before the error).
    assert.deepEqual(
      there.chunks.map((c) => c.read),
      [5, 10, 15, 17],
    );
    assert.deepEqual(there.chunks, here.chunks);
  });

  it('refuses at open in the worker as in the main thread, and removes a zip’s folder however it ends', async (t) => {
    const f = await writeShapefile(dir, parcels(), { name: 'z', lco: ['ENCODING=CP936'] });
    const zip = await zipOf([f.shp, f.shx, f.dbf, f.prj, f.cpg!], path.join(dir, 'z.zip'));
    const work = await mkdtemp(path.join(dir, 'tmp-'));
    const saved = process.env.TMPDIR;
    // Worker threads copy process.env when they start, so both threads extract under `work`.
    process.env.TMPDIR = work;
    t.after(() => {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    });
    const extracted = async () => (await readdir(work)).filter((n) => n.startsWith('weipian-zip-'));

    const s = await openLayerStream(zip, base({ worker: true }));
    assert.equal((await extracted()).length, 1, 'extracted while open');
    const it = s.chunks(1)[Symbol.asyncIterator]();
    assert.equal((await it.next()).value!.read, 5);
    await s.close(); // stopped after one chunk
    assert.deepEqual(await extracted(), []);

    const all = await drain(zip, base({ worker: true }));
    assert.equal(all.chunks.at(-1)!.read, 23);
    assert.deepEqual(await extracted(), []);

    const encodingError = (e: unknown) => {
      assert.ok(isWeipianError(e), String(e));
      assert.equal(e.code, 'encoding_unsupported');
      assert.match(e.message, /不支持指定的编码“KOI9”/);
      return true;
    };
    await assert.rejects(openLayerStream(zip, base({ worker: true, encoding: 'KOI9' })), encodingError);
    await assert.rejects(openLayerStream(zip, base({ worker: false, encoding: 'KOI9' })), encodingError);
    assert.deepEqual(await extracted(), []);
  });
});

async function snapshot(db: Db) {
  return db.query(
    `SELECT l.type, l.version, l.feature_count, l.repaired_count, l.total_area_m2, f.feature_index,
            f.attributes::text AS attributes, f.geom, f.geom_repaired, f.validity_issue, f.area_m2,
            f.minx, f.miny, f.maxx, f.maxy
       FROM reference_features f JOIN reference_layers l ON l.id = f.layer_id
      ORDER BY l.version, f.feature_index`,
  );
}

for (const engine of engines()) {
  describe(`importing a layer read in a worker on ${engine}`, { skip: skipWithoutOgr() }, () => {
    let dir: string;
    const dbs: TestDb[] = [];
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'weipian-stream-import-'));
    });
    after(async () => {
      for (const d of dbs) await d.drop();
      await rm(dir, { recursive: true, force: true });
    });
    const fresh = async () => {
      const d = await freshDb(engine);
      dbs.push(d);
      return d.db;
    };

    it('stores the same layer whichever thread reads it; a refusal changes nothing', async () => {
      const f = await writeShapefile(dir, parcels(), { name: '地类', lco: ['ENCODING=CP936'] });
      const opts = { type: 'land-use', actor: 'tester', maxUnzippedBytes: 1 << 24, skipRefused: true };
      const [a, b] = [await fresh(), await fresh()];
      const sa = await importLayer(a, f.shp, { ...opts, readInWorker: false });
      const sb = await importLayer(b, f.shp, { ...opts, readInWorker: true });
      assert.deepEqual(sb, sa);
      assert.deepEqual([sa.read, sa.imported, sa.repaired.length, sa.refused.length], [23, 22, 1, 1]);
      const stored = await snapshot(a);
      assert.equal(stored.length, 22);
      assert.deepEqual(await snapshot(b), stored);

      // Without --skip-refused the refused feature refuses the layer: nothing added.
      await assert.rejects(
        importLayer(b, f.shp, { ...opts, skipRefused: false, readInWorker: true }),
        (e) => {
          assert.ok(isWeipianError(e));
          assert.equal(e.code, 'features_refused');
          return true;
        },
      );
      const [{ n }] = (await b.query<{ n: number }>('SELECT count(*)::int AS n FROM reference_layers')) as [
        { n: number },
      ];
      assert.equal(n, 1, 'no staging layer left behind');
      assert.deepEqual(await snapshot(b), stored);
    });

    it('makes responsible units from a unit layer read in a worker', async () => {
      const db = await fresh();
      const f = await writeShapefile(
        dir,
        [
          ['370306001', '丝绸路街道', rect(39570000, 4062000, 39572000, 4064000)],
          ['370306101', '北郊镇', rect(39572000, 4062000, 39575000, 4064000)],
        ].map(([code, name, ring]) => ({
          properties: { DWDM: code as string, DWMC: name as string },
          geometry: { type: 'Polygon', coordinates: [ring] },
        })),
        { name: '界线', lco: ['ENCODING=CP936'] },
      );
      const s = await importLayer(db, f.shp, {
        type: 'unit',
        actor: 'tester',
        maxUnzippedBytes: 1 << 24,
        readInWorker: true,
      });
      assert.deepEqual(s.units, [
        { code: '370306001', name: '丝绸路街道' },
        { code: '370306101', name: '北郊镇' },
      ]);
      const units = await db.query<{ code: string; kind: string; layer_id: number }>(
        'SELECT code, kind, layer_id FROM responsible_units ORDER BY code',
      );
      assert.deepEqual(
        units.map((u) => [u.code, u.kind, u.layer_id]),
        [
          ['370306001', 'street', s.layerId],
          ['370306101', 'town', s.layerId],
        ],
      );
    });
  });
}
