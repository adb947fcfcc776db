// Fixtures in every format a district receives, written at test time by the writers people use:
// GDAL's ogr2ogr for GeoPackage, File Geodatabase, KML and GeoJSON, exceljs for .xlsx, plain text
// (UTF-8, UTF-8 with BOM, GBK) for CSV — all from the same FixtureFeature content as the Shapefiles.

import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import yazl from 'yazl';
import type { FixtureFeature } from './ogr.ts';

const run = promisify(execFile);
const OGR2OGR = process.env.OGR2OGR ?? 'ogr2ogr';

export interface OgrWriteOptions {
  /** GDAL driver: 'GPKG', 'OpenFileGDB', 'KML', 'GeoJSON'. */
  driver: string;
  /** Layer name (-nln). */
  name: string;
  /** Assigned CRS of the features (-a_srs), EPSG:4527 by default. */
  srs?: string;
  /** Reproject to this CRS (-t_srs), e.g. 'EPSG:4326' for KML. */
  toSrs?: string;
  /** -nlt; MULTIPOLYGON by default (FileGDB needs one type per layer). */
  nlt?: string;
  lco?: string[];
  dsco?: string[];
  /** Add a layer to an existing dataset (-update). */
  update?: boolean;
  /** GeoJSON text to convert instead of `features` (for values JSON.stringify cannot write, e.g. 19-digit integers). */
  sourceText?: string;
}

/** Writes `features` with ogr2ogr to `out` (a file, or a .gdb folder). */
export async function ogrWrite(out: string, features: FixtureFeature[], o: OgrWriteOptions): Promise<string> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'weipian-ogrsrc-'));
  try {
    const src = path.join(scratch, 'src.geojson');
    const fc = { type: 'FeatureCollection', features: features.map((f) => ({ type: 'Feature', ...f })) };
    await writeFile(src, o.sourceText ?? JSON.stringify(fc));
    const srs = o.toSrs
      ? ['-s_srs', o.srs ?? 'EPSG:4527', '-t_srs', o.toSrs]
      : ['-a_srs', o.srs ?? 'EPSG:4527'];
    const args = [
      '-f',
      o.driver,
      ...(o.update ? ['-update'] : []),
      ...srs,
      '-nlt',
      o.nlt ?? 'MULTIPOLYGON',
      '-nln',
      o.name,
      ...(o.lco ?? []).flatMap((x) => ['-lco', x]),
      ...(o.dsco ?? []).flatMap((x) => ['-dsco', x]),
      out,
      src,
    ];
    try {
      await run(OGR2OGR, args);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`ogr2ogr failed: ${err.stderr || err.message}\nargs: ${args.join(' ')}`, { cause: e });
    }
    return out;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

type Pos = [number, number];

/** The rings of a fixture polygon/multipolygon, in file order. */
export function ringsOf(f: FixtureFeature): Pos[][] {
  const g = f.geometry;
  if (!g) return [];
  if (g.type === 'Polygon') return g.coordinates as Pos[][];
  if (g.type === 'MultiPolygon') return (g.coordinates as Pos[][][]).flat();
  throw new Error(`no rings in ${g.type}`);
}

export interface CoordinateStringStyle {
  /** Write X = northing first, as surveyors do. */
  northingFirst?: boolean;
  /** 'semicolon': "x,y;x,y" · 'space-comma': "x y,x y". */
  style?: 'semicolon' | 'space-comma';
  /** Between rings: '|' or a line break. */
  ringSeparator?: string;
  /** Leave out each ring's closing vertex, as many tables do. */
  open?: boolean;
}

/** A coordinate string (坐标串) of a fixture feature as a surveyor's table would hold it. */
export function coordinateString(f: FixtureFeature, s: CoordinateStringStyle = {}): string {
  return ringsOf(f)
    .map((ring) => {
      const pts = s.open ? ring.slice(0, -1) : ring;
      return pts
        .map(([x, y]) => (s.northingFirst ? [y, x] : [x, y]))
        .map(([a, b]) => (s.style === 'space-comma' ? `${a} ${b}` : `${a},${b}`))
        .join(s.style === 'space-comma' ? ',' : ';');
    })
    .join(s.ringSeparator ?? '|');
}

/** Writes a workbook with one worksheet per entry; cells as given (numbers stay numbers). */
export async function writeXlsx(
  file: string,
  sheets: { name: string; rows: unknown[][] }[],
): Promise<string> {
  const wb = new ExcelJS.Workbook();
  for (const s of sheets) {
    const ws = wb.addWorksheet(s.name);
    for (const r of s.rows) ws.addRow(r);
  }
  await wb.xlsx.writeFile(file);
  return file;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes rows as CSV text in UTF-8, UTF-8 with a byte-order mark, or GBK (CRLF, as Excel does). */
export async function writeCsv(
  file: string,
  rows: unknown[][],
  encoding: 'utf-8' | 'utf-8-bom' | 'gbk',
): Promise<string> {
  const text = rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
  const bytes =
    encoding === 'gbk'
      ? iconv.encode(text, 'gbk')
      : Buffer.concat([
          encoding === 'utf-8-bom' ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0),
          Buffer.from(text, 'utf8'),
        ]);
  await writeFile(file, bytes);
  return file;
}

/** Zips files under the given entry names. */
export async function zipFiles(out: string, entries: { name: string; file: string }[]): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addFile(e.file, e.name);
  zip.end();
  const ws = createWriteStream(out);
  zip.outputStream.pipe(ws);
  await once(ws, 'close');
  return out;
}
