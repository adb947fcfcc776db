// The format-neutral table behind every export writer (Shapefile, GeoPackage, Excel): one column
// per field-dictionary entry, then — on request — the delivered attributes verbatim, each column
// with a type chosen once for the whole batch, and one record per patch with its geometry in
// EPSG:4490. The writers only name the columns their format's way and encode the values.
import { FIELDS, type FieldDef } from '../domain/fields.ts';
import { WeipianError } from '../domain/errors.ts';
import type { PatchRow } from '../store/queries/patches.ts';
import { fromCgcs2000, type CrsDef } from '../geo/crs.ts';
import { patchToFeature } from './geojson.ts';

export type ColumnKind = 'string' | 'integer' | 'integer64' | 'real' | 'date' | 'boolean';

export interface ExportColumn {
  /** The dictionary entry, or null for a delivered attribute. */
  field: FieldDef | null;
  /** The delivered attribute name (delivered columns only). */
  delivered?: string;
  kind: ColumnKind;
  /** DBF width as delivered or in the dictionary (strings: bytes); writers widen it to fit. */
  width: number;
  /** Decimals of real columns. */
  decimals: number;
}

/** A GeoJSON geometry: Polygon/MultiPolygon patches, Point/MultiPoint for point patches. */
export interface ExportGeometry {
  type: string;
  coordinates: unknown;
}

/** Column values: string, number, boolean, null; dates as 'YYYY-MM-DD' strings. */
export type ExportValue = string | number | boolean | null;

export interface ExportRecord {
  id: number;
  jcbh: string;
  geometry: ExportGeometry;
  values: ExportValue[];
}

export interface ExportTable {
  columns: ExportColumn[];
  records: ExportRecord[];
  /** Chinese notes on choices the data forced (a date column written as text, …). */
  warnings: string[];
}

/** A delivered field definition as the importer recorded it (DBF type letter, width, decimals). */
export interface DeliveredFieldDef {
  name: string;
  type: string;
  length: number;
  decimals: number;
}

export interface BuildTableOptions {
  batchSlug: string;
  withDelivered?: boolean;
  /** Field definitions of the batch's imports, to keep delivered types and widths. */
  deliveredFields?: readonly DeliveredFieldDef[];
}

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})(?:T00:00:00(?:\.000)?Z)?$/;
const ISO_MONTH = /^\d{4}-\d{2}$/;

/** 'YYYY-MM-DD' from a stored date ('YYYY-MM-DD' or a UTC-midnight timestamp), else null. */
export function isoDay(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const m = ISO_DAY.exec(v);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d
    ? `${m[1]}-${m[2]}-${m[3]}`
    : null;
}

function isBlank(v: unknown): boolean {
  return v === null || v === undefined;
}

