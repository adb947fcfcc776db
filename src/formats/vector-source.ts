// One entry point for every format a district receives: a file, a folder or a zip is identified by
// its content (first bytes, not the extension), a file whose content contradicts its extension is
// refused, and the one dataset inside is opened with the reader for its format:
//   Shapefile → shapefile.ts · GeoPackage, File Geodatabase → gdal.ts · GeoJSON → geojson-reader.ts
//   KML/KMZ → kml.ts · Excel (.xlsx), CSV → table.ts
// Zips (and KMZ and .xlsx, which are zips) always go through the safe extraction of zip.ts first.

import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WeipianError } from '../domain/errors.ts';
import { getCrs } from '../geo/crs.ts';
import { exportGdalLayer, gdalValue, readGdalGeoJson, type GdalLayer } from './gdal.ts';
import { openGeoJson } from './geojson-reader.ts';
import { openKml } from './kml.ts';
import { openShapefile } from './shapefile.ts';
import { resolveShapefileInput, sniffFileType, TYPE_NAMES, type SniffedType } from './source.ts';
import { openTable } from './table.ts';
import {
  geometryFromGeoJson,
  notPolygon,
  setAttr,
  type GeometryMode,
  type OpenVectorOptions,
  type VectorFeature,
  type VectorSource,
} from './vector-common.ts';
import { DEFAULT_ZIP_LIMITS, extractZipSafely, type ZipLimits } from './zip.ts';

export * from './vector-common.ts';

export type ContentKind = SniffedType | 'xlsx' | 'kml' | 'xml' | 'xls' | 'text' | 'binary' | 'filegdb';

const CONTENT_NAMES: Record<ContentKind, string> = {
  ...TYPE_NAMES,
  xlsx: 'Excel 工作簿（.xlsx）',
  kml: 'KML 文件',
  xml: 'XML 文档（非 KML）',
  xls: '旧版 Excel 工作簿（.xls）',
  text: '文本（CSV 表格）',
  binary: '二进制数据',
  filegdb: 'File Geodatabase 文件夹',
};

/** What each extension promises; a file whose content is not one of these is refused. */
const EXPECTED: Record<string, ContentKind[]> = {
  '.shp': ['shapefile'],
  '.gpkg': ['sqlite'],
  '.sqlite': ['sqlite'],
  '.geojson': ['json'],
  '.json': ['json'],
  '.kml': ['kml'],
  '.kmz': ['zip'],
  '.zip': ['zip', 'xlsx'],
  '.xlsx': ['xlsx'],
  '.xls': ['xls'],
  '.csv': ['text'],
  '.txt': ['text'],
};

const SUPPORTED =
  'Shapefile、GeoPackage、GeoJSON、File Geodatabase（.gdb 文件夹或其 ZIP）、KML/KMZ、Excel（.xlsx）或 CSV';

/**
 * Identifies a file by its content: the binary signatures of sniffFileType, then — for the rest —
 * old Excel (OLE2), KML or other XML, text (a CSV candidate) or binary. A zip is reported as 'zip'
 * (whether it is an .xlsx is only known once it has been safely extracted).
 */
export async function sniffContent(file: string): Promise<ContentKind> {
  const base = await sniffFileType(file);
  if (base !== 'unknown') return base;
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    const b = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    head = b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.subarray(0, 8).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))) return 'xls';
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return 'text';
  const body = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? head.subarray(3) : head;
  const latin = body.toString('latin1');
  if (/^\s*</.test(latin)) return /<(\w+:)?kml[\s>]/i.test(latin) ? 'kml' : 'xml';
  if (body.includes(0)) return 'binary';
  return 'text';
}

function mismatch(file: string, ext: string, actual: ContentKind): WeipianError {
  const expected = EXPECTED[ext]![0]!;
  const expectedName = ext === '.kmz' ? 'KMZ 压缩包' : CONTENT_NAMES[expected];
  const hint =
    actual === 'rar' || actual === '7z'
      ? '请解压后重新打包为 ZIP，或直接提供解压后的文件夹。'
      : actual === 'xls'
        ? '请在 Excel 中另存为 .xlsx。'
        : '请检查是否选错了文件。';
  return new WeipianError(
    'file_type_mismatch',
    `文件 ${file} 的扩展名（${ext}）表明是${expectedName}，但内容是${CONTENT_NAMES[actual]}。${hint}`,
    { file, expected, actual },
  );
}

