// Who is asking: the session cookie is resolved once per request into `request.user` (null when not
// logged in), and every write carrying a live session must also carry the session's CSRF token in
// the `x-csrf-token` header. Routes that need a user call requireUser / requireRole.
import cookie from '@fastify/cookie';
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../store/db.ts';
import type { UserView } from '../store/queries/users.ts';
import type { SessionRow } from '../store/queries/sessions.ts';
import { WeipianError, isWeipianError } from '../domain/errors.ts';
import { ROLE_LABELS, type Role } from '../domain/roles.ts';
import { authenticate, csrfMatches } from '../auth/sessions.ts';
import type { AuthSettings } from '../auth/settings.ts';

export const SESSION_COOKIE = 'weipian_session';
export const CSRF_HEADER = 'x-csrf-token';

/** The logged-in user as routes see it: everything but the password hash. */
export type AuthUser = Omit<UserView, 'password_hash'>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in user, or null. */
    user: AuthUser | null;
    /** The live session behind request.user. */
    authSession: SessionRow | null;
    /** Why a presented cookie did not give a user (for the 401 message). */
    authFailure: 'invalid' | 'expired' | null;
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Writes that create the session cannot carry its token yet. */
const CSRF_EXEMPT = new Set(['/api/auth/login']);

export interface AuthPluginOptions {
  db: Db;
  settings: AuthSettings;
}

export function sessionCookieOptions(req: FastifyRequest, settings: AuthSettings) {
  // No Max-Age: the cookie ends with the browser, the session ends by the server's clock.
  return {
    httpOnly: true,
    sameSite: 'strict' as const,
    path: '/',
    secure: settings.secureCookie || req.protocol === 'https',
  };
}

export function clearSessionCookie(req: FastifyRequest, reply: FastifyReply, settings: AuthSettings): void {
  reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(req, settings));
}

/** Registers cookie parsing, the request decorations and the session/CSRF hook on the root app. */
export async function registerAuth(app: FastifyInstance, { db, settings }: AuthPluginOptions): Promise<void> {
  await app.register(cookie);
  app.decorateRequest('user', null);
  app.decorateRequest('authSession', null);
  app.decorateRequest('authFailure', null);

  app.addHook('onRequest', async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) {
      const r = await authenticate(db, settings, token);
      if (r.ok) {
        const { password_hash: _hidden, ...user } = r.user;
        req.user = user;
        req.authSession = r.session;
      } else {
        req.authFailure = r.reason;
        clearSessionCookie(req, reply, settings);
      }
    }
    if (WRITE_METHODS.has(req.method) && req.authSession && !CSRF_EXEMPT.has(req.routeOptions.url ?? '')) {
      const given = req.headers[CSRF_HEADER];
      if (!csrfMatches(req.authSession.csrf_token, typeof given === 'string' ? given : undefined))
        throw new WeipianError(
          'csrf_invalid',
          '请求缺少有效的防伪令牌（x-csrf-token），请刷新页面后重试',
          undefined,
          403,
        );
    }
  });
}

export interface RequireUserOptions {
  /** For the few routes a user with a one-time password may use: me, password change, logout. */
  allowPasswordChange?: boolean;
}

/** The logged-in user, or 401; a user still on a one-time password gets 403 password_change_required. */
export function requireUser(req: FastifyRequest, opts: RequireUserOptions = {}): AuthUser {
  const user = req.user;
  if (!user) {
    if (req.authFailure === 'expired')
      throw new WeipianError('unauthenticated', '登录已过期，请重新登录', { reason: 'expired' }, 401);
    throw new WeipianError('unauthenticated', '请先登录', undefined, 401);
  }
  if (user.must_change_password && !opts.allowPasswordChange)
    throw new WeipianError('password_change_required', '请先修改初始密码，然后再继续操作', undefined, 403);
  return user;
}

/** requireUser plus one of the given roles, else 403 forbidden_role naming the roles allowed. */
export function requireRole(req: FastifyRequest, ...roles: Role[]): AuthUser {
  const user = requireUser(req);
  if (!roles.includes(user.role))
    throw new WeipianError(
      'forbidden_role',
      `只有${roles.map((r) => ROLE_LABELS[r]).join('或')}可以进行此操作（您的角色：${ROLE_LABELS[user.role]}）`,
      { role: user.role, allowed: roles },
      403,
    );
  return user;
}

// Bodies of these routes are validated without type coercion (the app's default coerces, so that
// 123 would pass as "123"); path parameters still are coerced from their string form.
const strictAjv = new Ajv({
  coerceTypes: false,
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
});
const paramAjv = new Ajv({
  coerceTypes: 'array',
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
});

const TYPE_LABELS: Record<string, string> = {
  string: '字符串',
  integer: '整数',
  number: '数字',
  boolean: '布尔值',
  object: '对象',
  array: '数组',
  null: 'null',
};

function describeValidation(e: ErrorObject, part: string): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const where = base ? `字段 ${base} ` : part === 'body' ? '请求体' : '参数';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `缺少字段 ${base ? `${base}.` : ''}${String(p.missingProperty)}`;
    case 'additionalProperties':
      return `不允许的字段：${base ? `${base}.` : ''}${String(p.additionalProperty)}`;
    case 'type':
      return `${where}应为${String(p.type)
        .split(',')
        .map((t) => TYPE_LABELS[t] ?? t)
        .join('或')}`;
    case 'minLength':
      return `${where}至少 ${String(p.limit)} 个字符`;
    case 'maxLength':
      return `${where}最多 ${String(p.limit)} 个字符`;
    case 'minimum':
      return `${where}不能小于 ${String(p.limit)}`;
    case 'maximum':
      return `${where}不能大于 ${String(p.limit)}`;
    case 'pattern':
      return `${where}格式不正确`;
    case 'enum':
      return `${where}只能是：${(p.allowedValues as unknown[]).join('、')}`;
    default:
      return `${where}不符合要求（${e.message ?? e.keyword}）`;
  }
}

/** Turns Fastify's own request errors into WeipianErrors with Chinese messages. */
export function translateRequestError(err: unknown): unknown {
  if (isWeipianError(err)) return err;
  const e = err as { code?: string; validation?: ErrorObject[]; validationContext?: string };
  if (Array.isArray(e.validation) && e.validation[0]) {
    const first = e.validation[0];
    return new WeipianError(
      'request_invalid',
      `请求参数不正确：${describeValidation(first, e.validationContext ?? 'body')}`,
      { part: e.validationContext, path: first.instancePath, keyword: first.keyword },
    );
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new WeipianError('request_invalid', '请求体不是有效的 JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new WeipianError('body_too_large', '请求体过大', undefined, 413);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new WeipianError(
        'unsupported_media_type',
        '请求体应为 JSON（Content-Type: application/json）',
        undefined,
        415,
      );
    default:
      return err;
  }
}

/**
 * For a route plugin: strict body validation and Chinese request errors. The plugin's error handler
 * only translates and rethrows; the app's handler still writes the one error shape.
 */
export function strictJsonRoutes(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strictAjv : paramAjv).compile(schema as object),
  );
  // A POST without a body (disable, reset) is an empty object, so the schema says what is missing.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined) req.body = {};
  });
  app.setErrorHandler((err) => {
    throw translateRequestError(err);
  });
}
