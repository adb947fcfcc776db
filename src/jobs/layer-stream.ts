// The reading half of a reference-layer import as a stream of chunks ready for the database: each
// feature read, reprojected, validated (GEOS) and measured (read-areal.ts), then written straight
// into PostgreSQL binary COPY rows for reference_features. On PGlite, large deliveries are read in
// a worker thread (layer-worker.ts), so that parsing and GEOS run on one core while the main thread
// only loads chunks into the database (PGlite runs in the main thread) and keeps answering
// requests; small ones are read in the main thread, where a worker's start-up would cost more than
// it saves. import-layer.ts decides (on PostgreSQL the server process does the writing, so it
// reads here).
import { stat, readdir } from 'node:fs/promises';
import path from 'node:path';
import yauzl from 'yauzl';
import { WeipianError, isWeipianError } from '../domain/errors.ts';
import { attributesToJson } from '../formats/attributes.ts';
import type { VectorField, VectorFormat } from '../formats/vector-source.ts';
import type { CrsDef } from '../geo/crs.ts';
import type { Areal, BBox } from '../geo/geometry.ts';
import { encodeWkb, wkbSize, writeWkb } from '../geo/wkb.ts';
import { CopyWriter } from '../store/bulk.ts';
import { FEATURE_COPY_COLUMNS } from '../store/queries/layers.ts';
import {
  isRefused,
  openArealSource,
  type ArealFeature,
  type ArealSource,
  type ReadOptions,
  type RefusedFeature,
} from './read-areal.ts';
import { startThread } from './threads.ts';

/** What the importer records about the delivery (ArealSource without its reading functions). */
export interface LayerSourceMeta {
  sourceFile: string;
  sourceSha256: string;
  format: VectorFormat;
  layer: string | null;
  encoding: string;
  encodingSource: string;
  crs: CrsDef;
  notes: string[];
  fields: VectorField[];
  featureCount: number;
}

/** A feature of a unit-boundary layer, which also becomes a responsible unit. */
export interface UnitCandidate {
  index: number;
  attributes: Record<string, unknown>;
  /** WKB of the repaired geometry, or of the delivered one when it was valid. */
  boundary: Uint8Array;
  areaM2: number;
  bbox: BBox;
}

export interface LayerChunk {
  /** Features read so far, refused ones included. */
  read: number;
  /** Features accepted so far. */
  imported: number;
  /** Running sum of the accepted features' areas, added in feature order. */
  totalAreaM2: number;
  refused: { index: number; reason: string }[];
  repaired: { index: number; issue: string }[];
  units: UnitCandidate[];
  /** Rows in `copy`. */
  rows: number;
  /** Binary COPY data of this chunk's accepted features (null on a dry run or when none). */
  copy: Uint8Array | null;
}

export interface LayerStreamOptions extends ReadOptions {
  /** Build COPY rows (false on a dry run). */
  encodeRows: boolean;
  /** Hand over unit candidates (layer type 'unit'). */
  wantUnits: boolean;
  /** Read in a worker thread: true, false, or by the size of the delivery when undefined. */
  worker?: boolean;
  /** Features per chunk (default 500; tests use small chunks). */
  chunkRows?: number;
  /** A chunk ends once its COPY data reaches this many bytes (default 1 MB). */
  chunkBytes?: number;
}

/** How large chunks are, when the caller decides once it knows the delivery (LayerStream.chunks). */
export type ChunkSizing = Pick<LayerStreamOptions, 'chunkRows' | 'chunkBytes'>;

export interface LayerStream {
  meta: LayerSourceMeta;
  /** Starts reading; chunks come in feature order, sized as opened or as `sizing` says. Call once. */
  chunks(layerId: number, sizing?: ChunkSizing): AsyncIterable<LayerChunk>;
  /** Stops reading and releases the source (temporary folders of zips …). Always call it. */
  close(): Promise<void>;
  /** Whether a worker thread reads (for tests and the benchmark). */
  readonly inWorker: boolean;
  /** Chunks read ahead of the consumer and waiting to be taken (for tests): at most MAX_AHEAD. */
  queued(): number;
}

