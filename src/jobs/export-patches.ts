// Export of a batch's patches: GeoJSON (streamed), Shapefile (.shp set or .zip), GeoPackage and
// Excel. Every file is written beside its target under a temporary name and renamed at the end, so
// a failed export never leaves a file — or half a Shapefile set — under the requested name.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import yazl from 'yazl';
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import { findBatchBySlug, type BatchRow } from '../store/queries/batches.ts';
import { countPatches, listPatches, type PatchRow } from '../store/queries/patches.ts';
import { listImports } from '../store/queries/imports.ts';
import { CGCS2000, getCrs, type CrsDef } from '../geo/crs.ts';
import { CRS_4490, patchToFeature } from '../formats/geojson.ts';
import { normalizeEncodingLabel } from '../formats/encoding.ts';
import {
  buildExportTable,
  type DeliveredFieldDef,
  type ExportTable,
  type RenamedColumn,
} from '../formats/export-table.ts';
import { writeShapefiles, type ShapefileEncoding } from '../formats/shapefile-writer.ts';
import { writeGeoPackage } from '../formats/gpkg.ts';
import { writeXlsx } from '../formats/xlsx.ts';
import { noProgress, type ProgressFn } from './progress.ts';

export const EXPORT_FORMATS = ['geojson', 'shp', 'gpkg', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Accepted --out extensions per format. */
const EXTENSIONS: Record<ExportFormat, readonly string[]> = {
  geojson: ['.geojson', '.json'],
  shp: ['.shp', '.zip'],
  gpkg: ['.gpkg'],
  xlsx: ['.xlsx'],
};

export interface ExportOptions {
  batch: string;
  format: string;
  out: string;
  withDelivered?: boolean;
  /** Target CRS of shp/gpkg (default EPSG:4490). */
  crs?: string;
  /** DBF encoding of shp: gbk (default) or utf-8. */
  encoding?: string;
  onProgress?: ProgressFn;
  /** Export time written into the files (default: now). */
  now?: Date;
}

export interface ExportSummary {
  batch: string;
  format: string;
  out: string;
  count: number;
  /** Every file written, in the order written. */
  files: string[];
  crs?: string;
  encoding?: string;
  /** Point patches, written to a separate `<name>_point` layer or file set. */
  pointCount: number;
  /** Delivered attributes written under another column name. */
  renamedColumns: RenamedColumn[];
  warnings: string[];
}

const PAGE = 1000;

const FS_REASONS: Record<string, string> = {
  ENOENT: '目录不存在',
  ENOTDIR: '路径中有一段不是目录',
  EISDIR: '目标是一个目录',
  EACCES: '没有写权限',
  EPERM: '没有写权限',
  EROFS: '文件系统只读',
  ENOSPC: '磁盘空间不足',
  EEXIST: '文件已存在',
  ENAMETOOLONG: '文件名太长',
};

function writeFailed(file: string, e: unknown): WeipianError {
  if (e instanceof WeipianError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? '';
  return new WeipianError(
    'export_write_failed',
    `无法写入导出文件 ${file}：${FS_REASONS[code] ?? (e instanceof Error ? e.message : String(e))}`,
    { file, code },
  );
}

function checkOptions(opts: ExportOptions): {
  format: ExportFormat;
  crs: CrsDef | null;
  encoding: ShapefileEncoding | null;
} {
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format))
    throw new WeipianError(
      'export_format_unknown',
      `不支持的导出格式：${opts.format}（可选：${EXPORT_FORMATS.join('、')}）`,
    );
  const format = opts.format as ExportFormat;
  const ext = path.extname(opts.out).toLowerCase();
  if (!EXTENSIONS[format].includes(ext))
    throw new WeipianError(
      'export_out_extension',
      `${format} 导出的输出文件扩展名应为 ${EXTENSIONS[format].join(' 或 ')}：${opts.out}`,
      { format, out: opts.out },
    );
  let crs: CrsDef | null = null;
  if (format === 'shp' || format === 'gpkg') crs = opts.crs ? getCrs(opts.crs) : CGCS2000;
  else if (opts.crs && getCrs(opts.crs).code !== CGCS2000.code)
    throw new WeipianError(
      'export_option_invalid',
      `${format} 导出不支持 --crs（${format === 'geojson' ? 'GeoJSON 固定为 EPSG:4490 经纬度' : 'Excel 的坐标串固定为 EPSG:4490 经纬度'}）`,
      { format, crs: opts.crs },
    );
  let encoding: ShapefileEncoding | null = null;
  if (format === 'shp') {
    const label = opts.encoding ? normalizeEncodingLabel(opts.encoding) : 'gbk';
    if (label !== 'gbk' && label !== 'utf-8')
      throw new WeipianError(
        'export_encoding_unsupported',
        `Shapefile 导出的编码只能是 gbk 或 utf-8：${opts.encoding}`,
        { encoding: opts.encoding },
      );
    encoding = label;
  } else if (opts.encoding)
    throw new WeipianError('export_option_invalid', `--encoding 只用于 Shapefile 导出（--format shp）`, {
      format,
      encoding: opts.encoding,
    });
  return { format, crs, encoding };
}

