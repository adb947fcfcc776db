// The route table of permissions: every route of the API names who may call it — public, the local
// operator (token), any logged-in user ('session'), or one policy action from src/domain/policies.ts.
// A route missing from this table fails at start-up, so no route can ship unguarded; the test that
// walks every route with every role reads the same table.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WeipianError } from '../domain/errors.ts';
import { mayAttempt, authorize, type Action, type RecordScope, type Subject } from '../domain/policies.ts';
import { requireUser, type AuthUser } from './auth.ts';

export type RouteAccess = 'public' | 'operator' | 'session' | Action;

export const ROUTE_ACCESS: Record<string, RouteAccess> = {
  'GET /': 'public',
  'GET /api/health': 'public',
  'GET /api/openapi.json': 'public',
  'POST /api/auth/login': 'public',
  'POST /api/auth/logout': 'session',
  'GET /api/auth/me': 'session',
  'POST /api/auth/password': 'session',
  'GET /api/batches': 'batch.list',
  'GET /api/batches/:slug': 'batch.read',
  'PATCH /api/batches/:slug': 'batch.update',
  'GET /api/batches/:slug/patches': 'patch.list',
  'GET /api/patches/:id': 'patch.read',
  'GET /api/batches/:slug/analysis': 'analysis.read',
  'POST /api/batches/:slug/analysis': 'analysis.run',
  'GET /api/layers': 'layer.list',
  'GET /api/units': 'unit.list',
  'GET /api/events': 'event.read',
  'GET /api/audit/head': 'audit.head',
  'GET /api/users': 'user.admin',
  'POST /api/users': 'user.admin',
  'POST /api/users/:id/disable': 'user.admin',
  'POST /api/users/:id/enable': 'user.admin',
  'POST /api/users/:id/reset-password': 'user.admin',
  'POST /api/imports/layer': 'layer.import',
  'POST /api/imports/patches': 'patch.import',
  'GET /api/patches/:id/evidence': 'evidence.read',
  'POST /api/patches/:id/evidence': 'evidence.upload',
  'GET /api/patches/:id/evidence/checklist': 'evidence.read',
  'GET /api/evidence/:id': 'evidence.read',
  'GET /api/evidence/:id/file': 'evidence.read',
  'GET /api/evidence/:id/thumbnail': 'evidence.read',
  'POST /api/evidence/:id/supersede': 'evidence.upload',
  'GET /api/evidence-signals': 'evidence.read',
  'POST /api/evidence-signals/:id/decision': 'evidence.review',
  'GET /api/patches/:id/workflow': 'workflow.read',
  'PUT /api/patches/:id/parts/:partId/judgement': 'workflow.judge',
  'PUT /api/patches/:id/parts/:partId/handling': 'workflow.judge',
  'POST /api/patches/:id/submit': 'workflow.submit',
  'POST /api/patches/:id/pass': 'workflow.review',
  'POST /api/patches/:id/return': 'workflow.review',
  'POST /api/patches/:id/split': 'workflow.judge',
  'POST /api/patches/:id/merge': 'workflow.judge',
  'POST /api/patches/:id/reassign': 'patch.reassign',
  'POST /api/patches/:id/upper-result': 'upper.record',
  'GET /api/batches/:slug/status': 'batch.status',
  'GET /api/batches/:slug/judgement-form': 'workflow.read',
  'POST /api/batches/:slug/bulk-pass': 'workflow.review',
  'POST /api/batches/:slug/patches': 'patch.create',
  'POST /api/batches/:slug/links': 'patch.create',
  'GET /api/batches/:slug/rounds': 'round.read',
  'POST /api/batches/:slug/rounds': 'round.close',
  'GET /api/batches/:slug/rounds/:seq': 'round.read',
  'POST /api/batches/:slug/upper-results': 'upper.record',
  'POST /api/operator/:command': 'operator',
  // The web workspace (issue 10): the app's files, its vocabulary, the work list and vector tiles.
  'GET /assets/*': 'public',
  'GET /*': 'public',
  'GET /api/web/config': 'session',
  'GET /api/batches/:slug/worklist': 'workflow.read',
  'GET /api/tiles/patches/:slug/:z/:x/:y.pbf': 'patch.list',
  'GET /api/tiles/:layer/:z/:x/:y.pbf': 'layer.list',
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set from ROUTE_ACCESS when the route is registered. */
    access?: RouteAccess;
  }
}

export function routeKey(method: string, url: string): string {
  return `${method} ${url}`;
}

const STATUS = { unauthenticated: 401, role_not_allowed: 403, other_unit: 403, not_shared: 403 } as const;

function enforce(decision: ReturnType<typeof mayAttempt>): void {
  if (!decision.allow)
    throw new WeipianError(decision.reason, decision.message, undefined, STATUS[decision.reason]);
}

/** The policy subject of a logged-in user. */
export function subjectOf(user: AuthUser): Subject {
  return { role: user.role, unit_code: user.unit_code, department_code: user.department_code };
}

/** For handlers: the record-level check (a unit officer only on their own unit's records). */
export function authorizeRecord(req: FastifyRequest, action: Action, record: RecordScope): AuthUser {
  const user = requireUser(req);
  enforce(authorize(subjectOf(user), action, record));
  return user;
}

const registered = new WeakMap<FastifyInstance, Set<string>>();

/** The routes an app registered (method and URL), for the test that walks them all. */
export function registeredRoutes(app: FastifyInstance): string[] {
  return [...(registered.get(app) ?? [])].sort();
}

/** Refuses to register an unlisted route, and checks every request against its entry. */
export function registerAccessControl(app: FastifyInstance): void {
  const keys = new Set<string>();
  registered.set(app, keys);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (m === 'HEAD' || m === 'OPTIONS') continue;
      const key = routeKey(m, route.url);
      if (!(key in ROUTE_ACCESS))
        throw new Error(`route ${key} has no entry in ROUTE_ACCESS (src/server/access.ts)`);
      keys.add(key);
      route.config = { ...route.config, access: ROUTE_ACCESS[key] };
    }
  });
  // onRequest (after the session hook): a caller without the right is refused before anything
  // about the request — its parameters, its body — is looked at.
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.access;
    if (access === undefined || access === 'public' || access === 'operator') return;
    if (access === 'session') {
      requireUser(req, { allowPasswordChange: true });
      return;
    }
    const user = requireUser(req);
    enforce(mayAttempt(subjectOf(user), access));
  });
}
