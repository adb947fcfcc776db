// GeoPackage and File Geodatabase through gdal3.js (GDAL compiled to WASM). GDAL describes the
// dataset (layers, fields, CRS as WKT1 for crsFromPrj) and converts the chosen layer to GeoJSON in
// its in-memory file system; the bytes are taken out at once (freeing GDAL's copy) and the features
// are parsed one line at a time (GDAL's GeoJSON writer puts each feature on its own line), so a large
// land-use layer is held as bytes, never as one JSON document or one string.
//
// GDAL is shared with the exporters: gdal-init.ts owns the one instance and the lock around it.

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { WeipianError, isWeipianError } from '../domain/errors.ts';
import { GDAL_WORK_ROOT, withGdal, type GdalDataset } from './gdal-init.ts';

export interface GdalField {
  name: string;
  /** OGR field type: String, Integer, Integer64, Real, Date, DateTime, Time, Binary, … */
  type: string;
  subType?: string;
  width?: number;
  precision?: number;
}

export interface GdalLayer {
  name: string;
  /** OGR geometry type name ('Polygon', 'Multi Polygon', 'Point' …); null for a table without geometry. */
  geometryType: string | null;
  featureCount: number;
  /** CRS as WKT1 (GDAL's ESRI-compatible flavour is not needed: prj.ts reads OGC WKT1). */
  wkt: string | null;
  fields: GdalField[];
}

export interface GdalExport {
  /** GDAL driver short name: 'GPKG', 'OpenFileGDB', 'SQLite' … */
  driver: string;
  layers: GdalLayer[];
  layer: GdalLayer;
  /** The layer as GeoJSON written by GDAL, in the layer's own CRS and axis order. */
  bytes: Uint8Array;
}

interface OgrInfo {
  driverShortName?: string;
  layers?: {
    name: string;
    featureCount?: number;
    geometryFields?: { type?: string; coordinateSystem?: { wkt?: string } }[];
    fields?: GdalField[];
  }[];
}

function gdalMessage(e: unknown, messages: string[]): string {
  const parts: string[] = [];
  const add = (x: unknown) => {
    if (x && typeof x === 'object' && 'message' in x) parts.push(String((x as { message: unknown }).message));
    else if (x !== undefined) parts.push(String(x));
  };
  if (Array.isArray(e)) e.forEach(add);
  else add(e);
  for (const m of messages) if (/^ERROR/.test(m) && !parts.includes(m)) parts.push(m);
  return parts.filter((p) => p.trim() !== '').join('；') || '未知错误';
}

