// Worker thread of a large reference-layer import (layer-stream.ts): opens the delivery, then
// reads, validates and encodes it chunk by chunk while the main thread writes the chunks to the
// database. It starts reading at once — before the layer has its id, which the main thread sends
// once the database is open and the staging layer exists: the first MAX_AHEAD chunks wait here and
// get the id written into their rows then. Chunks go over by transfer (their COPY bytes are moved,
// not copied); it stays at most MAX_AHEAD chunks ahead, waiting on the counter of chunks taken
// that the main thread advances (TAKEN), and releases the source (temporary folders) itself when
// it finishes, fails or is told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { setInt4Column } from '../store/bulk.ts';
import { FEATURE_COPY_COLUMNS } from '../store/queries/layers.ts';
import {
  MAX_AHEAD,
  TAKEN,
  openLayerSourceHere,
  produceChunks,
  serializeError,
  type LayerChunk,
  type WorkerReply,
  type WorkerRequest,
  type WorkerStart,
} from './layer-stream.ts';

const port = parentPort!;
const { input, opts, flow: shared } = (workerData as { data: WorkerStart }).data;
const flow = new Int32Array(shared);
// Atomics.waitAsync (Node 16+) is not in TypeScript's ES2022 library.
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: unknown };
  }
).waitAsync;
const LAYER_ID_COLUMN = FEATURE_COPY_COLUMNS.findIndex((c) => c.name === 'layer_id');

/** Chunk sizes as the import asks at its start (read by produceChunks as each chunk begins). */
const reading = { ...opts };
let layerId: number | null = null;
let stopped = false;
let onStart: (() => void) | null = null;

const send = (r: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer);

port.on('message', (m: WorkerRequest) => {
  if (m.t === 'start') {
    layerId = m.layerId;
    Object.assign(reading, m.sizing);
  } else {
    stopped = true;
    Atomics.notify(flow, TAKEN); // ends a wait for the main thread to take a chunk
  }
  onStart?.();
});

const started = (): Promise<void> =>
  layerId !== null || stopped ? Promise.resolve() : new Promise((resolve) => (onStart = resolve));

/** Waits until the main thread has taken enough chunks for another to be read (or a stop). */
async function waitForRoom(sent: number): Promise<void> {
  for (;;) {
    if (stopped) return;
    const taken = Atomics.load(flow, TAKEN);
    if (sent - taken < MAX_AHEAD) return;
    const w = waitAsync(flow, TAKEN, taken);
    if (w.async) await w.value;
  }
}

let sent = 0;
/** Sends the chunks read so far, their rows given the layer's id. */
function deliver(held: LayerChunk[]): void {
  for (const chunk of held.splice(0)) {
    if (chunk.copy) setInt4Column(chunk.copy, LAYER_ID_COLUMN, layerId!);
    send({ t: 'chunk', chunk }, chunk.copy ? [chunk.copy.buffer as ArrayBuffer] : []);
    sent++;
  }
}

async function run(): Promise<void> {
  let src: Awaited<ReturnType<typeof openLayerSourceHere>>['src'] | null = null;
  const held: LayerChunk[] = [];
  try {
    const opened = await openLayerSourceHere(input, opts);
    src = opened.src;
    send({ t: 'open', meta: opened.meta });
    for await (const chunk of produceChunks(src, reading, 0)) {
      held.push(chunk);
      if (layerId === null && held.length < MAX_AHEAD) continue;
      await started();
      if (stopped) return;
      deliver(held);
      await waitForRoom(sent);
      if (stopped) return;
    }
    await started();
    if (stopped) return;
    deliver(held);
    send({ t: 'done' });
  } catch (e) {
    // What was read before the failure goes first, so errors come in feature order (a delivery
    // that cannot be opened fails at once: the import waits for it before it starts).
    if (src) await started();
    if (stopped) return;
    deliver(held);
    send({ t: 'error', error: serializeError(e) });
  } finally {
    await src?.close().catch(() => undefined);
    port.unref();
  }
}

void run();
