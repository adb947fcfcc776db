// The patch workflow over HTTP (issue 8): a patch's workflow with its parts, judgement form,
// analysis and deadlines; judging, handling, submitting, review (pass / return / bulk pass),
// splitting and merging parts, reassignment, upper-level results; per batch the progress and
// deadlines, drawn 例行督察/巡查/举报 patches and their links, report rounds and the upper-level
// result list (Excel). Routes only parse and call src/services/workflow.ts, which applies the
// policies (role, own unit, state, second person) and the version check.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { Db } from '../../store/db.ts';
import { WeipianError } from '../../domain/errors.ts';
import { requireUser, strictJsonRoutes } from '../auth.ts';
import { closeAfterRefusedUpload, receiveUpload } from '../upload.ts';
import {
  batchStatus,
  bulkPass,
  closeRound,
  createPatch,
  getPatchWorkflow,
  getRound,
  importUpperResults,
  judgePart,
  judgementFormOf,
  listRounds,
  mergeParts,
  passPatch,
  reassignPatch,
  recordUpperResult,
  refreshLinks,
  returnPatch,
  setHandling,
  splitPatch,
  submitPatch,
  type CreatePatchInput,
  type SplitInput,
  type UpperResultInput,
  type WorkflowActor,
} from '../../services/workflow.ts';
import type { HandlingInput, JudgementInput } from '../../domain/judgement.ts';

export interface WorkflowRouteOptions {
  db: Db;
  /** Upload limit of an upper-level result list (default 20 MB: a list, not a delivery). */
  maxUploadBytes?: number;
}

const TAG = ['核查判定与审核流程'];
const patchParams = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } },
  required: ['id'],
} as const;
const partParams = {
  type: 'object',
  properties: {
    id: { type: 'integer', minimum: 1, maximum: 2147483647 },
    partId: { type: 'integer', minimum: 1, maximum: 2147483647 },
  },
  required: ['id', 'partId'],
} as const;
const slugParams = {
  type: 'object',
  properties: { slug: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } },
  required: ['slug'],
} as const;
const version = {
  type: 'integer',
  minimum: 1,
  description: '读取时的流程版本（workflow.version）；已被他人修改时返回 409 version_conflict',
} as const;
const date = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' } as const;
const handlingSchema = {
  type: 'object',
  required: ['mode'],
  additionalProperties: false,
  properties: {
    mode: {
      type: 'string',
      description:
        'file_case 立案 / handle_without_case 不立案处理 / should_file_not_filed 应立未立 / no_action 不处理（矿产）',
    },
    reasonCode: { type: ['string', 'null'], maxLength: 16 },
    reason: { type: ['string', 'null'], maxLength: 2000 },
  },
} as const;

function actorOf(req: FastifyRequest): WorkflowActor {
  const u = requireUser(req);
  return { username: u.username, role: u.role, unitCode: u.unit_code };
}

