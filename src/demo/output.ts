// Files of the demo delivery, in the forms districts receive them: GBK Shapefiles in EPSG:4527
// written by the project's Shapefile writer (GDAL), a GeoPackage, and an Excel "一张表". Every byte
// is a function of the seed: the timestamps GDAL and exceljs would take from the clock (the DBF
// header date, the GeoPackage's last_change, the xlsx properties and zip entry times) are fixed.
import ExcelJS from 'exceljs';
import type { Areal, Position } from '../geo/geometry.ts';
import { mapCoords } from '../geo/geometry.ts';
import type { CrsDef } from '../geo/crs.ts';
import { writeShapefiles } from '../formats/shapefile-writer.ts';
import { writeGeoPackage } from '../formats/gpkg.ts';
import { withGdal } from '../formats/gdal-init.ts';
import type { ColumnKind, ExportTable } from '../formats/export-table.ts';
import type { AttrValue } from './scenario.ts';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  width: number;
  decimals?: number;
}

export interface LayerData {
  columns: ColumnSpec[];
  /** Geometry in EPSG:4490 (longitude, latitude). */
  features: { geom: Areal; values: AttrValue[] }[];
}

/** A fixed calendar day, e.g. [2018, 2, 28]. */
export type Day = readonly [number, number, number];

function table(layer: LayerData): ExportTable {
  return {
    columns: layer.columns.map((c) => ({
      field: null,
      delivered: c.name,
      kind: c.kind,
      width: c.width,
      decimals: c.decimals ?? 0,
    })),
    records: layer.features.map((f, i) => ({
      id: i + 1,
      jcbh: String(f.values[0] ?? i + 1),
      geometry: f.geom,
      values: f.values,
    })),
    warnings: [],
  };
}

/** The layer's geometry converted with `toGeographic` (EPSG:4527 → EPSG:4490). */
export function toGeographic(g: Areal, inverse: (p: Position) => Position): Areal {
  return mapCoords(g, inverse);
}

/**
 * A GBK Shapefile (shp, shx, dbf, prj, cpg) of the layer in `crs`. GDAL stamps the DBF header
 * with today's date (bytes 1–3: year − 1900, month, day); it gets the delivery's date instead.
 */
export async function shapefileBytes(
  layer: LayerData,
  crs: CrsDef,
  day: Day,
): Promise<Map<string, Uint8Array>> {
  const result = await writeShapefiles(table(layer), { encoding: 'gbk', crs });
  const files = new Map(result.sets[0]!.files);
  const dbf = Uint8Array.from(files.get('dbf')!);
  dbf[1] = day[0] - 1900;
  dbf[2] = day[1];
  dbf[3] = day[2];
  files.set('dbf', dbf);
  return files;
}

function setConfig(key: string, value: string | null): Promise<void> {
  return withGdal(async (gdal) => {
    const m = gdal.Module as unknown as {
      ccall(name: string, ret: null, types: string[], args: (string | null)[]): void;
    };
    m.ccall('CPLSetConfigOption', null, ['string', 'string'], [key, value]);
  });
}

/**
 * A GeoPackage of the layer. GDAL writes gpkg_contents.last_change from the clock unless
 * OGR_CURRENT_DATE is set, so it is set for this one write and cleared afterwards.
 */
export async function geoPackageBytes(
  layer: LayerData,
  crs: CrsDef,
  o: { layerName: string; identifier: string; description: string; day: Day },
): Promise<Uint8Array> {
  const [y, m, d] = o.day;
  await setConfig(
    'OGR_CURRENT_DATE',
    `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T00:00:00Z`,
  );
  try {
    const r = await writeGeoPackage(table(layer), {
      crs,
      layerName: o.layerName,
      identifier: o.identifier,
      description: o.description,
    });
    return r.bytes;
  } finally {
    await setConfig('OGR_CURRENT_DATE', null);
  }
}

