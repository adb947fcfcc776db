// Excel (.xlsx) and CSV tables of patches: one row per patch, located either by centre coordinates
// (中心点X/中心点Y, X/Y, 经度/纬度, ZXDX/ZXDY …) or by a coordinate string (坐标串, 界址点坐标,
// 拐点坐标 …: "x1,y1;x2,y2;…" or "x1 y1,x2 y2,…", rings separated by '|' or line breaks).
//
// Tables carry no .prj and surveyors write X = northing, so both axis orders are tried and the one
// that lands in China is taken; the CRS comes from --crs or from the values themselves (degrees →
// CGCS2000 geographic, an 8-digit Gauss-Krüger easting → its zone), never from a guess.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
// exceljs and csv-parse are loaded when a table is read: exceljs alone takes ~1 s to load, which
// every other import (and the layer-reading worker thread) would otherwise pay.
import type ExcelJS from 'exceljs';
import { WeipianError } from '../domain/errors.ts';
import { normalizeName } from '../domain/mapping.ts';
import { CGCS2000, diagnoseCoordinates, getCrs, inChina, toCgcs2000, type CrsDef } from '../geo/crs.ts';
import type { PatchGeometry, Position } from '../geo/geometry.ts';
import { assemblePolygon } from './shapefile.ts';
import { decodeText } from './text.ts';
import {
  closeRing,
  orient,
  setAttr,
  type GeometryMode,
  type SourceEncoding,
  type VectorFeature,
  type VectorField,
  type VectorSource,
} from './vector-common.ts';

// ---- column names ------------------------------------------------------------------------------

/** Centre-coordinate column pairs, most specific first; `lonLat` when the names say degrees. */
const CENTRE_PAIRS: { x: string; y: string; lonLat: boolean }[] = [
  { x: '中心点X', y: '中心点Y', lonLat: false },
  { x: 'ZXDX', y: 'ZXDY', lonLat: false },
  { x: '中心点X坐标', y: '中心点Y坐标', lonLat: false },
  { x: '中心X', y: '中心Y', lonLat: false },
  { x: 'X坐标', y: 'Y坐标', lonLat: false },
  { x: 'XZB', y: 'YZB', lonLat: false },
  { x: 'X', y: 'Y', lonLat: false },
  { x: '中心点经度', y: '中心点纬度', lonLat: true },
  { x: '经度', y: '纬度', lonLat: true },
  { x: 'LONGITUDE', y: 'LATITUDE', lonLat: true },
  { x: 'LON', y: 'LAT', lonLat: true },
  { x: 'LNG', y: 'LAT', lonLat: true },
];

/** Columns holding a patch's boundary as a coordinate string. */
const RING_COLUMNS = [
  '坐标串',
  '界址点坐标',
  '拐点坐标',
  '界址坐标',
  '界址点坐标串',
  '拐点坐标串',
  '坐标点串',
  '范围坐标',
  '边界坐标',
  'ZBC',
  '坐标',
];

export interface CoordinateColumns {
  /** Index of the coordinate-string column. */
  ring?: number;
  centre?: { x: number; y: number; lonLat: boolean };
}

/** Finds the coordinate columns of a header row (names compared as the field mapping does). */
export function findCoordinateColumns(header: readonly string[]): CoordinateColumns {
  const norm = header.map((h) => normalizeName(h));
  const out: CoordinateColumns = {};
  for (const name of RING_COLUMNS) {
    const i = norm.indexOf(normalizeName(name));
    if (i >= 0) {
      out.ring = i;
      break;
    }
  }
  for (const p of CENTRE_PAIRS) {
    const x = norm.indexOf(normalizeName(p.x));
    const y = norm.indexOf(normalizeName(p.y));
    if (x >= 0 && y >= 0) {
      out.centre = { x, y, lonLat: p.lonLat };
      break;
    }
  }
  return out;
}