export const workflowRoutes: FastifyPluginAsync<WorkflowRouteOptions> = async (app, opts) => {
  const { db } = opts;
  strictJsonRoutes(app);
  // The upper-level result list is uploaded as the raw body (like imports), streamed to a file.
  app.addContentTypeParser(
    ['application/octet-stream', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    (_req, payload, done) => done(null, payload),
  );
  closeAfterRefusedUpload(app);

  app.get<{ Params: { id: number } }>(
    '/api/patches/:id/workflow',
    {
      schema: {
        tags: TAG,
        summary: '图斑的流程、各部分判定、预判与缺少的举证、期限、上级结果',
        description:
          '分局审核人员打开“已提交”的图斑会被记录（批量通过只能包含已打开的图斑）。workflow.allowed 列出当前用户能做的每一步及不能做的原因。',
        params: patchParams,
      },
    },
    async (req) => getPatchWorkflow(db, req.params.id, actorOf(req)),
  );

  app.put<{ Params: { id: number; partId: number }; Body: JudgementInput & { version: number } }>(
    '/api/patches/:id/parts/:partId/judgement',
    {
      schema: {
        tags: TAG,
        summary: '填写或修改一个部分的判定（按规则包校验，缺少或矛盾的字段会指出字段名）',
        params: partParams,
        body: {
          type: 'object',
          required: ['version', 'verdict'],
          additionalProperties: false,
          properties: {
            version,
            verdict: { type: 'string', enum: ['undetermined', 'legal', 'other', 'illegal'] },
            subtype: {
              type: ['string', 'null'],
              maxLength: 64,
              description: '判定细类 id（也接受中文名或别名）',
            },
            fields: { type: 'object', description: '细类表单字段，见 GET /api/batches/:slug/judgement-form' },
            handling: { anyOf: [handlingSchema, { type: 'null' }] },
          },
        },
      },
    },
    async (req) => judgePart(db, req.params.id, req.params.partId, req.body, actorOf(req)),
  );

  app.put<{ Params: { id: number; partId: number }; Body: { version: number; handling: HandlingInput } }>(
    '/api/patches/:id/parts/:partId/handling',
    {
      schema: {
        tags: TAG,
        summary: '修改违法部分的处理方式（上报后仍可修改，案件继续办理）',
        params: partParams,
        body: {
          type: 'object',
          required: ['version', 'handling'],
          additionalProperties: false,
          properties: { version, handling: handlingSchema },
        },
      },
    },
    async (req) => setHandling(db, req.params.id, req.params.partId, req.body, actorOf(req)),
  );

  const versionOnly = {
    type: 'object',
    required: ['version'],
    additionalProperties: false,
    properties: { version, note: { type: 'string', maxLength: 1000 } },
  } as const;

  app.post<{ Params: { id: number }; Body: { version: number } }>(
    '/api/patches/:id/submit',
    {
      schema: {
        tags: TAG,
        summary: '提交分局审核（各部分须已判定、字段完整、违法部分已选处理方式、举证齐全）',
        params: patchParams,
        body: { type: 'object', required: ['version'], additionalProperties: false, properties: { version } },
      },
    },
    async (req) => submitPatch(db, req.params.id, req.body, actorOf(req)),
  );

  app.post<{ Params: { id: number }; Body: { version: number; note?: string } }>(
    '/api/patches/:id/pass',
    {
      schema: {
        tags: TAG,
        summary: '分局初审通过（判定人、提交人不能审核自己的工作）',
        params: patchParams,
        body: versionOnly,
      },
    },
    async (req) => passPatch(db, req.params.id, req.body, actorOf(req)),
  );

  app.post<{ Params: { id: number }; Body: { version: number; reason: string; dueDate: string } }>(
    '/api/patches/:id/return',
    {
      schema: {
        tags: TAG,
        summary: '退回责任单位，附退回原因和新的截止日期',
        params: patchParams,
        body: {
          type: 'object',
          required: ['version', 'reason', 'dueDate'],
          additionalProperties: false,
          properties: { version, reason: { type: 'string', minLength: 1, maxLength: 1000 }, dueDate: date },
        },
      },
    },
    async (req) => returnPatch(db, req.params.id, req.body, actorOf(req)),
  );

  app.post<{ Params: { id: number }; Body: SplitInput }>(
    '/api/patches/:id/split',
    {
      schema: {
        tags: TAG,
        summary: '拆分图斑：手绘各部分（GeoJSON，EPSG:4490），或按批准范围拆为已批和超出两部分',
        description:
          '各部分必须恰好铺满图斑（缺口、重叠、超出均不超过 0.01 平方米）；拆分后各部分为“未判定”。',
        params: patchParams,
        body: {
          type: 'object',
          required: ['version', 'mode'],
          additionalProperties: false,
          properties: {
            version,
            mode: { type: 'string', enum: ['drawn', 'approval'] },
            parts: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'object' } },
            clipToPatch: { type: 'boolean', description: '先把手绘部分裁剪到图斑范围内' },
            rest: { type: 'boolean', description: '把图斑减去手绘部分后的剩余作为最后一部分' },
          },
        },
      },
    },
    async (req) => splitPatch(db, req.params.id, req.body, actorOf(req)),
  );

  app.post<{ Params: { id: number }; Body: { version: number; partIds?: number[] } }>(
    '/api/patches/:id/merge',
    {
      schema: {
        tags: TAG,
        summary: '合并部分（默认全部合并回整个图斑）；各部分判定相同时保留判定',
        params: patchParams,
        body: {
          type: 'object',
          required: ['version'],
          additionalProperties: false,
          properties: {
            version,
            partIds: { type: 'array', minItems: 2, maxItems: 50, items: { type: 'integer', minimum: 1 } },
          },
        },
      },
    },
    async (req) => mergeParts(db, req.params.id, req.body, actorOf(req)),
  );

  app.post<{ Params: { id: number }; Body: { version: number; unitCode: string; reason: string } }>(
    '/api/patches/:id/reassign',
    {
      schema: {
        tags: TAG,
        summary: '改派责任单位（须说明原因）',
        params: patchParams,
        body: {
          type: 'object',
          required: ['version', 'unitCode', 'reason'],
          additionalProperties: false,
          properties: {
            version,
            unitCode: { type: 'string', pattern: '^[0-9]{9}$' },
            reason: { type: 'string', minLength: 1, maxLength: 1000 },
          },
        },
      },
    },
    async (req) => reassignPatch(db, req.params.id, req.body, actorOf(req)),
  );

  app.post<{ Params: { id: number }; Body: UpperResultInput & { version: number } }>(
    '/api/patches/:id/upper-result',
    {
      schema: {
        tags: TAG,
        summary: '登记上级对一个已上报图斑的审核结果（通过，或退回并说明原因）',
        params: patchParams,
        body: {
          type: 'object',
          required: ['version', 'result'],
          additionalProperties: false,
          properties: {
            version,
            result: { type: 'string', enum: ['passed', 'returned'] },
            reason: { type: ['string', 'null'], maxLength: 1000 },
            dueDate: { anyOf: [date, { type: 'null' }] },
          },
        },
      },
    },
    async (req) => recordUpperResult(db, req.params.id, req.body, actorOf(req)),
  );

  // ---- per batch ----

  app.get<{ Params: { slug: string }; Querystring: { unit?: string; soonDays: number } }>(
    '/api/batches/:slug/status',
    {
      schema: {
        tags: TAG,
        summary: '批次进度：各单位按状态的图斑数、按判定的面积（按部分），逾期与临近期限的图斑',
        description: '“X月X日前”指当日 24 时（北京时间）前。镇街工作人员只看到本单位。',
        params: slugParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            unit: { type: 'string', pattern: '^[0-9]{9}$' },
            soonDays: { type: 'integer', minimum: 0, maximum: 60, default: 3 },
          },
        },
      },
    },
    async (req) =>
      batchStatus(db, req.params.slug, actorOf(req), {
        unitCode: req.query.unit,
        soonDays: req.query.soonDays,
      }),
  );

  app.get<{ Params: { slug: string } }>(
    '/api/batches/:slug/judgement-form',
    {
      schema: {
        tags: TAG,
        summary: '批次规则包的判定表单（各细类的字段与举证要求、处理方式）和流程状态说明',
        params: slugParams,
      },
    },
    async (req) => {
      actorOf(req);
      return judgementFormOf(db, req.params.slug);
    },
  );

  app.post<{
    Params: { slug: string };
    Body: { items: { patchId: number; version: number }[]; note?: string };
  }>(
    '/api/batches/:slug/bulk-pass',
    {
      schema: {
        tags: TAG,
        summary: '批量初审通过：只能包含本人已打开查看的已提交图斑；全部或全不',
        params: slugParams,
        body: {
          type: 'object',
          required: ['items'],
          additionalProperties: false,
          properties: {
            items: {
              type: 'array',
              minItems: 1,
              maxItems: 1000,
              items: {
                type: 'object',
                required: ['patchId', 'version'],
                additionalProperties: false,
                properties: { patchId: { type: 'integer', minimum: 1 }, version },
              },
            },
            note: { type: 'string', maxLength: 1000 },
          },
        },
      },
    },
    async (req) => bulkPass(db, req.params.slug, req.body, actorOf(req)),
  );

  app.post<{ Params: { slug: string }; Body: CreatePatchInput }>(
    '/api/batches/:slug/patches',
    {
      schema: {
        tags: TAG,
        summary: '在地图上绘制例行督察、巡查或举报图斑（GeoJSON，EPSG:4490），自动关联重叠图斑',
        params: slugParams,
        body: {
          type: 'object',
          required: ['source', 'geometry'],
          additionalProperties: false,
          properties: {
            source: {
              type: 'string',
              description: '例行督察 / 巡查 / 举报（或 routine_inspection / patrol / report）',
            },
            geometry: { type: 'object' },
            jcbh: { type: 'string', maxLength: 64 },
            unitCode: { type: 'string', pattern: '^[0-9]{9}$' },
            note: { type: 'string', maxLength: 2000 },
            reason: { type: 'string', maxLength: 1000 },
          },
        },
      },
    },
    async (req, reply) => {
      reply.status(201);
      return createPatch(db, req.params.slug, req.body, actorOf(req));
    },
  );

  app.post<{ Params: { slug: string } }>(
    '/api/batches/:slug/links',
    {
      schema: {
        tags: TAG,
        summary: '重新关联本批次的例行督察、巡查、举报图斑与其重叠的图斑（重叠面积只计一次）',
        params: slugParams,
      },
    },
    async (req) => refreshLinks(db, req.params.slug, actorOf(req)),
  );

  app.get<{ Params: { slug: string } }>(
    '/api/batches/:slug/rounds',
    {
      schema: {
        tags: TAG,
        summary: '已关闭的报送轮次（初报、更新报、终报）及其快照哈希与统计',
        params: slugParams,
      },
    },
    async (req) => ({ rounds: await listRounds(db, req.params.slug, actorOf(req)) }),
  );

  app.post<{ Params: { slug: string }; Body: { round: string; reason?: string } }>(
    '/api/batches/:slug/rounds',
    {
      schema: {
        tags: TAG,
        summary: '关闭报送轮次：已初审通过的图斑上报并锁定判定，冻结全批次快照（哈希记入审计链）',
        params: slugParams,
        body: {
          type: 'object',
          required: ['round'],
          additionalProperties: false,
          properties: {
            round: { type: 'string', enum: ['initial', 'update', 'final'] },
            reason: { type: 'string', maxLength: 1000 },
          },
        },
      },
    },
    async (req, reply) => {
      reply.status(201);
      return { round: await closeRound(db, req.params.slug, req.body, actorOf(req)) };
    },
  );

  app.get<{ Params: { slug: string; seq: number } }>(
    '/api/batches/:slug/rounds/:seq',
    {
      schema: {
        tags: TAG,
        summary: '一个报送轮次的快照，并重新计算哈希与审计链中的记录核对',
        params: {
          type: 'object',
          required: ['slug', 'seq'],
          properties: { ...slugParams.properties, seq: { type: 'integer', minimum: 1, maximum: 1000 } },
        },
      },
    },
    async (req) => ({ round: await getRound(db, req.params.slug, req.params.seq, actorOf(req)) }),
  );

  app.post<{ Params: { slug: string }; Querystring: { filename: string; sheet?: string } }>(
    '/api/batches/:slug/upper-results',
    {
      schema: {
        tags: TAG,
        summary:
          '导入上级审核结果清单（Excel：监测编号、审核结果 通过/退回、退回原因、可选整改期限）；全部或全不',
        description: '请求体为 .xlsx 文件本身（Content-Type: application/octet-stream）。',
        params: slugParams,
        querystring: {
          type: 'object',
          required: ['filename'],
          additionalProperties: false,
          properties: {
            filename: { type: 'string', minLength: 1, maxLength: 255 },
            sheet: { type: 'string', maxLength: 100 },
          },
        },
      },
    },
    async (req) => {
      const actor = actorOf(req);
      const body = req.body as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function')
        throw new WeipianError(
          'unsupported_media_type',
          '请把 Excel 文件作为请求体上传（Content-Type: application/octet-stream）',
          undefined,
          415,
        );
      const upload = await receiveUpload(
        body,
        req.headers['content-length'],
        opts.maxUploadBytes ?? 20 * 1024 * 1024,
        req.query.filename,
      );
      try {
        return {
          summary: await importUpperResults(db, req.params.slug, upload.path, actor, {
            sheet: req.query.sheet,
            fileName: req.query.filename,
          }),
        };
      } finally {
        await upload.cleanup();
      }
    },
  );
};