function unsupported(file: string, actual: ContentKind): WeipianError {
  const advice =
    actual === 'xls'
      ? '旧版 Excel（.xls）请在 Excel 中另存为 .xlsx 或 CSV 后导入。'
      : actual === 'rar' || actual === '7z'
        ? '请解压后重新打包为 ZIP，或直接提供解压后的文件夹。'
        : `请提供 ${SUPPORTED}。`;
  return new WeipianError(
    'source_unsupported_type',
    `不支持的输入 ${file}（${CONTENT_NAMES[actual]}）：${advice}`,
    {
      input: file,
      actual,
    },
  );
}

interface Ctx {
  opts: OpenVectorOptions;
  mode: GeometryMode;
  /** --layer when it already named the file: used only if the file has a layer of that name too. */
  preferLayer?: string;
  cleanups: (() => Promise<void>)[];
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null)) !== null;
}

async function extract(zip: string, ctx: Ctx): Promise<string> {
  const tmp = await mkdtemp(path.join(ctx.opts.tmpRoot ?? os.tmpdir(), 'weipian-zip-'));
  ctx.cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  const limits: ZipLimits = { ...DEFAULT_ZIP_LIMITS };
  if (ctx.opts.maxUnzippedBytes !== undefined) limits.maxTotalBytes = ctx.opts.maxUnzippedBytes;
  await extractZipSafely(zip, tmp, limits);
  return tmp;
}

// ---- folders -------------------------------------------------------------------------------------

type CandidateKind = 'shapefile' | 'gdb' | 'file' | 'table';

interface Candidate {
  path: string;
  kind: CandidateKind;
}

const ignoredDir = (name: string) => name === '__MACOSX' || name.startsWith('.');
const ignoredFile = (name: string) => name.startsWith('._');
const toPosix = (p: string) => p.split(path.sep).join('/');
const fold = (s: string) => s.normalize('NFC').toLowerCase();
const DATA_EXT = /\.(shp|gpkg|sqlite|geojson|json|kml|kmz|xlsx|csv|gdb)$/i;

async function isGdbFolder(dir: string): Promise<boolean> {
  return /\.gdb$/i.test(dir) || (await exists(path.join(dir, 'a00000001.gdbtable')));
}

async function looksLikeGeoJson(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    return /"type"\s*:\s*"Feature/.test(b.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await fh.close();
  }
}

