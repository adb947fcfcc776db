// Worker thread of a large reference-layer import (layer-stream.ts): opens the delivery, then
// reads, validates and encodes it chunk by chunk while the main thread writes the chunks to the
// database. Chunks go over by transfer (their COPY bytes are moved, not copied); it stays at most
// MAX_AHEAD chunks ahead, waiting on the counter of chunks taken that the main thread advances
// (TAKEN), and releases the source (temporary folders) itself when it finishes, fails or is told
// to stop.
import { parentPort, workerData } from 'node:worker_threads';
import {
  MAX_AHEAD,
  TAKEN,
  openLayerSourceHere,
  produceChunks,
  serializeError,
  type ChunkSizing,
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

let started: ((start: { layerId: number; sizing?: ChunkSizing }) => void) | null = null;
let stopped = false;

const send = (r: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer);

port.on('message', (m: WorkerRequest) => {
  if (m.t === 'start') started?.(m);
  else {
    stopped = true;
    started?.({ layerId: -1 });
    Atomics.notify(flow, TAKEN); // ends a wait for the main thread to take a chunk
  }
});

/** Waits until the main thread has taken enough chunks for this one to be sent (or a stop). */
async function waitForRoom(sent: number): Promise<void> {
  for (;;) {
    if (stopped) return;
    const taken = Atomics.load(flow, TAKEN);
    if (sent - taken < MAX_AHEAD) return;
    const w = waitAsync(flow, TAKEN, taken);
    if (w.async) await w.value;
  }
}

async function run(): Promise<void> {
  let src: Awaited<ReturnType<typeof openLayerSourceHere>>['src'] | null = null;
  try {
    const opened = await openLayerSourceHere(input, opts);
    src = opened.src;
    send({ t: 'open', meta: opened.meta });
    const start = await new Promise<{ layerId: number; sizing?: ChunkSizing }>((resolve) =>
      stopped ? resolve({ layerId: -1 }) : (started = resolve),
    );
    if (stopped) return;
    let sent = 0;
    for await (const chunk of produceChunks(src, { ...opts, ...start.sizing }, start.layerId)) {
      const transfer = chunk.copy ? [chunk.copy.buffer as ArrayBuffer] : [];
      send({ t: 'chunk', chunk }, transfer);
      await waitForRoom(++sent);
      if (stopped) return;
    }
    send({ t: 'done' });
  } catch (e) {
    if (!stopped) send({ t: 'error', error: serializeError(e) });
  } finally {
    await src?.close().catch(() => undefined);
    port.unref();
  }
}

void run();
