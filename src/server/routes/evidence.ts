// Evidence (举证) over HTTP. An upload's body is the file itself (any Content-Type; the type is
// decided by content), streamed to a temporary file under the size limit and never buffered; its
// metadata — kind, document type/number/date, and what the page measured at capture (lat, lon,
// accuracy, heading, time) — travels in the query string. Every route authorises on the patch's
// unit before looking at a body: a unit officer cannot even send bytes to another unit's patch.
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../store/db.ts';
import { WeipianError } from '../../domain/errors.ts';
import { unitScope } from '../../domain/policies.ts';
import { loadConfig } from '../../config.ts';
import { findBatchBySlug } from '../../store/queries/batches.ts';
import { listSignals } from '../../store/queries/evidence.ts';
import { DirectoryStore, type EvidenceStore } from '../../evidence/store.ts';
import { signalSettingsFromEnv, type SignalSettings } from '../../evidence/signals.ts';
import {
  decideEvidenceSignal,
  evidenceOr404,
  openEvidenceFile,
  patchChecklist,
  patchEvidence,
  patchForEvidence,
  planUpload,
  signalOr404,
  signalView,
  uploadEvidence,
  type EvidenceContext,
  type UploadMeta,
} from '../../services/evidence.ts';
import { closeAfterRefusedUpload, receiveUpload } from '../upload.ts';
import { authorizeRecord, subjectOf } from '../access.ts';
import { requireUser, strictJsonRoutes } from '../auth.ts';
import { requestActor } from './events.ts';

export interface EvidenceRouteOptions {
  db: Db;
  /** Where files go (default: a directory `evidence` in the attachment folder, WEIPIAN_FILES). */
  store?: EvidenceStore;
  /** Largest evidence file accepted (default WEIPIAN_MAX_EVIDENCE_BYTES or 100 MiB). */
  maxBytes?: number;
  settings?: SignalSettings;
  /** The clock (tests pin it). */
  now?: () => Date;
}

/** The default evidence store: `<attachment folder>/evidence`, which `weipian backup` carries. */
export function defaultEvidenceStore(): DirectoryStore {
  return new DirectoryStore(join(loadConfig().filesDir, 'evidence'));
}

export function defaultMaxEvidenceBytes(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.WEIPIAN_MAX_EVIDENCE_BYTES);
  return Number.isFinite(n) && n > 0 ? n : 100 * 1024 ** 2;
}

const idParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 } },
  required: ['id'],
} as const;

const uploadQuery = {
  filename: { type: 'string', minLength: 1, maxLength: 255 },
  docType: { type: 'string', maxLength: 64 },
  docNo: { type: 'string', maxLength: 200 },
  docDate: { type: 'string', maxLength: 10 },
  note: { type: 'string', maxLength: 2000 },
  fields: { type: 'string', maxLength: 10000 },
  partId: { type: 'integer', minimum: 1 },
  lat: { type: 'number' },
  lon: { type: 'number' },
  accuracy: { type: 'number' },
  heading: { type: 'number' },
  time: { type: 'string', maxLength: 40 },
} as const;

interface UploadQuery {
  filename: string;
  kind: 'photo' | 'document';
  docType?: string;
  docNo?: string;
  docDate?: string;
  note?: string;
  fields?: string;
  partId?: number;
  lat?: number;
  lon?: number;
  accuracy?: number;
  heading?: number;
  time?: string;
  reason?: string;
}

function parseFields(s: string | undefined): Record<string, unknown> | undefined {
  if (s === undefined) return undefined;
  try {
    const v = JSON.parse(s) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new WeipianError(
    'evidence_fields_invalid',
    'fields 应为 JSON 对象，如 {"approval_authority":"山东省人民政府"}',
  );
}

function metaOf(q: UploadQuery, patchId: number, req: FastifyRequest): UploadMeta {
  return {
    patchId,
    partId: q.partId ?? null,
    kind: q.kind,
    originalName: q.filename,
    docType: q.docType,
    docNo: q.docNo,
    docDate: q.docDate,
    note: q.note,
    fields: parseFields(q.fields),
    capture: { lat: q.lat, lon: q.lon, accuracy: q.accuracy, heading: q.heading, time: q.time },
    reason: q.reason,
    ...requestActor(req),
  };
}

/** Sets download headers: the stored type, never sniffed or run by the browser. */
function sendFile(
  reply: FastifyReply,
  f: { stream: Readable; bytes: number; mime: string; name: string },
  sha256: string,
  inline: boolean,
) {
  const ascii = f.name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  reply
    .header('content-type', f.mime)
    .header('content-length', String(f.bytes))
    .header(
      'content-disposition',
      `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(f.name)}`,
    )
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "sandbox; default-src 'none'")
    .header('cache-control', 'private, max-age=3600')
    .header('etag', `"${sha256}"`);
  return reply.send(f.stream);
}

