// Shapefile export (the format districts send upward). GDAL writes the files (see gdal-write.ts):
// .shp/.shx with outer rings clockwise (GDAL rewinds polygons on write), the .dbf in GBK (CP936) or
// UTF-8, and the .prj as ESRI WKT, the form ArcGIS writes and reads. Two things GDAL cannot do are
// finished here, on the bytes it wrote: GDAL records a code page either as the DBF language-driver
// byte or in a .cpg file, never both, so for GBK we set byte 29 to 0x4D ourselves (ArcGIS reads
// it first) and write a .cpg saying "936" (what ArcGIS and GDAL both read as GBK).
// Column names are the field dictionary's ≤10-byte aliases; widths are widened to the data so GDAL
// never truncates, and a value that cannot be written exactly is refused before anything is written.
import iconv from 'iconv-lite';
import { WeipianError } from '../domain/errors.ts';
import type { CrsDef } from '../geo/crs.ts';
import {
  isPointGeometry,
  nameColumns,
  reprojectGeometry,
  type ExportColumn,
  type ExportTable,
  type RenamedColumn,
} from './export-table.ts';
import { gdalSrs, ogrWrite, type OgrField, type OgrLayer } from './gdal-write.ts';

export type ShapefileEncoding = 'gbk' | 'utf-8';

export interface ShapefileWriteOptions {
  encoding: ShapefileEncoding;
  crs: CrsDef;
}

export interface ShapefileSet {
  /** '' for the patch polygons, '_point' for point patches (a Shapefile holds one geometry type). */
  suffix: '' | '_point';
  /** File contents by extension: shp, shx, dbf, prj, cpg. */
  files: Map<string, Uint8Array>;
  count: number;
}

export interface ShapefileResult {
  sets: ShapefileSet[];
  /** DBF column names in column order. */
  fieldNames: string[];
  renamed: RenamedColumn[];
}

/** DBF field names are at most 10 bytes; text columns at most 254 bytes. */
export const DBF_NAME_BYTES = 10;
export const DBF_TEXT_BYTES = 254;
/** Language-driver id 0x4D: Chinese GBK (code page 936). */
export const LDID_GBK = 0x4d;

