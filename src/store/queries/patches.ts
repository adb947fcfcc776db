// Query module for patches (图斑): delivered attributes and geometry kept verbatim, the mapped core
// fields beside them.
import type { Queryable } from '../db.ts';
import { insertRows } from '../bulk.ts';

export type PatchSource = 'satellite' | 'routine_inspection' | 'patrol' | 'report';

export interface NewPatch {
  batchId: number;
  importId: number;
  featureIndex: number;
  source: PatchSource;
  jcbh: string;
  xzqdm: string | null;
  tblx: string | null;
  jcmjM2: number | null;
  gdmjM2: number | null;
  areaUnit: 'm2' | 'mu';
  qsx: string | null;
  hsx: string | null;
  centerX: number | null;
  centerY: number | null;
  bz: string | null;
  /** Delivered attributes, JSON text so that the delivered field order survives. */
  attributesJson: string;
  srcCrs: string;
  geomSource: Uint8Array;
  geom: Uint8Array;
  geomRepaired: Uint8Array | null;
  validityIssue: string | null;
  areaM2: number;
  bbox: { minx: number; miny: number; maxx: number; maxy: number };
}

/** The responsible unit from a delivered 行政区代码: its first 9 digits (county + town). */
export function unitCodeFromXzqdm(xzqdm: string | null): string | null {
  return xzqdm && /^[0-9]{9}([0-9]{3})?$/.test(xzqdm) ? xzqdm.slice(0, 9) : null;
}

const COLUMNS = [
  'unit_code',
  'batch_id',
  'import_id',
  'feature_index',
  'source',
  'jcbh',
  'xzqdm',
  'tblx',
  'jcmj_m2',
  'gdmj_m2',
  'area_unit',
  'qsx',
  'hsx',
  'center_x',
  'center_y',
  'bz',
  'attributes',
  'src_crs',
  'geom_source',
  'geom',
  'geom_repaired',
  'validity_issue',
  'area_m2',
  'minx',
  'miny',
  'maxx',
  'maxy',
];

function values(p: NewPatch): unknown[] {
  return [
    unitCodeFromXzqdm(p.xzqdm),
    p.batchId,
    p.importId,
    p.featureIndex,
    p.source,
    p.jcbh,
    p.xzqdm,
    p.tblx,
    p.jcmjM2,
    p.gdmjM2,
    p.areaUnit,
    p.qsx,
    p.hsx,
    p.centerX,
    p.centerY,
    p.bz,
    p.attributesJson,
    p.srcCrs,
    p.geomSource,
    p.geom,
    p.geomRepaired,
    p.validityIssue,
    p.areaM2,
    p.bbox.minx,
    p.bbox.miny,
    p.bbox.maxx,
    p.bbox.maxy,
  ];
}

/** Inserts many patches with multi-row INSERTs (far fewer round trips than one per row). */
export async function insertPatches(q: Queryable, patches: NewPatch[]): Promise<void> {
  await insertRows(q, 'patches', COLUMNS, patches.map(values));
}

export interface PatchRow {
  id: number;
  batch_id: number;
  import_id: number | null;
  feature_index: number | null;
  source: PatchSource;
  jcbh: string;
  /** Responsible unit (责任单位) code; what town isolation turns on. */
  unit_code: string | null;
  xzqdm: string | null;
  tblx: string | null;
  jcmj_m2: number | null;
  gdmj_m2: number | null;
  area_unit: 'm2' | 'mu';
  qsx: string | null;
  hsx: string | null;
  center_x: number | null;
  center_y: number | null;
  bz: string | null;
  attributes: Record<string, unknown>;
  src_crs: string;
  geom_source: Uint8Array;
  geom: Uint8Array;
  geom_repaired: Uint8Array | null;
  validity_issue: string | null;
  area_m2: number;
  minx: number;
  miny: number;
  maxx: number;
  maxy: number;
  created_at: Date;
  /** Who set unit_code: the delivery, the analysis (largest share) or the bureau. */
  unit_source: 'delivered' | 'analysis' | 'reassigned';
  /** Name of the responsible unit (responsible_units), null when the unit is not registered. */
  unit_name: string | null;
  /** The analysis contract fields (OUTPUT_FIELD_IDS); null until the patch is analysed. */
  analysis: Record<string, string | number | null> | null;
  /** The analysis result is stale (a layer it used has a newer version); null when not analysed. */
  analysis_stale: boolean | null;
  /** Workflow state (domain/workflow.ts), verdict and sub-type of the patch's most severe part. */
  workflow_state: string | null;
  verdict: string | null;
  verdict_subtype: string | null;
}

