// GeoPackage.

// ---- writer ------------------------------------------------------------------------------------
// One layer named after the batch (plus `<batch>_point` when there are point patches), written by
// GDAL (see gdal-write.ts). GeoPackage has no 10-byte limit, so columns carry the dictionary's full
// ids, with the Chinese name and description in gpkg_data_columns (QGIS shows them as aliases);
// strings have no width limit and numbers keep full precision.
import type { CrsDef } from '../geo/crs.ts';
import {
  columnTitle,
  isPointGeometry,
  nameColumns,
  reprojectGeometry,
  type ExportTable,
  type RenamedColumn,
} from './export-table.ts';
import { gdalSrs, ogrWrite, type OgrField, type OgrLayer } from './gdal-write.ts';

export interface GpkgWriteOptions {
  crs: CrsDef;
  /** Table name of the patch layer (the batch slug). */
  layerName: string;
  /** Human title of the layer (gpkg_contents.identifier). */
  identifier: string;
  /** gpkg_contents.description. */
  description: string;
}

export interface GpkgResult {
  bytes: Uint8Array;
  layers: { name: string; count: number }[];
  fieldNames: string[];
  renamed: RenamedColumn[];
}

const FID = 'fid';
const GEOM = 'geom';

export async function writeGeoPackage(table: ExportTable, opts: GpkgWriteOptions): Promise<GpkgResult> {
  const { names, renamed } = nameColumns(table.columns, {
    dictionaryName: (f) => f.id,
    fits: (n) => n.trim() !== '' && !n.includes('\0'),
    shorten: (n) => n.replace(/\0/g, '').trim(),
    // SQLite compares column names case-insensitively (ASCII only).
    key: (n) => n.toLowerCase(),
    reserved: [FID, GEOM],
  });
  // Aliases must be unique per table (gpkg_data_columns); a delivered name equal to one goes without.
  const aliases = new Set(table.columns.flatMap((c) => (c.field ? [columnTitle(c.field)] : [])));
  const fields: OgrField[] = table.columns.map((col, j) => {
    const f = col.field;
    let alternativeName: string | undefined = f ? columnTitle(f) : undefined;
    if (!f && !aliases.has(col.delivered!)) {
      alternativeName = col.delivered;
      aliases.add(col.delivered!);
    }
    return {
      name: names[j]!,
      kind: col.kind,
      alternativeName,
      comment: f ? f.description : `部下发的原始属性“${col.delivered}”，原样输出`,
    };
  });
  const srs = gdalSrs(opts.crs);
  const areal = table.records.filter((r) => !isPointGeometry(r.geometry));
  const points = table.records.filter((r) => isPointGeometry(r.geometry));
  const layer = (
    name: string,
    identifier: string,
    recs: typeof areal,
    geometryType: OgrLayer['geometryType'],
  ): OgrLayer => ({
    name,
    geometryType,
    srs,
    fields,
    features: recs.map((r) => ({ geometry: reprojectGeometry(r.geometry, opts.crs), values: r.values })),
    layerOptions: [
      `FID=${FID}`,
      `GEOMETRY_NAME=${GEOM}`,
      `IDENTIFIER=${identifier}`,
      `DESCRIPTION=${opts.description}`,
    ],
  });
  const layers: OgrLayer[] = [];
  if (areal.length > 0 || points.length === 0)
    layers.push(layer(opts.layerName, opts.identifier, areal, 'MULTIPOLYGON'));
  if (points.length > 0)
    layers.push(
      layer(
        `${opts.layerName}_point`,
        `${opts.identifier}（点状图斑）`,
        points,
        points.some((r) => r.geometry.type === 'MultiPoint') ? 'MULTIPOINT' : 'POINT',
      ),
    );
  const [out] = await ogrWrite('GPKG', layers);
  return {
    bytes: out!.files.get('gpkg')!,
    layers: layers.map((l) => ({ name: l.name, count: l.features.length })),
    fieldNames: names,
    renamed,
  };
}
