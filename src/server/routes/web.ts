// The web workspace (issue 10): the built single-page app (web/dist) at / with a fallback to
// index.html for client routes, hashed assets cached for a year; and the read views the app needs
// beyond the resource API — the vocabulary and basemaps, and a batch's work list (one row per
// patch with state, verdict, pre-judgement, due date and whether a submission has arrived).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Db, Queryable } from '../../store/db.ts';
import { WeipianError } from '../../domain/errors.ts';
import { authorize, mayAttempt, policySummary, unitScope, type Subject } from '../../domain/policies.ts';
import { STATE_INFO, TRANSITION_RULES, WORKFLOW_STATES, type WorkflowState } from '../../domain/workflow.ts';
import { FIELDS, PATCH_SOURCES, PREJUDGEMENT_VALUES, VERDICT_VALUES } from '../../domain/fields.ts';
import { BUILTIN_PROFILE } from '../../domain/mapping.ts';
import { FINDINGS } from '../../evidence/signals.ts';
import { ROLE_LABELS, ROLES } from '../../domain/roles.ts';
import { loadRulePack, type RulePack, type ReportRoundId } from '../../domain/rulepack.ts';
import {
  DEFAULT_SOON_DAYS,
  daysOverdue,
  deadlineStatus,
  localDate,
  nextRoundDeadline,
  patchDeadline,
  type MilestoneLike,
} from '../../domain/deadlines.ts';
import { findBatchBySlug, type BatchRow } from '../../store/queries/batches.ts';
import { listRoundRows } from '../../store/queries/workflow.ts';
import { LAYER_TYPE_LABELS } from '../../store/queries/layers.ts';
import { requireUser } from '../auth.ts';
import { subjectOf } from '../access.ts';

// ---------------------------------------------------------------------------------------------
// The built app

const here = path.dirname(fileURLToPath(import.meta.url));

/** web/dist of this checkout (from src/server/routes or dist/src/server/routes), or WEIPIAN_WEB_DIST. */
export function webDistDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = env.WEIPIAN_WEB_DIST
    ? [path.resolve(env.WEIPIAN_WEB_DIST)]
    : [path.resolve(here, '../../../web/dist'), path.resolve(here, '../../../../web/dist')];
  for (const c of candidates) if (existsSync(path.join(c, 'index.html'))) return c;
  return null;
}

/** index.html of the built app, or null when no build exists (the plain page is shown instead). */
export function webIndexHtml(): string | null {
  const dir = webDistDir();
  return dir ? readFileSync(path.join(dir, 'index.html'), 'utf8') : null;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** A file inside dir named by a URL path, or null (no escaping the folder, no directories). */
function fileIn(dir: string, urlPath: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath.split('?')[0]!);
  } catch {
    return null;
  }
  const full = path.resolve(dir, `.${path.posix.normalize(`/${rel}`)}`);
  if (!full.startsWith(dir + path.sep)) return null;
  try {
    return statSync(full).isFile() ? full : null;
  } catch {
    return null;
  }
}

async function sendIndex(reply: FastifyReply, dir: string) {
  reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
  return reply.send(await readFile(path.join(dir, 'index.html')));
}

// ---------------------------------------------------------------------------------------------
// Vocabulary and basemaps

export interface BasemapTemplate {
  id: string;
  name: string;
  type: 'xyz' | 'wmts';
  url: string;
  attribution?: string;
  /** WMTS only: layer, matrix set, style, format (EPSG:3857 grids). */
  layer?: string;
  matrixSet?: string;
  style?: string;
  format?: string;
  maxZoom?: number;
  /** Drawn over the base (labels). */
  overlay?: boolean;
}

/**
 * Basemaps from the environment: WEIPIAN_BASEMAPS (a JSON array of templates) and/or
 * WEIPIAN_TIANDITU_KEY (天地图 vector/imagery with labels). None at all: the map works offline.
 */
