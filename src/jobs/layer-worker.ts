// Worker thread of a large reference-layer import (layer-stream.ts): opens the delivery, then
// reads, validates and encodes it chunk by chunk while the main thread writes the chunks to the
// database. It stays at most MAX_AHEAD chunks ahead, and releases the source (temporary folders)
// itself when it finishes, fails or is told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import {
  MAX_AHEAD,
  openLayerSourceHere,
  produceChunks,
  serializeError,
  type LayerStreamOptions,
  type WorkerReply,
  type WorkerRequest,
} from './layer-stream.ts';

const port = parentPort!;
const { input, opts } = (workerData as { data: { input: string; opts: LayerStreamOptions } }).data;

let started: ((layerId: number) => void) | null = null;
let acked: (() => void) | null = null;
let stopped = false;
let ahead = 0;

const send = (r: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer);

port.on('message', (m: WorkerRequest) => {
  if (m.t === 'start') started?.(m.layerId);
  else if (m.t === 'ack') {
    ahead--;
    acked?.();
  } else {
    stopped = true;
    started?.(-1);
    acked?.();
  }
});

async function run(): Promise<void> {
  let src: Awaited<ReturnType<typeof openLayerSourceHere>>['src'] | null = null;
  try {
    const opened = await openLayerSourceHere(input, opts);
    src = opened.src;
    send({ t: 'open', meta: opened.meta });
    const layerId = stopped ? -1 : await new Promise<number>((resolve) => (started = resolve));
    if (stopped) return;
    for await (const chunk of produceChunks(src, opts, layerId)) {
      const transfer = chunk.copy ? [chunk.copy.buffer as ArrayBuffer] : [];
      ahead++;
      send({ t: 'chunk', chunk }, transfer);
      while (ahead >= MAX_AHEAD && !stopped) await new Promise<void>((resolve) => (acked = resolve));
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
