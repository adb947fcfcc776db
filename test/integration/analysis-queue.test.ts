// Several `weipian worker` processes finish one batch together through the PostgreSQL queue; one is
// killed with SIGKILL in the middle of a job. Every patch must be stored exactly once by the run and
// equal what a single process computed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDb, type TestDb } from '../helpers/db.ts';
import { skipWithoutOgr } from '../helpers/ogr.ts';
import { loadDemo } from '../../src/demo/load.ts';
import { analyseBatch } from '../../src/jobs/analyse-batch.ts';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'weipian.js');

function startWorker(url: string): { child: ChildProcess; exit: Promise<number | null>; out: () => string } {
  const child = spawn(process.execPath, [BIN, 'worker', '--until-idle', '--threads', '1', '--json'], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      WEIPIAN_FROM_SOURCE: '1',
      WEIPIAN_ACTOR: 'cli:worker',
      WEIPIAN_JOB_TIMEOUT_SECONDS: '3',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { child, exit: new Promise((resolve) => child.on('close', resolve)), out: () => out };
}

const skip = !process.env.TEST_DATABASE_URL ? 'needs PostgreSQL (TEST_DATABASE_URL)' : skipWithoutOgr();

describe('three workers on one PostgreSQL, one killed mid-job', { skip }, () => {
  let t: TestDb;
  before(async () => {
    t = await freshDb('postgres');
    // The demo load analyses every batch in this process: the single-process reference.
    await loadDemo(t.db, { scale: 0.1, actor: 'system:demo' });
  });
  after(() => t.drop());

  it('computes every patch exactly once, equal to the single-process run', async () => {
    const reference = new Map(
      (
        await t.db.query<{ patch_id: number; fields: unknown; detail: unknown }>(
          "SELECT patch_id, fields, detail FROM analysis_results r JOIN batches b ON b.id = r.batch_id WHERE b.slug = '2017-land'",
        )
      ).map((r) => [r.patch_id, r]),
    );
    assert.ok(reference.size > 20);
    const queued = await analyseBatch(t.db, {
      batch: '2017-land',
      all: true,
      queueOnly: true,
      jobSize: 2,
      actor: 'cli:tester',
    });
    assert.equal(queued.queued, reference.size);

    const workers = [startWorker(t.url!), startWorker(t.url!), startWorker(t.url!)];
    const victim = workers[0]!;
    // Kill the first worker while it holds a job (it claims one, then loads the layers).
    let killedJob: number | undefined;
    for (let i = 0; i < 600 && killedJob === undefined; i++) {
      const held = await t.db.query<{ id: number }>(
        "SELECT id FROM analysis_jobs WHERE status = 'running' AND worker LIKE $1",
        [`%:${victim.child.pid}:%`],
      );
      if (held.length > 0) {
        victim.child.kill('SIGKILL');
        killedJob = held[0]!.id;
      } else await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(killedJob !== undefined, `the victim never held a job: ${victim.out()}`);
    assert.equal(await victim.exit, null, 'killed by a signal');
    const codes = await Promise.all(workers.slice(1).map((w) => w.exit));
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.out()).join('\n'));

    const [run] = await t.db.query<{ status: string; done: number; total: number }>(
      'SELECT status, done, total FROM analysis_runs WHERE id = $1',
      [queued.runId],
    );
    assert.equal(run!.status, 'done');
    // done counts committed results: a job stored twice would push it past the total.
    assert.equal(run!.done, run!.total);
    const jobs = await t.db.query<{
      id: number;
      status: string;
      attempts: number;
      worker: string;
      patch_ids: number[];
    }>('SELECT id, status, attempts, worker, patch_ids FROM analysis_jobs WHERE run_id = $1 ORDER BY seq', [
      queued.runId,
    ]);
    assert.ok(jobs.every((j) => j.status === 'done'));
    const taken = jobs.find((j) => j.id === killedJob)!;
    assert.equal(taken.attempts, 2, 'the killed worker’s job was claimed again');
    assert.ok(!taken.worker.includes(`:${victim.child.pid}:`), 'and finished by another worker');
    const all = jobs.flatMap((j) => j.patch_ids).sort((a, b) => a - b);
    assert.deepEqual(
      all,
      [...reference.keys()].sort((a, b) => a - b),
      'every patch in exactly one job',
    );

    const results = await t.db.query<{
      patch_id: number;
      fields: unknown;
      detail: unknown;
      job_id: number;
      run_id: number;
    }>(
      "SELECT patch_id, fields, detail, job_id, run_id FROM analysis_results r JOIN batches b ON b.id = r.batch_id WHERE b.slug = '2017-land'",
    );
    assert.equal(results.length, reference.size);
    const jobOf = new Map(jobs.flatMap((j) => j.patch_ids.map((p) => [p, j.id] as const)));
    for (const r of results) {
      assert.equal(r.run_id, queued.runId);
      assert.equal(r.job_id, jobOf.get(r.patch_id), `patch ${r.patch_id} stored by its own job`);
      assert.deepEqual(r.fields, reference.get(r.patch_id)!.fields, `patch ${r.patch_id}`);
      assert.deepEqual(r.detail, reference.get(r.patch_id)!.detail, `patch ${r.patch_id} detail`);
    }
  });
});