export function basemapsFromEnv(env: NodeJS.ProcessEnv = process.env): BasemapTemplate[] {
  const out: BasemapTemplate[] = [];
  if (env.WEIPIAN_BASEMAPS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.WEIPIAN_BASEMAPS);
    } catch {
      throw new WeipianError('basemaps_invalid', 'WEIPIAN_BASEMAPS 应为 JSON 数组');
    }
    if (!Array.isArray(parsed)) throw new WeipianError('basemaps_invalid', 'WEIPIAN_BASEMAPS 应为 JSON 数组');
    parsed.forEach((b: Partial<BasemapTemplate>, i) => {
      if (!b || typeof b.url !== 'string' || !/^https?:\/\//.test(b.url))
        throw new WeipianError('basemaps_invalid', `WEIPIAN_BASEMAPS 第 ${i + 1} 项缺少 http(s) 地址 url`);
      out.push({
        ...b,
        id: b.id ?? `basemap${i + 1}`,
        name: b.name ?? `底图 ${i + 1}`,
        type: b.type === 'wmts' ? 'wmts' : 'xyz',
        url: b.url,
      });
    });
  }
  const key = env.WEIPIAN_TIANDITU_KEY;
  if (key && /^[0-9a-zA-Z]+$/.test(key)) {
    const t = (layer: string) =>
      `https://t{0-7}.tianditu.gov.cn/DataServer?T=${layer}_w&x={x}&y={y}&l={z}&tk=${key}`;
    out.push(
      { id: 'tdt-vec', name: '天地图矢量', type: 'xyz', url: t('vec'), attribution: '天地图', maxZoom: 18 },
      { id: 'tdt-img', name: '天地图影像', type: 'xyz', url: t('img'), attribution: '天地图', maxZoom: 18 },
      { id: 'tdt-cva', name: '天地图注记', type: 'xyz', url: t('cva'), attribution: '天地图', overlay: true },
    );
  }
  return out;
}

function vocabulary() {
  return {
    states: WORKFLOW_STATES.map((s) => ({ id: s, ...STATE_INFO[s] })),
    transitions: Object.entries(TRANSITION_RULES).map(([id, r]) => ({ id, label: r.label })),
    verdicts: [...VERDICT_VALUES, { id: 'mixed', label: '部分违法（已拆分）' }],
    prejudgements: PREJUDGEMENT_VALUES,
    sources: PATCH_SOURCES,
    roles: ROLES.map((r) => ({ id: r, label: ROLE_LABELS[r] })),
    layerTypes: Object.entries(LAYER_TYPE_LABELS).map(([id, label]) => ({ id, label })),
    receipts: RECEIPTS,
    // The field dictionary, with the names a delivery is known to use for each core field, so the
    // patch page can show delivered attributes (JCBH, 监测面积（亩）…) under their Chinese names.
    fields: FIELDS.map((f) => ({
      id: f.id,
      name: f.name,
      alias: f.alias,
      group: f.group,
      unit: f.unit,
      description: f.description,
      knownAs: (BUILTIN_PROFILE as Readonly<Record<string, readonly string[]>>)[f.id] ?? [],
    })),
    // What a reviewer may confirm an evidence signal as (核查发现); fraud ones count as 弄虚作假.
    findings: Object.entries(FINDINGS).map(([id, f]) => ({ id, label: f.label, fraud: f.fraud })),
  };
}

// ---------------------------------------------------------------------------------------------
// The work list

/** What a unit reads about its submission, so nobody wonders whether it arrived. */
export const RECEIPTS = {
  none: { label: '未提交', explanation: '尚未提交分局审核。' },
  submitted: { label: '已提交', explanation: '分局已收到，正在等待审核。' },
  returned: { label: '已退回', explanation: '审核未通过，已退回：请按退回原因修改后重新提交。' },
  passed: { label: '已通过', explanation: '审核已通过。' },
} as const;
export type Receipt = keyof typeof RECEIPTS;

export function receiptOf(state: WorkflowState, submissionNo: number): Receipt {
  switch (state) {
    case 'submitted':
      return 'submitted';
    case 'returned':
    case 'upper_returned':
      return 'returned';
    case 'passed':
    case 'reported':
    case 'upper_passed':
      return 'passed';
    default:
      return submissionNo > 0 ? 'returned' : 'none';
  }
}

