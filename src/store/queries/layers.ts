// Query module for reference layers (参考图层) and their features. Each import of a type makes a new
// version; the highest version of a type is the one in force.
import type { Queryable } from '../db.ts';
import { copyRows, type CopyColumn } from '../bulk.ts';
import { markStaleForLayer } from './analysis.ts';

export const LAYER_TYPES = [
  'land-use',
  'farmland',
  'basic-farmland',
  'planning',
  'approval',
  'expropriation',
  'supply',
  'linkage',
  'facility',
  'temporary',
  'unit',
  'mining-right',
  'exploration-right',
] as const;
export type LayerType = (typeof LAYER_TYPES)[number];

/** Chinese names of the layer types, for messages and the UI. */
export const LAYER_TYPE_LABELS: Record<LayerType, string> = {
  'land-use': '地类图斑',
  farmland: '耕地',
  'basic-farmland': '永久基本农田',
  planning: '土地利用总体规划分区',
  approval: '农用地转用批准范围',
  expropriation: '土地征收范围',
  supply: '供地',
  linkage: '增减挂钩',
  facility: '设施农用地',
  temporary: '临时用地',
  unit: '镇街/责任单位界线',
  'mining-right': '采矿权',
  'exploration-right': '探矿权',
};

export function isLayerType(t: string): t is LayerType {
  return (LAYER_TYPES as readonly string[]).includes(t);
}

export interface LayerRow {
  id: number;
  type: LayerType;
  /** Null while staging; numbered per type when published. */
  version: number | null;
  status: 'staging' | 'published';
  name: string;
  source_file: string;
  source_sha256: string;
  src_crs: string;
  encoding: string | null;
  fields: unknown;
  feature_count: number;
  repaired_count: number;
  total_area_m2: number;
  imported_at: Date;
  imported_by: string;
}

export interface NewLayer {
  type: LayerType;
  name: string;
  sourceFile: string;
  sourceSha256: string;
  srcCrs: string;
  encoding: string | null;
  fields: unknown;
  importedBy: string;
  /** host:pid of the importing process, so a crashed import's leftovers can be recognised. */
  owner: string;
}

/** Starts a staging layer: invisible to every query until published. */
export async function insertStagingLayer(q: Queryable, l: NewLayer): Promise<LayerRow> {
  const rows = await q.query<LayerRow>(
    `INSERT INTO reference_layers (type, version, status, name, source_file, source_sha256, src_crs, encoding, fields,
       feature_count, repaired_count, total_area_m2, imported_by, owner, heartbeat_at)
     VALUES ($1, NULL, 'staging', $2, $3, $4, $5, $6, $7, 0, 0, 0, $8, $9, now()) RETURNING *`,
    [
      l.type,
      l.name,
      l.sourceFile,
      l.sourceSha256,
      l.srcCrs,
      l.encoding,
      JSON.stringify(l.fields),
      l.importedBy,
      l.owner,
    ],
  );
  return rows[0]!;
}

export async function touchStagingLayer(q: Queryable, layerId: number): Promise<void> {
  await q.query("UPDATE reference_layers SET heartbeat_at = now() WHERE id = $1 AND status = 'staging'", [
    layerId,
  ]);
}

/**
 * Publishes a staging layer as the next version of its type and marks stale the analysis results
 * it may change. Call inside the publish transaction.
 */
export async function publishLayer(
  q: Queryable,
  layerId: number,
  totals: { featureCount: number; repairedCount: number; totalAreaM2: number },
): Promise<LayerRow & { staleMarked: number }> {
  const [staged] = await q.query<LayerRow>('SELECT * FROM reference_layers WHERE id = $1', [layerId]);
  if (!staged || staged.status !== 'staging') throw new Error(`layer ${layerId} is not staging`);
  // Serialise publications of one type so that versions never collide.
  await q.query('SELECT pg_advisory_xact_lock(7421101, $1)', [LAYER_TYPES.indexOf(staged.type)]);
  const rows = await q.query<LayerRow>(
    `UPDATE reference_layers SET status = 'published', owner = NULL, heartbeat_at = NULL,
       version = (SELECT coalesce(max(version), 0) + 1 FROM reference_layers WHERE type = $2),
       feature_count = $3, repaired_count = $4, total_area_m2 = $5, imported_at = now()
     WHERE id = $1 RETURNING *`,
    [layerId, staged.type, totals.featureCount, totals.repairedCount, totals.totalAreaM2],
  );
  // The analysis results this version may change are stale from the same instant it is in force.
  const staleMarked = await markStaleForLayer(q, rows[0]!);
  return { ...rows[0]!, staleMarked };
}

/** Removes a staging layer and its features (a failed import, or one whose process died). */
export async function discardStagingLayer(q: Queryable, layerId: number): Promise<void> {
  await q.query(
    `DELETE FROM reference_features WHERE layer_id = $1
       AND EXISTS (SELECT 1 FROM reference_layers WHERE id = $1 AND status = 'staging')`,
    [layerId],
  );
  await q.query("DELETE FROM reference_layers WHERE id = $1 AND status = 'staging'", [layerId]);
}

export async function stagingLayers(
  q: Queryable,
): Promise<(LayerRow & { owner: string; heartbeat_at: Date })[]> {
  return q.query("SELECT * FROM reference_layers WHERE status = 'staging' ORDER BY id");
}

/** reference_features as loaded by COPY (store/bulk.ts): the import writes rows in this order. */
export const FEATURE_COPY_COLUMNS: readonly CopyColumn[] = [
  { name: 'layer_id', type: 'int4' },
  { name: 'feature_index', type: 'int4' },
  { name: 'attributes', type: 'json' },
  { name: 'geom', type: 'bytea' },
  { name: 'geom_repaired', type: 'bytea' },
  { name: 'validity_issue', type: 'text' },
  { name: 'area_m2', type: 'float8' },
  { name: 'minx', type: 'float8' },
  { name: 'miny', type: 'float8' },
  { name: 'maxx', type: 'float8' },
  { name: 'maxy', type: 'float8' },
];

/**
 * Loads binary COPY rows written in FEATURE_COPY_COLUMNS order (jobs/layer-stream.ts) into a
 * layer the caller created and holds (a staging layer, or one inserted in the same transaction):
 * the rows' layer exists, so PGlite may skip the foreign-key check of every row (db.ts CopyOptions).
 */
export async function copyFeatures(q: Queryable, data: Uint8Array): Promise<void> {
  await copyRows(q, 'reference_features', FEATURE_COPY_COLUMNS, data, { referencesKnown: true });
}

/** The layers in force: the latest version of each type. */
export async function currentLayers(q: Queryable): Promise<LayerRow[]> {
  return q.query<LayerRow>(
    `SELECT DISTINCT ON (type) * FROM reference_layers WHERE status = 'published' ORDER BY type, version DESC`,
  );
}

export async function listLayers(q: Queryable): Promise<LayerRow[]> {
  return q.query<LayerRow>(
    "SELECT * FROM reference_layers WHERE status = 'published' ORDER BY type, version",
  );
}

export async function countFeatures(q: Queryable, layerId: number): Promise<number> {
  const rows = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM reference_features WHERE layer_id = $1',
    [layerId],
  );
  return rows[0]!.n;
}
