// The common front half of every areal import: find the Shapefile (folder, .shp or zip), resolve
// its encoding and CRS, and yield each feature as delivered, in EPSG:4490, validated and — when
// invalid — repaired into a separate geometry, with its official ellipsoidal area.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { WeipianError } from '../domain/errors.ts';
import { resolveShapefileInput } from '../formats/source.ts';
import { openShapefile, type ShapefileSource } from '../formats/shapefile.ts';
import { crsFromPrj } from '../geo/prj.ts';
import { getCrs, toCgcs2000, inChina, diagnoseCoordinates, type CrsDef } from '../geo/crs.ts';
import { initGeos } from '../geo/geos.ts';
import { ellipsoidalArea } from '../geo/area.ts';
import { bboxOf, mapCoords, polygonsOf, type Areal, type BBox, type Position } from '../geo/geometry.ts';

export interface ReadOptions {
  encoding?: string;
  /** Overrides the .prj: 'EPSG:4527', '4527'. */
  crs?: string;
  /** Delivered X/Y are northing/easting (surveyors' order): swap before anything else. */
  swapXY?: boolean;
  /** Which Shapefile to take from a folder or zip holding several (base name). */
  layer?: string;
  maxUnzippedBytes: number;
}

export interface ArealFeature {
  index: number;
  attributes: Record<string, unknown>;
  /** Geometry in the delivered CRS, exactly as delivered (after --swap-xy). */
  geomSource: Areal;
  /** The same geometry in EPSG:4490 (CGCS2000 longitude/latitude). */
  geom: Areal;
  /** MakeValid result when geom is invalid; null when geom is valid. */
  repaired: Areal | null;
  validityIssue: string | null;
  areaM2: number;
  bbox: BBox;
}

export interface RefusedFeature {
  index: number;
  attributes: Record<string, unknown>;
  reason: string;
}

export interface ArealSource {
  sourceFile: string;
  sourceSha256: string;
  encoding: string;
  encodingSource: string;
  crs: CrsDef;
  fields: ShapefileSource['fields'];
  featureCount: number;
  features(): AsyncIterable<ArealFeature | RefusedFeature>;
  close(): Promise<void>;
}

export function isRefused(f: ArealFeature | RefusedFeature): f is RefusedFeature {
  return 'reason' in f;
}

/** SHA-256 over one file, or over several in the given order (a Shapefile is several files). */
export async function sha256Files(paths: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function resolveCrs(src: ShapefileSource, override?: string): CrsDef {
  if (override) return getCrs(override);
  if (src.prj === null)
    throw new WeipianError(
      'crs_missing',
      '文件没有坐标系（缺少 .prj），请用 --crs 指定，例如 --crs EPSG:4527（CGCS2000 3度带39带，带号前缀）',
      { file: src.path },
    );
  return crsFromPrj(src.prj);
}

function firstVertex(g: Areal): Position {
  return polygonsOf(g)[0]![0]![0]!;
}

/**
 * The feature in EPSG:4490. A whole file whose coordinates do not transform or do not land in
 * China is refused, saying why when it can tell (swapped axes, wrong CRS).
 */
function toGeographic(source: Areal, crs: CrsDef, toGeo: (p: Position) => Position, index: number): Areal {
  let g: Areal | null;
  try {
    g = crs.kind === 'geographic' && crs.datum === 'CGCS2000' ? source : mapCoords(source, toGeo);
  } catch {
    g = null; // proj4 refuses coordinates far outside the zone: diagnosed below
  }
  const b = g ? bboxOf(g) : null;
  const lon = b ? (b.minx + b.maxx) / 2 : NaN;
  const lat = b ? (b.miny + b.maxy) / 2 : NaN;
  if (g && Number.isFinite(lon) && Number.isFinite(lat) && inChina(lon, lat)) return g;
  const [x, y] = firstVertex(source);
  const diag = diagnoseCoordinates(x, y);
  if (diag.swapped)
    throw new WeipianError(
      'coords_swapped',
      `第 ${index + 1} 个要素的坐标按 ${crs.code} 换算后不在中国境内，X/Y 看起来写反了（测绘习惯 X 为北坐标），请加 --swap-xy 重新导入`,
      { index, x, y, crs: crs.code, diagnosis: diag },
    );
  throw new WeipianError(
    'coords_outside_china',
    `第 ${index + 1} 个要素的坐标按 ${crs.code} 换算后不在中国境内，请检查坐标系（--crs）。${diag.message}`,
    { index, x, y, crs: crs.code, lon, lat, diagnosis: diag },
  );
}

export async function openArealSource(input: string, opts: ReadOptions): Promise<ArealSource> {
  const resolved = await resolveShapefileInput(input, {
    layer: opts.layer,
    maxUnzippedBytes: opts.maxUnzippedBytes,
  });
  try {
    const src = await openShapefile(resolved.shpPath, { encoding: opts.encoding });
    const crs = resolveCrs(src, opts.crs);
    const toGeo = toCgcs2000(crs);
    const geos = await initGeos();
    // A delivered file (zip or .shp) is identified by its own bytes; a folder by all its parts.
    const parts = [src.files.shp, src.files.shx, src.files.dbf, src.files.prj, src.files.cpg];
    const hashed = (await stat(input)).isFile() && !input.toLowerCase().endsWith('.shp') ? [input] : parts;
    const sourceSha256 = await sha256Files(hashed.filter((p): p is string => typeof p === 'string'));
    const swap = (p: Position): Position => [p[1], p[0]];

    async function* features(): AsyncIterable<ArealFeature | RefusedFeature> {
      for await (const f of src.features()) {
        if (f.geometry === null) {
          yield { index: f.index, attributes: f.attributes, reason: '空几何（该记录没有图形）' };
          continue;
        }
        const geomSource = opts.swapXY ? mapCoords(f.geometry, swap) : f.geometry;
        const geom = toGeographic(geomSource, crs, toGeo, f.index);
        const validity = geos.validity(geom);
        let repaired: Areal | null = null;
        if (!validity.valid) {
          repaired = geos.makeValid(geom);
          if (repaired === null) {
            yield {
              index: f.index,
              attributes: f.attributes,
              reason: `几何无效且无法修复：${validity.reason ?? '未知原因'}`,
            };
            continue;
          }
        }
        yield {
          index: f.index,
          attributes: f.attributes,
          geomSource,
          geom,
          repaired,
          validityIssue: validity.valid ? null : (validity.reason ?? 'invalid'),
          areaM2: ellipsoidalArea(repaired ?? geom),
          bbox: bboxOf(geom),
        };
      }
    }

    return {
      sourceFile: basename(input),
      sourceSha256,
      encoding: src.encoding.encoding,
      encodingSource: src.encoding.source,
      crs,
      fields: src.fields,
      featureCount: src.featureCount,
      features,
      close: resolved.cleanup,
    };
  } catch (e) {
    await resolved.cleanup();
    throw e;
  }
}