export interface WorkItem {
  id: number;
  jcbh: string;
  source: string;
  unitCode: string | null;
  unitName: string | null;
  areaM2: number;
  geometryKind: 'polygon' | 'point';
  bbox: [number, number, number, number];
  state: WorkflowState;
  stateLabel: string;
  version: number;
  /** One verdict for the whole patch, or 'mixed' when its parts differ. */
  verdict: string;
  parts: number;
  prejudgement: string | null;
  dueDate: string | null;
  deadlineStatus: 'open' | 'due_soon' | 'overdue' | null;
  daysOverdue: number;
  returnReason: string | null;
  returnedBy: string | null;
  returnedAt: string | null;
  submissionNo: number;
  submittedBy: string | null;
  submittedAt: string | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
  receipt: Receipt;
  /** The current submission has been opened by a reviewer (it has arrived and is being looked at). */
  openedByReviewer: boolean;
  /** The caller opened the current submission (bulk pass takes only those). */
  openedByMe: boolean;
  /** The caller submitted this patch at least once. */
  submittedByMe: boolean;
  updatedAt: string;
}

interface WorkRow {
  id: number;
  jcbh: string;
  source: string;
  unit_code: string | null;
  unit_name: string | null;
  area_m2: number;
  geometry_kind: 'polygon' | 'point';
  minx: number;
  miny: number;
  maxx: number;
  maxy: number;
  state: WorkflowState;
  version: number;
  return_reason: string | null;
  return_due_date: string | null;
  returned_by: string | null;
  returned_at: string | null;
  submission_no: number;
  submitted_by: string | null;
  submitted_at: string | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  updated_at: string;
  prejudgement: string | null;
  verdicts: string[] | null;
  opened_any: boolean;
  opened_me: boolean;
  submitted_me: boolean;
}

const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const packs = new Map<string, RulePack>();
function packOf(batch: Pick<BatchRow, 'rule_pack_id'>): RulePack {
  let p = packs.get(batch.rule_pack_id);
  if (!p) packs.set(batch.rule_pack_id, (p = loadRulePack(batch.rule_pack_id)));
  return p;
}

export async function batchOr404(q: Queryable, slug: string): Promise<BatchRow> {
  const b = await findBatchBySlug(q, slug);
  if (!b) throw new WeipianError('batch_not_found', `批次不存在：${slug}`, { slug }, 404);
  return b;
}

/**
 * Every patch of a batch the caller may see (a unit officer: their unit's only), as one row each.
 * `username` marks what the caller opened and submitted.
 */
