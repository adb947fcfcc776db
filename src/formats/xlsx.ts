// Excel export (exceljs): one sheet of patches for people — Chinese headers from the field
// dictionary, numbers as numbers (m² to 2 decimals, plus the patch area in 亩), dates as dates,
// coded values as their Chinese labels, and last the patch's geometry as a coordinate string that
// weipian's table reader (table.ts) reads back to the same coordinates — and a sheet 说明 saying
// what was exported, from which batch and rule pack, when, and what every column means.
import ExcelJS from 'exceljs';
import { WeipianError } from '../domain/errors.ts';
import { normalizeName } from '../domain/mapping.ts';
import type { PatchGeometry } from '../geo/geometry.ts';
import { m2ToMu, roundHalfAwayFromZero } from '../geo/units.ts';
import { formatCoordinateString } from './table.ts';
import {
  columnTitle,
  isoDay,
  nameColumns,
  UNIT_LABEL,
  type ColumnKind,
  type ExportColumn,
  type ExportTable,
  type RenamedColumn,
} from './export-table.ts';

export interface XlsxBatchInfo {
  slug: string;
  name: string;
  kind: string;
  year: number;
  rulePackId: string;
  rulePackVersion: string;
  rulePackDigest: string;
}

export interface XlsxWriteOptions {
  batch: XlsxBatchInfo;
  exportedAt: Date;
  /** Notes to repeat on the 说明 sheet (e.g. columns the data forced to text). */
  notes?: readonly string[];
}

export interface XlsxResult {
  bytes: Uint8Array;
  headers: string[];
  renamed: RenamedColumn[];
}

export const PATCH_SHEET = '图斑';
export const NOTES_SHEET = '说明';
/** Header of the column with the patch area in 亩, right after 图斑面积（平方米）. */
export const AREA_MU_HEADER = '图斑面积（亩）';
const AREA_FIELD = 'area_m2';
/**
 * Header of the geometry column, the last one. The table reader takes it for the coordinate string
 * (a trailing parenthesis is not part of a column's name), so import → export → import keeps
 * the geometry.
 */
export const GEOMETRY_HEADER = '坐标串（EPSG:4490 经纬度）';
const GEOMETRY_KEY = normalizeName(GEOMETRY_HEADER);
/** Excel's limit on the characters of one cell. */
export const XLSX_CELL_CHARS = 32767;

const KIND_LABEL: Record<ColumnKind, string> = {
  string: '文本',
  integer: '整数',
  integer64: '整数',
  real: '数值',
  date: '日期',
  boolean: '是/否',
};

// Hangul, CJK (incl. punctuation and extension planes), full-width forms: two columns each.
const WIDE =
  /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{20000}-\u{3fffd}]/u;

/** Display width of text in Excel column units: CJK and full-width characters count double. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += WIDE.test(ch) ? 2 : 1;
  return w;
}

function numFmt(col: ExportColumn): string | undefined {
  if (col.kind === 'date') return 'yyyy-mm-dd';
  if (col.kind === 'integer' || col.kind === 'integer64') return '0';
  if (col.kind !== 'real' || !col.field) return undefined;
  if (col.field.unit === 'ratio') return '0.00%';
  return col.decimals > 0 ? `0.${'0'.repeat(col.decimals)}` : '0';
}

type Cell = string | number | boolean | Date | null;

function cellValue(col: ExportColumn, v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (col.kind === 'date') {
    const d = isoDay(v);
    if (!d) return String(v);
    const [y, m, day] = d.split('-').map(Number) as [number, number, number];
    // exceljs turns a Date into a serial day by its UTC time: UTC midnight is the calendar day.
    return new Date(Date.UTC(y, m - 1, day));
  }
  // Dictionary numbers are shown and stored to their decimals; delivered numbers stay verbatim.
  if (col.kind === 'real' && col.field && typeof v === 'number')
    return roundHalfAwayFromZero(v, col.decimals);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

/** The text a cell shows, for sizing its column (dates show as yyyy-mm-dd). */
function shown(v: Cell, col: ExportColumn | null): string {
  if (v === null) return '';
  if (v instanceof Date) return 'yyyy-mm-dd';
  if (typeof v === 'number' && col?.kind === 'real') return v.toFixed(Math.min(col.decimals, 6));
  return String(v);
}