/** The datasets in a folder tree: .shp, .gpkg, .gdb folders, GeoJSON, KML/KMZ, .xlsx, .csv. */
async function findDatasets(dir: string): Promise<Candidate[]> {
  const found: Candidate[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        if (ignoredDir(e.name)) continue;
        if (await isGdbFolder(full)) found.push({ path: full, kind: 'gdb' });
        else await walk(full);
        continue;
      }
      if (!e.isFile() || ignoredFile(e.name)) continue;
      const ext = path.extname(e.name).toLowerCase();
      if (ext === '.shp') found.push({ path: full, kind: 'shapefile' });
      else if (['.gpkg', '.sqlite', '.geojson', '.kml', '.kmz'].includes(ext))
        found.push({ path: full, kind: 'file' });
      else if (ext === '.json' && (await looksLikeGeoJson(full))) found.push({ path: full, kind: 'file' });
      else if (ext === '.xlsx' || ext === '.csv') found.push({ path: full, kind: 'table' });
    }
  };
  await walk(dir);
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function chooseDataset(
  dir: string,
  all: Candidate[],
  layer: string | undefined,
  shown: string,
): { chosen: Candidate; innerLayer?: string; preferLayer?: string } {
  const rel = (c: Candidate) => toPosix(path.relative(dir, c.path));
  if (all.length === 0)
    throw new WeipianError('source_no_data', `${shown} 中没有找到可导入的数据（${SUPPORTED}）。`, {
      input: shown,
    });
  // Tables beside a map layer are usually lists of it: the layer is the delivery.
  const spatial = all.filter((c) => c.kind !== 'table');
  const pool = spatial.length ? spatial : all;
  const names = all.map(rel);
  if (layer !== undefined) {
    const want = fold(toPosix(layer)).replace(DATA_EXT, '');
    const hits = all.filter((c) => {
      const r = fold(rel(c)).replace(DATA_EXT, '');
      return r === want || fold(path.basename(r)) === want;
    });
    // A GeoPackage named like its layer: the name may still pick that layer among several.
    if (hits.length === 1) return { chosen: hits[0]!, preferLayer: layer };
    if (hits.length > 1) {
      const hitRel = hits.map(rel);
      throw new WeipianError(
        'source_ambiguous',
        `${shown} 中有 ${hits.length} 个名为“${layer}”的图层：${hitRel.join('、')}。请用相对路径指定图层，例如 --layer "${hitRel[0]}"。`,
        { input: shown, layer, candidates: hitRel },
      );
    }
    // Not a file name: then a layer, sheet or folder inside the only dataset that has such.
    if (pool.length === 1 && pool[0]!.kind !== 'shapefile') return { chosen: pool[0]!, innerLayer: layer };
    throw new WeipianError(
      'source_layer_not_found',
      `${shown} 中没有名为“${layer}”的图层。可选：${names.join('、')}。`,
      {
        input: shown,
        layer,
        candidates: names,
      },
    );
  }
  if (pool.length > 1) {
    // A KMZ holds its main document as doc.kml at the top level.
    const doc = pool.find((c) => rel(c).toLowerCase() === 'doc.kml');
    if (doc && pool.every((c) => /\.kml$/i.test(c.path))) return { chosen: doc };
    const poolRel = pool.map(rel);
    const what = pool.every((c) => c.kind === 'shapefile') ? 'Shapefile' : '数据文件';
    throw new WeipianError(
      'source_ambiguous',
      `${shown} 中有 ${pool.length} 个${what}：${poolRel.join('、')}。请用 --layer 指定要导入的图层（文件名，不含扩展名），例如 --layer "${path.basename(poolRel[0]!).replace(DATA_EXT, '')}"。`,
      { input: shown, candidates: poolRel },
    );
  }
  return { chosen: pool[0]! };
}

async function openFolder(
  dir: string,
  shown: string,
  ctx: Ctx,
  layer: string | undefined,
): Promise<VectorSource> {
  if (await isGdbFolder(dir)) return openGdalSource(dir, ctx, layer);
  const { chosen, innerLayer, preferLayer } = chooseDataset(dir, await findDatasets(dir), layer, shown);
  ctx.preferLayer = preferLayer;
  if (chosen.kind === 'shapefile') return openShapefileSource(chosen.path, ctx);
  if (chosen.kind === 'gdb') return openGdalSource(chosen.path, ctx, innerLayer);
  return openFile(chosen.path, ctx, innerLayer);
}

// ---- files ---------------------------------------------------------------------------------------

async function openFile(file: string, ctx: Ctx, layer: string | undefined): Promise<VectorSource> {
  const ext = path.extname(file).toLowerCase();
  // A sibling (.dbf, .shx, …) stands for its layer when the .shp is beside it.
  if (['.dbf', '.shx', '.prj', '.cpg'].includes(ext)) {
    const resolved = await resolveShapefileInput(file, { layer });
    return openShapefileSource(resolved.shpPath, ctx);
  }
  let kind: ContentKind = await sniffContent(file);
  if (kind === 'empty')
    throw new WeipianError('source_empty', `文件 ${file} 是空文件（0 字节），没有可导入的内容。`, { file });
  let extracted: string | undefined;
  if (kind === 'zip') {
    extracted = await extract(file, ctx);
    if (await exists(path.join(extracted, 'xl', 'workbook.xml'))) kind = 'xlsx';
  }
  const expected = EXPECTED[ext];
  if (expected && !expected.includes(kind)) throw mismatch(file, ext, kind);
  switch (kind) {
    case 'zip':
      return openFolder(extracted!, file, ctx, layer);
    case 'xlsx':
      return openTable(file, 'xlsx', { ...tableOptions(ctx), layer });
    case 'text':
      return openTable(file, 'csv', tableOptions(ctx));
    case 'shapefile':
      return openShapefileSource(file, ctx);
    case 'sqlite':
      return openGdalSource(file, ctx, layer);
    case 'json':
      return openGeoJson(file, { encoding: ctx.opts.encoding, crs: ctx.opts.crs });
    case 'kml':
      return openKml(file, { encoding: ctx.opts.encoding, crs: ctx.opts.crs, layer });
    default:
      throw unsupported(file, kind);
  }
}

