// The common front half of every areal import: open the delivery whatever its format (Shapefile,
// GeoPackage, File Geodatabase, GeoJSON, KML/KMZ, Excel/CSV table — see formats/vector-source.ts),
// resolve its CRS, and yield each feature as delivered, in EPSG:4490, validated and — when
// invalid — repaired into a separate geometry, with its official ellipsoidal area. Patches may
// also be centre points (tables without a boundary); reference layers may not.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { WeipianError, isWeipianError } from '../domain/errors.ts';
import {
  openVectorSource,
  notPolygon,
  FORMAT_NAMES,
  type VectorField,
  type VectorFormat,
  type VectorSource,
} from '../formats/vector-source.ts';
import { crsFromPrj } from '../geo/prj.ts';
import { toCgcs2000, inChina, diagnoseCoordinates, type CrsDef } from '../geo/crs.ts';
import { initGeos, type Validity } from '../geo/geos.ts';
import { certainlyValid } from '../geo/simple-polygon.ts';
import { ellipsoidalArea } from '../geo/area.ts';
import {
  bboxOfGeometry,
  mapGeometry,
  polygonsOf,
  type Areal,
  type BBox,
  type PatchGeometry,
  type Point,
  type PolygonCoords,
  type Position,
  type Ring,
} from '../geo/geometry.ts';

