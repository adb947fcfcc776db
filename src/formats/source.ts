// Turns what a user hands in (a .shp, a folder, or a .zip of a folder) into exactly one .shp
// path, refusing ambiguity and files whose content is not what their extension says.

import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WeipianError } from '../domain/errors.ts';
import { DEFAULT_ZIP_LIMITS, extractZipSafely, type ZipLimits } from './zip.ts';

export interface ResolveShapefileOptions {
  /** Picks one layer when several .shp exist: its base name ("图斑") or relative path ("a/图斑.shp"). */
  layer?: string;
  /** Where to extract archives; the system temp dir by default. */
  tmpRoot?: string;
  zipLimits?: Partial<ZipLimits>;
  /** Shorthand for zipLimits.maxTotalBytes. */
  maxUnzippedBytes?: number;
}

export interface ResolvedShapefileInput {
  shpPath: string;
  /** Removes anything extracted for this input; safe to call more than once. */
  cleanup(): Promise<void>;
}

export type SniffedType =
  | 'empty'
  | 'zip'
  | 'shapefile'
  | 'rar'
  | '7z'
  | 'gzip'
  | 'pdf'
  | 'sqlite'
  | 'json'
  | 'tiff'
  | 'jpeg'
  | 'png'
  | 'unknown';

/** Chinese names of sniffed content types, for "the extension says X but the content is Y". */
export const TYPE_NAMES: Record<SniffedType, string> = {
  empty: '空文件',
  zip: 'ZIP 压缩包',
  shapefile: 'Shapefile 几何文件',
  rar: 'RAR 压缩包',
  '7z': '7z 压缩包',
  gzip: 'gzip 压缩文件',
  pdf: 'PDF 文档',
  sqlite: 'SQLite/GeoPackage 数据库',
  json: 'JSON/GeoJSON 文本',
  tiff: 'TIFF 影像',
  jpeg: 'JPEG 图片',
  png: 'PNG 图片',
  unknown: '未知格式',
};

/** Identifies a file by its first bytes. */
export async function sniffFileType(file: string): Promise<SniffedType> {
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    const b = Buffer.alloc(16);
    const { bytesRead } = await fh.read(b, 0, 16, 0);
    head = b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.length === 0) return 'empty';
  const starts = (...bytes: number[]) => bytes.every((v, i) => head[i] === v);
  if (starts(0x50, 0x4b) && [0x0304, 0x0506, 0x0708].includes(head.readUInt16BE(2))) return 'zip';
  if (head.length >= 4 && head.readInt32BE(0) === 9994) return 'shapefile';
  if (starts(0x52, 0x61, 0x72, 0x21)) return 'rar';
  if (starts(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) return '7z';
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0x25, 0x50, 0x44, 0x46)) return 'pdf';
  if (head.subarray(0, 15).toString('latin1') === 'SQLite format 3') return 'sqlite';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'png';
  if (/^(\uFEFF)?\s*[{[]/.test(head.toString('utf8'))) return 'json';
  return 'unknown';
}

function mismatch(file: string, expected: SniffedType, actual: SniffedType): WeipianError {
  const hint =
    actual === 'rar' || actual === '7z'
      ? '请解压后重新打包为 ZIP，或直接提供解压后的文件夹。'
      : '请检查是否选错了文件。';
  return new WeipianError(
    'file_type_mismatch',
    `文件 ${file} 的扩展名表明是${TYPE_NAMES[expected]}，但内容是${TYPE_NAMES[actual]}。${hint}`,
    { file, expected, actual },
  );
}

// macOS archives carry AppleDouble twins ("__MACOSX/…/._图斑.shp") that are not shapefiles.
const ignoredDir = (name: string) => name === '__MACOSX' || name.startsWith('.');
const ignoredFile = (name: string) => name.startsWith('._');

/** All .shp files under `dir`, recursively, sorted; symbolic links to folders are not followed. */
export async function findShapefiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        if (!ignoredDir(e.name)) await walk(full);
      } else if (path.extname(e.name).toLowerCase() === '.shp' && !ignoredFile(e.name)) {
        if (e.isFile() || (e.isSymbolicLink() && (await stat(full).catch(() => null))?.isFile()))
          found.push(full);
      }
    }
  };
  await walk(dir);
  return found.sort();
}

const toPosix = (p: string) => p.split(path.sep).join('/');
const fold = (s: string) => s.normalize('NFC').toLowerCase();