/**
 * Sets the modification time of every entry of a zip (local headers and central directory, and
 * any extended-timestamp extra field) to one fixed date-time, 09:00 of `day`. exceljs's zip
 * writer stamps entries with the current time.
 */
export function fixZipTimes(bytes: Uint8Array, day: Day): Uint8Array {
  const out = Uint8Array.from(bytes);
  const view = new DataView(out.buffer);
  const dosDate = ((day[0] - 1980) << 9) | (day[1] << 5) | day[2];
  const dosTime = 9 << 11; // 09:00:00
  let eocd = -1;
  for (let i = out.length - 22; i >= Math.max(0, out.length - 22 - 65535); i--)
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new Error('not a zip file');
  const entries = view.getUint16(eocd + 10, true);
  const unix = Date.UTC(day[0], day[1] - 1, day[2], 9) / 1000;
  // Extended-timestamp extra fields (0x5455, "UT") hold Unix times after a flags byte.
  const fixExtra = (start: number, length: number) => {
    for (let q = start; q + 4 <= start + length;) {
      const id = view.getUint16(q, true);
      const size = view.getUint16(q + 2, true);
      if (id === 0x5455) for (let t = q + 5; t + 4 <= q + 4 + size; t += 4) view.setUint32(t, unix, true);
      q += 4 + size;
    }
  };
  let p = view.getUint32(eocd + 16, true);
  for (let e = 0; e < entries; e++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error('zip central directory damaged');
    view.setUint16(p + 12, dosTime, true);
    view.setUint16(p + 14, dosDate, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    fixExtra(p + 46 + nameLength, extraLength);
    const local = view.getUint32(p + 42, true);
    if (view.getUint32(local, true) !== 0x04034b50) throw new Error('zip local header damaged');
    view.setUint16(local + 10, dosTime, true);
    view.setUint16(local + 12, dosDate, true);
    fixExtra(local + 30 + view.getUint16(local + 26, true), view.getUint16(local + 28, true));
    p += 46 + nameLength + extraLength + view.getUint16(p + 32, true);
  }
  return out;
}

export interface SheetSpec {
  sheet: string;
  title: string;
  headers: string[];
  rows: (string | number | null)[][];
  /** Excel number formats by column (0-based), e.g. '0.00'. */
  numFmt?: Record<number, string>;
  day: Day;
}

/** An .xlsx with a title row, a header row and the rows, as districts keep their 一张表. */
export async function workbookBytes(s: SheetSpec): Promise<Uint8Array> {
  const wb = new ExcelJS.Workbook();
  const when = new Date(Date.UTC(s.day[0], s.day[1] - 1, s.day[2], 1, 0, 0));
  wb.creator = '周村区国土资源分局';
  wb.lastModifiedBy = '周村区国土资源分局';
  wb.created = when;
  wb.modified = when;
  const ws = wb.addWorksheet(s.sheet, { views: [{ state: 'frozen', ySplit: 2 }] });
  const title = ws.addRow([s.title]);
  title.font = { bold: true, size: 14 };
  ws.mergeCells(1, 1, 1, s.headers.length);
  const header = ws.addRow(s.headers);
  header.font = { bold: true };
  for (const row of s.rows) ws.addRow(row);
  s.headers.forEach((h, i) => {
    const col = ws.getColumn(i + 1);
    const longest = Math.max(
      h.length * 2,
      ...s.rows.map((r) => String(r[i] ?? '').length * (/[^\x20-\x7e]/.test(String(r[i] ?? '')) ? 2 : 1)),
    );
    col.width = Math.min(40, Math.max(8, longest + 2));
    const fmt = s.numFmt?.[i];
    if (fmt) col.numFmt = fmt;
  });
  header.eachCell((cell) => {
    cell.numFmt = 'General';
  });
  const buf = await wb.xlsx.writeBuffer();
  return fixZipTimes(new Uint8Array(buf as ArrayBuffer), s.day);
}