export interface ReadOptions {
  encoding?: string;
  /** Overrides the CRS the file declares (.prj, GeoPackage, GeoJSON crs …): 'EPSG:4527', '4527'. */
  crs?: string;
  /** Delivered X/Y are northing/easting (surveyors' order): swap before anything else. */
  swapXY?: boolean;
  /** Which dataset of a folder/zip, layer of a GeoPackage/FileGDB, sheet of a workbook, folder of a KML. */
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

/** A patch delivered only by its centre: nothing to validate or measure. */
export interface PointFeature {
  index: number;
  attributes: Record<string, unknown>;
  geomSource: Point;
  geom: Point;
  bbox: BBox;
}

export interface RefusedFeature {
  index: number;
  attributes: Record<string, unknown>;
  reason: string;
}

export interface ArealSource<F = ArealFeature> {
  sourceFile: string;
  sourceSha256: string;
  format: VectorFormat;
  /** Layer, sheet or KML folder read, when the format has several. */
  layer: string | null;
  encoding: string;
  encodingSource: string;
  crs: CrsDef;
  /** Chinese remarks on assumptions made while reading (CRS by convention, axis order …). */
  notes: string[];
  fields: VectorField[];
  featureCount: number;
  features(): AsyncIterable<F | RefusedFeature>;
  close(): Promise<void>;
}

export function isRefused<F extends object>(f: F | RefusedFeature): f is RefusedFeature {
  return 'reason' in f;
}

export function isPointFeature(f: ArealFeature | PointFeature): f is PointFeature {
  return f.geom.type === 'Point';
}

/** SHA-256 over one file, or over several in the given order (a Shapefile is several files). */
export async function sha256Files(paths: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function resolveCrs(src: VectorSource): CrsDef {
  if (src.crs) return src.crs;
  if (src.prj === null)
    throw new WeipianError(
      'crs_missing',
      src.format === 'shapefile'
        ? '文件没有坐标系（缺少 .prj），请用 --crs 指定，例如 --crs EPSG:4527（CGCS2000 3度带39带，带号前缀）'
        : `${FORMAT_NAMES[src.format]}${src.layer ? ` 图层“${src.layer}”` : ''}没有坐标系定义，请用 --crs 指定，例如 --crs EPSG:4527（CGCS2000 3度带39带，带号前缀）`,
      { file: src.path, layer: src.layer },
    );
  return crsFromPrj(src.prj);
}

function firstVertex(g: PatchGeometry): Position {
  return g.type === 'Point' ? g.coordinates : polygonsOf(g)[0]![0]![0]!;
}

/** Refuses a whole file whose coordinates do not land in China, saying why when it can tell. */
function refuseLocation(source: PatchGeometry, crs: CrsDef, index: number, lon: number, lat: number): never {
  const [x, y] = firstVertex(source);
  const diag = diagnoseCoordinates(x, y);
  if (diag.swapped)
    throw new WeipianError(
      'coords_swapped',
      `第 ${index + 1} 个要素的坐标换算后不在中国境内，X/Y 看起来写反了（测绘习惯 X 为北坐标），请加 --swap-xy 重新导入`,
      { index, x, y, crs: crs.code, diagnosis: diag },
    );
  const where =
    Number.isFinite(lon) && Number.isFinite(lat)
      ? `（${lon.toFixed(4)}, ${lat.toFixed(4)}）`
      : '（无法换算）';
  throw new WeipianError(
    'coords_outside_china',
    `第 ${index + 1} 个要素的坐标按 ${crs.code} 换算后不在中国境内${where}，请检查坐标系（--crs）`,
    { index, x, y, crs: crs.code, lon, lat, diagnosis: diag },
  );
}

/**
 * Transforms a ring; its closing vertex repeats the first, so it reuses that transform (the same
 * input gives the same output) instead of computing it again.
 */
function mapRing(ring: Ring, f: (p: Position) => Position): Ring {
  const n = ring.length;
  const out: Ring = new Array<Position>(n);
  for (let i = 0; i < n; i++) out[i] = f(ring[i]!);
  return out;
}

function mapClosedRing(ring: Ring, f: (p: Position) => Position): Ring {
  const n = ring.length;
  if (n < 2) return mapRing(ring, f);
  const first = ring[0]!;
  const last = ring[n - 1]!;
  if (first[0] !== last[0] || first[1] !== last[1]) return mapRing(ring, f);
  const out: Ring = new Array<Position>(n);
  for (let i = 0; i < n - 1; i++) out[i] = f(ring[i]!);
  const q = out[0]!;
  out[n - 1] = [q[0], q[1]];
  return out;
}

/** mapGeometry (geometry.ts) with the closing vertex of each ring transformed once. */
function transformGeometry(g: PatchGeometry, f: (p: Position) => Position): PatchGeometry {
  if (g.type === 'Point') return { type: 'Point', coordinates: f(g.coordinates) };
  const poly = (rings: PolygonCoords): PolygonCoords => rings.map((r) => mapClosedRing(r, f));
  return g.type === 'Polygon'
    ? { type: 'Polygon', coordinates: poly(g.coordinates) }
    : { type: 'MultiPolygon', coordinates: g.coordinates.map(poly) };
}

/**
 * The geometry in EPSG:4490 and its bounding box; coordinates that cannot even be transformed are
 * refused like those outside China.
 */
function toGeographic(
  delivered: PatchGeometry,
  crs: CrsDef,
  toGeo: (p: Position) => Position,
  identity: boolean,
  index: number,
): { g: PatchGeometry; bbox: BBox } {
  let g: PatchGeometry;
  try {
    g = identity ? delivered : transformGeometry(delivered, toGeo);
  } catch (e) {
    if (isWeipianError(e) && e.code === 'crs_transform_failed')
      refuseLocation(delivered, crs, index, NaN, NaN);
    throw e;
  }
  const b = bboxOfGeometry(g);
  const lon = (b.minx + b.maxx) / 2;
  const lat = (b.miny + b.maxy) / 2;
  if (!(Number.isFinite(lon) && Number.isFinite(lat) && inChina(lon, lat)))
    refuseLocation(delivered, crs, index, lon, lat);
  return { g, bbox: b };
}

/** A polygon settled as valid without GEOS (geo/simple-polygon.ts). */
const VALID: Validity = { valid: true };

/** Opens a delivery whose features must all be polygons (reference layers). */
export function openArealSource(input: string, opts: ReadOptions): Promise<ArealSource<ArealFeature>>;
/** Opens a delivery of patches, which may also be centre points. */
export function openArealSource(
  input: string,
  opts: ReadOptions,
  accept: { points: true },
): Promise<ArealSource<ArealFeature | PointFeature>>;
export async function openArealSource(
  input: string,
  opts: ReadOptions,
  accept: { points: boolean } = { points: false },
): Promise<ArealSource<ArealFeature | PointFeature>> {
  const src = await openVectorSource(input, {
    layer: opts.layer,
    encoding: opts.encoding,
    crs: opts.crs,
    swapXY: opts.swapXY,
    maxUnzippedBytes: opts.maxUnzippedBytes,
    geometry: accept.points ? 'polygon-or-point' : 'polygon',
  });
  try {
    const crs = resolveCrs(src);
    const toGeo = toCgcs2000(crs);
    // A delivered file (zip, .gpkg, table …) is identified by its own bytes; a folder or a .shp by
    // all the parts of the dataset read.
    const hashed =
      (await stat(input)).isFile() && !input.toLowerCase().endsWith('.shp') ? [input] : src.files;
    const sourceSha256 = await sha256Files(hashed);
    // Tables have already chosen their axis order (they try both); others swap on request.
    const swap = opts.swapXY === true && !src.axisResolved;
    const swapXY = (p: Position): Position => [p[1], p[0]];
    const identity = crs.kind === 'geographic' && crs.datum === 'CGCS2000';

    async function* features(): AsyncIterable<ArealFeature | PointFeature | RefusedFeature> {
      for await (const f of src.features()) {
        if (f.geometry === null) {
          yield { index: f.index, attributes: f.attributes, reason: f.problem ?? '空几何（该记录没有图形）' };
          continue;
        }
        const delivered: PatchGeometry = swap ? mapGeometry(f.geometry, swapXY) : f.geometry;
        const { g: inGeo, bbox } = toGeographic(delivered, crs, toGeo, identity, f.index);
        if (inGeo.type === 'Point') {
          if (!accept.points)
            throw notPolygon(basename(src.path), `第 ${f.index + 1} 个要素`, 'Point', { index: f.index });
          yield {
            index: f.index,
            attributes: f.attributes,
            geomSource: delivered as Point,
            geom: inGeo,
            bbox,
          };
          continue;
        }
        const geomSource = delivered as Areal;
        const geom = inGeo;
        // GEOS loads on the first polygon the quick check cannot settle: a delivery of simple
        // parcels is read without it (its WASM start is ~0.25 s of CPU).
        const validity = certainlyValid(geom) ? VALID : (await initGeos()).validity(geom);
        let repaired: Areal | null = null;
        if (!validity.valid) {
          repaired = (await initGeos()).makeValid(geom);
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
          bbox,
        };
      }
    }

    return {
      sourceFile: basename(input),
      sourceSha256,
      format: src.format,
      layer: src.layer,
      encoding: src.encoding.encoding,
      encodingSource: src.encoding.source,
      crs,
      notes: src.notes,
      fields: src.fields,
      featureCount: src.featureCount,
      features,
      close: () => src.close(),
    };
  } catch (e) {
    await src.close();
    throw e;
  }
}

/** The fields every import summary starts with: where the data came from and how it was read. */
export function summaryStart(
  src: Pick<ArealSource<unknown>, 'sourceFile' | 'sourceSha256' | 'encoding' | 'encodingSource' | 'crs'>,
  dryRun: boolean | undefined,
) {
  return {
    sourceFile: src.sourceFile,
    sourceSha256: src.sourceSha256,
    encoding: src.encoding,
    encodingSource: src.encodingSource,
    crs: src.crs.code,
    crsApproximate: src.crs.approximateDatum === true,
    read: 0,
    imported: 0,
    totalAreaM2: 0,
    dryRun: dryRun === true,
  };
}