// ---- coordinate values -------------------------------------------------------------------------

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
// NFKC turns ″ into ′′, so seconds may end in ″, ′′, '', " or 秒.
const DMS =
  /^(\d+(?:\.\d+)?)[°度]\s*(?:(\d+(?:\.\d+)?)['′分]\s*)?(?:(\d+(?:\.\d+)?)(?:["″秒]|''|′′)\s*)?([EWNS东西南北])?$/i;

/** A coordinate cell: a number, numeric text (full-width, thousands separators) or 度分秒. */
export function parseCoordinateValue(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string') return null;
  let s = v.normalize('NFKC').trim();
  if (s === '') return null;
  if (/^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  if (NUMBER.test(s)) return Number(s);
  const m = DMS.exec(s);
  if (!m) return null;
  const value = Number(m[1]) + Number(m[2] ?? 0) / 60 + Number(m[3] ?? 0) / 3600;
  return m[4] && /[WS西南]/i.test(m[4]) ? -value : value;
}

function pointOf(tokens: string[], text: string): Position {
  // "J1,x,y": a boundary point number first (界址点号) is dropped.
  const t = tokens.length === 3 && !NUMBER.test(tokens[0]!) ? tokens.slice(1) : tokens;
  if (t.length !== 2 || !NUMBER.test(t[0]!) || !NUMBER.test(t[1]!))
    throw new Error(`坐标“${text.trim().slice(0, 60)}”应为两个数`);
  return [Number(t[0]), Number(t[1])];
}

function ringOf(text: string): Position[] {
  const s = text.trim();
  let points: Position[];
  if (s.includes(';')) {
    points = s
      .split(';')
      .filter((p) => p.trim() !== '')
      .map((p) => pointOf(p.trim().split(/[\s,]+/), p));
  } else {
    const byComma = s.split(',').map((p) => p.trim().split(/\s+/));
    const bySpace = s.split(/\s+/).map((p) => p.split(','));
    if (s.includes(',') && byComma.every((p) => p.length === 2))
      points = byComma.map((p, i) => pointOf(p, s.split(',')[i]!));
    else if (bySpace.length > 1 && bySpace.every((p) => p.length === 2))
      points = bySpace.map((p) => pointOf(p, p.join(',')));
    else {
      const flat = s.split(/[\s,]+/).filter((x) => x !== '');
      if (flat.length % 2 !== 0) throw new Error(`坐标串“${s.slice(0, 60)}”中的数不成对`);
      points = [];
      for (let i = 0; i < flat.length; i += 2)
        points.push(pointOf([flat[i]!, flat[i + 1]!], `${flat[i]},${flat[i + 1]}`));
    }
  }
  const distinct = new Set(points.map((p) => `${p[0]},${p[1]}`));
  if (distinct.size < 3) throw new Error('环的顶点少于 3 个');
  return points;
}

/**
 * Rings of a coordinate string, in the order written (axis order still undecided):
 * "x1,y1;x2,y2;…", "x1 y1,x2 y2,…", "x1,y1 x2,y2 …" or "x1,y1,x2,y2,…"; rings separated by '|'
 * or line breaks; full-width punctuation accepted. Throws an Error with a Chinese reason.
 */
export function parseCoordinateString(text: string): Position[][] {
  const s = text.normalize('NFKC').trim();
  if (s === '') return [];
  return s
    .split(/\s*(?:\||\r\n|\r|\n)\s*/)
    .filter((r) => r.trim() !== '')
    .map(ringOf);
}

/**
 * A coordinate-string cell: rings as parseCoordinateString reads them, or — when the cell holds a
 * single position ("x,y", "x y") — that point (a patch located by one point, as the Excel export
 * writes point patches).
 */
export function parseCoordinateCell(text: string): { rings: Position[][] } | { point: Position } {
  const s = text.normalize('NFKC').trim();
  if (!/[|;\r\n]/.test(s)) {
    const t = s.split(/[\s,]+/).filter((x) => x !== '');
    if (t.length === 2 && NUMBER.test(t[0]!) && NUMBER.test(t[1]!))
      return { point: [Number(t[0]), Number(t[1])] };
  }
  return { rings: parseCoordinateString(s) };
}

/**
 * The coordinate string of a geometry, which parseCoordinateCell reads back to the same numbers:
 * every coordinate in JavaScript's shortest round-trip form (up to 17 significant digits, so the
 * double itself, not a rounding of it), "x,y" pairs joined by ';', rings (outer rings and holes of
 * every part, each closed) joined by '|'; a point as "x,y". The reader nests rings by containment.
 */
export function formatCoordinateString(g: PatchGeometry): string {
  if (g.type === 'Point') return `${g.coordinates[0]},${g.coordinates[1]}`;
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  const rings: string[] = [];
  for (const poly of polys)
    for (const ring of poly)
      rings.push(
        closeRing(ring)
          .map((p) => `${p[0]},${p[1]}`)
          .join(';'),
      );
  return rings.join('|');
}

// ---- axis order and CRS ------------------------------------------------------------------------

export interface AxisSample {
  /** Row number in the sheet or file, for messages. */
  row: number;
  x: number;
  y: number;
}

export interface AxisOptions {
  crs?: string;
  /** --swap-xy: only the surveyors' reading (X = northing) is considered. */
  swapXY?: boolean;
  /** Which reading wins when both land in China: X = northing unless the columns say 经度/纬度. */
  preferSurveyor: boolean;
  file: string;
}

export interface AxisDecision {
  /** X holds the northing: positions are read [y, x]. */
  swapped: boolean;
  crs: CrsDef;
  notes: string[];
}

type Reading =
  | { swapped: boolean; ok: true; crs: CrsDef; inferred: boolean }
  | {
      swapped: boolean;
      ok: false;
      why: 'outside' | 'needs-crs' | 'mixed';
      sample?: AxisSample;
      codes?: string[];
    };

function readAs(samples: AxisSample[], swapped: boolean, override: CrsDef | null): Reading {
  const codes = new Set<string>();
  let needsCrs = false;
  const toGeo = override ? toCgcs2000(override) : null;
  for (const s of samples) {
    const [e, n] = swapped ? [s.y, s.x] : [s.x, s.y];
    if (toGeo) {
      let lonLat: Position | null;
      try {
        lonLat = toGeo([e, n]);
      } catch {
        lonLat = null;
      }
      if (!lonLat || !inChina(lonLat[0], lonLat[1])) return { swapped, ok: false, why: 'outside', sample: s };
      continue;
    }
    const d = diagnoseCoordinates(e, n);
    if (d.swapped || d.kind === 'unknown') return { swapped, ok: false, why: 'outside', sample: s };
    if (d.kind === 'gk-unprefixed') needsCrs = true;
    else if (d.suggested) codes.add(d.suggested);
  }
  if (override) return { swapped, ok: true, crs: override, inferred: false };
  if (needsCrs) return { swapped, ok: false, why: 'needs-crs', sample: samples[0] };
  if (codes.size > 1) return { swapped, ok: false, why: 'mixed', codes: [...codes].sort() };
  const code = [...codes][0];
  return { swapped, ok: true, crs: code ? getCrs(code) : CGCS2000, inferred: true };
}

/**
 * Decides how to read a table's coordinates: which axis order lands every sampled position in
 * China, and in which CRS (--crs, or what the values show). Refuses with 'crs_missing' when the
 * values cannot name their CRS, 'table_crs_mixed' when rows fall in different zones, and
 * 'coords_outside_china' when no reading lands in China.
 */
export function decideAxes(samples: AxisSample[], o: AxisOptions): AxisDecision {
  const override = o.crs ? getCrs(o.crs) : null;
  if (samples.length === 0) return { swapped: o.swapXY === true, crs: override ?? CGCS2000, notes: [] };
  const readings = (o.swapXY ? [true] : [false, true]).map((swapped) => readAs(samples, swapped, override));
  const ok = readings.filter((r): r is Extract<Reading, { ok: true }> => r.ok);
  let chosen: Extract<Reading, { ok: true }> | undefined;
  const notes: string[] = [];
  if (ok.length === 1) chosen = ok[0];
  else if (ok.length === 2) {
    chosen = ok.find((r) => r.swapped === o.preferSurveyor);
    notes.push(
      `表格坐标按两种轴序解读都落在中国境内，已按${o.preferSurveyor ? '测绘习惯（X 为北坐标）' : '列名（经度在前）'}读取；如不对请用 --swap-xy 或检查坐标列。`,
    );
  }
  if (!chosen) {
    const bad = readings.filter((r): r is Extract<Reading, { ok: false }> => !r.ok);
    if (bad.some((r) => r.why === 'needs-crs'))
      throw new WeipianError(
        'crs_missing',
        `${o.file} 没有坐标系信息，坐标像不带带号的高斯投影坐标（6 位横坐标），无法判断中央经线。请用 --crs 指定坐标系，例如 --crs EPSG:4548（CGCS2000 3度带，中央经线 117°E）。`,
        { file: o.file },
      );
    const mixed = bad.find((r) => r.why === 'mixed');
    if (mixed)
      throw new WeipianError(
        'table_crs_mixed',
        `${o.file} 中的坐标分属不同的投影带（${mixed.codes!.join('、')}），请按带分开导入，或用 --crs 指定坐标系。`,
        { file: o.file, candidates: mixed.codes },
      );
    const s = bad.find((r) => r.sample)?.sample ?? samples[0]!;
    const how = o.swapXY
      ? '按 X 为北坐标（--swap-xy）解读'
      : '无论按 X 为东坐标、还是按测绘习惯 X 为北坐标解读';
    throw new WeipianError(
      'coords_outside_china',
      `${o.file} 第 ${s.row} 行的坐标（${s.x}, ${s.y}）${how}，${override ? `按 ${override.code} 换算后` : ''}都不在中国境内。请检查坐标列是否正确，以及坐标系（--crs）。`,
      { file: o.file, row: s.row, x: s.x, y: s.y, crs: override?.code ?? null },
    );
  }
  if (chosen.swapped) notes.push('表格坐标按测绘习惯读取：X 为北坐标（纵坐标），Y 为东坐标（横坐标）。');
  if (chosen.inferred)
    notes.push(
      chosen.crs.kind === 'geographic'
        ? `表格没有坐标系信息，坐标为经纬度，按 CGCS2000（${chosen.crs.code}）处理。`
        : `表格没有坐标系信息，按坐标中的带号判定为 ${chosen.crs.code}（${chosen.crs.name}）；如为西安80或北京54坐标，请用 --crs 指定。`,
    );
  return { swapped: chosen.swapped, crs: chosen.crs, notes };
}

// ---- reading rows ------------------------------------------------------------------------------

interface RawTable {
  /** Rows as cell values, with their 1-based row numbers in the sheet or file. */
  rows: { row: number; cells: unknown[] }[];
  sheet: string | null;
  encoding: SourceEncoding;
}

function isBlank(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
}

/** An exceljs cell value as a plain attribute value. */
function cellValue(v: ExcelJS.CellValue | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v instanceof Date) return v;
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((r) => r.text).join('');
    if ('formula' in v || 'sharedFormula' in v)
      return cellValue((v as { result?: ExcelJS.CellValue }).result);
    if ('hyperlink' in v) return typeof v.text === 'string' ? v.text : cellValue(v.text as ExcelJS.CellValue);
    if ('error' in v) return null;
  }
  return String(v as unknown);
}

function headerRowOf(rows: RawTable['rows']): number {
  // A title row ("周村区2017年卫片图斑表") may come first: take the first row naming coordinates.
  for (let i = 0; i < Math.min(rows.length, 20); i++) {
    const cols = findCoordinateColumns(rows[i]!.cells.map((c) => (isBlank(c) ? '' : String(c))));
    if (cols.ring !== undefined || cols.centre) return i;
  }
  return -1;
}

async function readXlsx(file: string, layer: string | undefined, shown: string): Promise<RawTable> {
  const { default: Excel } = await import('exceljs');
  const wb = new Excel.Workbook();
  try {
    await wb.xlsx.readFile(file);
  } catch (e) {
    throw new WeipianError(
      'source_unreadable',
      `无法读取 Excel 文件 ${shown}（${(e as Error).message}），文件可能已损坏。`,
      {
        file,
      },
    );
  }
  const sheets = wb.worksheets
    .filter((ws) => ws.state !== 'hidden' && ws.state !== 'veryHidden')
    .map((ws) => {
      const rows: RawTable['rows'] = [];
      ws.eachRow({ includeEmpty: false }, (row, rowNumber) => {
        const values = (row.values as ExcelJS.CellValue[]).slice(1).map(cellValue);
        if (values.some((v) => !isBlank(v))) rows.push({ row: rowNumber, cells: values });
      });
      return { name: ws.name, rows };
    });
  const fold = (s: string) => s.normalize('NFC').trim().toLowerCase();
  let sheet: (typeof sheets)[number] | undefined;
  if (layer !== undefined) {
    sheet = sheets.find((s) => s.name === layer) ?? sheets.find((s) => fold(s.name) === fold(layer));
    if (!sheet)
      throw new WeipianError(
        'source_layer_not_found',
        `${shown} 中没有名为“${layer}”的工作表。可选：${sheets.map((s) => s.name).join('、')}。`,
        { input: file, layer, candidates: sheets.map((s) => s.name) },
      );
  } else {
    const withData = sheets.filter((s) => s.rows.length > 0);
    const located = withData.filter((s) => headerRowOf(s.rows) >= 0);
    const pool = located.length ? located : withData;
    if (pool.length > 1)
      throw new WeipianError(
        'source_ambiguous',
        `${shown} 中有 ${pool.length} 个工作表：${pool.map((s) => s.name).join('、')}。请用 --layer 指定要导入的工作表，例如 --layer "${pool[0]!.name}"。`,
        { input: file, candidates: pool.map((s) => s.name) },
      );
    sheet = pool[0];
  }
  if (!sheet || sheet.rows.length === 0)
    throw new WeipianError('source_empty', `${shown}${sheet ? ` 的工作表“${sheet.name}”` : ''}中没有数据。`, {
      file,
    });
  return { rows: sheet.rows, sheet: sheet.name, encoding: { encoding: 'utf-8', source: 'format' } };
}

/** The delimiter of a CSV: the most frequent of comma, tab, semicolon outside quotes in the first lines. */
function delimiterOf(text: string): string {
  const counts = new Map<string, number>([
    [',', 0],
    ['\t', 0],
    [';', 0],
  ]);
  let quoted = false;
  let lines = 0;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '\n' && ++lines >= 20) break;
    else if (!quoted && counts.has(c)) counts.set(c, counts.get(c)! + 1);
  }
  const [best] = [...counts].sort((a, b) => b[1] - a[1]);
  return best && best[1] > 0 ? best[0] : ',';
}

