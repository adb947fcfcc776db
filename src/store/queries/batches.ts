// Query module for batches (批次): one Ministry delivery, with its rule pack and milestones.
import type { Queryable } from '../db.ts';

export interface BatchRow {
  id: number;
  slug: string;
  name: string;
  kind: 'land' | 'mineral';
  year: number;
  period: 'annual' | 'quarterly' | 'monthly';
  rule_pack_id: string;
  rule_pack_version: string;
  rule_pack_digest: string;
  milestones: unknown;
  created_at: Date;
  created_by: string;
}

export interface NewBatch {
  slug: string;
  name: string;
  kind: 'land' | 'mineral';
  year: number;
  period: 'annual' | 'quarterly' | 'monthly';
  rulePackId: string;
  rulePackVersion: string;
  rulePackDigest: string;
  milestones: unknown;
  createdBy: string;
}

export async function insertBatch(q: Queryable, b: NewBatch): Promise<BatchRow> {
  const rows = await q.query<BatchRow>(
    `INSERT INTO batches (slug, name, kind, year, period, rule_pack_id, rule_pack_version, rule_pack_digest,
       milestones, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [
      b.slug,
      b.name,
      b.kind,
      b.year,
      b.period,
      b.rulePackId,
      b.rulePackVersion,
      b.rulePackDigest,
      JSON.stringify(b.milestones),
      b.createdBy,
    ],
  );
  return rows[0]!;
}

export async function findBatchBySlug(q: Queryable, slug: string): Promise<BatchRow | undefined> {
  return (await q.query<BatchRow>('SELECT * FROM batches WHERE slug = $1', [slug]))[0];
}

export interface BatchListRow extends BatchRow {
  patch_count: number;
  total_area_m2: number;
}

/** Batches with their patch counts and areas — only one unit's patches when unitCode is given. */
export async function listBatches(q: Queryable, unitCode?: string | null): Promise<BatchListRow[]> {
  const scoped = unitCode !== undefined && unitCode !== null;
  return q.query<BatchListRow>(
    `SELECT b.*, count(p.id)::int AS patch_count, coalesce(sum(p.area_m2), 0)::float8 AS total_area_m2
     FROM batches b LEFT JOIN patches p ON p.batch_id = b.id ${scoped ? 'AND p.unit_code = $1' : ''}
     GROUP BY b.id ORDER BY b.year DESC, b.slug`,
    scoped ? [unitCode] : [],
  );
}
