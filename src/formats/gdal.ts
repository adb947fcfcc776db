// GeoPackage and File Geodatabase through gdal3.js (GDAL compiled to WASM). GDAL describes the
// dataset (layers, fields, CRS as WKT1 for crsFromPrj) and converts the chosen layer to GeoJSON in a
// scratch folder on disk; the features are then streamed from that file one line at a time (GDAL's
// GeoJSON writer puts each feature on its own line), so a large land-use layer never sits in memory
// as one JSON document.
//
// gdal3.js keeps global state (one mounted input folder, one error slot), so every call into it
// runs under one process-wide lock; the WASM module is initialised once (about a second).

import { mkdtempSync, rmSync, createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { WeipianError, isWeipianError } from '../domain/errors.ts';

interface GdalDataset {
  pointer: number;
  path: string;
}

interface GdalApi {
  open(file: string, options?: string[]): Promise<{ datasets: GdalDataset[]; errors: unknown[] }>;
  close(ds: GdalDataset): Promise<void>;
  ogrinfo(ds: GdalDataset, options?: string[]): Promise<unknown>;
  ogr2ogr(ds: GdalDataset, options: string[], outputName: string): Promise<{ local: string; real: string }>;
}

interface GdalConfig {
  path: string;
  dest: string;
  logHandler: (message: string, type: string) => void;
  errorHandler: (message: string, type: string) => void;
}

const require = createRequire(import.meta.url);
let pending: Promise<{ gdal: GdalApi; outDir: string }> | undefined;
/** GDAL's stderr during the current locked operation, for error messages. */
const messages: string[] = [];

function initGdal(): Promise<{ gdal: GdalApi; outDir: string }> {
  pending ??= (async () => {
    const init = require('gdal3.js/node.js') as (config: GdalConfig) => Promise<GdalApi>;
    const pkgDir = path.join(path.dirname(require.resolve('gdal3.js/node.js')), 'dist', 'package');
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'weipian-gdal-'));
    process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
    // gdal3.js reads its data file from "./" + path, so the path must be relative to the cwd.
    const rel = path.relative(process.cwd(), pkgDir) || '.';
    const gdal = await init({
      path: rel,
      dest: outDir,
      logHandler: () => undefined,
      errorHandler: (m) => {
        messages.push(m.trim());
      },
    });
    return { gdal, outDir };
  })().catch((e: unknown) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

let queue: Promise<unknown> = Promise.resolve();

function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

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
  /** GeoJSON written by GDAL (in the layer's own CRS and axis order); remove it when done. */
  file: string;
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

function gdalMessage(e: unknown): string {
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

/**
 * Opens `dataset` (a .gpkg file or a .gdb folder) with GDAL, lets `choose` pick one of its layers
 * (it may throw to refuse), and converts that layer to GeoJSON on disk.
 */
export function exportGdalLayer(dataset: string, choose: (layers: GdalLayer[], driver: string) => GdalLayer): Promise<GdalExport> {
  const shown = path.basename(dataset);
  return exclusive(async () => {
    const { gdal, outDir } = await initGdal();
    messages.length = 0;
    let opened: GdalDataset | undefined;
    try {
      opened = (await gdal.open(path.resolve(dataset))).datasets[0];
    } catch (e) {
      throw new WeipianError('source_unreadable', `无法读取 ${shown}（GDAL：${gdalMessage(e)}），文件可能已损坏。`, {
        file: dataset,
        gdal: gdalMessage(e),
      });
    }
    if (!opened)
      throw new WeipianError('source_unreadable', `无法读取 ${shown}（GDAL 未能打开），文件可能已损坏。`, { file: dataset });
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
          wkt: g?.coordinateSystem?.wkt?.trim() || null,
          fields: l.fields ?? [],
        };
      });
      const layer = choose(layers, driver);
      const name = `layer-${process.pid}-${randomBytes(6).toString('hex')}`;
      written = path.join(outDir, `${name}.geojson`);
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
      return { driver, layers, layer, file: out.real };
    } catch (e) {
      if (written) await rm(written, { force: true });
      if (isWeipianError(e)) throw e;
      throw new WeipianError('source_unreadable', `无法读取 ${shown} 的图层（GDAL：${gdalMessage(e)}）。`, {
        file: dataset,
        gdal: gdalMessage(e),
      });
    } finally {
      await gdal.close(ds);
    }
  });
}

/** The features of a GeoJSON file written by GDAL, one line each, without loading the file. */
export async function* readGdalGeoJson(
  file: string,
): AsyncGenerator<{ geometry: unknown; properties: Record<string, unknown> | null }> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (!line.startsWith('{ "type": "Feature"')) continue;
      const f = JSON.parse(line.endsWith(',') ? line.slice(0, -1) : line) as {
        geometry?: unknown;
        properties?: Record<string, unknown> | null;
      };
      yield { geometry: f.geometry ?? null, properties: f.properties ?? null };
    }
  } finally {
    lines.close();
  }
}

export async function removeGdalOutput(file: string): Promise<void> {
  await rm(file, { force: true });
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