// A chunk is one COPY: on PGlite ~1,000 simple parcels take ~40 ms of the main thread, so the
// server's health check never waits long; large geometries end a chunk early by size. (A
// PostgreSQL server loads COPYs in its own process: import-layer.ts asks for larger chunks.)
const CHUNK_ROWS = 500;
const CHUNK_BYTES = 1 << 20;
/**
 * Chunks the worker may be ahead of the database: bounds memory (~16,000 simple parcels, ~6 MB),
 * keeps both cores busy, and lets the worker read this far while the database is still opening.
 */
export const MAX_AHEAD = 32;
/**
 * Index, in the Int32Array over the SharedArrayBuffer the two threads share, of the number of
 * chunks the main thread has taken. The worker waits on it (Atomics.waitAsync) when it is
 * MAX_AHEAD chunks ahead; taking a chunk costs the main thread an Atomics.add and a notify rather
 * than a message to post (an acknowledgement per chunk measured 0.6 s of the main thread for
 * 100,000 parcels on a loaded machine).
 */
export const TAKEN = 0;
/** Features between two turns of the event loop when reading in the main thread. */
const YIELD_EVERY = 200;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Deliveries at least this large are read in a worker (~20,000 simple parcels as a Shapefile). */
export const WORKER_MIN_BYTES = 8 << 20;

/**
 * The stored attribute JSON, as attributesToJson writes it. Flat records without dates (nearly
 * all) skip its replacer, which cost more than the rest of the row; the output is identical.
 */
function attributesJson(attrs: Record<string, unknown>): string {
  for (const k in attrs) {
    const v = attrs[k];
    if (v !== null && typeof v === 'object') return attributesToJson(attrs);
  }
  return JSON.stringify(attrs);
}

function writeGeom(w: CopyWriter, g: Areal): void {
  w.byteaInPlace(wkbSize(g), (target, offset) => {
    writeWkb(g, target, offset);
  });
}

/** Opens the delivery (in this thread) and yields its chunks. */
export async function openLayerSourceHere(
  input: string,
  opts: LayerStreamOptions,
): Promise<{ src: ArealSource; meta: LayerSourceMeta }> {
  const src = await openArealSource(input, opts);
  const meta: LayerSourceMeta = {
    sourceFile: src.sourceFile,
    sourceSha256: src.sourceSha256,
    format: src.format,
    layer: src.layer,
    encoding: src.encoding,
    encodingSource: src.encodingSource,
    crs: src.crs,
    notes: src.notes,
    fields: src.fields,
    featureCount: src.featureCount,
  };
  return { src, meta };
}

/** The chunks of an open source; used by the worker and by the in-thread reader alike. */
export async function* produceChunks(
  src: ArealSource,
  opts: Pick<LayerStreamOptions, 'encodeRows' | 'wantUnits' | 'chunkRows' | 'chunkBytes'>,
  layerId: number,
  yieldEvery = 0,
): AsyncGenerator<LayerChunk> {
  // Read as each chunk begins: a worker learns the sizing only once the import starts (layer-worker.ts).
  let chunkRows = CHUNK_ROWS;
  let chunkBytes = CHUNK_BYTES;
  let read = 0;
  let imported = 0;
  let totalAreaM2 = 0;
  let chunk: LayerChunk | null = null;
  let w: CopyWriter | null = null;
  let inChunk = 0;
  const start = (): LayerChunk => {
    chunkRows = opts.chunkRows ?? CHUNK_ROWS;
    chunkBytes = opts.chunkBytes ?? CHUNK_BYTES;
    w = opts.encodeRows ? new CopyWriter(Math.min(chunkBytes, CHUNK_BYTES) >> 1) : null;
    inChunk = 0;
    return { read, imported, totalAreaM2, refused: [], repaired: [], units: [], rows: 0, copy: null };
  };
  const finish = (c: LayerChunk): LayerChunk => {
    c.read = read;
    c.imported = imported;
    c.totalAreaM2 = totalAreaM2;
    c.copy = w && c.rows > 0 ? w.finish() : null;
    return c;
  };
  const features = src.features()[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<ArealFeature | RefusedFeature>;
    try {
      next = await features.next();
    } catch (e) {
      // What was read before the failure goes first, so errors come in feature order.
      if (chunk) yield finish(chunk);
      throw e;
    }
    if (next.done) break;
    const f = next.value;
    chunk ??= start();
    read++;
    inChunk++;
    // In the main thread, let the event loop run (HTTP requests, health checks) every few features.
    if (yieldEvery > 0 && read % yieldEvery === 0) await yieldToEventLoop();
    if (isRefused(f)) {
      chunk.refused.push({ index: f.index, reason: f.reason });
    } else {
      if (f.repaired) chunk.repaired.push({ index: f.index, issue: f.validityIssue ?? '' });
      totalAreaM2 += f.areaM2;
      imported++;
      if (opts.wantUnits)
        chunk.units.push({
          index: f.index,
          attributes: f.attributes,
          boundary: encodeWkb(f.repaired ?? f.geom),
          areaM2: f.areaM2,
          bbox: f.bbox,
        });
      if (w) {
        const cw: CopyWriter = w;
        cw.row(FEATURE_COPY_COLUMNS.length).int4(layerId).int4(f.index).text(attributesJson(f.attributes));
        writeGeom(cw, f.geom);
        if (f.repaired) writeGeom(cw, f.repaired);
        else cw.null();
        cw.text(f.validityIssue)
          .float8(f.areaM2)
          .float8(f.bbox.minx)
          .float8(f.bbox.miny)
          .float8(f.bbox.maxx)
          .float8(f.bbox.maxy);
      }
      chunk.rows++;
    }
    if (inChunk >= chunkRows || (w !== null && (w as CopyWriter).byteLength >= chunkBytes)) {
      yield finish(chunk);
      chunk = null;
    }
  }
  if (chunk) yield finish(chunk);
}

