// Export of a batch's patches. GeoJSON now; Shapefile, GeoPackage and Excel writers plug in here.
// The file is written beside its target and renamed at the end, so a failed export never leaves a
// half-written file under the requested name.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import { findBatchBySlug } from '../store/queries/batches.ts';
import { countPatches, listPatches } from '../store/queries/patches.ts';
import { CRS_4490, patchToFeature } from '../formats/geojson.ts';
import { noProgress, type ProgressFn } from './progress.ts';

export const EXPORT_FORMATS = ['geojson', 'shp', 'gpkg', 'xlsx'] as const;

export interface ExportOptions {
  batch: string;
  format: string;
  out: string;
  withDelivered?: boolean;
  onProgress?: ProgressFn;
}

export interface ExportSummary {
  batch: string;
  format: string;
  out: string;
  count: number;
}

const PAGE = 1000;

export async function exportPatches(db: Db, opts: ExportOptions): Promise<ExportSummary> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format))
    throw new WeipianError('export_format_unknown', `不支持的导出格式：${opts.format}（可选：${EXPORT_FORMATS.join('、')}）`);
  if (opts.format !== 'geojson')
    throw new WeipianError(
      'export_format_unavailable',
      `${opts.format} 导出尚未提供，目前可用 --format geojson`,
      { format: opts.format },
    );
  const batch = await findBatchBySlug(db, opts.batch);
  if (!batch) throw new WeipianError('batch_not_found', `批次不存在：${opts.batch}`, { batch: opts.batch }, 404);
  const onProgress = opts.onProgress ?? noProgress;
  const total = await countPatches(db, batch.id);
  const tmp = `${opts.out}.part-${process.pid}`;
  const out = createWriteStream(tmp, { encoding: 'utf8' });
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  try {
    await write(`{"type":"FeatureCollection","name":${JSON.stringify(batch.slug)},"crs":${JSON.stringify(CRS_4490)},"features":[\n`);
    let count = 0;
    for (let offset = 0; ; offset += PAGE) {
      const rows = await listPatches(db, { batchId: batch.id, limit: PAGE, offset });
      for (const row of rows) {
        const f = patchToFeature(row, { batchSlug: batch.slug, withDelivered: opts.withDelivered });
        await write(`${count > 0 ? ',\n' : ''}${JSON.stringify(f)}`);
        count++;
      }
      onProgress(count, total);
      if (rows.length < PAGE) break;
    }
    await write('\n]}\n');
    out.end();
    await once(out, 'finish');
    await rename(tmp, opts.out);
    return { batch: batch.slug, format: opts.format, out: opts.out, count };
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}
