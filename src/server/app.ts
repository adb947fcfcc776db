// The HTTP API: Fastify, JSON in and out, every error in one shape { error: { code, message } } with
// a Chinese message. Routes only parse, (later) authorise and call the store and the core.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Db } from '../store/db.ts';
import { isWeipianError } from '../domain/errors.ts';
import { healthRoutes } from './routes/health.ts';
import { homeRoutes } from './routes/home.ts';
import { batchRoutes } from './routes/batches.ts';
import { analysisRoutes } from './routes/analysis.ts';
import { referenceRoutes } from './routes/reference.ts';
import { eventRoutes } from './routes/events.ts';
import { registerAuth } from './auth.ts';
import { loadAuthSettings, type AuthSettings } from '../auth/settings.ts';
import { authRoutes } from './routes/auth.ts';
import { userRoutes } from './routes/users.ts';
import { operatorRoutes, type OperatorRouteOptions } from './routes/operator.ts';
import { importRoutes } from './routes/imports.ts';
import { evidenceRoutes, type EvidenceRouteOptions } from './routes/evidence.ts';
import { workflowRoutes } from './routes/workflow.ts';
import { webRoutes } from './routes/web.ts';
import { tileRoutes } from './routes/tiles.ts';
import { loadConfig } from '../config.ts';
import { registerAccessControl } from './access.ts';
import { registerOpenApi, openApiRoute } from './openapi.ts';

export interface AppOptions {
  db: Db;
  logger?: boolean;
  /** Session/throttle settings over the environment's (tests inject a clock). */
  auth?: Partial<AuthSettings>;
  /** When set, the local operator (the CLI) may act through POST /api/operator/:command. */
  operator?: Omit<OperatorRouteOptions, 'db'>;
  /** Upload limit for imports through the API (default WEIPIAN_MAX_UPLOAD_BYTES or 1 GiB). */
  maxUploadBytes?: number;
  /** Evidence store, size limit, signal thresholds, clock (default: data folder, environment). */
  evidence?: Omit<EvidenceRouteOptions, 'db'>;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });

  app.setErrorHandler((err, _req, reply) => {
    if (isWeipianError(err))
      return reply
        .status(err.status)
        .send({ error: { code: err.code, message: err.message, details: err.details } });
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation)
      return reply
        .status(400)
        .send({ error: { code: 'request_invalid', message: `请求参数不正确：${e.message}` } });
    if (e.statusCode && e.statusCode < 500)
      return reply.status(e.statusCode).send({ error: { code: 'request_invalid', message: e.message } });
    app.log.error(err);
    return reply.status(500).send({ error: { code: 'internal', message: '服务器内部错误' } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'not_found', message: `没有这个地址：${req.method} ${req.url}` } }),
  );

  const authSettings = loadAuthSettings(process.env, opts.auth);
  await registerAuth(app, { db: opts.db, settings: authSettings });
  registerAccessControl(app);
  await registerOpenApi(app);
  openApiRoute(app);
  await app.register(authRoutes, { db: opts.db, settings: authSettings });
  await app.register(userRoutes, { db: opts.db, settings: authSettings });
  await app.register(healthRoutes, { db: opts.db });
  await app.register(homeRoutes, { db: opts.db });
  await app.register(batchRoutes, { db: opts.db });
  await app.register(analysisRoutes, { db: opts.db });
  await app.register(referenceRoutes, { db: opts.db });
  await app.register(eventRoutes, { db: opts.db });
  if (opts.operator) await app.register(operatorRoutes, { db: opts.db, ...opts.operator });
  const config = loadConfig();
  await app.register(importRoutes, {
    db: opts.db,
    maxUploadBytes: opts.maxUploadBytes ?? config.maxUploadBytes,
    maxUnzippedBytes: config.maxUnzippedBytes,
  });
  await app.register(evidenceRoutes, { db: opts.db, ...opts.evidence });
  await app.register(workflowRoutes, { db: opts.db });
  await app.register(webRoutes, { db: opts.db });
  await app.register(tileRoutes, { db: opts.db });
  return app;
}
