import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../store/db.ts';

export const healthRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  app.get('/api/health', async () => {
    const [m] = await db.query<{ version: number }>(
      'SELECT max(version)::int AS version FROM schema_migrations',
    );
    return { ok: true, engine: db.engine, schemaVersion: m?.version ?? 0 };
  });
};
