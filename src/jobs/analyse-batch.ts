// `weipian analyse --batch <slug> [--all]`: overlays the patches of a batch with the reference
// layers in force and stores each patch's contract fields and detail (domain/analysis.ts) with the
// layer versions used. By default only patches without a result or with a stale one are computed
// (a new layer version marks stale what it may change: queries/analysis.ts markStaleForLayer).
//
// Results are written in short transactions of CHUNK patches, so the server stays responsive and
// a killed run keeps what it finished; each result stands on its own (its own layer versions).
// The responsible unit of a patch follows the largest share unless the bureau reassigned it.
import type { Db, Queryable } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import {
  analysePatch,
  licenceBufferM,
  type AnalysisLayers,
  type AnalysisLayerType,
} from '../domain/analysis.ts';
import type { RulePack } from '../domain/rulepack.ts';
import { loadRulePack } from '../domain/rulepack.ts';
import { initGeos, type Geos } from '../geo/geos.ts';
import { decodeGeometry, decodeWkb } from '../geo/wkb.ts';
import type { Areal } from '../geo/geometry.ts';
import { buildReferenceIndex, type ReferenceFeature, type ReferenceIndex } from '../geo/reference-index.ts';
import { overlayShape, withPatch } from '../geo/overlay.ts';
import { findBatchBySlug, type BatchRow } from '../store/queries/batches.ts';
import { currentLayers, LAYER_TYPE_LABELS, type LayerRow, type LayerType } from '../store/queries/layers.ts';
import {
  finishRun,
  insertRun,
  liveRun,
  patchIdsToAnalyse,
  updateRunProgress,
  upsertResults,
  type LayerIds,
  type NewResult,
} from '../store/queries/analysis.ts';
import type { PatchRow } from '../store/queries/patches.ts';
import { appendEvent } from '../store/queries/events.ts';
import { noProgress, type ProgressFn } from './progress.ts';

const CHUNK = 50;

const LICENCE_TYPES: ReadonlySet<string> = new Set(['mining-right', 'exploration-right']);

/** Layers that are survey coverages (features never overlap): covered areas are sums of pieces. */
const COVERAGE_TYPES: ReadonlySet<LayerType> = new Set([
  'unit',
  'land-use',
  'farmland',
  'basic-farmland',
  'planning',
]);

export interface AnalyseOptions {
  batch: string;
  /** Recompute every patch, not only the stale and the missing ones. */
  all?: boolean;
  actor: string;
  actorRole?: string | null;
  onProgress?: ProgressFn;
  /** Called with a Chinese line for each preparation step. */
  onStep?: (line: string) => void;
}

export interface HistoryLink {
  patchId: number;
  batch: string;
  jcbh: string;
  overlapM2: number;
}

export interface AnalyseSummary {
  batch: string;
  runId: number;
  mode: 'stale' | 'all';
  /** Patches in the batch. */
  patches: number;
  analysed: number;
  /** Patches whose responsible unit the analysis changed (largest share). */
  unitsChanged: number;
  byPrejudgement: Record<string, number>;
  layers: { type: LayerType; label: string; version: number; features: number }[];
  missingLayers: AnalysisLayerType[];
  /** Patches with a failed overlay pair (listed in their detail; pre-judged 需核实). */
  withErrors: string[];
  rulePack: { id: string; version: string };
  warnings: string[];
  seconds: number;
}

interface FeatureRow {
  id: number;
  attributes: Record<string, unknown>;
  g: Uint8Array;
  area_m2: number;
}

async function loadIndex(
  db: Queryable,
  geos: Geos,
  layer: LayerRow,
  pack: RulePack,
): Promise<ReferenceIndex> {
  const rows = await db.query<FeatureRow>(
    `SELECT id, attributes, coalesce(geom_repaired, geom) AS g, area_m2 FROM reference_features
     WHERE layer_id = $1 ORDER BY feature_index`,
    [layer.id],
  );
  const features: ReferenceFeature[] = rows.map((r) => ({
    id: r.id,
    geometry: decodeWkb(r.g),
    areaM2: r.area_m2,
    attributes: r.attributes,
  }));
  const licence = LICENCE_TYPES.has(layer.type);
  return buildReferenceIndex(geos, features, {
    name: LAYER_TYPE_LABELS[layer.type],
    coverage: COVERAGE_TYPES.has(layer.type),
    bufferM: licence ? licenceBufferM(pack) : 0,
  });
}