function shanghaiTime(d: Date): string {
  const p = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(d);
  const get = (t: string) => p.find((x) => x.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}（北京时间）`;
}

export async function writeXlsx(table: ExportTable, opts: XlsxWriteOptions): Promise<XlsxResult> {
  const { names, renamed } = nameColumns(table.columns, {
    dictionaryName: columnTitle,
    fits: (n) => n.trim() !== '',
    shorten: (n) => n.trim(),
    // A delivered column the reader would also take for the coordinate string is renamed.
    key: (n) => (normalizeName(n) === GEOMETRY_KEY ? GEOMETRY_KEY : n.normalize('NFKC').toUpperCase()),
    reserved: [AREA_MU_HEADER, GEOMETRY_HEADER],
  });

  // Sheet columns: the table's, with the 亩 column inserted after the patch area.
  interface SheetColumn {
    header: string;
    col: ExportColumn | null;
    value: (values: readonly unknown[]) => Cell;
    numFmt?: string;
  }
  const areaIndex = table.columns.findIndex((c) => c.field?.id === AREA_FIELD);
  const sheetColumns: SheetColumn[] = [];
  table.columns.forEach((col, j) => {
    sheetColumns.push({ header: names[j]!, col, value: (vs) => cellValue(col, vs[j]), numFmt: numFmt(col) });
    if (j === areaIndex)
      sheetColumns.push({
        header: AREA_MU_HEADER,
        col: null,
        value: (vs) => (typeof vs[j] === 'number' ? roundHalfAwayFromZero(m2ToMu(vs[j] as number), 2) : null),
        numFmt: '0.00',
      });
  });
  const coordinates = table.records.map((r) => {
    const text = formatCoordinateString(r.geometry as PatchGeometry);
    if (text.length > XLSX_CELL_CHARS)
      throw new WeipianError(
        'export_value_too_long',
        `图斑 ${r.jcbh} 的坐标串有 ${text.length} 个字符，超过 Excel 单元格上限 ${XLSX_CELL_CHARS} 个字符（图形顶点过多），请导出 Shapefile 或 GeoPackage`,
        { jcbh: r.jcbh, column: GEOMETRY_HEADER, characters: text.length, limit: XLSX_CELL_CHARS },
      );
    return text;
  });
  const geometryIndex = sheetColumns.length;
  sheetColumns.push({ header: GEOMETRY_HEADER, col: null, value: () => null });

  const wb = new ExcelJS.Workbook();
  wb.creator = 'weipian';
  wb.created = opts.exportedAt;
  const ws = wb.addWorksheet(PATCH_SHEET, { views: [{ state: 'frozen', ySplit: 1 }] });
  const widths = sheetColumns.map((c) => displayWidth(c.header));
  const header = ws.addRow(sheetColumns.map((c) => c.header));
  header.font = { bold: true };
  header.alignment = { vertical: 'middle' };
  header.eachCell((cell) => {
    cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE7EEF7' } };
  });
  for (const [i, r] of table.records.entries()) {
    const cells = sheetColumns.map((c, k) => (k === geometryIndex ? coordinates[i]! : c.value(r.values)));
    ws.addRow(cells);
    cells.forEach((v, k) => {
      const w = displayWidth(shown(v, sheetColumns[k]!.col));
      if (w > widths[k]!) widths[k] = w;
    });
  }
  sheetColumns.forEach((c, k) => {
    const column = ws.getColumn(k + 1);
    column.width = Math.min(60, Math.max(8, widths[k]! + 2));
    if (c.numFmt) column.numFmt = c.numFmt;
  });
  // The header keeps the default format so that its text is not shown as a number pattern.
  header.eachCell((cell) => {
    cell.numFmt = 'General';
  });
  if (sheetColumns.length > 0)
    ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: sheetColumns.length } };

  const notes = wb.addWorksheet(NOTES_SHEET);
  const b = opts.batch;
  const info: [string, string | number][] = [
    ['批次', `${b.slug}（${b.name}）`],
    ['类型', b.kind === 'mineral' ? '矿产卫片' : b.kind === 'land' ? '土地卫片' : b.kind],
    ['年度', b.year],
    ['规则包', `${b.rulePackId}（版本 ${b.rulePackVersion}）`],
    ['规则包摘要', b.rulePackDigest],
    ['导出时间', shanghaiTime(opts.exportedAt)],
    ['图斑数', table.records.length],
    [
      '图形',
      `最后一列“${GEOMETRY_HEADER}”为图斑图形：CGCS2000（EPSG:4490）经度,纬度，十进制度，按双精度完整写出（不舍入）；点与点之间用“;”分隔，环与环（外环、内环、多部件）之间用“|”分隔，每个环首尾相同；只有中心点的图斑写一个点。weipian 可直接导入本表（import patches），图形不变。`,
    ],
    [
      '面积',
      '面积为 CGCS2000 椭球面积（国土调查办发〔2008〕32号），单位平方米，保留 2 位小数；1 亩 = 2000/3 平方米',
    ],
  ];
  for (const n of opts.notes ?? []) info.push(['说明', n]);
  for (const r of renamed) info.push(['列名调整', `部下发属性“${r.from}”与已有列名重复，输出为“${r.to}”`]);
  for (const [k, v] of info) notes.addRow([k, v]).getCell(1).font = { bold: true };
  notes.addRow([]);
  const dictHeader = notes.addRow(['列名', '字段标识', 'Shapefile 字段名', '类型', '单位', '说明', '取值']);
  dictHeader.font = { bold: true };
  for (const c of sheetColumns) {
    const f = c.col?.field;
    if (c.header === GEOMETRY_HEADER) {
      notes.addRow([
        c.header,
        'geometry',
        '',
        '文本',
        '度',
        '图斑图形（修复后的图形优先），CGCS2000 经度,纬度坐标串，见上方“图形”说明。',
        '',
      ]);
    } else if (c.col === null) {
      notes.addRow([
        c.header,
        `${AREA_FIELD}（换算）`,
        '',
        '数值',
        '亩',
        '图斑面积换算为亩：平方米 × 3 ÷ 2000，保留 2 位小数。',
        '',
      ]);
    } else if (f) {
      notes.addRow([
        c.header,
        f.id,
        f.alias,
        KIND_LABEL[c.col.kind],
        UNIT_LABEL[f.unit] ?? '',
        f.description,
        f.values?.map((v) => v.label).join('、') ?? '',
      ]);
    } else {
      notes.addRow([
        c.header,
        '',
        '',
        KIND_LABEL[c.col.kind],
        '',
        `部下发的原始属性“${c.col.delivered}”，原样输出。`,
        '',
      ]);
    }
  }
  notes.getColumn(1).width = 20;
  notes.getColumn(2).width = 24;
  notes.getColumn(3).width = 16;
  notes.getColumn(4).width = 8;
  notes.getColumn(5).width = 8;
  notes.getColumn(6).width = 80;
  notes.getColumn(6).alignment = { wrapText: true, vertical: 'top' };
  notes.getColumn(7).width = 40;

  const buf = await wb.xlsx.writeBuffer();
  return { bytes: new Uint8Array(buf as ArrayBuffer), headers: sheetColumns.map((c) => c.header), renamed };
}