function tableOptions(ctx: Ctx) {
  const { encoding, crs, swapXY } = ctx.opts;
  return { encoding, crs, swapXY, geometry: ctx.mode };
}

// ---- Shapefile -----------------------------------------------------------------------------------

async function openShapefileSource(shp: string, ctx: Ctx): Promise<VectorSource> {
  const src = await openShapefile(shp, { encoding: ctx.opts.encoding });
  const f = src.files;
  return {
    format: 'shapefile',
    path: src.path,
    layer: null,
    files: [f.shp, f.shx, f.dbf, f.prj, f.cpg].filter((p): p is string => typeof p === 'string'),
    encoding: src.encoding,
    prj: src.prj,
    crs: ctx.opts.crs ? getCrs(ctx.opts.crs) : null,
    axisResolved: false,
    notes: src.encoding.notes ?? [],
    fields: src.fields,
    featureCount: src.featureCount,
    features: async function* () {
      for await (const r of src.features())
        yield { index: r.index, geometry: r.geometry, attributes: r.attributes };
    },
    close: async () => undefined,
  };
}

// ---- GeoPackage / File Geodatabase ---------------------------------------------------------------

function geometryClass(type: string): 'point' | 'line' | 'area' {
  if (/point/i.test(type)) return 'point';
  if (/polygon|surface/i.test(type)) return 'area';
  if (/line|curve/i.test(type)) return 'line';
  return 'area'; // 'Unknown (any)' / 'Geometry': decided per feature
}

function chooseGdalLayer(
  layers: GdalLayer[],
  want: string | undefined,
  shown: string,
  formatName: string,
  mode: GeometryMode,
  prefer?: string,
): GdalLayer {
  const spatial = layers.filter((l) => l.geometryType !== null);
  if (want === undefined && prefer !== undefined && spatial.length > 1)
    want = spatial.find((l) => fold(l.name.trim()) === fold(prefer.trim()))?.name;
  const names = spatial.map((l) => l.name);
  let layer: GdalLayer | undefined;
  if (want !== undefined) {
    layer =
      layers.find((l) => l.name === want) ?? layers.find((l) => fold(l.name.trim()) === fold(want.trim()));
    if (!layer)
      throw new WeipianError(
        'source_layer_not_found',
        `${shown} 中没有名为“${want}”的图层。可选：${names.join('、') || '（无）'}。`,
        { input: shown, layer: want, candidates: names },
      );
    if (layer.geometryType === null)
      throw new WeipianError(
        'source_layer_not_spatial',
        `${shown} 中的“${layer.name}”是属性表，没有图形，不能作为图斑或图层导入。`,
        {
          input: shown,
          layer: layer.name,
          candidates: names,
        },
      );
  } else {
    if (spatial.length === 0)
      throw new WeipianError('source_no_layer', `${shown}（${formatName}）中没有带图形的图层，无法导入。`, {
        input: shown,
        layers: layers.map((l) => l.name),
      });
    if (spatial.length > 1)
      throw new WeipianError(
        'source_ambiguous',
        `${shown} 中有 ${spatial.length} 个图层：${names.join('、')}。请用 --layer 指定要导入的图层，例如 --layer "${names[0]}"。`,
        { input: shown, candidates: names },
      );
    layer = spatial[0]!;
  }
  const cls = geometryClass(layer.geometryType ?? '');
  if (cls === 'line' || (cls === 'point' && mode === 'polygon'))
    throw notPolygon(shown, `中的图层“${layer.name}”`, cls === 'point' ? 'Point' : 'LineString', {
      layer: layer.name,
      geometryType: layer.geometryType,
    });
  return layer;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(full);
    }
  };
  await walk(dir);
  return out.sort((a, b) => (toPosix(a) < toPosix(b) ? -1 : toPosix(a) > toPosix(b) ? 1 : 0));
}

