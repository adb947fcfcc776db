// Mapping delivered attribute names onto the ten core fields. Every delivery names its columns a
// little differently (JCBH / 监测编号 / TBBH, "监测面积（亩）" …), so a built-in profile of the
// Ministry's usual names is tried first and a user mapping ({"jcbh": "MY_ID"}) overrides it.
// The delivered attributes themselves are kept unchanged; this only decides how to read them.

import { WeipianError } from './errors.ts';
import { CORE_FIELD_IDS, type CoreFieldId, requireField } from './fields.ts';

export type { CoreFieldId } from './fields.ts';

/** Names each core field is known by, most specific first (compared after normalizeName). */
export const BUILTIN_PROFILE: Readonly<Record<CoreFieldId, readonly string[]>> = {
  jcbh: ['JCBH', '监测编号', 'TBBH', '图斑编号'],
  xzqdm: ['XZQDM', '行政区代码', 'XZQHDM', '行政区划代码'],
  tblx: ['TBLX', '图斑类型'],
  jcmj: ['JCMJ', '监测面积', 'TBMJ'],
  gdmj: ['GDMJ', '耕地面积'],
  qsx: ['QSX', '前时相', 'QSXSJ'],
  hsx: ['HSX', '后时相', 'HSXSJ'],
  zxdx: ['ZXDX', '中心点X', 'X', 'XZB'],
  zxdy: ['ZXDY', '中心点Y', 'Y', 'YZB'],
  bz: ['BZ', '备注'],
};

export type FieldMap = Record<CoreFieldId, string | undefined>;

export interface ResolvedMapping {
  /** Core field → the attribute name exactly as spelled in the file (undefined: not delivered). */
  map: FieldMap;
  /** Attribute names of the file that no core field reads (kept as extra delivered attributes). */
  unmapped: string[];
}

/**
 * Normalises an attribute name for comparison: NFKC (full-width letters and brackets to ASCII),
 * trimmed, upper-case, without a trailing unit in brackets ("监测面积（亩）" → "监测面积") and
 * without inner whitespace.
 */
export function normalizeName(name: string): string {
  return name
    .normalize('NFKC')
    .trim()
    .replace(/\s*[([][^()[\]]*[)\]]$/, '')
    .replace(/\s+/g, '')
    .toUpperCase();
}

function isCoreField(id: string): id is CoreFieldId {
  return (CORE_FIELD_IDS as readonly string[]).includes(id);
}

/**
 * Decides which attribute of a file feeds each core field. A user mapping wins; unknown core
 * field ids, attribute names not in the file, or one attribute mapped twice are refused with
 * 'mapping_invalid'. Without a monitoring number (jcbh) nothing can be imported: 'mapping_no_jcbh'.
 */
export function resolveMapping(
  attributeNames: readonly string[],
  user?: Readonly<Record<string, string>>,
): ResolvedMapping {
  const map = Object.fromEntries(CORE_FIELD_IDS.map((id) => [id, undefined])) as FieldMap;
  const used = new Set<string>();
  const byNormal = new Map<string, string>();
  for (const name of attributeNames) {
    const n = normalizeName(name);
    if (!byNormal.has(n)) byNormal.set(n, name); // first spelling wins if a file repeats a name
  }

  for (const [field, attr] of Object.entries(user ?? {})) {
    if (!isCoreField(field))
      throw new WeipianError(
        'mapping_invalid',
        `字段映射有误：“${field}”不是核心字段（可用：${CORE_FIELD_IDS.join('、')}）`,
        { field, coreFields: CORE_FIELD_IDS },
      );
    const actual = typeof attr === 'string' ? byNormal.get(normalizeName(attr)) : undefined;
    if (actual === undefined)
      throw new WeipianError(
        'mapping_invalid',
        `字段映射有误：${requireField(field).name}（${field}）映射到的属性“${String(attr)}”在数据中不存在（数据中的属性：${attributeNames.join('、')}）`,
        { field, attribute: attr, attributes: attributeNames },
      );
    if (used.has(actual))
      throw new WeipianError('mapping_invalid', `字段映射有误：属性“${actual}”被映射到多个核心字段`, {
        field,
        attribute: actual,
      });
    map[field] = actual;
    used.add(actual);
  }

  for (const field of CORE_FIELD_IDS) {
    if (map[field] !== undefined) continue;
    for (const alias of BUILTIN_PROFILE[field]) {
      const actual = byNormal.get(normalizeName(alias));
      if (actual !== undefined && !used.has(actual)) {
        map[field] = actual;
        used.add(actual);
        break;
      }
    }
  }

  if (map.jcbh === undefined)
    throw new WeipianError(
      'mapping_no_jcbh',
      `数据中找不到监测编号字段（JCBH、监测编号、TBBH、图斑编号），请指定字段映射。数据中的属性：${attributeNames.join('、') || '（无）'}`,
      { attributes: attributeNames },
    );

  return { map, unmapped: attributeNames.filter((a) => !used.has(a)) };
}