async function readCsv(file: string, encodingOption: string | undefined, shown: string): Promise<RawTable> {
  const { text, encoding } = await decodeText(await readFile(file), { option: encodingOption, file: shown });
  const { parse: parseCsv } = await import('csv-parse/sync');
  let records: string[][];
  try {
    records = parseCsv(text, {
      delimiter: delimiterOf(text),
      relax_column_count: true,
      relax_quotes: true,
    }) as string[][];
  } catch (e) {
    throw new WeipianError('table_invalid', `${shown} 不是有效的 CSV 表格：${(e as Error).message}`, {
      file,
    });
  }
  const rows = records
    .map((cells, i) => ({ row: i + 1, cells: cells.map((c) => (c === '' ? null : c)) as unknown[] }))
    .filter((r) => r.cells.some((c) => !isBlank(c)));
  if (!rows.length) throw new WeipianError('source_empty', `${shown} 中没有数据。`, { file });
  return { rows, sheet: null, encoding };
}

// ---- the source --------------------------------------------------------------------------------

export interface TableOptions {
  layer?: string;
  encoding?: string;
  crs?: string;
  swapXY?: boolean;
  geometry?: GeometryMode;
}

type RowGeometry = { rings: Position[][] } | { point: Position } | { problem: string | undefined };

function fieldType(values: unknown[]): string {
  const v = values.find((x) => !isBlank(x));
  return v instanceof Date
    ? 'date'
    : typeof v === 'number'
      ? 'number'
      : typeof v === 'boolean'
        ? 'boolean'
        : 'text';
}