/** The folder of the target must exist, and the target must not be a folder. */
async function checkTarget(out: string): Promise<void> {
  const dir = path.dirname(path.resolve(out));
  let s;
  try {
    s = await stat(dir);
  } catch (e) {
    throw writeFailed(out, e);
  }
  if (!s.isDirectory()) throw writeFailed(out, Object.assign(new Error(), { code: 'ENOTDIR' }));
  try {
    if ((await stat(out)).isDirectory())
      throw writeFailed(out, Object.assign(new Error(), { code: 'EISDIR' }));
  } catch (e) {
    if (e instanceof WeipianError) throw e;
  }
}

export async function exportPatches(db: Db, opts: ExportOptions): Promise<ExportSummary> {
  const checked = checkOptions(opts);
  const batch = await findBatchBySlug(db, opts.batch);
  if (!batch)
    throw new WeipianError('batch_not_found', `批次不存在：${opts.batch}`, { batch: opts.batch }, 404);
  await checkTarget(opts.out);
  const onProgress = opts.onProgress ?? noProgress;
  if (checked.format === 'geojson') return exportGeoJson(db, batch, opts, onProgress);

  const rows = await loadRows(db, batch, onProgress);
  const table = buildExportTable(rows, {
    batchSlug: batch.slug,
    withDelivered: opts.withDelivered,
    deliveredFields: opts.withDelivered ? await deliveredFields(db, batch.id) : [],
  });
  const base = {
    batch: batch.slug,
    format: checked.format,
    out: opts.out,
    count: rows.length,
    pointCount: table.records.filter((r) => r.geometry.type === 'Point' || r.geometry.type === 'MultiPoint')
      .length,
    warnings: table.warnings,
  };
  const now = opts.now ?? new Date();
  switch (checked.format) {
    case 'shp': {
      const res = await writeShapefiles(table, { encoding: checked.encoding!, crs: checked.crs! });
      const files = await writeShapefileOutput(opts.out, res.sets);
      return {
        ...base,
        files,
        crs: checked.crs!.code,
        encoding: checked.encoding!,
        renamedColumns: res.renamed,
      };
    }
    case 'gpkg': {
      const res = await writeGeoPackage(table, {
        crs: checked.crs!,
        layerName: batch.slug,
        identifier: batch.name,
        description: describe(batch, table, now, checked.crs!),
      });
      await commitFiles([{ final: opts.out, bytes: res.bytes }]);
      return { ...base, files: [opts.out], crs: checked.crs!.code, renamedColumns: res.renamed };
    }
    case 'xlsx': {
      const res = await writeXlsx(table, {
        batch: {
          slug: batch.slug,
          name: batch.name,
          kind: batch.kind,
          year: batch.year,
          rulePackId: batch.rule_pack_id,
          rulePackVersion: batch.rule_pack_version,
          rulePackDigest: batch.rule_pack_digest,
        },
        exportedAt: now,
        notes: table.warnings,
      });
      await commitFiles([{ final: opts.out, bytes: res.bytes }]);
      return { ...base, files: [opts.out], renamedColumns: res.renamed };
    }
  }
}

function describe(batch: BatchRow, table: ExportTable, now: Date, crs: CrsDef): string {
  return (
    `${batch.name}（${batch.slug}）图斑 ${table.records.length} 个；规则包 ${batch.rule_pack_id} 版本 ${batch.rule_pack_version}；` +
    `坐标系 ${crs.code}；由 weipian 导出于 ${now.toISOString()}`
  );
}

async function loadRows(db: Db, batch: BatchRow, onProgress: ProgressFn): Promise<PatchRow[]> {
  const total = await countPatches(db, batch.id);
  const rows: PatchRow[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await listPatches(db, { batchId: batch.id, limit: PAGE, offset });
    rows.push(...page);
    onProgress(rows.length, total);
    if (page.length < PAGE) break;
  }
  return rows;
}

/** Field definitions of the batch's imports (name, DBF type, width, decimals), first import first. */
async function deliveredFields(db: Db, batchId: number): Promise<DeliveredFieldDef[]> {
  const out: DeliveredFieldDef[] = [];
  for (const imp of await listImports(db, batchId)) {
    if (!Array.isArray(imp.fields)) continue;
    for (const f of imp.fields as unknown[]) {
      const d = f as Partial<DeliveredFieldDef> | null;
      if (d && typeof d.name === 'string' && typeof d.type === 'string')
        out.push({
          name: d.name,
          type: d.type,
          length: typeof d.length === 'number' ? d.length : 0,
          decimals: typeof d.decimals === 'number' ? d.decimals : 0,
        });
    }
  }
  return out;
}