/**
 * The typed core fields of one delivered record. Dates are ISO strings, 'YYYY-MM' when only the
 * month is known. jcbh is absent when the record's monitoring number is blank: the importer
 * refuses that record alone.
 */
export interface CoreRecord {
  jcbh?: string;
  xzqdm?: string;
  tblx?: string;
  jcmj?: number;
  gdmj?: number;
  qsx?: string;
  hsx?: string;
  zxdx?: number;
  zxdy?: number;
  bz?: string;
}

function isBlank(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
}

function badValue(field: CoreFieldId, attribute: string, value: unknown, expected: string): WeipianError {
  const shown = value instanceof Date ? String(value) : JSON.stringify(value);
  return new WeipianError(
    'mapping_value_invalid',
    `属性“${attribute}”（${requireField(field).name}）的值 ${shown} 不是${expected}`,
    { field, attribute, value: shown },
  );
}

function toText(v: unknown): string | undefined {
  if (isBlank(v)) return undefined;
  // DBF numeric columns arrive as numbers; integers must not turn into "1.2e+14".
  if (typeof v === 'number' && Number.isInteger(v)) return v.toLocaleString('en-US', { useGrouping: false });
  return String(v).trim();
}

function toNumber(v: unknown): number | undefined | null {
  if (isBlank(v)) return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string') return null;
  const s = v.normalize('NFKC').trim().replace(/,/g, '');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return null;
  return Number(s);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function validDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return (
    y >= 1900 && y <= 2100 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d
  );
}

/**
 * Reads an image date: a Date (by its local calendar day, as Shapefile readers create them),
 * 'YYYYMMDD', 'YYYY-MM-DD', 'YYYY/M/D', 'YYYY.M.D', 'YYYY年M月D日', or month-only 'YYYYMM',
 * 'YYYY-MM', 'YYYY年M月'. Returns 'YYYY-MM-DD' or 'YYYY-MM'; undefined when blank; null when unreadable.
 */
export function parseDeliveredDate(v: unknown): string | undefined | null {
  if (isBlank(v)) return undefined;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) return null;
    return `${v.getUTCFullYear()}-${pad(v.getUTCMonth() + 1)}-${pad(v.getUTCDate())}`;
  }
  const s = (typeof v === 'number' && Number.isInteger(v) ? String(v) : typeof v === 'string' ? v : '')
    .normalize('NFKC')
    .trim();
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(s) ?? /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(s);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return validDate(y, mo, d) ? `${y}-${pad(mo)}-${pad(d)}` : null;
  }
  m = /^(\d{4})(\d{2})$/.exec(s) ?? /^(\d{4})[-/.年](\d{1,2})月?$/.exec(s);
  if (m) {
    const [y, mo] = [Number(m[1]), Number(m[2])];
    return validDate(y, mo, 1) ? `${y}-${pad(mo)}` : null;
  }
  return null;
}

/**
 * Reads the core fields of one record through a resolved map; blank values are left out.
 * Throws 'mapping_value_invalid' (naming the attribute and value) for an unreadable number or
 * date — never guesses.
 */
export function mapAttributes(attrs: Readonly<Record<string, unknown>>, map: Readonly<FieldMap>): CoreRecord {
  const out: CoreRecord = {};
  for (const field of CORE_FIELD_IDS) {
    const attribute = map[field];
    if (attribute === undefined) continue;
    const raw = attrs[attribute];
    switch (requireField(field).type) {
      case 'number': {
        const n = toNumber(raw);
        if (n === null) throw badValue(field, attribute, raw, '数值');
        if (n !== undefined) (out as Record<string, unknown>)[field] = n;
        break;
      }
      case 'date': {
        const d = parseDeliveredDate(raw);
        if (d === null)
          throw badValue(field, attribute, raw, '可识别的日期（如 20170315、2017-03-15、2017/3/15、201703）');
        if (d !== undefined) (out as Record<string, unknown>)[field] = d;
        break;
      }
      default: {
        const t = toText(raw);
        if (t !== undefined) (out as Record<string, unknown>)[field] = t;
      }
    }
  }
  return out;
}