/** Coded values (source, prejudgement, verdict…) are exported with their Chinese labels. */
function dictionaryValue(f: FieldDef, v: unknown): ExportValue {
  if (isBlank(v)) return null;
  if (f.values) {
    const label = f.values.find((x) => x.id === v)?.label;
    if (label !== undefined) return label;
  }
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

function dictionaryKind(f: FieldDef): ColumnKind {
  switch (f.type) {
    case 'number':
      return 'real';
    case 'integer':
      return 'integer';
    case 'date':
      return 'date';
    case 'boolean':
      return 'boolean';
    default:
      return 'string';
  }
}

const INT32_MAX = 2147483647;

/** Decimal places needed to write n exactly (shortest round-trip form), capped at 15. */
function decimalsOf(n: number): number {
  const s = String(n);
  const e = /e([-+]\d+)$/.exec(s);
  const mant = s.replace(/e[-+]\d+$/, '');
  const frac = mant.includes('.') ? mant.length - mant.indexOf('.') - 1 : 0;
  return Math.min(15, Math.max(0, frac - (e ? Number(e[1]) : 0)));
}

function maxOf(xs: readonly number[], start: number): number {
  return xs.reduce((m, x) => (x > m ? x : m), start);
}

/** Type of a delivered column from its recorded DBF definition, checked against the values. */
function deliveredColumn(name: string, values: unknown[], def: DeliveredFieldDef | undefined): ExportColumn {
  const present = values.filter((v) => !isBlank(v));
  const allNumbers = present.every((v) => typeof v === 'number' && Number.isFinite(v));
  const allIntegers = allNumbers && present.every((v) => Number.isSafeInteger(v));
  const allBooleans = present.every((v) => typeof v === 'boolean');
  const allDays = present.every((v) => isoDay(v) !== null);
  const col = (kind: ColumnKind, width: number, decimals = 0): ExportColumn => ({
    field: null,
    delivered: name,
    kind,
    width,
    decimals,
  });
  const type = def?.type.toUpperCase();
  if (type === 'D' && allDays) return col('date', 8);
  if (type === 'L' && allBooleans) return col('boolean', 1);
  if ((type === 'N' || type === 'F') && allNumbers) {
    if (def!.decimals === 0 && allIntegers)
      return col(
        present.every((v) => Math.abs(v as number) <= INT32_MAX) && def!.length < 10
          ? 'integer'
          : 'integer64',
        def!.length,
      );
    // A delivered width/decimals that cannot hold the values exactly is widened by the writer.
    const decimals = maxOf(
      present.map((v) => decimalsOf(v as number)),
      def!.decimals,
    );
    return col('real', def!.length, decimals);
  }
  if (type === 'C' || (def && type !== undefined)) return col('string', def?.length ?? 0);
  // No definition (patches not imported from a DBF): infer from the values.
  if (present.length > 0 && allBooleans) return col('boolean', 1);
  if (present.length > 0 && allIntegers)
    return col(present.every((v) => Math.abs(v as number) <= INT32_MAX) ? 'integer' : 'integer64', 0);
  if (present.length > 0 && allNumbers)
    return col(
      'real',
      0,
      maxOf(
        present.map((v) => decimalsOf(v as number)),
        0,
      ),
    );
  return col('string', 0);
}

function deliveredValue(c: ExportColumn, v: unknown): ExportValue {
  if (isBlank(v)) return null;
  if (c.kind === 'date') return isoDay(v);
  if (c.kind === 'string') {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isInteger(v))
      return v.toLocaleString('en-US', { useGrouping: false });
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return v as ExportValue;
}

/** Any coordinate array → the same shape with f applied to every position. */
export function mapPositions(coords: unknown, f: (p: [number, number]) => [number, number]): unknown {
  if (!Array.isArray(coords)) return coords;
  if (coords.length >= 2 && typeof coords[0] === 'number' && typeof coords[1] === 'number')
    return f([coords[0], coords[1]]);
  return coords.map((c) => mapPositions(c, f));
}

/** The geometry (EPSG:4490) in crs, with the registry's transforms (src/geo/crs.ts). */
export function reprojectGeometry(g: ExportGeometry, crs: CrsDef): ExportGeometry {
  if (crs.kind === 'geographic' && crs.datum === 'CGCS2000') return g;
  return { type: g.type, coordinates: mapPositions(g.coordinates, fromCgcs2000(crs)) };
}

export function isPointGeometry(g: ExportGeometry): boolean {
  return g.type === 'Point' || g.type === 'MultiPoint';
}

export function isArealGeometry(g: ExportGeometry): boolean {
  return g.type === 'Polygon' || g.type === 'MultiPolygon';
}

/** Builds the export table of a batch's patches (rows in export order). */
export function buildExportTable(rows: readonly PatchRow[], opts: BuildTableOptions): ExportTable {
  const warnings: string[] = [];
  const features = rows.map((r) => patchToFeature(r, { batchSlug: opts.batchSlug }));
  const odd = rows
    .map((r, i) => ({ jcbh: r.jcbh, type: (features[i]!.geometry as ExportGeometry).type }))
    .filter((_, i) => {
      const g = features[i]!.geometry as ExportGeometry;
      return !isArealGeometry(g) && !isPointGeometry(g);
    });
  if (odd.length > 0)
    throw new WeipianError(
      'export_geometry_unsupported',
      `以下图斑的几何类型无法导出（只支持面和点）：${odd
        .slice(0, 10)
        .map((o) => `${o.jcbh}（${o.type}）`)
        .join('、')}${odd.length > 10 ? ` 等 ${odd.length} 个` : ''}`,
      { patches: odd },
    );

  const columns: ExportColumn[] = [];
  const getters: ((i: number) => ExportValue)[] = [];
  for (const field of FIELDS) {
    let kind = dictionaryKind(field);
    const values = features.map((f) => dictionaryValue(field, f.properties[field.id]));
    if (kind === 'date') {
      // DBF and GeoPackage dates need a day; a delivery that gives only the month keeps its text.
      const partial = values.map((v, i) => ({ v, i })).filter(({ v }) => v !== null && isoDay(v) === null);
      if (partial.length > 0) {
        kind = 'string';
        const monthOnly = partial.every(({ v }) => typeof v === 'string' && ISO_MONTH.test(v));
        warnings.push(
          `${field.name}（${field.id}）有 ${partial.length} 个图斑${monthOnly ? '只精确到月' : '不是完整日期'}（如 ${rows[partial[0]!.i]!.jcbh}：${String(partial[0]!.v)}），该列按文本输出`,
        );
      }
    }
    columns.push({
      field,
      kind,
      width: kind === 'string' && field.type === 'date' ? 10 : field.width,
      decimals: kind === 'real' ? field.decimals : 0,
    });
    getters.push((i) => values[i] ?? null);
  }

  if (opts.withDelivered) {
    const names: string[] = [];
    const seen = new Set<string>();
    for (const r of rows)
      for (const k of Object.keys(r.attributes))
        if (!seen.has(k)) {
          seen.add(k);
          names.push(k);
        }
    const defs = new Map<string, DeliveredFieldDef>();
    for (const d of opts.deliveredFields ?? []) if (!defs.has(d.name)) defs.set(d.name, d);
    for (const name of names) {
      const raw = rows.map((r) => r.attributes[name]);
      const col = deliveredColumn(name, raw, defs.get(name));
      columns.push(col);
      getters.push((i) => deliveredValue(col, raw[i]));
    }
  }

  const records = features.map((f, i): ExportRecord => ({
    id: rows[i]!.id,
    jcbh: rows[i]!.jcbh,
    geometry: f.geometry as ExportGeometry,
    values: getters.map((g) => g(i)),
  }));
  return { columns, records, warnings };
}

export const UNIT_LABEL: Record<string, string> = { m2: '平方米', mu: '亩', ratio: '比例', none: '' };

// Dictionary names that occur twice (耕地面积: delivered gdmj and analysed farmland_m2).
const DUPLICATE_NAMES = new Set(FIELDS.map((f) => f.name).filter((n, i, all) => all.indexOf(n) !== i));

/**
 * The title of a dictionary column for people (Excel header, GeoPackage alias): its Chinese name,
 * qualified by origin where two fields share a name, and by unit for areas.
 */
export function columnTitle(f: FieldDef): string {
  const q: string[] = [];
  if (DUPLICATE_NAMES.has(f.name) && f.group === 'delivered') q.push('下发');
  if (f.unit === 'm2' || f.unit === 'mu') q.push(UNIT_LABEL[f.unit]!);
  return q.length ? `${f.name}（${q.join('，')}）` : f.name;
}

export interface RenamedColumn {
  /** The delivered attribute name. */
  from: string;
  /** The column name written instead. */
  to: string;
  reason: 'clash' | 'too_long' | 'invalid';
}

export interface NamingRules {
  /** Name of a dictionary column in this format. */
  dictionaryName(f: FieldDef): string;
  /** True when the name can be written as is (length limits, characters). */
  fits(name: string): boolean;
  /** Shortens name so that name + suffix fits (by whole characters). */
  shorten(name: string, suffix: string): string;
  /** Names that compare equal clash (case-insensitive by default). */
  key?(name: string): string;
  /** Names the format itself uses (a GeoPackage's fid and geom columns). */
  reserved?: readonly string[];
}

/**
 * Column names for one format: dictionary names as defined, delivered names verbatim unless they
 * clash with a name already taken (then `_1`, `_2`…) or do not fit the format (then shortened).
 */
export function nameColumns(
  columns: readonly ExportColumn[],
  rules: NamingRules,
): {
  names: string[];
  renamed: RenamedColumn[];
} {
  const key = rules.key ?? ((s: string) => s.normalize('NFKC').toUpperCase());
  const taken = new Set<string>();
  const names: string[] = [];
  for (const c of columns) if (c.field) taken.add(key(rules.dictionaryName(c.field)));
  for (const r of rules.reserved ?? []) taken.add(key(r));
  const renamed: RenamedColumn[] = [];
  for (const c of columns) {
    if (c.field) {
      names.push(rules.dictionaryName(c.field));
      continue;
    }
    const original = c.delivered!;
    let base = original;
    let reason: RenamedColumn['reason'] | null = null;
    if (!rules.fits(base)) {
      base = rules.shorten(base, '');
      reason = 'too_long';
    }
    if (base === '') {
      base = 'F';
      reason = 'invalid';
    }
    let name = base;
    for (let n = 1; taken.has(key(name)); n++) {
      name = `${rules.shorten(base, `_${n}`)}_${n}`;
      reason ??= 'clash';
    }
    taken.add(key(name));
    names.push(name);
    if (name !== original) renamed.push({ from: original, to: name, reason: reason ?? 'clash' });
  }
  return { names, renamed };
}