function chooseShapefile(dir: string, shps: string[], layer: string | undefined, shown: string): string {
  const rel = shps.map((s) => toPosix(path.relative(dir, s)));
  if (shps.length === 0)
    throw new WeipianError('source_no_shapefile', `${shown} 中没有找到 Shapefile（.shp 文件）。`, {
      input: shown,
    });
  if (layer !== undefined) {
    const want = fold(toPosix(layer).replace(/\.shp$/i, ''));
    const hits = shps.filter((_, i) => {
      const r = fold((rel[i] as string).replace(/\.shp$/i, ''));
      return r === want || fold(path.basename(r)) === want;
    });
    if (hits.length === 1) return hits[0] as string;
    if (hits.length === 0)
      throw new WeipianError(
        'source_layer_not_found',
        `${shown} 中没有名为“${layer}”的图层。可选：${rel.join('、')}。`,
        { input: shown, layer, candidates: rel },
      );
    const hitRel = hits.map((h) => toPosix(path.relative(dir, h)));
    throw new WeipianError(
      'source_ambiguous',
      `${shown} 中有 ${hits.length} 个名为“${layer}”的图层：${hitRel.join('、')}。请用相对路径指定图层，例如 --layer "${hitRel[0]}"。`,
      { input: shown, layer, candidates: hitRel },
    );
  }
  if (shps.length > 1)
    throw new WeipianError(
      'source_ambiguous',
      `${shown} 中有 ${shps.length} 个 Shapefile：${rel.join('、')}。请用 --layer 指定要导入的图层（文件名，不含 .shp），例如 --layer "${path.basename(rel[0] as string, '.shp')}"。`,
      { input: shown, candidates: rel },
    );
  return shps[0] as string;
}

/**
 * Resolves a user's input to one .shp: the file itself, the only .shp inside a folder (searched
 * recursively), or the same inside a .zip, which is extracted to a temporary folder that
 * `cleanup()` removes.
 */
export async function resolveShapefileInput(
  input: string,
  opts: ResolveShapefileOptions = {},
): Promise<ResolvedShapefileInput> {
  const abs = path.resolve(input);
  const st = await stat(abs).catch(() => null);
  if (!st) throw new WeipianError('source_not_found', `找不到输入 ${abs}。`, { input: abs });
  const noop = async () => undefined;

  if (st.isDirectory())
    return { shpPath: chooseShapefile(abs, await findShapefiles(abs), opts.layer, abs), cleanup: noop };

  const ext = path.extname(abs).toLowerCase();
  const kind = await sniffFileType(abs);
  if (ext === '.zip') {
    if (kind !== 'zip') throw mismatch(abs, 'zip', kind);
    const tmp = await mkdtemp(path.join(opts.tmpRoot ?? os.tmpdir(), 'weipian-zip-'));
    const cleanup = () => rm(tmp, { recursive: true, force: true });
    try {
      const limits: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...opts.zipLimits };
      if (opts.maxUnzippedBytes !== undefined) limits.maxTotalBytes = opts.maxUnzippedBytes;
      await extractZipSafely(abs, tmp, limits);
      const shps = await findShapefiles(tmp);
      const chosen = chooseShapefile(tmp, shps, opts.layer, abs);
      return { shpPath: chosen, cleanup };
    } catch (e) {
      await cleanup();
      throw e;
    }
  }
  if (ext === '.shp') {
    // An empty .shp is left to openShapefile, which reports it as 'shp_empty'.
    if (kind !== 'shapefile' && kind !== 'empty') throw mismatch(abs, 'shapefile', kind);
    return { shpPath: abs, cleanup: noop };
  }
  // A sibling (.dbf, .shx, …) stands for its layer when the .shp is beside it.
  if (['.dbf', '.shx', '.prj', '.cpg'].includes(ext)) {
    const base = fold(path.basename(abs, path.extname(abs)));
    const dir = path.dirname(abs);
    const shp = (await readdir(dir)).find(
      (n) => path.extname(n).toLowerCase() === '.shp' && fold(path.basename(n, path.extname(n))) === base,
    );
    if (shp) return resolveShapefileInput(path.join(dir, shp), opts);
  }
  throw new WeipianError(
    'source_unsupported_type',
    `不支持的输入 ${abs}（${TYPE_NAMES[kind]}）：请提供 .shp 文件、包含 Shapefile 的文件夹或 ZIP 压缩包。`,
    { input: abs, actual: kind },
  );
}