export const evidenceRoutes: FastifyPluginAsync<EvidenceRouteOptions> = async (app, opts) => {
  const ctx: EvidenceContext = {
    db: opts.db,
    store: opts.store ?? defaultEvidenceStore(),
    settings: opts.settings ?? signalSettingsFromEnv(),
    now: opts.now,
  };
  const maxBytes = opts.maxBytes ?? defaultMaxEvidenceBytes();
  const { db } = ctx;

  /** Receives the body of an authorised, planned upload and stores it; the temp file always goes. */
  async function receiveAndStore(req: FastifyRequest, meta: UploadMeta) {
    const plan = await planUpload(db, meta);
    const body = req.body as Readable | undefined;
    if (!body || typeof (body as Readable).pipe !== 'function')
      throw new WeipianError(
        'evidence_body_invalid',
        '请求体应为文件内容本身（如 Content-Type: application/octet-stream），元数据放在查询参数中',
        undefined,
        415,
      );
    const upload = await receiveUpload(body, req.headers['content-length'], maxBytes, 'evidence.bin');
    try {
      return await uploadEvidence(ctx, plan, upload.path);
    } finally {
      await upload.cleanup();
    }
  }

  // Uploads: the body is the file, whatever its declared type (the content decides).
  await app.register(async (uploads: FastifyInstance) => {
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    strictJsonRoutes(uploads);
    closeAfterRefusedUpload(uploads);

    uploads.post<{ Params: { id: number }; Querystring: UploadQuery }>(
      '/api/patches/:id/evidence',
      {
        schema: {
          params: idParams,
          querystring: {
            type: 'object',
            properties: { ...uploadQuery, kind: { type: 'string', enum: ['photo', 'document'] } },
            required: ['filename', 'kind'],
            additionalProperties: false,
          },
        },
      },
      async (req, reply) => {
        const patch = await patchForEvidence(db, req.params.id);
        authorizeRecord(req, 'evidence.upload', { unitCode: patch.unit_code });
        const result = await receiveAndStore(req, metaOf(req.query, patch.id, req));
        return reply.status(201).send(result);
      },
    );

    // A new version of an item: the old one is kept and marked superseded, both in the timeline.
    uploads.post<{ Params: { id: number }; Querystring: Omit<UploadQuery, 'kind'> & { reason: string } }>(
      '/api/evidence/:id/supersede',
      {
        schema: {
          params: idParams,
          querystring: {
            type: 'object',
            properties: { ...uploadQuery, reason: { type: 'string', minLength: 1, maxLength: 500 } },
            required: ['filename', 'reason'],
            additionalProperties: false,
          },
        },
      },
      async (req, reply) => {
        const old = await evidenceOr404(db, req.params.id);
        authorizeRecord(req, 'evidence.upload', { unitCode: old.unit_code });
        const meta = metaOf({ ...req.query, kind: old.kind }, old.patch_id, req);
        const result = await receiveAndStore(req, { ...meta, supersedes: old.id });
        return reply.status(201).send(result);
      },
    );
  });

  await app.register(async (api: FastifyInstance) => {
    strictJsonRoutes(api);

    api.get<{ Params: { id: number } }>(
      '/api/patches/:id/evidence',
      { schema: { params: idParams } },
      async (req) => {
        const patch = await patchForEvidence(db, req.params.id);
        authorizeRecord(req, 'evidence.read', { unitCode: patch.unit_code });
        return patchEvidence(db, patch.id);
      },
    );

    api.get<{ Params: { id: number }; Querystring: { verdict?: string; subtype?: string } }>(
      '/api/patches/:id/evidence/checklist',
      {
        schema: {
          params: idParams,
          querystring: {
            type: 'object',
            properties: {
              verdict: { type: 'string', maxLength: 64 },
              subtype: { type: 'string', maxLength: 64 },
            },
            additionalProperties: false,
          },
        },
      },
      async (req) => {
        const patch = await patchForEvidence(db, req.params.id);
        authorizeRecord(req, 'evidence.read', { unitCode: patch.unit_code });
        return patchChecklist(db, patch.id, req.query);
      },
    );

    api.get<{ Params: { id: number } }>(
      '/api/evidence/:id',
      { schema: { params: idParams } },
      async (req) => {
        const item = await evidenceOr404(db, req.params.id);
        authorizeRecord(req, 'evidence.read', { unitCode: item.unit_code });
        const all = await patchEvidence(db, item.patch_id);
        return { evidence: all.all.find((e) => e.id === item.id) };
      },
    );

    api.get<{ Params: { id: number } }>(
      '/api/evidence/:id/file',
      { schema: { params: idParams } },
      async (req, reply) => {
        const item = await evidenceOr404(db, req.params.id);
        authorizeRecord(req, 'evidence.read', { unitCode: item.unit_code });
        return sendFile(reply, await openEvidenceFile(ctx, item, 'original'), item.sha256, false);
      },
    );

    api.get<{ Params: { id: number } }>(
      '/api/evidence/:id/thumbnail',
      { schema: { params: idParams } },
      async (req, reply) => {
        const item = await evidenceOr404(db, req.params.id);
        authorizeRecord(req, 'evidence.read', { unitCode: item.unit_code });
        return sendFile(reply, await openEvidenceFile(ctx, item, 'thumbnail'), `${item.sha256}-t`, true);
      },
    );

    // The reviewers' queue: signals of a batch (a unit officer sees only their unit's).
    api.get<{
      Querystring: {
        batch: string;
        patch?: number;
        status?: 'open' | 'confirmed' | 'dismissed';
        limit: number;
        offset: number;
      };
    }>(
      '/api/evidence-signals',
      {
        schema: {
          querystring: {
            type: 'object',
            properties: {
              batch: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
              patch: { type: 'integer', minimum: 1 },
              status: { type: 'string', enum: ['open', 'confirmed', 'dismissed'] },
              limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 },
              offset: { type: 'integer', minimum: 0, default: 0 },
            },
            required: ['batch'],
            additionalProperties: false,
          },
        },
      },
      async (req) => {
        const batch = await findBatchBySlug(db, req.query.batch);
        if (!batch)
          throw new WeipianError(
            'batch_not_found',
            `批次不存在：${req.query.batch}`,
            { slug: req.query.batch },
            404,
          );
        const scope = unitScope(subjectOf(requireUser(req)));
        const rows = await listSignals(db, {
          batchId: batch.id,
          patchId: req.query.patch,
          unitCode: scope ?? undefined,
          status: req.query.status,
          limit: req.query.limit,
          offset: req.query.offset,
        });
        return { signals: rows.map((s) => ({ ...signalView(s), patch_id: s.patch_id, jcbh: s.jcbh })) };
      },
    );

    api.post<{
      Params: { id: number };
      Body: { decision: 'confirm' | 'dismiss'; finding?: string; reason: string };
    }>(
      '/api/evidence-signals/:id/decision',
      {
        schema: {
          params: idParams,
          body: {
            type: 'object',
            required: ['decision', 'reason'],
            additionalProperties: false,
            properties: {
              decision: { type: 'string', enum: ['confirm', 'dismiss'] },
              finding: { type: 'string', maxLength: 64 },
              reason: { type: 'string', minLength: 1, maxLength: 2000 },
            },
          },
        },
      },
      async (req) => {
        const signal = await signalOr404(db, req.params.id);
        authorizeRecord(req, 'evidence.review', { unitCode: signal.unit_code });
        return { signal: await decideEvidenceSignal(ctx, signal.id, { ...req.body, ...requestActor(req) }) };
      },
    );
  });
};
