// GeoJSON deliveries, parsed directly (JSON needs no GDAL). CRS: --crs, else the legacy `crs`
// member that GDAL, QGIS and ArcGIS still write (RFC 7946 dropped it), else RFC 7946's WGS84
// longitude/latitude — treated as CGCS2000, which it matches to well below a metre, and said so.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WeipianError } from '../domain/errors.ts';
import { getCrs, type CrsDef } from '../geo/crs.ts';
import { decodeText } from './text.ts';
import {
  geometryFromGeoJson,
  setAttr,
  type VectorFeature,
  type VectorField,
  type VectorSource,
} from './vector-common.ts';

export interface GeoJsonOptions {
  encoding?: string;
  crs?: string;
}

function invalid(file: string, message: string, details: Record<string, unknown> = {}): WeipianError {
  return new WeipianError('geojson_invalid', `${file} 不是有效的 GeoJSON：${message}`, { file, ...details });
}

/** 'urn:ogc:def:crs:EPSG::4527', 'EPSG:4527', 'urn:ogc:def:crs:OGC:1.3:CRS84' → a registry CRS. */
export function crsFromGeoJsonMember(member: unknown, file: string): CrsDef | null {
  if (member === undefined || member === null) return null;
  const m = member as { type?: unknown; properties?: { name?: unknown; code?: unknown } };
  const name =
    m.type === 'name'
      ? m.properties?.name
      : m.type === 'EPSG'
        ? `EPSG:${String(m.properties?.code)}`
        : undefined;
  if (typeof name !== 'string')
    throw new WeipianError(
      'crs_unknown',
      `${file} 的 crs 成员无法识别（${JSON.stringify(member).slice(0, 120)}），请用 --crs 指定坐标系。`,
      { file, crs: member },
    );
  if (/CRS84$/i.test(name)) return getCrs('EPSG:4326');
  const code = /EPSG:(?:[\d.]*:)?:?(\d+)$/i.exec(name)?.[1];
  if (!code)
    throw new WeipianError('crs_unknown', `${file} 声明的坐标系“${name}”无法识别，请用 --crs 指定坐标系。`, {
      file,
      crs: name,
    });
  return getCrs(code);
}

interface RawFeature {
  type?: unknown;
  geometry?: unknown;
  properties?: unknown;
}

export async function openGeoJson(file: string, opts: GeoJsonOptions = {}): Promise<VectorSource> {
  const shown = path.basename(file);
  const { text, encoding } = await decodeText(await readFile(file), { option: opts.encoding, file: shown });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalid(shown, `JSON 语法错误（${(e as Error).message}）`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(shown, '顶层不是对象');
  const top = doc as { type?: unknown; features?: unknown; crs?: unknown };
  let raw: RawFeature[];
  if (top.type === 'FeatureCollection') {
    if (!Array.isArray(top.features)) throw invalid(shown, 'FeatureCollection 缺少 features 数组');
    raw = top.features as RawFeature[];
  } else if (top.type === 'Feature') raw = [top as RawFeature];
  else if (
    typeof top.type === 'string' &&
    /^(Multi)?(Point|Polygon|LineString)$|^GeometryCollection$/.test(top.type)
  )
    raw = [{ type: 'Feature', geometry: top, properties: {} }];
  else throw invalid(shown, `顶层 type 为 ${JSON.stringify(top.type)}，应为 FeatureCollection 或 Feature`);

  const notes: string[] = [];
  let crs: CrsDef;
  if (opts.crs) crs = getCrs(opts.crs);
  else {
    const declared = crsFromGeoJsonMember(top.crs, shown);
    if (declared) crs = declared;
    else {
      crs = getCrs('EPSG:4326');
      notes.push(
        'GeoJSON 未声明坐标系（crs），按 RFC 7946 视为 WGS84 经纬度，并按 CGCS2000 处理（两者相差不到 1 米）。',
      );
    }
  }
  if (encoding.source === 'default' || encoding.source === 'detected') {
    if (encoding.encoding !== 'utf-8')
      notes.push(`GeoJSON 应为 UTF-8 编码，此文件按 ${encoding.encoding} 读取。`);
  }

  const fields: VectorField[] = [];
  const seen = new Set<string>();
  const features: VectorFeature[] = raw.map((f, index) => {
    if (typeof f !== 'object' || f === null || f.type !== 'Feature')
      throw invalid(shown, `第 ${index + 1} 个要素不是 Feature`, { index });
    const { geometry, problem } = geometryFromGeoJson(f.geometry, {
      file: shown,
      index,
      invalidCode: 'geojson_invalid',
    });
    const attributes: Record<string, unknown> = {};
    const props = f.properties;
    if (props !== null && props !== undefined) {
      if (typeof props !== 'object' || Array.isArray(props))
        throw invalid(shown, `第 ${index + 1} 个要素的 properties 不是对象`, { index });
      for (const [k, v] of Object.entries(props)) {
        setAttr(attributes, k, v);
        if (!seen.has(k)) {
          seen.add(k);
          fields.push({ name: k, type: v === null ? 'null' : typeof v, length: 0, decimals: 0 });
        } else if (v !== null) {
          const field = fields.find((x) => x.name === k);
          if (field && field.type === 'null') field.type = typeof v;
        }
      }
    }
    return problem ? { index, geometry, attributes, problem } : { index, geometry, attributes };
  });

  return {
    format: 'geojson',
    path: file,
    layer: null,
    files: [file],
    encoding: { ...encoding, source: encoding.source === 'default' ? 'format' : encoding.source },
    prj: null,
    crs,
    axisResolved: false,
    notes,
    fields,
    featureCount: features.length,
    features: async function* () {
      yield* features;
    },
    close: async () => undefined,
  };
}
