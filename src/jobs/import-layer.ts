// Import of a reference layer (地类图斑, 耕地, 永久基本农田, approvals, unit boundaries, licences…) as
// the next version of its type. Every invalid polygon is repaired at load: GEOS returns wrong
// intersections on invalid input (BENCH.md), and the overlay will use the repaired copy.
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import {
  copyFeatures,
  discardStagingLayer,
  insertStagingLayer,
  isLayerType,
  publishLayer,
  touchStagingLayer,
  LAYER_TYPES,
  LAYER_TYPE_LABELS,
  type LayerType,
} from '../store/queries/layers.ts';
import { stagingOwner } from './recover.ts';
import { insertImport } from '../store/queries/imports.ts';
import { appendEvent } from '../store/queries/events.ts';
import { upsertUnit, unitKindFromName, type UnitUpsert } from '../store/queries/units.ts';
import { summaryStart, type ReadOptions } from './read-areal.ts';
import { openLayerStream, type LayerStream, type UnitCandidate } from './layer-stream.ts';
import { noProgress, type ProgressFn } from './progress.ts';

export interface ImportLayerOptions extends ReadOptions {
  type: string;
  name?: string;
  actor: string;
  dryRun?: boolean;
  skipRefused?: boolean;
  onProgress?: ProgressFn;
  /**
   * Read in a worker thread (default: on PGlite when the delivery is large, see layer-stream.ts;
   * on PostgreSQL never).
   */
  readInWorker?: boolean;
  /**
   * The delivery already being opened by openLayerImportStream (the CLI starts reading while the
   * database opens). importLayer closes it whatever happens.
   */
  stream?: Promise<LayerStream>;
}

export interface LayerImportSummary {
  type: LayerType;
  typeLabel: string;
  layerId: number | null;
  version: number | null;
  sourceFile: string;
  sourceSha256: string;
  encoding: string;
  encodingSource: string;
  crs: string;
  crsApproximate: boolean;
  read: number;
  imported: number;
  repaired: { index: number; issue: string }[];
  refused: { index: number; reason: string }[];
  units: { code: string; name: string }[];
  totalAreaM2: number;
  dryRun: boolean;
}

/** The heartbeat of a staging layer is refreshed at most this often (stale after 10 min: recover.ts). */
const HEARTBEAT_MS = 5_000;

const UNIT_CODE_FIELDS = ['dwdm', 'xzqdm', 'zjdm', 'code', '单位代码', '行政区代码', '代码'];
const UNIT_NAME_FIELDS = ['dwmc', 'xzqmc', 'zjmc', 'name', '单位名称', '行政区名称', '名称'];

function pick(attrs: Record<string, unknown>, names: string[]): string | null {
  for (const [k, v] of Object.entries(attrs))
    if (names.includes(k.toLowerCase()) && v !== null && v !== undefined && String(v).trim() !== '')
      return String(v).trim();
  return null;
}

/** A unit boundary feature must carry a 9-digit code and a name. */
function unitOf(f: UnitCandidate): { code: string; name: string } {
  const code = pick(f.attributes, UNIT_CODE_FIELDS);
  const name = pick(f.attributes, UNIT_NAME_FIELDS);
  if (!code || !/^[0-9]{9}$/.test(code) || !name)
    throw new WeipianError(
      'unit_fields_missing',
      `第 ${f.index + 1} 个界线要素缺少 9 位单位代码或单位名称（字段名可为 DWDM/XZQDM 与 DWMC/XZQMC）`,
      { index: f.index, attributes: f.attributes },
    );
  return { code, name };
}

/**
 * Opens the delivery as importLayer reads it on `engine`. On PGlite the database runs in the main
 * thread, so a large delivery is read in a worker thread meanwhile; a PostgreSQL server loads each
 * chunk in its own process while the main thread reads the next one, and a worker would only add
 * its start (~0.5 s of loading modules and GEOS again) and a third busy thread (bench/import.ts,
 * README).
 */
export function openLayerImportStream(
  input: string,
  opts: Omit<ImportLayerOptions, 'actor'>,
  engine: Db['engine'],
): Promise<LayerStream> {
  return openLayerStream(input, {
    encoding: opts.encoding,
    crs: opts.crs,
    swapXY: opts.swapXY,
    layer: opts.layer,
    maxUnzippedBytes: opts.maxUnzippedBytes,
    encodeRows: opts.dryRun !== true,
    wantUnits: opts.type === 'unit',
    worker: opts.readInWorker ?? (engine === 'postgres' ? false : undefined),
  });
}