export async function openTable(
  file: string,
  kind: 'xlsx' | 'csv',
  opts: TableOptions = {},
): Promise<VectorSource> {
  const shown = path.basename(file);
  const raw =
    kind === 'xlsx' ? await readXlsx(file, opts.layer, shown) : await readCsv(file, opts.encoding, shown);
  const h = headerRowOf(raw.rows);
  if (h < 0) {
    const first = raw.rows[0]!.cells.filter((c) => !isBlank(c)).map(String);
    throw new WeipianError(
      'table_no_coordinates',
      `${shown} 中没有找到坐标列：需要中心点坐标（如 中心点X/中心点Y、X/Y、经度/纬度、ZXDX/ZXDY）或坐标串（如 坐标串、界址点坐标、拐点坐标）。表头：${first.join('、') || '（空）'}。`,
      { file, header: first },
    );
  }
  const header = raw.rows[h]!.cells;
  const data = raw.rows.slice(h + 1);
  const width = Math.max(header.length, ...data.map((r) => r.cells.length));
  // Column names: as written; a nameless column with data gets "列N"; duplicates are refused.
  const columns: { index: number; name: string }[] = [];
  const seen = new Map<string, number>();
  for (let c = 0; c < width; c++) {
    const name = isBlank(header[c]) ? '' : String(header[c]).trim();
    if (name === '' && data.every((r) => isBlank(r.cells[c]))) continue;
    const final = name || `列${c + 1}`;
    if (seen.has(final))
      throw new WeipianError(
        'table_invalid',
        `${shown} 的表头中“${final}”重复（第 ${seen.get(final)! + 1} 列和第 ${c + 1} 列）。`,
        {
          file,
          field: final,
        },
      );
    seen.set(final, c);
    columns.push({ index: c, name: final });
  }
  const cols = findCoordinateColumns(header.map((c) => (isBlank(c) ? '' : String(c))));
  if (cols.ring === undefined && opts.geometry === 'polygon')
    throw new WeipianError(
      'geometry_not_polygon',
      `${shown} 只有中心点坐标、没有坐标串，只能得到点（Point）；参考图层必须是面（Polygon），请提供带界址点坐标串的表格或图形文件。`,
      { file, expected: 'Polygon', actual: 'Point' },
    );

  const where = (row: number) => (raw.sheet ? `工作表“${raw.sheet}”第 ${row} 行` : `第 ${row} 行`);
  const geoms: RowGeometry[] = data.map((r) => {
    const ringText = cols.ring !== undefined ? r.cells[cols.ring] : null;
    if (!isBlank(ringText)) {
      try {
        return parseCoordinateCell(String(ringText));
      } catch (e) {
        return { problem: `${where(r.row)}的坐标串无法识别：${(e as Error).message}` };
      }
    }
    if (cols.centre) {
      const xv = r.cells[cols.centre.x];
      const yv = r.cells[cols.centre.y];
      if (isBlank(xv) && isBlank(yv)) return { problem: undefined };
      const x = parseCoordinateValue(xv);
      const y = parseCoordinateValue(yv);
      if (x === null || y === null)
        return { problem: `${where(r.row)}的中心点坐标（${String(xv ?? '')}, ${String(yv ?? '')}）不是数值` };
      return { point: [x, y] };
    }
    return { problem: undefined };
  });

  const samples: AxisSample[] = [];
  geoms.forEach((g, i) => {
    const p = 'rings' in g ? g.rings[0]?.[0] : 'point' in g ? g.point : undefined;
    if (p) samples.push({ row: data[i]!.row, x: p[0], y: p[1] });
  });
  const decision = decideAxes(samples, {
    crs: opts.crs,
    swapXY: opts.swapXY,
    preferSurveyor: !cols.centre?.lonLat,
    file: shown,
  });
  const order = (p: Position): Position => (decision.swapped ? [p[1], p[0]] : [p[0], p[1]]);

  const features: VectorFeature[] = data.map((r, index) => {
    const attributes: Record<string, unknown> = {};
    for (const c of columns) setAttr(attributes, c.name, r.cells[c.index] ?? null);
    const g = geoms[index]!;
    let geometry: PatchGeometry | null = null;
    let problem: string | undefined;
    if ('point' in g) geometry = { type: 'Point', coordinates: order(g.point) };
    else if ('rings' in g) {
      // Orientation is whatever the surveyor walked: nest rings by containment, not by direction.
      geometry = assemblePolygon(g.rings.map((ring) => orient(closeRing(ring.map(order)), true)));
      if (!geometry) problem = `${where(r.row)}的坐标串不构成面`;
    } else problem = g.problem ?? `${where(r.row)}没有坐标`;
    return problem ? { index, geometry, attributes, problem } : { index, geometry, attributes };
  });

  return {
    format: kind,
    path: file,
    layer: raw.sheet,
    files: [file],
    encoding: raw.encoding,
    prj: null,
    crs: decision.crs,
    axisResolved: true,
    notes: [...(raw.encoding.notes ?? []), ...decision.notes],
    fields: columns.map((c) => ({
      name: c.name,
      type: fieldType(data.map((r) => r.cells[c.index])),
      length: 0,
      decimals: 0,
    })) satisfies VectorField[],
    featureCount: features.length,
    features: async function* () {
      yield* features;
    },
    close: async () => undefined,
  };
}
