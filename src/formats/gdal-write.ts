// Vector files written by GDAL's ogr2ogr (gdal3.js) rather than by our own format code. The
// records go in as GeoJSON with neutral property keys (c0, c1, …) and an OGR VRT file on top that
// declares each output column — name, type, width, decimals, Chinese alias — and the layer CRS, so
// GDAL neither guesses types from the values nor rewrites names. Anything GDAL reports while writing
// (a value truncated, a character it could not encode) fails the export: nothing is degraded silently.
import { WeipianError } from '../domain/errors.ts';
import type { CrsDef } from '../geo/crs.ts';
import type { ColumnKind, ExportGeometry, ExportValue } from './export-table.ts';
import { GDAL_WORK_ROOT, removeGdalDir, withGdal, type GdalDataset } from './gdal-init.ts';

export interface OgrField {
  name: string;
  kind: ColumnKind;
  /** Field width (DBF bytes); omitted for formats without widths. */
  width?: number;
  precision?: number;
  /** Human name (GeoPackage stores it in gpkg_data_columns). */
  alternativeName?: string;
  comment?: string;
}

export interface OgrLayer {
  name: string;
  geometryType: 'MULTIPOLYGON' | 'POINT' | 'MULTIPOINT';
  /** 'EPSG:4527', or any definition GDAL accepts. */
  srs: string;
  fields: OgrField[];
  features: { geometry: ExportGeometry; values: ExportValue[] }[];
  /** Layer creation options (-lco) for this layer. */
  layerOptions?: string[];
}

export interface OgrOutput {
  layer: string;
  /** Files written for the layer, by extension without the dot ('shp', 'dbf', 'gpkg', …). */
  files: Map<string, Uint8Array>;
}

const VRT_TYPES: Record<ColumnKind, string> = {
  string: 'String',
  integer: 'Integer',
  integer64: 'Integer64',
  real: 'Real',
  date: 'Date',
  boolean: 'Integer',
};

const VRT_GEOMETRY = { MULTIPOLYGON: 'wkbMultiPolygon', POINT: 'wkbPoint', MULTIPOINT: 'wkbMultiPoint' };

function xml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

function fieldXml(f: OgrField, src: string): string {
  const attrs = [
    `name="${xml(f.name)}"`,
    `src="${src}"`,
    `type="${VRT_TYPES[f.kind]}"`,
    f.kind === 'boolean' ? 'subtype="Boolean"' : '',
    f.width ? `width="${f.width}"` : '',
    f.precision ? `precision="${f.precision}"` : '',
    f.alternativeName ? `alternativeName="${xml(f.alternativeName)}"` : '',
    f.comment ? `comment="${xml(f.comment)}"` : '',
  ];
  return `<Field ${attrs.filter(Boolean).join(' ')}/>`;
}

function layerVrt(layer: OgrLayer, geojsonPath: string, srcLayer: string): string {
  // DATE_AS_STRING keeps text that looks like a date as text; date columns are declared below.
  return (
    `<OGRVRTDataSource><OGRVRTLayer name="${xml(layer.name)}">` +
    `<SrcDataSource>${xml(geojsonPath)}</SrcDataSource>` +
    `<OpenOptions><OOI key="DATE_AS_STRING">YES</OOI></OpenOptions>` +
    `<SrcLayer>${xml(srcLayer)}</SrcLayer>` +
    `<LayerSRS>${xml(layer.srs)}</LayerSRS>` +
    `<GeometryType>${VRT_GEOMETRY[layer.geometryType]}</GeometryType>` +
    layer.fields.map((f, j) => fieldXml(f, `c${j}`)).join('') +
    `</OGRVRTLayer></OGRVRTDataSource>`
  );
}

function geojson(layer: OgrLayer): string {
  // GDAL learns the source fields from the features, so an empty layer gets one placeholder that
  // ogr2ogr then skips (-limit 0).
  const records =
    layer.features.length > 0 ? layer.features : [{ geometry: null, values: layer.fields.map(() => null) }];
  const features = records.map((f) => {
    const properties: Record<string, ExportValue> = {};
    f.values.forEach((v, j) => {
      properties[`c${j}`] = v;
    });
    return { type: 'Feature', properties, geometry: f.geometry };
  });
  return JSON.stringify({ type: 'FeatureCollection', features });
}

/** The GDAL definition of a CRS: the EPSG code for registry entries, the proj4 text otherwise. */
export function gdalSrs(crs: CrsDef): string {
  return crs.code.startsWith('EPSG:') ? crs.code : crs.proj4;
}

let jobCounter = 0;

/**
 * Writes the layers with the given OGR driver. 'ESRI Shapefile' writes one set of files per layer;
 * 'GPKG' writes all layers into one file (returned as the first output).
 */
export async function ogrWrite(
  driver: 'ESRI Shapefile' | 'GPKG',
  layers: readonly OgrLayer[],
): Promise<OgrOutput[]> {
  return withGdal(async (gdal, messages) => {
    const fs = gdal.Module.FS;
    const job = `wp${process.pid}-${++jobCounter}`;
    const dir = `${GDAL_WORK_ROOT}/${job}`;
    fs.mkdir(dir);
    const opened: GdalDataset[] = [];
    try {
      const outputs: OgrOutput[] = [];
      for (const [i, layer] of layers.entries()) {
        fs.writeFile(`${dir}/src${i}.geojson`, new TextEncoder().encode(geojson(layer)));
        fs.writeFile(
          `${dir}/src${i}.vrt`,
          new TextEncoder().encode(layerVrt(layer, `${dir}/src${i}.geojson`, `src${i}`)),
        );
        const { datasets } = await gdal.open(`${dir}/src${i}.vrt`);
        const ds = datasets[0];
        if (!ds) throw gdalFailure(driver, messages);
        opened.push(ds);
        const shared = driver === 'GPKG';
        const options = [
          '-f',
          driver,
          ...(shared && i > 0 ? ['-update'] : []),
          '-nlt',
          layer.geometryType,
          '-nln',
          layer.name,
          ...(layer.layerOptions ?? []).flatMap((o) => ['-lco', o]),
          ...(layer.features.length === 0 ? ['-limit', '0'] : []),
        ];
        let written;
        try {
          written = await gdal.ogr2ogr(ds, options, `${job}/${shared ? 'out' : `out${i}`}`);
        } catch (e) {
          throw gdalFailure(driver, messages, e);
        }
        if (messages.some((m) => /^(ERROR|Warning)\b/i.test(m))) throw gdalFailure(driver, messages);
        if (!shared || i === layers.length - 1) {
          const files = new Map<string, Uint8Array>();
          for (const f of written.all ?? [{ local: written.local, real: written.real }]) {
            const ext = f.local.slice(f.local.lastIndexOf('.') + 1).toLowerCase();
            files.set(ext, await gdal.getFileBytes(f.local));
          }
          outputs.push({ layer: layer.name, files });
        }
      }
      return outputs;
    } finally {
      for (const ds of opened) await gdal.close(ds);
      removeGdalDir(gdal, dir);
    }
  });
}

function gdalFailure(driver: string, messages: string[], cause?: unknown): WeipianError {
  const detail =
    messages.filter((m) => /^(ERROR|Warning)\b/i.test(m)).join('；') ||
    (cause && typeof cause === 'object' && 'message' in cause ? String(cause.message) : String(cause ?? ''));
  return new WeipianError('export_gdal_failed', `GDAL 写出 ${driver} 失败：${detail || '未知原因'}`, {
    driver,
    messages,
  });
}
