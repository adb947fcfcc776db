// Import of a patch delivery (图斑) into a batch: read, map the Ministry's fields, repair invalid
// polygons into their own column, refuse duplicates, and write everything in one transaction —
// either the whole delivery is stored or nothing is.
import { readFile } from 'node:fs/promises';
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import { resolveMapping, mapAttributes } from '../domain/mapping.ts';
import { findBatchBySlug } from '../store/queries/batches.ts';
import { insertImport } from '../store/queries/imports.ts';
import { appendEvent } from '../store/queries/events.ts';
import { existingJcbh, insertPatches, type NewPatch, type PatchSource } from '../store/queries/patches.ts';
import { attributesToJson } from '../formats/attributes.ts';
import { encodeWkb } from '../geo/wkb.ts';
import { muToM2 } from '../geo/units.ts';
import { openArealSource, isRefused, isPointFeature, summaryStart, type ReadOptions } from './read-areal.ts';
import { noProgress, type ProgressFn } from './progress.ts';

export const PATCH_SOURCES: Record<string, PatchSource> = {
  satellite: 'satellite',
  卫片: 'satellite',
  routine_inspection: 'routine_inspection',
  例行督察: 'routine_inspection',
  patrol: 'patrol',
  巡查: 'patrol',
  report: 'report',
  举报: 'report',
};

export interface ImportPatchesOptions extends ReadOptions {
  batch: string;
  /** User mapping: a JSON file path or an object { coreFieldId: attributeName }. */
  mapping?: string | Record<string, string>;
  areaUnit: 'm2' | 'mu';
  source: string;
  actor: string;
  /** Read and check everything, write nothing. */
  dryRun?: boolean;
  /** Store the good features even when some are refused (default: refuse the whole file). */
  skipRefused?: boolean;
  onProgress?: ProgressFn;
}

export interface ImportSummary {
  batch: string;
  importId: number | null;
  sourceFile: string;
  sourceSha256: string;
  encoding: string;
  encodingSource: string;
  crs: string;
  crsApproximate: boolean;
  read: number;
  imported: number;
  repaired: { index: number; jcbh: string; issue: string }[];
  refused: { index: number; jcbh: string | null; reason: string }[];
  unmappedFields: string[];
  totalAreaM2: number;
  dryRun: boolean;
  /** Delivery format read: 'shapefile', 'geopackage', 'filegdb', 'geojson', 'kml', 'xlsx', 'csv'. */
  format: string;
  /** Layer, sheet or KML folder read, when the format has several. */
  layer: string | null;
  /** Patches stored as centre points (a table without boundaries): their area is the delivered 监测面积. */
  points: number;
  /** Assumptions made while reading (CRS by convention, axis order chosen …). */
  notes: string[];
}

async function loadUserMapping(
  m: ImportPatchesOptions['mapping'],
): Promise<Record<string, string> | undefined> {
  if (m === undefined || typeof m === 'object') return m;
  let text: string;
  try {
    text = await readFile(m, 'utf8');
  } catch {
    throw new WeipianError('mapping_unreadable', `无法读取字段映射文件：${m}`, { path: m });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, string>;
  } catch (e) {
    throw new WeipianError('mapping_invalid', `字段映射文件不是有效的 JSON 对象：${m}`, {
      path: m,
      error: String(e),
    });
  }
}

function toM2(value: number | null | undefined, unit: 'm2' | 'mu'): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  return unit === 'mu' ? muToM2(value) : value;
}