interface Codec {
  bytes(s: string): number;
  encodable(s: string): boolean;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function codec(encoding: ShapefileEncoding): Codec {
  if (encoding === 'utf-8')
    return { bytes: (s) => Buffer.byteLength(s, 'utf8'), encodable: (s) => !LONE_SURROGATE.test(s) };
  return {
    bytes: (s) => iconv.encode(s, 'gbk').length,
    encodable: (s) => iconv.decode(iconv.encode(s, 'gbk'), 'gbk') === s,
  };
}

/** Characters of s that the encoding cannot represent. */
function unencodable(s: string, c: Codec): string[] {
  // Fast path: ASCII, or the whole string survives the codec — checked once, not per character.
  if (/^[\x20-\x7e]*$/.test(s) || c.encodable(s)) return [];
  return [...new Set([...s].filter((ch) => !c.encodable(ch)))];
}

function shortenTo(name: string, suffix: string, c: Codec): string {
  let out = '';
  for (const ch of name) {
    if (!c.encodable(ch) || ch === '\0') continue;
    if (c.bytes(out + ch + suffix) > DBF_NAME_BYTES) break;
    out += ch;
  }
  return out;
}

function encodingLabel(e: ShapefileEncoding): string {
  return e === 'gbk' ? 'GBK' : 'UTF-8';
}

/** Widths and decimals that hold every value of the column exactly (or a refusal naming the patch). */
function fieldFor(
  col: ExportColumn,
  name: string,
  j: number,
  table: ExportTable,
  c: Codec,
  encoding: ShapefileEncoding,
): OgrField {
  const values = table.records.map((r) => r.values[j] ?? null);
  const label = col.field ? `${col.field.name}（${name}）` : `“${col.delivered}”（${name}）`;
  switch (col.kind) {
    case 'string': {
      let width = Math.max(1, col.width);
      for (const [i, v] of values.entries()) {
        if (v === null) continue;
        const s = String(v);
        const bad = unencodable(s, c);
        if (bad.length > 0)
          throw new WeipianError(
            'export_encoding_unrepresentable',
            `图斑 ${table.records[i]!.jcbh} 的${label}含有 ${encodingLabel(encoding)} 无法表示的字符“${bad.join('')}”，` +
              `请改用 --encoding utf-8 或导出 GeoPackage`,
            { jcbh: table.records[i]!.jcbh, column: name, characters: bad, encoding },
          );
        const n = c.bytes(s);
        if (n > DBF_TEXT_BYTES)
          throw new WeipianError(
            'export_value_too_long',
            `图斑 ${table.records[i]!.jcbh} 的${label}按 ${encodingLabel(encoding)} 编码为 ${n} 字节，超过 Shapefile 文本字段上限 ${DBF_TEXT_BYTES} 字节` +
              `${encoding === 'utf-8' ? '，可改用 --encoding gbk（汉字占 2 字节）' : ''}，或导出 GeoPackage`,
            { jcbh: table.records[i]!.jcbh, column: name, bytes: n, limit: DBF_TEXT_BYTES },
          );
        if (n > width) width = n;
      }
      return { name, kind: 'string', width: Math.min(width, DBF_TEXT_BYTES) };
    }
    case 'real': {
      const decimals = Math.min(col.decimals, 15);
      let width = Math.max(col.width, decimals + 3);
      for (const v of values) if (typeof v === 'number') width = Math.max(width, v.toFixed(decimals).length);
      // ogr2ogr counts a Real's width as digits only unless the source driver says otherwise and
      // adds 2 for sign and decimal point on the way into a DBF (GDAL RFC 94), so ask for 2 less.
      return { name, kind: 'real', width: width - 2, precision: decimals };
    }
    case 'integer':
    case 'integer64': {
      let width = Math.max(col.width, 1);
      for (const v of values) if (typeof v === 'number') width = Math.max(width, String(v).length);
      // GDAL reads N fields of 10+ digits as 64-bit integers, so the width decides the kind.
      return { name, kind: width < 10 ? 'integer' : 'integer64', width };
    }
    case 'date':
      return { name, kind: 'date', width: 8 };
    case 'boolean':
      return { name, kind: 'boolean', width: 1 };
  }
}

export async function writeShapefiles(
  table: ExportTable,
  opts: ShapefileWriteOptions,
): Promise<ShapefileResult> {
  const c = codec(opts.encoding);
  const { names, renamed } = nameColumns(table.columns, {
    dictionaryName: (f) => f.alias,
    fits: (n) => c.bytes(n) <= DBF_NAME_BYTES && c.encodable(n) && !n.includes('\0'),
    shorten: (n, suffix) => shortenTo(n, suffix, c),
    key: (n) => n.toUpperCase(),
  });
  const fields = table.columns.map((col, j) => fieldFor(col, names[j]!, j, table, c, opts.encoding));

  const areal = table.records.filter((r) => !isPointGeometry(r.geometry));
  const points = table.records.filter((r) => isPointGeometry(r.geometry));
  const layerOptions = [`ENCODING=${opts.encoding === 'gbk' ? 'CP936' : 'UTF-8'}`];
  const layer = (name: string, recs: typeof areal, geometryType: OgrLayer['geometryType']): OgrLayer => ({
    name,
    geometryType,
    srs: gdalSrs(opts.crs),
    fields,
    features: recs.map((r) => ({ geometry: reprojectGeometry(r.geometry, opts.crs), values: r.values })),
    layerOptions,
  });
  const layers: OgrLayer[] = [];
  const suffixes: ShapefileSet['suffix'][] = [];
  const counts: number[] = [];
  // Polygons always (an empty batch still exports an empty polygon layer); points only when present.
  if (areal.length > 0 || points.length === 0) {
    layers.push(layer('patches', areal, 'MULTIPOLYGON'));
    suffixes.push('');
    counts.push(areal.length);
  }
  if (points.length > 0) {
    const multi = points.some((r) => r.geometry.type === 'MultiPoint');
    layers.push(layer('patches_point', points, multi ? 'MULTIPOINT' : 'POINT'));
    suffixes.push('_point');
    counts.push(points.length);
  }

  const outputs = await ogrWrite('ESRI Shapefile', layers);
  const sets = outputs.map((o, i): ShapefileSet => {
    const files = new Map(o.files);
    for (const ext of ['shp', 'shx', 'dbf', 'prj'])
      if (!files.has(ext))
        throw new WeipianError('export_gdal_failed', `GDAL 未写出 .${ext} 文件`, { layer: o.layer });
    if (opts.encoding === 'gbk') {
      const dbf = Uint8Array.from(files.get('dbf')!);
      dbf[29] = LDID_GBK;
      files.set('dbf', dbf);
    }
    files.set('cpg', new TextEncoder().encode(opts.encoding === 'gbk' ? '936' : 'UTF-8'));
    return { suffix: suffixes[i]!, files, count: counts[i]! };
  });
  return { sets, fieldNames: names, renamed };
}
