// A worker thread of the analysis (analysis-pool.ts): its own GEOS instance and indexes over the
// run's shared packed layers; analyses the patches it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { initGeos } from '../geo/geos.ts';
import { ChunkAnalyser } from './analyse-chunk.ts';
import type { ThreadReply, ThreadRequest } from './analysis-pool.ts';
import type { RunContext } from './analysis-context.ts';

const port = parentPort!;
const { ctx } = (workerData as { data: { ctx: RunContext } }).data;

try {
  const analyser = new ChunkAnalyser(await initGeos(), ctx);
  port.on('message', (m: ThreadRequest) => {
    let reply: ThreadReply;
    try {
      reply = { t: 'result', id: m.id, outcomes: analyser.analyse(m.tasks) };
    } catch (e) {
      reply = { t: 'error', id: m.id, message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ t: 'ready' } satisfies ThreadReply);
} catch (e) {
  port.postMessage({
    t: 'error',
    id: -1,
    message: e instanceof Error ? (e.stack ?? e.message) : String(e),
  } satisfies ThreadReply);
}
