// Logging in and out, who am I, changing one's own password.
import { policySummary } from '../../domain/policies.ts';
import { subjectOf } from '../access.ts';
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../store/db.ts';
import type { AuthSettings } from '../../auth/settings.ts';
import { changeOwnPassword, login, logout } from '../../auth/sessions.ts';
import { presentUser } from '../../auth/users.ts';
import { PASSWORD_MAX_LENGTH } from '../../auth/passwords.ts';
import {
  SESSION_COOKIE,
  clearSessionCookie,
  requireUser,
  sessionCookieOptions,
  strictJsonRoutes,
} from '../auth.ts';

const SMALL_BODY = 16 * 1024;
// Long enough for any password the rules accept, short enough that nobody hashes a megabyte.
const passwordField = { type: 'string', minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 } as const;

export const authRoutes: FastifyPluginAsync<{ db: Db; settings: AuthSettings }> = async (
  app,
  { db, settings },
) => {
  strictJsonRoutes(app);

  app.post<{ Body: { username: string; password: string } }>(
    '/api/auth/login',
    {
      bodyLimit: SMALL_BODY,
      schema: {
        body: {
          type: 'object',
          properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: passwordField },
          required: ['username', 'password'],
          additionalProperties: false,
        },
      },
    },
    async (req, reply) => {
      const r = await login(db, settings, {
        username: req.body.username,
        password: req.body.password,
        ip: req.ip,
        userAgent: req.headers['user-agent'] ?? null,
        previousSessionId: req.authSession?.id,
      });
      reply.setCookie(SESSION_COOKIE, r.token, sessionCookieOptions(req, settings));
      return { user: presentUser(r.user), csrfToken: r.session.csrf_token };
    },
  );

  app.post('/api/auth/logout', async (req, reply) => {
    requireUser(req, { allowPasswordChange: true });
    await logout(db, settings, req.authSession!.id);
    clearSessionCookie(req, reply, settings);
    return { ok: true };
  });

  app.get('/api/auth/me', async (req) => {
    const user = requireUser(req, { allowPasswordChange: true });
    // What this user may do, with the reason when not: the UI disables those buttons and says why.
    return {
      user: presentUser(user),
      csrfToken: req.authSession!.csrf_token,
      policies: policySummary(subjectOf(user)),
    };
  });

  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/api/auth/password',
    {
      bodyLimit: SMALL_BODY,
      schema: {
        body: {
          type: 'object',
          properties: { currentPassword: passwordField, newPassword: passwordField },
          required: ['currentPassword', 'newPassword'],
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const user = requireUser(req, { allowPasswordChange: true });
      const updated = await changeOwnPassword(db, settings, {
        userId: user.id,
        sessionId: req.authSession!.id,
        currentPassword: req.body.currentPassword,
        newPassword: req.body.newPassword,
      });
      return { user: presentUser(updated) };
    },
  );
};