export async function workItems(
  db: Queryable,
  batch: BatchRow,
  scope: { unitCode: string | null; username: string | null },
  now: Date = new Date(),
): Promise<WorkItem[]> {
  const params: unknown[] = [batch.id, scope.username ?? ''];
  let where = 'p.batch_id = $1';
  if (scope.unitCode !== null) {
    params.push(scope.unitCode);
    where += ' AND p.unit_code = $3';
  }
  // Parts, review opens and own submissions are looked up per patch through their indexes: grouped
  // subqueries joined to the patches let a planner without statistics (PGlite never runs autovacuum)
  // pick a nested loop over every part for every patch — half a second for 600 patches.
  const rows = await db.query<WorkRow>(
    `SELECT p.id, p.jcbh, p.source, p.unit_code, ru.name AS unit_name, p.area_m2, p.geometry_kind,
       p.minx, p.miny, p.maxx, p.maxy, w.state, w.version, w.return_reason, w.return_due_date, w.returned_by,
       ${iso('w.returned_at')} AS returned_at, w.submission_no, w.submitted_by, ${iso('w.submitted_at')} AS submitted_at,
       w.reviewed_by, ${iso('w.reviewed_at')} AS reviewed_at, ${iso('w.updated_at')} AS updated_at,
       r.fields->>'prejudgement' AS prejudgement,
       (SELECT array_agg(x.verdict) FROM patch_parts x
         WHERE x.patch_id = p.id AND x.retired_at IS NULL) AS verdicts,
       EXISTS (SELECT 1 FROM review_opens o
         WHERE o.patch_id = p.id AND o.submission_no = w.submission_no) AS opened_any,
       EXISTS (SELECT 1 FROM review_opens o
         WHERE o.patch_id = p.id AND o.submission_no = w.submission_no AND o.username = $2) AS opened_me,
       coalesce(w.submitted_by = $2, false) OR EXISTS (SELECT 1 FROM events e
         WHERE e.record_type = 'patch' AND e.record_id = p.id::text
           AND e.action = 'patch.submit' AND e.actor = $2) AS submitted_me
     FROM patches p JOIN patch_workflow w ON w.patch_id = p.id
     LEFT JOIN analysis_results r ON r.patch_id = p.id
     LEFT JOIN responsible_units ru ON ru.code = p.unit_code
     WHERE ${where}
     ORDER BY p.jcbh`,
    params,
  );
  const pack = packOf(batch);
  const tz = pack.calendar.timeZone;
  const rounds = await listRoundRows(db, batch.id);
  const next = nextRoundDeadline(
    pack.reportRounds,
    rounds.map((r) => r.kind as ReportRoundId).filter((k) => k !== 'update'),
    batch.milestones as MilestoneLike[],
  );
  // A batch has a handful of distinct due dates; each costs Intl time-zone arithmetic once.
  const byDate = new Map<string, { status: WorkItem['deadlineStatus']; late: number }>();
  const dueOf = (date: string) => {
    let v = byDate.get(date);
    if (!v)
      byDate.set(
        date,
        (v = {
          status: deadlineStatus(date, now, tz, DEFAULT_SOON_DAYS),
          late: daysOverdue(date, now, tz),
        }),
      );
    return v;
  };
  return rows.map((r) => {
    const d = patchDeadline({ state: r.state, returnDueDate: r.return_due_date }, next);
    const due = d ? dueOf(d.date) : null;
    const parts = r.verdicts?.length ?? 0;
    const verdicts = parts ? [...new Set(r.verdicts)] : ['undetermined'];
    return {
      id: r.id,
      jcbh: r.jcbh,
      source: r.source,
      unitCode: r.unit_code,
      unitName: r.unit_name,
      areaM2: r.area_m2,
      geometryKind: r.geometry_kind,
      bbox: [r.minx, r.miny, r.maxx, r.maxy],
      state: r.state,
      stateLabel: STATE_INFO[r.state].label,
      version: r.version,
      verdict: verdicts.length === 1 ? verdicts[0]! : 'mixed',
      parts,
      prejudgement: r.prejudgement,
      dueDate: d?.date ?? null,
      deadlineStatus: due?.status ?? null,
      daysOverdue: due?.late ?? 0,
      returnReason: r.return_reason,
      returnedBy: r.returned_by,
      returnedAt: r.returned_at,
      submissionNo: r.submission_no,
      submittedBy: r.submitted_by,
      submittedAt: r.submitted_at,
      reviewedBy: r.reviewed_by,
      reviewedAt: r.reviewed_at,
      receipt: receiptOf(r.state, r.submission_no),
      openedByReviewer: r.opened_any,
      openedByMe: r.opened_me,
      submittedByMe: r.submitted_me,
      updatedAt: r.updated_at,
    };
  });
}

export interface WorkListQuery {
  unit?: string;
  state?: string;
  verdict?: string;
  prejudgement?: string;
  source?: string;
  overdue?: boolean;
  mine?: boolean;
  q?: string;
}

/** The filters of the map and the lists (comma-separated values mean “any of”). */
export function filterItems(items: WorkItem[], f: WorkListQuery): WorkItem[] {
  const set = (s?: string) => (s ? new Set(s.split(',')) : null);
  const states = set(f.state);
  const verdicts = set(f.verdict);
  const pre = set(f.prejudgement);
  const sources = set(f.source);
  const q = f.q?.trim();
  return items.filter(
    (i) =>
      (!f.unit || i.unitCode === f.unit) &&
      (!states || states.has(i.state)) &&
      (!verdicts || verdicts.has(i.verdict)) &&
      (!pre || pre.has(i.prejudgement ?? 'none')) &&
      (!sources || sources.has(i.source)) &&
      (f.overdue === undefined || (i.deadlineStatus === 'overdue') === f.overdue) &&
      (!f.mine || i.submittedByMe) &&
      (!q || i.jcbh.includes(q)),
  );
}

