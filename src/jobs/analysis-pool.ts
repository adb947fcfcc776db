// Analysis on every core: one worker thread per core, each with its own GEOS and its own indexes
// over the same shared packed layers (no copy of the geometry). A job's patches are split among the
// threads in small slices through one queue and the outcomes put back in order. With one thread the work stays in this thread.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Geos } from '../geo/geos.ts';
import type { RunContext } from './analysis-context.ts';
import { ChunkAnalyser, type PatchOutcome, type PatchTask } from './analyse-chunk.ts';
import { startThread } from './threads.ts';

export interface ThreadRequest {
  id: number;
  tasks: PatchTask[];
}
export type ThreadReply =
  | { t: 'ready' }
  | { t: 'result'; id: number; outcomes: PatchOutcome[] }
  | { t: 'error'; id: number; message: string };

/** Default thread count: the cores this process may use (WEIPIAN_THREADS overrides). */
export function defaultThreads(): number {
  const env = Number(process.env.WEIPIAN_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, os.availableParallelism());
}

export interface Analyser {
  analyse(tasks: PatchTask[]): Promise<PatchOutcome[]>;
  close(): Promise<void>;
}

/** In this thread (one core, or tests). */
export function localAnalyser(geos: Geos, ctx: RunContext): Analyser {
  const a = new ChunkAnalyser(geos, ctx);
  return {
    analyse: (tasks) => Promise.resolve(a.analyse(tasks)),
    close: () => Promise.resolve(a.dispose()),
  };
}

class ThreadHandle {
  private pending = new Map<number, { resolve: (o: PatchOutcome[]) => void; reject: (e: Error) => void }>();
  private next = 0;
  readonly ready: Promise<void>;
  private failed: Error | null = null;

  constructor(private readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (m: ThreadReply) => {
        if (m.t === 'ready') return resolve();
        if (m.t === 'error' && m.id === -1) return reject(new Error(m.message));
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.t === 'result') p.resolve(m.outcomes);
        else p.reject(new Error(m.message));
      });
      const fail = (e: Error) => {
        this.failed = e;
        reject(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`analysis thread exited (${code})`)));
    });
  }

  run(tasks: PatchTask[]): Promise<PatchOutcome[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, tasks } satisfies ThreadRequest);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** Patches per message to a thread: small enough that no thread waits long for a slow one. */
const SLICE = 16;
/** Slices in flight per thread, so a thread never waits for this thread to send the next one. */
const DEPTH = 2;

interface Slice {
  tasks: PatchTask[];
  done: (o: PatchOutcome[]) => void;
  fail: (e: Error) => void;
}

/**
 * `threads` worker threads over the run's layers (shared memory). Work is cut into slices of a few
 * patches in one queue; each thread takes the next slice when one of its own is answered, so a
 * thread that drew slow patches does not hold the others up, and several analyse() calls may be in
 * flight at once.
 */
export async function threadAnalyser(ctx: RunContext, threads: number): Promise<Analyser> {
  const handles: ThreadHandle[] = [];
  try {
    for (let i = 0; i < threads; i++)
      handles.push(new ThreadHandle(startThread(import.meta.url, 'analysis-thread', { ctx })));
    await Promise.all(handles.map((h) => h.ready));
  } catch (e) {
    await Promise.all(handles.map((h) => h.close()));
    throw e;
  }
  const queue: Slice[] = [];
  const busy = handles.map(() => 0);
  const pump = (): void => {
    for (let i = 0; i < handles.length && queue.length > 0; i++)
      while (busy[i]! < DEPTH && queue.length > 0) {
        const s = queue.shift()!;
        busy[i]!++;
        handles[i]!.run(s.tasks).then(
          (o) => {
            busy[i]!--;
            s.done(o);
            pump();
          },
          (e: Error) => {
            busy[i]!--;
            s.fail(e);
            pump();
          },
        );
      }
  };
  return {
    async analyse(tasks) {
      const parts: Promise<PatchOutcome[]>[] = [];
      for (let i = 0; i < tasks.length; i += SLICE) {
        const slice = tasks.slice(i, i + SLICE);
        parts.push(new Promise((done, fail) => queue.push({ tasks: slice, done, fail })));
      }
      pump();
      return (await Promise.all(parts)).flat();
    },
    async close() {
      await Promise.all(handles.map((h) => h.close()));
    },
  };
}

/** Threads when there is more than one core to use, else this thread. */
export async function openAnalyser(
  geos: Geos,
  ctx: RunContext,
  threads = defaultThreads(),
): Promise<Analyser> {
  return threads > 1 ? threadAnalyser(ctx, threads) : localAnalyser(geos, ctx);
}
