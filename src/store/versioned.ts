// Optimistic concurrency: every editable row carries `version`; a writer names the version it read
// and the update only happens if the row is still at that version. Two people editing the same
// record therefore never silently overwrite each other — the later one gets a 409 with the current
// row and decides again.
import type { Queryable } from './db.ts';
import { WeipianError } from '../domain/errors.ts';

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`updateVersioned: not a plain identifier: ${name}`);
  return `"${name}"`;
}

/** Plain objects and arrays go to json/jsonb columns as JSON text (drivers would send arrays as PG arrays). */
function param(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date || v instanceof Uint8Array) return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

/**
 * UPDATE table SET changes…, version = version + 1 WHERE id = $id AND version = $expected, returning
 * the new row. When no row matched: 404 `record_not_found` if the row is gone, otherwise 409
 * `version_conflict` with details { currentVersion, current }. Table and column names come from
 * code, never from requests (they are checked to be plain identifiers).
 */
export async function updateVersioned<T extends { version: number }>(
  tx: Queryable,
  table: string,
  id: number,
  expectedVersion: number,
  changes: Record<string, unknown>,
): Promise<T> {
  const t = ident(table);
  const cols = Object.keys(changes).filter((k) => changes[k] !== undefined);
  if (cols.includes('version') || cols.includes('id'))
    throw new Error('updateVersioned: id and version are not changed directly');
  const sets = cols.map((c, i) => `${ident(c)} = $${i + 3}`);
  sets.push('version = version + 1');
  const rows = await tx.query<T>(
    `UPDATE ${t} SET ${sets.join(', ')} WHERE id = $1 AND version = $2 RETURNING *`,
    [id, expectedVersion, ...cols.map((c) => param(changes[c]))],
  );
  if (rows[0]) return rows[0];
  const [current] = await tx.query<T>(`SELECT * FROM ${t} WHERE id = $1`, [id]);
  if (!current) throw new WeipianError('record_not_found', '记录不存在或已被删除', { table, id }, 404);
  throw new WeipianError(
    'version_conflict',
    '记录已被他人修改，请刷新后重试',
    { expectedVersion, currentVersion: current.version, current },
    409,
  );
}
