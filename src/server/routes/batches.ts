// Batches and their patches (GeoJSON).
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../store/db.ts';
import { WeipianError } from '../../domain/errors.ts';
import { findBatchBySlug, listBatches } from '../../store/queries/batches.ts';
import { findPatch, listPatches } from '../../store/queries/patches.ts';
import { findResult } from '../../store/queries/analysis.ts';
import { CRS_4490, patchToFeature } from '../../formats/geojson.ts';
import { authorizeRecord, subjectOf } from '../access.ts';
import { requireUser } from '../auth.ts';
import { unitScope } from '../../domain/policies.ts';
import { updateBatch, type MilestoneInput } from '../../services/batches.ts';
import { requestActor } from './events.ts';

const slugParam = {
  type: 'object',
  properties: { slug: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } },
  required: ['slug'],
} as const;

function parseBbox(s: string | undefined) {
  if (s === undefined) return undefined;
  const n = s.split(',').map(Number);
  if (n.length !== 4 || n.some((v) => !Number.isFinite(v)) || n[0]! > n[2]! || n[1]! > n[3]!)
    throw new WeipianError('bbox_invalid', 'bbox 应为 最小经度,最小纬度,最大经度,最大纬度');
  return { minx: n[0]!, miny: n[1]!, maxx: n[2]!, maxy: n[3]! };
}

export const batchRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  const batchOr404 = async (slug: string) => {
    const b = await findBatchBySlug(db, slug);
    if (!b) throw new WeipianError('batch_not_found', `批次不存在：${slug}`, { slug }, 404);
    return b;
  };

  // A unit officer's figures count only their own unit's patches.
  app.get('/api/batches', async (req) => ({
    batches: await listBatches(db, unitScope(subjectOf(requireUser(req)))),
  }));

  app.get<{ Params: { slug: string } }>(
    '/api/batches/:slug',
    { schema: { params: slugParam } },
    async (req) => ({
      batch: await batchOr404(req.params.slug),
    }),
  );

  // Edit name and milestones; `version` is the one the editor read (409 version_conflict if stale).
  app.patch<{
    Params: { slug: string };
    Body: { version: number; name?: string; milestones?: MilestoneInput[]; reason?: string };
  }>(
    '/api/batches/:slug',
    {
      schema: {
        params: slugParam,
        body: {
          type: 'object',
          required: ['version'],
          additionalProperties: false,
          properties: {
            version: { type: 'integer', minimum: 1 },
            name: { type: 'string', minLength: 1, maxLength: 200 },
            reason: { type: 'string', maxLength: 500 },
            milestones: {
              type: 'array',
              minItems: 1,
              maxItems: 100,
              items: {
                type: 'object',
                required: ['id', 'label', 'date'],
                additionalProperties: false,
                properties: {
                  id: { type: 'string', pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 },
                  label: { type: 'string', minLength: 1, maxLength: 200 },
                  date: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
                  description: { type: 'string', maxLength: 2000 },
                },
              },
            },
          },
        },
      },
    },
    async (req) => ({
      batch: await updateBatch(db, req.params.slug, { ...req.body, ...requestActor(req) }),
    }),
  );

  app.get<{
    Params: { slug: string };
    Querystring: { bbox?: string; jcbh?: string; limit: number; offset: number };
  }>(
    '/api/batches/:slug/patches',
    {
      schema: {
        params: slugParam,
        querystring: {
          type: 'object',
          properties: {
            bbox: { type: 'string' },
            jcbh: { type: 'string', minLength: 1, maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 5000 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      const batch = await batchOr404(req.params.slug);
      const scope = unitScope(subjectOf(requireUser(req)));
      const rows = await listPatches(db, {
        batchId: batch.id,
        unitCode: scope ?? undefined,
        jcbhPrefix: req.query.jcbh,
        bbox: parseBbox(req.query.bbox),
        limit: req.query.limit,
        offset: req.query.offset,
      });
      reply.type('application/geo+json; charset=utf-8');
      return {
        type: 'FeatureCollection',
        name: batch.slug,
        crs: CRS_4490,
        features: rows.map((r) => patchToFeature(r, { batchSlug: batch.slug, withDelivered: false })),
      };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/patches/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
      },
    },
    async (req) => {
      const row = await findPatch(db, req.params.id);
      if (!row) throw new WeipianError('patch_not_found', `图斑不存在：${req.params.id}`, undefined, 404);
      authorizeRecord(req, 'patch.read', { unitCode: row.unit_code });
      const [batch] = await db.query<{ slug: string }>('SELECT slug FROM batches WHERE id = $1', [
        row.batch_id,
      ]);
      const result = await findResult(db, row.id);
      return {
        ...patchToFeature(row, { batchSlug: batch!.slug }),
        delivered: row.attributes,
        // What the analysis found and why (shares, covering records, licences, history, the
        // pre-judgement's reasons and missing evidence); null until analysed.
        analysis: result
          ? {
              stale: result.stale,
              staleReason: result.stale_reason,
              computedAt: result.computed_at,
              runId: result.run_id,
              layerIds: result.layer_ids,
              rulePack: { id: result.rule_pack_id, version: result.rule_pack_version },
              detail: result.detail,
            }
          : null,
      };
    },
  );
};