// A patch with its analysis fields when it has been analysed (listPatches, findPatch).
// The verdict of a split patch is its most severe part's (the largest such part's sub-type).
const SELECT_WITH_ANALYSIS = `SELECT p.*, ru.name AS unit_name, r.fields AS analysis, r.stale AS analysis_stale,
    w.state AS workflow_state, v.verdict, v.subtype AS verdict_subtype
  FROM patches p LEFT JOIN analysis_results r ON r.patch_id = p.id
  LEFT JOIN responsible_units ru ON ru.code = p.unit_code
  LEFT JOIN patch_workflow w ON w.patch_id = p.id
  LEFT JOIN LATERAL (
    SELECT pp.verdict, pp.subtype FROM patch_parts pp WHERE pp.patch_id = p.id AND pp.retired_at IS NULL
    ORDER BY CASE pp.verdict WHEN 'illegal' THEN 0 WHEN 'other' THEN 1 WHEN 'legal' THEN 2 ELSE 3 END, pp.area_m2 DESC
    LIMIT 1) v ON true`;

export async function existingJcbh(q: Queryable, batchId: number, jcbhs: string[]): Promise<string[]> {
  const rows = await q.query<{ jcbh: string }>(
    'SELECT jcbh FROM patches WHERE batch_id = $1 AND jcbh = ANY($2::text[]) ORDER BY jcbh',
    [batchId, jcbhs],
  );
  return rows.map((r) => r.jcbh);
}

export interface PatchFilter {
  batchId: number;
  /** Only this unit's patches (unit officers); undefined = all. */
  unitCode?: string | null;
  /** 监测编号 search: patches whose number starts with this. */
  jcbhPrefix?: string;
  bbox?: { minx: number; miny: number; maxx: number; maxy: number };
  limit?: number;
  offset?: number;
}

export async function listPatches(q: Queryable, f: PatchFilter): Promise<PatchRow[]> {
  const params: unknown[] = [f.batchId];
  let where = 'p.batch_id = $1';
  if (f.unitCode !== undefined) {
    params.push(f.unitCode);
    where += ` AND p.unit_code IS NOT DISTINCT FROM $${params.length}`;
  }
  if (f.jcbhPrefix !== undefined) {
    params.push(`${f.jcbhPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where += ` AND p.jcbh LIKE $${params.length}`;
  }
  if (f.bbox) {
    params.push(f.bbox.minx, f.bbox.miny, f.bbox.maxx, f.bbox.maxy);
    const n = params.length;
    where += ` AND box(point(p.minx, p.miny), point(p.maxx, p.maxy)) && box(point($${n - 3}, $${n - 2}), point($${n - 1}, $${n}))`;
  }
  let tail = ' ORDER BY p.jcbh';
  if (f.limit !== undefined) {
    params.push(f.limit);
    tail += ` LIMIT $${params.length}`;
  }
  if (f.offset !== undefined) {
    params.push(f.offset);
    tail += ` OFFSET $${params.length}`;
  }
  return q.query<PatchRow>(`${SELECT_WITH_ANALYSIS} WHERE ${where}${tail}`, params);
}

export async function findPatch(q: Queryable, id: number): Promise<PatchRow | undefined> {
  return (await q.query<PatchRow>(`${SELECT_WITH_ANALYSIS} WHERE p.id = $1`, [id]))[0];
}

export async function countPatches(q: Queryable, batchId: number): Promise<number> {
  const rows = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM patches WHERE batch_id = $1', [
    batchId,
  ]);
  return rows[0]!.n;
}
