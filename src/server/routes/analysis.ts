// The overlay analysis of a batch: where it stands (analysed / stale / missing, by pre-judgement,
// the recent runs) and running it. Unit officers see their own unit's counts only.
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../store/db.ts';
import { WeipianError } from '../../domain/errors.ts';
import { unitScope } from '../../domain/policies.ts';
import { findBatchBySlug } from '../../store/queries/batches.ts';
import { analysisCounts, listRuns, runProgress } from '../../store/queries/analysis.ts';
import { analyseBatch } from '../../jobs/analyse-batch.ts';
import { subjectOf } from '../access.ts';
import { requireUser } from '../auth.ts';
import { requestActor } from './events.ts';

const slugParam = {
  type: 'object',
  properties: { slug: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } },
  required: ['slug'],
} as const;

export const analysisRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  const batchOr404 = async (slug: string) => {
    const b = await findBatchBySlug(db, slug);
    if (!b) throw new WeipianError('batch_not_found', `批次不存在：${slug}`, { slug }, 404);
    return b;
  };

  app.get<{ Params: { slug: string } }>(
    '/api/batches/:slug/analysis',
    { schema: { params: slugParam } },
    async (req) => {
      const batch = await batchOr404(req.params.slug);
      const scope = unitScope(subjectOf(requireUser(req)));
      return {
        batch: batch.slug,
        counts: await analysisCounts(db, batch.id, scope ?? undefined),
        runs: (await listRuns(db, batch.id, 10)).map((r) => ({ ...r, progress: runProgress(r) })),
      };
    },
  );

  // Runs the analysis now and answers with its summary (a district's batch takes seconds).
  app.post<{ Params: { slug: string }; Body: { all?: boolean } | null }>(
    '/api/batches/:slug/analysis',
    {
      schema: {
        params: slugParam,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { all: { type: 'boolean' } },
        },
      },
    },
    async (req) => {
      const batch = await batchOr404(req.params.slug);
      return {
        summary: await analyseBatch(db, {
          batch: batch.slug,
          all: req.body?.all === true,
          ...requestActor(req),
        }),
      };
    },
  );
};