async function openGdalSource(dataset: string, ctx: Ctx, layer: string | undefined): Promise<VectorSource> {
  const shown = path.basename(dataset);
  const isGdb = (await stat(dataset)).isDirectory();
  const exp = await exportGdalLayer(dataset, (layers, driver) =>
    chooseGdalLayer(
      layers,
      layer,
      shown,
      /FileGDB/i.test(driver) ? 'File Geodatabase' : 'GeoPackage',
      ctx.mode,
      ctx.preferLayer,
    ),
  );
  let bytes: Uint8Array | null = exp.bytes;
  const fields = new Map(exp.layer.fields.map((f) => [f.name, f]));
  const count = exp.layer.featureCount;
  const notes = exp.driver && !/GPKG|FileGDB/i.test(exp.driver) ? [`按 GDAL ${exp.driver} 驱动读取。`] : [];
  return {
    format: /FileGDB/i.test(exp.driver) || isGdb ? 'filegdb' : 'geopackage',
    path: dataset,
    layer: exp.layer.name,
    files: isGdb ? await listFiles(dataset) : [dataset],
    encoding: { encoding: 'utf-8', source: 'format' },
    prj: exp.layer.wkt,
    crs: ctx.opts.crs ? getCrs(ctx.opts.crs) : null,
    axisResolved: false,
    notes,
    fields: exp.layer.fields.map((f) => ({
      name: f.name,
      type: f.subType ? `${f.type}(${f.subType})` : f.type,
      length: f.width ?? 0,
      decimals: f.precision ?? 0,
    })),
    featureCount: Math.max(count, 0),
    features: async function* (): AsyncGenerator<VectorFeature> {
      if (!bytes) throw new WeipianError('source_closed', `${shown} 已关闭。`, { file: dataset });
      let index = 0;
      for (const f of readGdalGeoJson(bytes)) {
        const attributes: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(f.properties ?? {}))
          setAttr(attributes, k, gdalValue(v, fields.get(k)));
        const g = geometryFromGeoJson(f.geometry, { file: shown, index, invalidCode: 'source_unreadable' });
        yield g.problem ? { index, attributes, ...g } : { index, attributes, geometry: g.geometry };
        index++;
      }
      if (count >= 0 && index !== count)
        throw new WeipianError(
          'source_unreadable',
          `${shown} 的图层“${exp.layer.name}”应有 ${count} 个要素，只读到 ${index} 个。`,
          {
            file: dataset,
            expected: count,
            actual: index,
          },
        );
    },
    close: async () => {
      bytes = null;
    },
  };
}

// ---- entry point ---------------------------------------------------------------------------------

/**
 * Opens what a user hands in — a file, a folder or a zip — as one vector dataset, whatever its
 * format. `close()` removes everything extracted or converted on the way.
 */
export async function openVectorSource(input: string, opts: OpenVectorOptions = {}): Promise<VectorSource> {
  const abs = path.resolve(input);
  const st = await stat(abs).catch(() => null);
  if (!st) throw new WeipianError('source_not_found', `找不到输入 ${abs}。`, { input: abs });
  const ctx: Ctx = { opts, mode: opts.geometry ?? 'polygon', cleanups: [] };
  const cleanup = async () => {
    for (const c of ctx.cleanups.splice(0).reverse()) await c();
  };
  try {
    const src = st.isDirectory()
      ? await openFolder(abs, abs, ctx, opts.layer)
      : await openFile(abs, ctx, opts.layer);
    const close = src.close;
    return {
      ...src,
      notes: [...src.notes],
      close: async () => {
        try {
          await close();
        } finally {
          await cleanup();
        }
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