/** What a zip's central directory says its entries inflate to (an estimate: nothing is inflated). */
function zipInflatedBytes(file: string): Promise<number> {
  return new Promise((resolve) => {
    yauzl.open(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: false }, (err, zip) => {
      if (err || !zip) return resolve(0);
      let total = 0;
      const done = () => {
        zip.close();
        resolve(total);
      };
      zip.on('entry', (e: yauzl.Entry) => {
        total += e.uncompressedSize;
        if (total >= WORKER_MIN_BYTES) done();
        else zip.readEntry();
      });
      zip.on('end', () => resolve(total));
      zip.on('error', () => resolve(total));
      zip.readEntry();
    });
  });
}

/** Bytes of the delivery: a file (a zip's inflated size, a Shapefile with its parts) or a folder's. */
async function deliveryBytes(input: string): Promise<number> {
  const st = await stat(input);
  if (st.isFile()) {
    const ext = path.extname(input).toLowerCase();
    if (ext === '.zip' || ext === '.kmz') return zipInflatedBytes(input);
    if (ext !== '.shp') return st.size;
    const dir = path.dirname(input);
    const base = path.basename(input, path.extname(input)).toLowerCase();
    let total = 0;
    for (const name of await readdir(dir))
      if (path.basename(name, path.extname(name)).toLowerCase() === base)
        total += (await stat(path.join(dir, name)).catch(() => ({ size: 0 }))).size;
    return total;
  }
  let total = 0;
  const walk = async (d: string, depth: number): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (total >= WORKER_MIN_BYTES) return;
      const full = path.join(d, e.name);
      if (e.isDirectory() && depth < 8) await walk(full, depth + 1);
      else if (e.isFile()) total += (await stat(full)).size;
    }
  };
  await walk(input, 0);
  return total;
}

/** Whether openLayerStream reads this delivery in a worker thread when not told. */
export async function readsInWorker(input: string): Promise<boolean> {
  return (await deliveryBytes(input).catch(() => 0)) >= WORKER_MIN_BYTES;
}

/** Opens a delivery for a layer import, in a worker thread when it is large (see above). */
export async function openLayerStream(input: string, opts: LayerStreamOptions): Promise<LayerStream> {
  const useWorker = opts.worker ?? (await readsInWorker(input));
  return useWorker ? openInWorker(input, opts) : openHere(input, opts);
}

async function openHere(input: string, opts: LayerStreamOptions): Promise<LayerStream> {
  const { src, meta } = await openLayerSourceHere(input, opts);
  return {
    meta,
    inWorker: false,
    queued: () => 0,
    chunks: (layerId, sizing) => produceChunks(src, { ...opts, ...sizing }, layerId, YIELD_EVERY),
    close: () => src.close(),
  };
}

// ---- worker transport ----------------------------------------------------------------------------

export type WorkerRequest = { t: 'start'; layerId: number; sizing?: ChunkSizing } | { t: 'stop' };