function tmpName(final: string): string {
  return path.join(
    path.dirname(final),
    `.${path.basename(final)}.part-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/**
 * Writes each file under a temporary name beside its target, then renames them all; the last
 * file named is renamed last (a Shapefile's .shp, so readers never see a .shp without its parts).
 * On failure the temporary files and any file already renamed are removed.
 */
async function commitFiles(files: { final: string; bytes: Uint8Array }[]): Promise<void> {
  const tmps: string[] = [];
  const done: string[] = [];
  let current = files[0]?.final ?? '';
  try {
    for (const f of files) {
      current = f.final;
      const tmp = tmpName(f.final);
      tmps.push(tmp);
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(f.bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    for (const [i, f] of files.entries()) {
      current = f.final;
      await rename(tmps[i]!, f.final);
      done.push(f.final);
    }
  } catch (e) {
    await Promise.all([...tmps, ...done].map((p) => rm(p, { force: true })));
    throw writeFailed(current, e);
  }
}

const SHAPEFILE_ORDER = ['dbf', 'shx', 'prj', 'cpg', 'shp'];

async function writeShapefileOutput(
  out: string,
  sets: { suffix: string; files: Map<string, Uint8Array> }[],
): Promise<string[]> {
  const ext = path.extname(out);
  const stem = path.basename(out, ext);
  const dir = path.dirname(out);
  if (ext.toLowerCase() === '.zip') {
    const zip = new yazl.ZipFile();
    for (const set of sets)
      for (const e of SHAPEFILE_ORDER) {
        const bytes = set.files.get(e);
        if (bytes) zip.addBuffer(Buffer.from(bytes), `${stem}${set.suffix}.${e}`, { mtime: new Date() });
      }
    zip.end();
    const chunks: Buffer[] = [];
    for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
    await commitFiles([{ final: out, bytes: Buffer.concat(chunks) }]);
    return [out];
  }
  const files: { final: string; bytes: Uint8Array }[] = [];
  // Point sets first, so the main .shp is the very last file to appear.
  for (const set of [...sets].reverse())
    for (const e of SHAPEFILE_ORDER) {
      const bytes = set.files.get(e);
      if (bytes)
        files.push({
          final: set.suffix === '' && e === 'shp' ? out : path.join(dir, `${stem}${set.suffix}.${e}`),
          bytes,
        });
    }
  for (const f of files)
    if (f.final !== out) {
      try {
        if ((await stat(f.final)).isDirectory())
          throw writeFailed(f.final, Object.assign(new Error(), { code: 'EISDIR' }));
      } catch (e) {
        if (e instanceof WeipianError) throw e;
      }
    }
  await commitFiles(files);
  return files.map((f) => f.final);
}

async function exportGeoJson(
  db: Db,
  batch: BatchRow,
  opts: ExportOptions,
  onProgress: ProgressFn,
): Promise<ExportSummary> {
  const total = await countPatches(db, batch.id);
  const tmp = tmpName(opts.out);
  // Opening first turns an unwritable target into an error here, not an unhandled stream event.
  let fh;
  try {
    fh = await open(tmp, 'wx');
  } catch (e) {
    throw writeFailed(opts.out, e);
  }
  const out = createWriteStream('', { fd: fh, encoding: 'utf8' });
  let failure: unknown = null;
  out.on('error', (e) => {
    failure ??= e;
  });
  const write = async (s: string) => {
    if (failure) throw failure;
    if (!out.write(s)) await once(out, 'drain');
  };
  let count = 0;
  let points = 0;
  try {
    await write(
      `{"type":"FeatureCollection","name":${JSON.stringify(batch.slug)},"crs":${JSON.stringify(CRS_4490)},"features":[\n`,
    );
    for (let offset = 0; ; offset += PAGE) {
      const rows = await listPatches(db, { batchId: batch.id, limit: PAGE, offset });
      for (const row of rows) {
        const f = patchToFeature(row, { batchSlug: batch.slug, withDelivered: opts.withDelivered });
        if ((f.geometry.type as string) === 'Point' || (f.geometry.type as string) === 'MultiPoint') points++;
        await write(`${count > 0 ? ',\n' : ''}${JSON.stringify(f)}`);
        count++;
      }
      onProgress(count, total);
      if (rows.length < PAGE) break;
    }
    await write('\n]}\n');
    out.end();
    await once(out, 'finish');
    if (failure) throw failure;
    await rename(tmp, opts.out);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw writeFailed(opts.out, e);
  }
  return {
    batch: batch.slug,
    format: 'geojson',
    out: opts.out,
    count,
    files: [opts.out],
    crs: CGCS2000.code,
    pointCount: points,
    renamedColumns: [],
    warnings: [],
  };
}
