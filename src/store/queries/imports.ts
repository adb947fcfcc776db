// Query module for import runs: who imported which file (by SHA-256), how it was read, and what came
// of it, so that every stored patch and feature traces back to its delivery.
import type { Queryable } from '../db.ts';

export interface NewImport {
  kind: 'patches' | 'layer';
  batchId: number | null;
  layerId: number | null;
  sourceFile: string;
  sourceSha256: string;
  encoding: string | null;
  encodingSource: string | null;
  srcCrs: string;
  options: unknown;
  fields: unknown;
  summary: unknown;
  createdBy: string;
}

export interface ImportRow {
  id: number;
  kind: 'patches' | 'layer';
  batch_id: number | null;
  layer_id: number | null;
  source_file: string;
  source_sha256: string;
  encoding: string | null;
  encoding_source: string | null;
  src_crs: string;
  options: unknown;
  fields: unknown;
  summary: unknown;
  created_at: Date;
  created_by: string;
}

export async function insertImport(q: Queryable, i: NewImport): Promise<ImportRow> {
  const rows = await q.query<ImportRow>(
    `INSERT INTO imports (kind, batch_id, layer_id, source_file, source_sha256, encoding, encoding_source,
       src_crs, options, fields, summary, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
    [
      i.kind,
      i.batchId,
      i.layerId,
      i.sourceFile,
      i.sourceSha256,
      i.encoding,
      i.encodingSource,
      i.srcCrs,
      JSON.stringify(i.options),
      JSON.stringify(i.fields),
      JSON.stringify(i.summary),
      i.createdBy,
    ],
  );
  return rows[0]!;
}

export async function listImports(q: Queryable, batchId?: number): Promise<ImportRow[]> {
  return batchId === undefined
    ? q.query<ImportRow>('SELECT * FROM imports ORDER BY id')
    : q.query<ImportRow>('SELECT * FROM imports WHERE batch_id = $1 ORDER BY id', [batchId]);
}
