// Query module for reference layers (参考图层) and their features. Each import of a type makes a new
// version; the highest version of a type is the one in force.
import type { Queryable } from '../db.ts';
import { insertRows } from '../bulk.ts';

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
  version: number;
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
  featureCount: number;
  repairedCount: number;
  totalAreaM2: number;
  importedBy: string;
}

/** Inserts the next version of a layer type. Call inside the import's transaction. */
export async function insertLayer(q: Queryable, l: NewLayer): Promise<LayerRow> {
  // Serialise concurrent imports of one type so that versions never collide.
  await q.query('SELECT pg_advisory_xact_lock(7421101, $1)', [LAYER_TYPES.indexOf(l.type)]);
  const rows = await q.query<LayerRow>(
    `INSERT INTO reference_layers (type, version, name, source_file, source_sha256, src_crs, encoding, fields,
       feature_count, repaired_count, total_area_m2, imported_by)
     VALUES ($1, (SELECT coalesce(max(version), 0) + 1 FROM reference_layers WHERE type = $1),
       $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [
      l.type,
      l.name,
      l.sourceFile,
      l.sourceSha256,
      l.srcCrs,
      l.encoding,
      JSON.stringify(l.fields),
      l.featureCount,
      l.repairedCount,
      l.totalAreaM2,
      l.importedBy,
    ],
  );
  return rows[0]!;
}

export interface NewFeature {
  featureIndex: number;
  attributesJson: string;
  geom: Uint8Array;
  geomRepaired: Uint8Array | null;
  validityIssue: string | null;
  areaM2: number;
  bbox: { minx: number; miny: number; maxx: number; maxy: number };
}

export async function insertFeatures(q: Queryable, layerId: number, features: NewFeature[]): Promise<void> {
  await insertRows(
    q,
    'reference_features',
    [
      'layer_id',
      'feature_index',
      'attributes',
      'geom',
      'geom_repaired',
      'validity_issue',
      'area_m2',
      'minx',
      'miny',
      'maxx',
      'maxy',
    ],
    features.map((f) => [
      layerId,
      f.featureIndex,
      f.attributesJson,
      f.geom,
      f.geomRepaired,
      f.validityIssue,
      f.areaM2,
      f.bbox.minx,
      f.bbox.miny,
      f.bbox.maxx,
      f.bbox.maxy,
    ]),
  );
}

/** The layers in force: the latest version of each type. */
export async function currentLayers(q: Queryable): Promise<LayerRow[]> {
  return q.query<LayerRow>(`SELECT DISTINCT ON (type) * FROM reference_layers ORDER BY type, version DESC`);
}

export async function listLayers(q: Queryable): Promise<LayerRow[]> {
  return q.query<LayerRow>('SELECT * FROM reference_layers ORDER BY type, version');
}

export async function countFeatures(q: Queryable, layerId: number): Promise<number> {
  const rows = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM reference_features WHERE layer_id = $1',
    [layerId],
  );
  return rows[0]!.n;
}
