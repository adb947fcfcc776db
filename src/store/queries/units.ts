// Query module for responsible units (责任单位): the towns, streets and the development zone.
import type { Queryable } from '../db.ts';

export type UnitKind = 'town' | 'street' | 'zone';

export interface UnitRow {
  id: number;
  code: string;
  name: string;
  kind: UnitKind;
  boundary: Uint8Array | null;
  area_m2: number | null;
  layer_id: number | null;
}

export interface UnitUpsert {
  code: string;
  name: string;
  kind: UnitKind;
  boundary: Uint8Array | null;
  areaM2: number | null;
  bbox: { minx: number; miny: number; maxx: number; maxy: number } | null;
  layerId: number | null;
}

/** A unit's kind from its Chinese name: 街道 → street, 开发区/园区/管委会 → zone, else town. */
export function unitKindFromName(name: string): UnitKind {
  if (name.endsWith('街道') || name.endsWith('街道办事处')) return 'street';
  if (/开发区|园区|管委会|高新区/.test(name)) return 'zone';
  return 'town';
}

export async function upsertUnit(q: Queryable, u: UnitUpsert): Promise<UnitRow> {
  const rows = await q.query<UnitRow>(
    `INSERT INTO responsible_units (code, name, kind, boundary, area_m2, minx, miny, maxx, maxy, layer_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, boundary = EXCLUDED.boundary,
       area_m2 = EXCLUDED.area_m2, minx = EXCLUDED.minx, miny = EXCLUDED.miny, maxx = EXCLUDED.maxx,
       maxy = EXCLUDED.maxy, layer_id = EXCLUDED.layer_id, updated_at = now()
     RETURNING *`,
    [
      u.code,
      u.name,
      u.kind,
      u.boundary,
      u.areaM2,
      u.bbox?.minx ?? null,
      u.bbox?.miny ?? null,
      u.bbox?.maxx ?? null,
      u.bbox?.maxy ?? null,
      u.layerId,
    ],
  );
  return rows[0]!;
}

export async function listUnits(q: Queryable): Promise<UnitRow[]> {
  return q.query<UnitRow>('SELECT * FROM responsible_units ORDER BY code');
}