/** GeoPackage's srs_id 0 and -1 mean "no CRS", which GDAL reports as WKT of undefined systems. */
function definedWkt(wkt: string | undefined): string | null {
  const w = wkt?.trim();
  if (!w || /^(GEOGCS|PROJCS|LOCAL_CS|ENGCRS)\["Undefined (geographic|Cartesian) SRS"/i.test(w)) return null;
  return w;
}

/**
 * Opens `dataset` (a .gpkg file or a .gdb folder) with GDAL, lets `choose` pick one of its layers
 * (it may throw to refuse), and converts that layer to GeoJSON, returned as bytes.
 */
export function exportGdalLayer(
  dataset: string,
  choose: (layers: GdalLayer[], driver: string) => GdalLayer,
): Promise<GdalExport> {
  const shown = path.basename(dataset);
  return withGdal(async (gdal, messages) => {
    const unreadable = (e: unknown, what: string) =>
      new WeipianError(
        'source_unreadable',
        `无法读取 ${shown}${what}（GDAL：${gdalMessage(e, messages)}），文件可能已损坏。`,
        {
          file: dataset,
          gdal: gdalMessage(e, messages),
        },
      );
    let opened: GdalDataset | undefined;
    try {
      opened = (await gdal.open(path.resolve(dataset))).datasets[0];
    } catch (e) {
      throw unreadable(e, '');
    }
    if (!opened) throw unreadable(undefined, '');
    const ds = opened;
    let written: string | undefined;
    try {
      const info = (await gdal.ogrinfo(ds, ['-so', '-wkt_format', 'WKT1'])) as OgrInfo;
      const driver = info.driverShortName ?? '';
      const layers: GdalLayer[] = (info.layers ?? []).map((l) => {
        const g = l.geometryFields?.[0];
        return {
          name: l.name,
          geometryType: g ? (g.type ?? 'Unknown') : null,
          featureCount: l.featureCount ?? -1,
          wkt: definedWkt(g?.coordinateSystem?.wkt),
          fields: l.fields ?? [],
        };
      });
      const layer = choose(layers, driver);
      const name = `weipian-read-${process.pid}-${randomBytes(6).toString('hex')}`;
      written = `${GDAL_WORK_ROOT}/${name}.geojson`;
      const out = await gdal.ogr2ogr(
        ds,
        [
          '-f',
          'GeoJSON',
          '-dim',
          'XY',
          '-nlt',
          'CONVERT_TO_LINEAR',
          // Doubles cannot hold every 64-bit integer: GDAL writes them as text, we decide.
          '-mapFieldType',
          'Integer64=String',
          '-lco',
          'RFC7946=NO',
          '-lco',
          'WRITE_BBOX=NO',
          layer.name,
        ],
        name,
      );
      written = out.local;
      const bytes = gdal.Module.FS.readFile(out.local, { encoding: 'binary' });
      return { driver, layers, layer, bytes };
    } catch (e) {
      if (isWeipianError(e)) throw e;
      throw unreadable(e, ' 的图层');
    } finally {
      if (written)
        try {
          gdal.Module.FS.unlink(written);
        } catch {
          // not written
        }
      await gdal.close(ds);
    }
  });
}

const FEATURE_LINE = Buffer.from('{ "type": "Feature"');

/** The features of GeoJSON written by GDAL, one line each, decoded one at a time. */
export function* readGdalGeoJson(
  bytes: Uint8Array,
): Generator<{ geometry: unknown; properties: Record<string, unknown> | null }> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    if (buf.subarray(start, start + FEATURE_LINE.length).equals(FEATURE_LINE)) {
      let stop = end;
      while (stop > start && (buf[stop - 1] === 0x0d || buf[stop - 1] === 0x2c)) stop--;
      const f = JSON.parse(buf.toString('utf8', start, stop)) as {
        geometry?: unknown;
        properties?: Record<string, unknown> | null;
      };
      yield { geometry: f.geometry ?? null, properties: f.properties ?? null };
    }
    start = end + 1;
  }
}

const DATE = /^(\d{4})[-/](\d{2})[-/](\d{2})$/;

/**
 * A value as GDAL's GeoJSON holds it, typed like the Shapefile reader's: Date fields (and
 * DateTime values at midnight UTC) become UTC midnights, 64-bit integers stay numbers while exact
 * and text beyond 2^53 (as 18-digit codes must).
 */
export function gdalValue(v: unknown, field: GdalField | undefined): unknown {
  if (v === null || v === undefined || !field) return v ?? null;
  if (typeof v !== 'string') return v;
  switch (field.type) {
    case 'Date': {
      const m = DATE.exec(v);
      return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : v;
    }
    case 'DateTime': {
      // File Geodatabases have no date-only type: a date arrives as midnight UTC and is kept as the
      // date the Shapefile reader would give. A real time of day stays text, exactly as delivered.
      const m = /^(\d{4})[-/](\d{2})[-/](\d{2})[T ]00:00:00(\.0+)?(Z|[+-]00(:?00)?)?$/.exec(v);
      return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : v;
    }
    case 'Integer64': {
      const n = Number(v);
      return /^[-+]?\d+$/.test(v) && Number.isSafeInteger(n) ? n : v;
    }
    default:
      return v;
  }
}
