// The audit trail over HTTP: a record's timeline and the current chain head (publish the head, e.g.
// in reports, and any later rewriting of history before it becomes detectable).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Db } from '../../store/db.ts';
import { WeipianError } from '../../domain/errors.ts';
import { chainHead, listEvents } from '../../store/queries/events.ts';
import { findPatch } from '../../store/queries/patches.ts';
import { unitScope } from '../../domain/policies.ts';
import { authorizeRecord, subjectOf } from '../access.ts';
import { requireUser } from '../auth.ts';

/**
 * Who is acting, for the audit trail. Until logins are wired into the routes this reads
 * `request.user` if an auth hook has set it, else records the caller as 'api:anonymous'.
 */
export function requestActor(req: FastifyRequest): { actor: string; actorRole: string | null } {
  const user = (req as FastifyRequest & { user?: { username?: string; role?: string } | null }).user;
  if (user?.username) return { actor: user.username, actorRole: user.role ?? null };
  return { actor: 'api:anonymous', actorRole: null };
}

export const eventRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  app.get<{ Querystring: { recordType?: string; recordId?: string; afterSeq?: number; limit: number } }>(
    '/api/events',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            recordType: { type: 'string', minLength: 1, maxLength: 64 },
            recordId: { type: 'string', minLength: 1, maxLength: 200 },
            afterSeq: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
          },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const { recordType, recordId, afterSeq, limit } = req.query;
      if (recordId !== undefined && recordType === undefined)
        throw new WeipianError('request_invalid', '指定 recordId 时必须同时指定 recordType');
      // A unit officer sees the timeline of their own unit's patches, nothing wider.
      if (unitScope(subjectOf(requireUser(req))) !== null) {
        const patch =
          recordType === 'patch' && recordId && /^[0-9]+$/.test(recordId)
            ? await findPatch(db, Number(recordId))
            : undefined;
        if (!patch)
          throw new WeipianError(
            'other_unit',
            '只能查看本单位图斑的操作记录（请指定 recordType=patch 与图斑编号）',
            undefined,
            403,
          );
        authorizeRecord(req, 'event.read', { unitCode: patch.unit_code });
      }
      return { events: await listEvents(db, { recordType, recordId, afterSeq, limit }) };
    },
  );

  app.get('/api/audit/head', async () => ({ head: await chainHead(db) }));
};