const slugParam = {
  type: 'object',
  properties: { slug: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } },
  required: ['slug'],
} as const;

function scopeOf(subject: Subject, unit: string | undefined): string | null {
  const own = unitScope(subject);
  if (own !== null && unit !== undefined && unit !== own) {
    const d = authorize(subject, 'workflow.read', { unitCode: unit });
    if (!d.allow) throw new WeipianError(d.reason, d.message, undefined, 403);
  }
  return own ?? unit ?? null;
}

export const webRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/api/web/config',
    {
      schema: {
        tags: ['网页工作台'],
        summary: '工作台的词汇（状态及说明、判定、预判、来源、角色）与配置的底图',
      },
    },
    async (req) => {
      const user = requireUser(req, { allowPasswordChange: true });
      return {
        ...vocabulary(),
        basemaps: basemapsFromEnv(),
        policies: policySummary(subjectOf(user)),
      };
    },
  );

  app.get<{ Params: { slug: string }; Querystring: WorkListQuery }>(
    '/api/batches/:slug/worklist',
    {
      schema: {
        tags: ['网页工作台'],
        summary: '工作清单：批次中当前用户可见的每个图斑的流程状态、判定、预判、期限与提交回执',
        description:
          '镇街工作人员只看到本单位。receipt 为 none 未提交 / submitted 已提交 / returned 已退回 / passed 已通过；mine=true 只列本人提交过的（我的提交）。',
        params: slugParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            unit: { type: 'string', pattern: '^[0-9]{9}$' },
            state: { type: 'string', maxLength: 200 },
            verdict: { type: 'string', maxLength: 200 },
            prejudgement: { type: 'string', maxLength: 200 },
            source: { type: 'string', maxLength: 200 },
            overdue: { type: 'boolean' },
            mine: { type: 'boolean' },
            q: { type: 'string', maxLength: 64 },
          },
        },
      },
    },
    async (req) => {
      const user = requireUser(req);
      const subject = subjectOf(user);
      const d = mayAttempt(subject, 'workflow.read');
      if (!d.allow) throw new WeipianError(d.reason, d.message, undefined, 403);
      const batch = await batchOr404(db, req.params.slug);
      const now = new Date();
      const items = await workItems(
        db,
        batch,
        {
          unitCode: scopeOf(subject, req.query.unit),
          username: user.username,
        },
        now,
      );
      const tz = packOf(batch).calendar.timeZone;
      return {
        batch: { slug: batch.slug, name: batch.name, kind: batch.kind, year: batch.year },
        today: localDate(now, tz),
        total: items.length,
        items: filterItems(items, req.query),
      };
    },
  );

  const dir = webDistDir();
  // Hashed build output: the name changes with the content, so it may be cached for good.
  app.get<{ Params: { '*': string } }>('/assets/*', async (req, reply) => {
    const root = dir ?? webDistDir();
    const file = root && fileIn(root, `assets/${req.params['*']}`);
    if (!file) throw new WeipianError('not_found', `没有这个文件：${req.url}`, undefined, 404);
    reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type(TYPES[path.extname(file)] ?? 'application/octet-stream');
    return reply.send(await readFile(file));
  });

  // Client routes (/map, /patches/12, /work …) get the app; unknown API paths stay JSON 404s.
  app.get<{ Params: { '*': string } }>('/*', async (req, reply) => {
    const url = req.url.split('?')[0]!;
    if (url === '/api' || url.startsWith('/api/'))
      throw new WeipianError('not_found', `没有这个地址：${req.method} ${req.url}`, undefined, 404);
    const root = dir ?? webDistDir();
    if (!root) throw new WeipianError('not_found', `没有这个地址：${req.method} ${req.url}`, undefined, 404);
    const file = fileIn(root, url);
    if (file) {
      reply.header('cache-control', 'no-cache').type(TYPES[path.extname(file)] ?? 'application/octet-stream');
      return reply.send(await readFile(file));
    }
    return sendIndex(reply, root);
  });
};