/** Earlier batches' patches of the same kind: the ground's history (one index for the run). */
async function loadHistory(db: Queryable, geos: Geos, batch: BatchRow): Promise<ReferenceIndex | null> {
  const rows = await db.query<{
    id: number;
    jcbh: string;
    slug: string;
    g: Uint8Array;
    geometry_kind: string;
  }>(
    `SELECT p.id, p.jcbh, b.slug, coalesce(p.geom_repaired, p.geom) AS g, p.geometry_kind
     FROM patches p JOIN batches b ON b.id = p.batch_id
     WHERE b.kind = $1 AND (b.year < $2 OR (b.year = $2 AND b.id < $3))
     ORDER BY p.id`,
    [batch.kind, batch.year, batch.id],
  );
  const features: ReferenceFeature[] = [];
  for (const r of rows) {
    if (r.geometry_kind === 'point') continue;
    features.push({ id: r.id, geometry: decodeWkb(r.g), attributes: { batch: r.slug, jcbh: r.jcbh } });
  }
  return features.length > 0
    ? buildReferenceIndex(geos, features, { name: '往期图斑', prepare: 'patch' })
    : null;
}

function historyOf(geos: Geos, geometry: Areal, index: ReferenceIndex, sliverM2: number): HistoryLink[] {
  return withPatch(geos, geometry, (shape) =>
    overlayShape(shape, index, { sliverM2 }).pieces.map((p) => {
      const a = index.attributes[p.index]!;
      return { patchId: Number(p.id), batch: String(a.batch), jcbh: String(a.jcbh), overlapM2: p.areaM2 };
    }),
  );
}

/** The batch's rule pack; a pack file newer than the batch's is used and said (the result records which). */
function packFor(batch: BatchRow, warnings: string[]): RulePack {
  const pack = loadRulePack(batch.rule_pack_id);
  if (pack.version !== batch.rule_pack_version)
    warnings.push(
      `批次创建时的规则包 ${batch.rule_pack_id} 为 ${batch.rule_pack_version} 版，现按 ${pack.version} 版分析`,
    );
  return pack;
}