export async function importPatches(
  db: Db,
  input: string,
  opts: ImportPatchesOptions,
): Promise<ImportSummary> {
  const onProgress = opts.onProgress ?? noProgress;
  const source = PATCH_SOURCES[opts.source];
  if (!source)
    throw new WeipianError(
      'source_unknown',
      `未知的图斑来源：${opts.source}（可选：卫片、例行督察、巡查、举报）`,
    );
  const batch = await findBatchBySlug(db, opts.batch);
  if (!batch)
    throw new WeipianError('batch_not_found', `批次不存在：${opts.batch}`, { batch: opts.batch }, 404);
  const userMapping = await loadUserMapping(opts.mapping);

  const src = await openArealSource(input, opts, { points: true });
  try {
    const { map, unmapped } = resolveMapping(
      src.fields.map((f) => f.name),
      userMapping,
    );
    const rows: Omit<NewPatch, 'importId'>[] = [];
    const summary: ImportSummary = {
      batch: batch.slug,
      importId: null,
      ...summaryStart(src, opts.dryRun),
      repaired: [],
      refused: [],
      unmappedFields: unmapped,
      format: src.format,
      layer: src.layer,
      points: 0,
      notes: src.notes,
    };
    const pointIndexes: number[] = [];
    const seen = new Map<string, number>();
    const duplicates = new Set<string>();
    for await (const f of src.features()) {
      summary.read++;
      onProgress(summary.read, src.featureCount);
      const core = mapAttributes(f.attributes, map);
      const jcbh = core.jcbh ?? null;
      if (isRefused(f)) {
        summary.refused.push({ index: f.index, jcbh, reason: f.reason });
        continue;
      }
      if (!jcbh) {
        summary.refused.push({ index: f.index, jcbh: null, reason: '监测编号为空' });
        continue;
      }
      if (seen.has(jcbh)) duplicates.add(jcbh);
      seen.set(jcbh, f.index);
      // A centre-only patch has no polygon to measure: its area is the delivered 监测面积.
      const point = isPointFeature(f);
      const areaM2 = point ? toM2(core.jcmj, opts.areaUnit) : f.areaM2;
      if (areaM2 === null || !(areaM2 > 0)) {
        summary.refused.push({
          index: f.index,
          jcbh,
          reason: '只有中心点坐标的图斑缺少监测面积（或不大于 0），无法确定面积',
        });
        continue;
      }
      if (point) pointIndexes.push(f.index);
      else if (f.repaired) summary.repaired.push({ index: f.index, jcbh, issue: f.validityIssue ?? '' });
      summary.totalAreaM2 += areaM2;
      rows.push({
        batchId: batch.id,
        featureIndex: f.index,
        source,
        jcbh,
        xzqdm: core.xzqdm ?? null,
        tblx: core.tblx ?? null,
        jcmjM2: toM2(core.jcmj, opts.areaUnit),
        gdmjM2: toM2(core.gdmj, opts.areaUnit),
        areaUnit: opts.areaUnit,
        qsx: core.qsx ?? null,
        hsx: core.hsx ?? null,
        centerX: core.zxdx ?? null,
        centerY: core.zxdy ?? null,
        bz: core.bz ?? null,
        attributesJson: attributesToJson(f.attributes),
        srcCrs: src.crs.code,
        geomSource: encodeWkb(f.geomSource),
        geom: encodeWkb(f.geom),
        geomRepaired: !point && f.repaired ? encodeWkb(f.repaired) : null,
        validityIssue: point ? null : f.validityIssue,
        areaM2,
        bbox: f.bbox,
      });
    }
    if (duplicates.size > 0) {
      const ids = [...duplicates].sort();
      throw new WeipianError(
        'duplicate_jcbh',
        `文件中监测编号重复，整批未导入：${ids.slice(0, 10).join('、')}${ids.length > 10 ? ` 等 ${ids.length} 个` : ''}`,
        { jcbh: ids },
      );
    }
    if (summary.refused.length > 0 && !opts.skipRefused) {
      const first = summary.refused[0]!;
      throw new WeipianError(
        'features_refused',
        `${summary.refused.length} 个要素无法导入，整批未导入（第 ${first.index + 1} 个：${first.reason}）；确认后可加 --skip-refused 只导入其余要素`,
        { refused: summary.refused },
      );
    }
    if (rows.length === 0)
      throw new WeipianError('no_features', '文件中没有可导入的图斑', { file: src.sourceFile });
    summary.imported = rows.length;
    summary.points = pointIndexes.length;
    if (opts.dryRun) return summary;

    await db.transaction(async (tx) => {
      const clash = await existingJcbh(
        tx,
        batch.id,
        rows.map((r) => r.jcbh),
      );
      if (clash.length > 0)
        throw new WeipianError(
          'duplicate_jcbh',
          `批次 ${batch.slug} 中已有这些监测编号，整批未导入：${clash.slice(0, 10).join('、')}${clash.length > 10 ? ` 等 ${clash.length} 个` : ''}`,
          { jcbh: clash },
        );
      const imp = await insertImport(tx, {
        kind: 'patches',
        batchId: batch.id,
        layerId: null,
        sourceFile: src.sourceFile,
        sourceSha256: src.sourceSha256,
        encoding: src.encoding,
        encodingSource: src.encodingSource,
        srcCrs: src.crs.code,
        options: {
          crs: opts.crs ?? null,
          encoding: opts.encoding ?? null,
          swapXY: opts.swapXY === true,
          layer: opts.layer ?? null,
          areaUnit: opts.areaUnit,
          source,
          mapping: map,
        },
        fields: src.fields,
        summary: { ...summary, importId: undefined },
        createdBy: opts.actor,
      });
      summary.importId = imp.id;
      await insertPatches(
        tx,
        rows.map((r) => ({ ...r, importId: imp.id })),
      );
      if (pointIndexes.length > 0)
        await tx.query(
          "UPDATE patches SET geometry_kind = 'point' WHERE import_id = $1 AND feature_index = ANY($2::int[])",
          [imp.id, pointIndexes],
        );
      // One event per import; per-feature repairs and refusals stay in imports.summary.
      await appendEvent(tx, {
        actor: opts.actor,
        action: 'import.patches',
        recordType: 'batch',
        recordId: batch.slug,
        after: { ...summary, repaired: summary.repaired.length, refused: summary.refused.length },
      });
    });
    return summary;
  } finally {
    await src.close();
  }
}
