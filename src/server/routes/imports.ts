// Imports through the API: the delivery is the request body (a zip, .shp-less formats as they are),
// streamed to a temporary file under the upload limit, then imported by the same job as the CLI.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { Db } from '../../store/db.ts';
import { importLayer } from '../../jobs/import-layer.ts';
import { importPatches } from '../../jobs/import-patches.ts';
import { closeAfterRefusedUpload, receiveUpload } from '../upload.ts';
import { requireRole } from '../auth.ts';

export interface ImportRouteOptions {
  db: Db;
  maxUploadBytes: number;
  maxUnzippedBytes: number;
}

const readOptions = {
  filename: { type: 'string', minLength: 1, maxLength: 255 },
  crs: { type: 'string', maxLength: 64 },
  encoding: { type: 'string', maxLength: 32 },
  swapXY: { type: 'boolean', default: false },
  layer: { type: 'string', maxLength: 255 },
  dryRun: { type: 'boolean', default: false },
  skipRefused: { type: 'boolean', default: false },
} as const;

interface ReadQuery {
  filename: string;
  crs?: string;
  encoding?: string;
  swapXY: boolean;
  layer?: string;
  dryRun: boolean;
  skipRefused: boolean;
}

export const importRoutes: FastifyPluginAsync<ImportRouteOptions> = async (app, opts) => {
  // Bodies of these routes are files: passed through as streams, never parsed or buffered.
  app.addContentTypeParser(['application/octet-stream', 'application/zip'], (_req, payload, done) =>
    done(null, payload),
  );
  closeAfterRefusedUpload(app);

  /** Receives the upload, runs the import on it as the logged-in admin, always removes the file. */
  async function importUpload<S extends object>(
    req: FastifyRequest<{ Querystring: ReadQuery }>,
    run: (file: string, common: { actor: string; maxUnzippedBytes: number }) => Promise<S>,
  ) {
    const user = requireRole(req, 'bureau_admin');
    const upload = await receiveUpload(
      req.body as Readable,
      req.headers['content-length'],
      opts.maxUploadBytes,
      req.query.filename,
    );
    try {
      const summary = await run(upload.path, {
        actor: user.username,
        maxUnzippedBytes: opts.maxUnzippedBytes,
      });
      return { summary: { ...summary, sourceFile: req.query.filename } };
    } finally {
      await upload.cleanup();
    }
  }

  app.post<{ Querystring: ReadQuery & { type: string; name?: string } }>(
    '/api/imports/layer',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { ...readOptions, type: { type: 'string' }, name: { type: 'string', maxLength: 200 } },
          required: ['filename', 'type'],
          additionalProperties: false,
        },
      },
    },
    (req) => importUpload(req, (file, common) => importLayer(opts.db, file, { ...req.query, ...common })),
  );

  app.post<{ Querystring: ReadQuery & { batch: string; areaUnit: 'm2' | 'mu'; source: string } }>(
    '/api/imports/patches',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            ...readOptions,
            batch: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
            areaUnit: { type: 'string', enum: ['m2', 'mu'], default: 'm2' },
            source: { type: 'string', default: '卫片' },
          },
          required: ['filename', 'batch'],
          additionalProperties: false,
        },
      },
    },
    (req) => importUpload(req, (file, common) => importPatches(opts.db, file, { ...req.query, ...common })),
  );
};