/** What a layer worker starts with (workerData.data). */
export interface WorkerStart {
  input: string;
  opts: LayerStreamOptions;
  /** Flow control shared with the main thread: an Int32Array over it, see TAKEN. */
  flow: SharedArrayBuffer;
}
export type WorkerReply =
  | { t: 'open'; meta: LayerSourceMeta }
  | { t: 'chunk'; chunk: LayerChunk }
  | { t: 'done' }
  | { t: 'closed' }
  | { t: 'error'; error: SerializedError };

export interface SerializedError {
  weipian: boolean;
  code?: string;
  message: string;
  details?: unknown;
  status?: number;
  name?: string;
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (isWeipianError(e))
    return { weipian: true, code: e.code, message: e.message, details: e.details, status: e.status };
  const err = e instanceof Error ? e : new Error(String(e));
  return { weipian: false, message: err.message, name: err.name, stack: err.stack };
}

export function deserializeError(s: SerializedError): Error {
  if (s.weipian) return new WeipianError(s.code!, s.message, s.details, s.status);
  const e = new Error(s.message);
  if (s.name) e.name = s.name;
  if (s.stack) e.stack = s.stack;
  return e;
}

/** A queue of worker replies that an async iterator can wait on. */
class Inbox {
  private items: WorkerReply[] = [];
  private waiting: ((r: WorkerReply) => void) | null = null;
  /** Chunks waiting to be taken. */
  get chunks(): number {
    let n = 0;
    for (const r of this.items) if (r.t === 'chunk') n++;
    return n;
  }
  push(r: WorkerReply): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(r);
    } else this.items.push(r);
  }
  next(): Promise<WorkerReply> {
    const r = this.items.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

async function openInWorker(input: string, opts: LayerStreamOptions): Promise<LayerStream> {
  const { worker: _ignored, ...readOpts } = opts;
  const shared = new SharedArrayBuffer(4);
  const flow = new Int32Array(shared);
  const worker = startThread(import.meta.url, 'layer-worker', {
    input,
    opts: readOpts,
    flow: shared,
  } satisfies WorkerStart);
  const inbox = new Inbox();
  let exited = false;
  let finished = false;
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      exited = true;
      resolve();
      // A worker that ends without saying why (killed, out of memory): after its last messages.
      setImmediate(() => {
        if (finished) return;
        inbox.push({
          t: 'error',
          error: serializeError(
            new WeipianError(
              'layer_reader_failed',
              `读取图层数据的工作线程意外退出（退出码 ${code}），图层未导入`,
              { exitCode: code },
              500,
            ),
          ),
        });
      });
    }),
  );
  worker.on('message', (m: WorkerReply) => {
    if (m.t === 'done' || m.t === 'error') finished = true;
    inbox.push(m);
  });
  worker.on('error', (e) => {
    finished = true;
    inbox.push({ t: 'error', error: serializeError(e) });
  });

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (!exited) {
      // Ask the worker to release the source itself (it removes temporary folders), then wait.
      worker.postMessage({ t: 'stop' } satisfies WorkerRequest);
      const timer = setTimeout(() => void worker.terminate(), 10_000);
      await exit;
      clearTimeout(timer);
    }
  };

  const first = await inbox.next();
  if (first.t !== 'open') {
    await close();
    throw first.t === 'error' ? deserializeError(first.error) : new Error(`layer reader: ${first.t}`);
  }

  async function* chunks(layerId: number, sizing?: ChunkSizing): AsyncGenerator<LayerChunk> {
    worker.postMessage({ t: 'start', layerId, sizing } satisfies WorkerRequest);
    for (;;) {
      const r = await inbox.next();
      if (r.t === 'chunk') {
        Atomics.add(flow, TAKEN, 1);
        Atomics.notify(flow, TAKEN);
        // Node delivers a port's queued messages in one go, each followed by its microtasks; without
        // this turn of the event loop, writing chunk after chunk would starve timers and requests
        // for the whole import.
        await yieldToEventLoop();
        yield r.chunk;
      } else if (r.t === 'done') return;
      else if (r.t === 'error') throw deserializeError(r.error);
      else throw new Error(`layer reader: unexpected ${r.t}`);
    }
  }
  return { meta: first.meta, inWorker: true, queued: () => inbox.chunks, chunks, close };
}
