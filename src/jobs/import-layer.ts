// Import of a reference layer (地类图斑, 耕地, 永久基本农田, approvals, unit boundaries, licences…) as
// the next version of its type. Every invalid polygon is repaired at load: GEOS returns wrong
// intersections on invalid input (BENCH.md), and the overlay will use the repaired copy.
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import {
  discardStagingLayer,
  insertFeatures,
  insertStagingLayer,
  isLayerType,
  publishLayer,
  touchStagingLayer,
  LAYER_TYPES,
  LAYER_TYPE_LABELS,
  type LayerType,
  type NewFeature,
} from '../store/queries/layers.ts';
import { stagingOwner } from './recover.ts';
import { insertImport } from '../store/queries/imports.ts';
import { appendEvent } from '../store/queries/events.ts';
import { upsertUnit, unitKindFromName, type UnitUpsert } from '../store/queries/units.ts';
import { attributesToJson } from '../formats/attributes.ts';
import { encodeWkb } from '../geo/wkb.ts';
import {
  openArealSource,
  isRefused,
  summaryStart,
  type ArealFeature,
  type ReadOptions,
} from './read-areal.ts';
import { noProgress, type ProgressFn } from './progress.ts';

export interface ImportLayerOptions extends ReadOptions {
  type: string;
  name?: string;
  actor: string;
  dryRun?: boolean;
  skipRefused?: boolean;
  onProgress?: ProgressFn;
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

const CHUNK = 250;
const YIELD_EVERY = 100;

const UNIT_CODE_FIELDS = ['dwdm', 'xzqdm', 'zjdm', 'code', '单位代码', '行政区代码', '代码'];
const UNIT_NAME_FIELDS = ['dwmc', 'xzqmc', 'zjmc', 'name', '单位名称', '行政区名称', '名称'];

function pick(attrs: Record<string, unknown>, names: string[]): string | null {
  for (const [k, v] of Object.entries(attrs))
    if (names.includes(k.toLowerCase()) && v !== null && v !== undefined && String(v).trim() !== '')
      return String(v).trim();
  return null;
}

/** A unit boundary feature must carry a 9-digit code and a name. */
function unitOf(f: ArealFeature): { code: string; name: string } {
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

function toRow(f: ArealFeature): NewFeature {
  return {
    featureIndex: f.index,
    attributesJson: attributesToJson(f.attributes),
    geom: encodeWkb(f.geom),
    geomRepaired: f.repaired ? encodeWkb(f.repaired) : null,
    validityIssue: f.validityIssue,
    areaM2: f.areaM2,
    bbox: f.bbox,
  };
}

/** Lets the event loop run (HTTP requests, health checks) during long CPU-bound reading. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function importLayer(
  db: Db,
  input: string,
  opts: ImportLayerOptions,
): Promise<LayerImportSummary> {
  if (!isLayerType(opts.type))
    throw new WeipianError(
      'layer_type_unknown',
      `未知的图层类型：${opts.type}（可选：${LAYER_TYPES.join(', ')}）`,
    );
  const type = opts.type;
  const onProgress = opts.onProgress ?? noProgress;
  const src = await openArealSource(input, opts);
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
  // Features stream into a staging layer in short transactions (the server keeps answering);
  // publication is one short transaction. Any failure discards the staging layer.
  const staging = opts.dryRun
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
  try {
    const units: (UnitUpsert & { index: number })[] = [];
    const codes = new Set<string>();
    let chunk: NewFeature[] = [];
    const flush = async () => {
      if (staging && chunk.length > 0) {
        const rows = chunk;
        await db.transaction(async (tx) => {
          await insertFeatures(tx, staging.id, rows);
          await touchStagingLayer(tx, staging.id);
        });
      }
      chunk = [];
    };
    for await (const f of src.features()) {
      summary.read++;
      onProgress(summary.read, src.featureCount);
      if (summary.read % YIELD_EVERY === 0) await yieldToEventLoop();
      if (isRefused(f)) {
        summary.refused.push({ index: f.index, reason: f.reason });
        continue;
      }
      if (f.repaired) summary.repaired.push({ index: f.index, issue: f.validityIssue ?? '' });
      summary.totalAreaM2 += f.areaM2;
      summary.imported++;
      if (type === 'unit') {
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
          boundary: encodeWkb(f.repaired ?? f.geom),
          areaM2: f.areaM2,
          bbox: f.bbox,
          layerId: null,
        });
      }
      chunk.push(toRow(f));
      if (chunk.length >= CHUNK) await flush();
    }
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
    await flush();
    await db.transaction(async (tx) => {
      const layer = await publishLayer(tx, staging.id, {
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
    if (staging) await db.transaction((tx) => discardStagingLayer(tx, staging.id));
    throw e;
  } finally {
    await src.close();
  }
}