export async function importLayer(
  db: Db,
  input: string,
  opts: ImportLayerOptions,
): Promise<LayerImportSummary> {
  if (!isLayerType(opts.type)) {
    if (opts.stream) await (await opts.stream.catch(() => null))?.close();
    throw new WeipianError(
      'layer_type_unknown',
      `未知的图层类型：${opts.type}（可选：${LAYER_TYPES.join(', ')}）`,
    );
  }
  const type = opts.type;
  const onProgress = opts.onProgress ?? noProgress;
  // Reading, validation and encoding happen in layer-stream.ts; this function only writes the
  // chunks it hands over, and decides.
  const postgres = db.engine === 'postgres';
  const stream = await (opts.stream ?? openLayerImportStream(input, opts, db.engine));
  const src = stream.meta;
  const summary: LayerImportSummary = {
    type,
    typeLabel: LAYER_TYPE_LABELS[type],
    layerId: null,
    version: null,
    ...summaryStart(src, opts.dryRun),
    repaired: [],
    refused: [],
    units: [],
  };
  // Features stream into a staging layer by COPY, one chunk per statement (the server keeps
  // answering between them); publication is one short transaction. Any failure discards the
  // staging layer.
  let staging: { id: number } | null = null;
  // The COPY of the previous chunk may still run while the next chunk is read (one at a time,
  // in order); it is awaited before the next COPY, before publishing and before discarding.
  let loading: Promise<void> | null = null;
  const loaded = async () => {
    const l = loading;
    loading = null;
    await l;
  };
  try {
    staging = opts.dryRun
      ? null
      : await insertStagingLayer(db, {
          type,
          name: opts.name ?? `${LAYER_TYPE_LABELS[type]}（${src.sourceFile}）`,
          sourceFile: src.sourceFile,
          sourceSha256: src.sourceSha256,
          srcCrs: src.crs.code,
          encoding: src.encoding,
          fields: src.fields,
          importedBy: opts.actor,
          owner: stagingOwner(),
        });
    const units: (UnitUpsert & { index: number })[] = [];
    const codes = new Set<string>();
    let beat = Date.now();
    // Each COPY is a round trip that leaves one side waiting for the other. PGlite needs short
    // statements (it answers nothing else meanwhile: 500 rows, the default); a server does not, so
    // there a large layer goes in 20 COPYs (progress still moves in 5 % steps) of up to 10,000
    // rows: 100,000 parcels load ~30 % faster than in 200 (bench/import.ts).
    const sizing = postgres
      ? { chunkRows: Math.min(10_000, Math.max(500, Math.ceil(src.featureCount / 20))), chunkBytes: 4 << 20 }
      : undefined;
    for await (const chunk of stream.chunks(staging?.id ?? 0, sizing)) {
      summary.read = chunk.read;
      summary.imported = chunk.imported;
      summary.totalAreaM2 = chunk.totalAreaM2;
      for (const r of chunk.refused) summary.refused.push(r);
      for (const r of chunk.repaired) summary.repaired.push(r);
      onProgress(summary.read, src.featureCount);
      for (const f of chunk.units) {
        const u = unitOf(f);
        if (codes.has(u.code))
          throw new WeipianError('unit_duplicate', `界线图层中单位代码重复：${u.code}`, { code: u.code });
        codes.add(u.code);
        summary.units.push(u);
        units.push({
          index: f.index,
          code: u.code,
          name: u.name,
          kind: unitKindFromName(u.name),
          boundary: f.boundary,
          areaM2: f.areaM2,
          bbox: f.bbox,
          layerId: null,
        });
      }
      // Once a feature is refused (and refusals are not skipped) the layer will not be
      // published: read on to report every refusal, but write nothing more.
      const doomed = summary.refused.length > 0 && !opts.skipRefused;
      if (staging && chunk.copy && !doomed) {
        await loaded();
        loading = copyFeatures(db, chunk.copy);
        loading.catch(() => undefined); // handled: its error is thrown where it is awaited
      }
      if (staging && Date.now() - beat >= HEARTBEAT_MS) {
        await touchStagingLayer(db, staging.id);
        beat = Date.now();
      }
    }
    await loaded();
    if (summary.refused.length > 0 && !opts.skipRefused) {
      const first = summary.refused[0]!;
      throw new WeipianError(
        'features_refused',
        `${summary.refused.length} 个要素无法导入，图层未导入（第 ${first.index + 1} 个：${first.reason}）；确认后可加 --skip-refused 只导入其余要素`,
        { refused: summary.refused },
      );
    }
    if (summary.imported === 0) throw new WeipianError('no_features', '文件中没有可导入的要素');
    if (!staging) return summary;
    const stagingId = staging.id;
    await db.transaction(async (tx) => {
      const layer = await publishLayer(tx, stagingId, {
        featureCount: summary.imported,
        repairedCount: summary.repaired.length,
        totalAreaM2: summary.totalAreaM2,
      });
      for (const u of units) await upsertUnit(tx, { ...u, layerId: layer.id });
      summary.layerId = layer.id;
      summary.version = layer.version;
      const imp = await insertImport(tx, {
        kind: 'layer',
        batchId: null,
        layerId: layer.id,
        sourceFile: src.sourceFile,
        sourceSha256: src.sourceSha256,
        encoding: src.encoding,
        encodingSource: src.encodingSource,
        srcCrs: src.crs.code,
        options: {
          type,
          crs: opts.crs ?? null,
          encoding: opts.encoding ?? null,
          swapXY: opts.swapXY === true,
        },
        fields: src.fields,
        summary,
        createdBy: opts.actor,
      });
      // One event per import; per-feature repairs and refusals stay in imports.summary.
      await appendEvent(tx, {
        actor: opts.actor,
        action: 'layer.import',
        recordType: 'layer',
        recordId: type,
        after: {
          ...summary,
          importId: imp.id,
          repaired: summary.repaired.length,
          refused: summary.refused.length,
        },
      });
    });
    return summary;
  } catch (e) {
    await loaded().catch(() => undefined);
    const id = staging?.id;
    if (id !== undefined) await db.transaction((tx) => discardStagingLayer(tx, id));
    throw e;
  } finally {
    await stream.close();
  }
}
