// User administration, for bureau admins (分局管理员) only. New accounts and resets return a one-time
// password exactly once; the user must replace it at the first login.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Db } from '../../store/db.ts';
import type { AuthSettings } from '../../auth/settings.ts';
import { ROLES } from '../../domain/roles.ts';
import { listDepartments, listUsers } from '../../store/queries/users.ts';
import {
  USERNAME_PATTERN,
  createUser,
  disableUser,
  enableUser,
  presentUser,
  resetPassword,
  type AdminAction,
} from '../../auth/users.ts';
import { requireRole, strictJsonRoutes } from '../auth.ts';

const SMALL_BODY = 16 * 1024;
const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } },
  required: ['id'],
} as const;
/**
 * Optional expected version (the action is refused when someone changed the account meanwhile) and
 * a reason for the audit trail.
 */
const versionBody = {
  type: 'object',
  properties: { version: { type: 'integer', minimum: 1 }, reason: { type: 'string', maxLength: 500 } },
  additionalProperties: false,
} as const;

interface CreateBody {
  username: string;
  displayName?: string;
  role: string;
  unitCode?: string | null;
  departmentCode?: string | null;
}

export const userRoutes: FastifyPluginAsync<{ db: Db; settings: AuthSettings }> = async (
  app,
  { db, settings },
) => {
  strictJsonRoutes(app);

  const admin = (req: FastifyRequest): AdminAction & { actorUserId: number } => {
    const user = requireRole(req, 'bureau_admin');
    const body = req.body as { version?: number; reason?: string } | undefined;
    return {
      actor: user.username,
      actorRole: user.role,
      actorUserId: user.id,
      at: settings.clock(),
      expectedVersion: body?.version,
      reason: body?.reason,
    };
  };

  app.get('/api/users', async (req) => {
    requireRole(req, 'bureau_admin');
    return { users: (await listUsers(db)).map(presentUser), departments: await listDepartments(db) };
  });

  app.post<{ Body: CreateBody }>(
    '/api/users',
    {
      bodyLimit: SMALL_BODY,
      schema: {
        body: {
          type: 'object',
          properties: {
            username: { type: 'string', pattern: USERNAME_PATTERN },
            displayName: { type: 'string', minLength: 1, maxLength: 64 },
            role: { type: 'string', enum: [...ROLES] },
            unitCode: { type: ['string', 'null'], pattern: '^[0-9]{9}$' },
            departmentCode: { type: ['string', 'null'], maxLength: 32 },
          },
          required: ['username', 'role'],
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      const a = admin(req);
      const created = await createUser(db, { ...req.body, actor: a.actor, actorRole: a.actorRole, at: a.at });
      reply.status(201);
      return { user: presentUser(created.user), oneTimePassword: created.oneTimePassword };
    },
  );

  app.post<{ Params: { id: number }; Body: { version?: number; reason?: string } }>(
    '/api/users/:id/disable',
    { bodyLimit: SMALL_BODY, schema: { params: idParams, body: versionBody } },
    async (req) => {
      const r = await disableUser(db, { id: req.params.id }, admin(req));
      return { user: presentUser(r.user), changed: r.changed, revokedSessions: r.revokedSessions };
    },
  );

  app.post<{ Params: { id: number }; Body: { version?: number; reason?: string } }>(
    '/api/users/:id/enable',
    { bodyLimit: SMALL_BODY, schema: { params: idParams, body: versionBody } },
    async (req) => {
      const r = await enableUser(db, { id: req.params.id }, admin(req));
      return { user: presentUser(r.user), changed: r.changed };
    },
  );

  app.post<{ Params: { id: number }; Body: { version?: number; reason?: string } }>(
    '/api/users/:id/reset-password',
    { bodyLimit: SMALL_BODY, schema: { params: idParams, body: versionBody } },
    async (req) => {
      const r = await resetPassword(db, { id: req.params.id }, admin(req));
      return {
        user: presentUser(r.user),
        oneTimePassword: r.oneTimePassword,
        revokedSessions: r.revokedSessions,
      };
    },
  );
};