export async function analyseBatch(db: Db, opts: AnalyseOptions): Promise<AnalyseSummary> {
  const started = Date.now();
  const onProgress = opts.onProgress ?? noProgress;
  const step = opts.onStep ?? (() => undefined);
  const batch = await findBatchBySlug(db, opts.batch);
  if (!batch)
    throw new WeipianError('batch_not_found', `批次不存在：${opts.batch}`, { batch: opts.batch }, 404);
  const warnings: string[] = [];
  const pack = packFor(batch, warnings);
  const mode = opts.all ? 'all' : 'stale';

  const layers = await currentLayers(db);
  const layerIds: LayerIds = {};
  for (const l of layers) layerIds[l.type] = l.id;
  const ids = await patchIdsToAnalyse(db, batch.id, opts.all === true);
  const [{ n: patchCount }] = (await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM patches WHERE batch_id = $1',
    [batch.id],
  )) as [{ n: number }];

  const run = await db.transaction(async (tx) => {
    const live = await liveRun(tx, batch.id);
    if (live)
      throw new WeipianError(
        'analysis_running',
        `批次 ${batch.slug} 的分析正在进行（第 ${live.id} 次，由 ${live.started_by} 于 ${live.started_at.toISOString()} 开始，已完成 ${live.done}/${live.total}），请等待其结束`,
        { runId: live.id },
        409,
      );
    return insertRun(tx, {
      batchId: batch.id,
      mode,
      total: ids.length,
      layerIds,
      rulePackId: pack.id,
      rulePackVersion: pack.version,
      startedBy: opts.actor,
    });
  });

  const summary: AnalyseSummary = {
    batch: batch.slug,
    runId: run.id,
    mode,
    patches: patchCount,
    analysed: 0,
    unitsChanged: 0,
    byPrejudgement: {},
    layers: layers.map((l) => ({
      type: l.type,
      label: LAYER_TYPE_LABELS[l.type],
      version: l.version ?? 0,
      features: l.feature_count,
    })),
    missingLayers: [],
    withErrors: [],
    rulePack: { id: pack.id, version: pack.version },
    warnings,
    seconds: 0,
  };
  const indexes: AnalysisLayers = {};
  let history: ReferenceIndex | null = null;
  try {
    const geos = await initGeos();
    if (ids.length > 0) {
      for (const l of layers) {
        step(`读入${LAYER_TYPE_LABELS[l.type]}（第 ${l.version} 版，${l.feature_count} 个要素）`);
        indexes[l.type] = await loadIndex(db, geos, l, pack);
      }
      history = await loadHistory(db, geos, batch);
    }
    const sliver = pack.prejudgement.sliverToleranceM2;
    onProgress(0, ids.length);
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunkIds = ids.slice(i, i + CHUNK);
      const patches = await db.query<PatchRow & { unit_source: string; geometry_kind: string }>(
        'SELECT * FROM patches WHERE id = ANY($1::int[]) ORDER BY id',
        [chunkIds],
      );
      const results: NewResult[] = [];
      const unitChanges: { patch: (typeof patches)[number]; code: string }[] = [];
      for (const p of patches) {
        const geometry = decodeGeometry(p.geom_repaired ?? p.geom);
        const a = analysePatch({ jcbh: p.jcbh, geometry, hsx: p.hsx }, indexes, pack, { geos });
        const links = history && geometry.type !== 'Point' ? historyOf(geos, geometry, history, sliver) : [];
        // Licences matter to mineral batches only.
        summary.missingLayers = a.detail.missingLayers.filter(
          (m) => batch.kind === 'mineral' || !LICENCE_TYPES.has(m),
        );
        if (a.detail.errors.length > 0) summary.withErrors.push(p.jcbh);
        const pj = String(a.fields.prejudgement);
        summary.byPrejudgement[pj] = (summary.byPrejudgement[pj] ?? 0) + 1;
        results.push({
          patchId: p.id,
          batchId: batch.id,
          runId: run.id,
          layerIds,
          rulePackId: pack.id,
          rulePackVersion: pack.version,
          fields: a.fields,
          detail: { ...a.detail, uncovered: { ...a.detail.uncovered, geometry: undefined }, history: links },
          prejudgement: pj,
        });
        const code = a.fields.unit_code;
        if (typeof code === 'string' && code !== p.unit_code && p.unit_source !== 'reassigned')
          unitChanges.push({ patch: p, code });
      }
      await db.transaction(async (tx) => {
        await upsertResults(tx, results);
        for (const { patch, code } of unitChanges) {
          await tx.query("UPDATE patches SET unit_code = $2, unit_source = 'analysis' WHERE id = $1", [
            patch.id,
            code,
          ]);
          await appendEvent(tx, {
            actor: opts.actor,
            actorRole: opts.actorRole ?? null,
            action: 'patch.unit_assign',
            recordType: 'patch',
            recordId: patch.id,
            reason: '叠加分析：面积占比最大的责任单位',
            before: { unit_code: patch.unit_code, unit_source: patch.unit_source },
            after: { unit_code: code, unit_source: 'analysis', runId: run.id },
          });
        }
        await updateRunProgress(tx, run.id, i + chunkIds.length);
      });
      summary.analysed += results.length;
      summary.unitsChanged += unitChanges.length;
      onProgress(summary.analysed, ids.length);
    }
    summary.seconds = (Date.now() - started) / 1000;
    await db.transaction(async (tx) => {
      await finishRun(tx, run.id, { status: 'done', done: summary.analysed, summary });
      await appendEvent(tx, {
        actor: opts.actor,
        actorRole: opts.actorRole ?? null,
        action: 'analysis.run',
        recordType: 'batch',
        recordId: batch.slug,
        after: { ...summary, withErrors: summary.withErrors.length },
      });
    });
    return summary;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    await finishRun(db, run.id, { status: 'failed', done: summary.analysed, summary, error: message }).catch(
      () => undefined,
    );
    throw e;
  } finally {
    for (const idx of Object.values(indexes)) idx?.dispose();
    history?.dispose();
  }
}
