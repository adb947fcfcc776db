// KML deliveries (and KMZ, which vector-source.ts unzips): placemarks with their <name>,
// <description> and ExtendedData (Data/value and SchemaData/SimpleData, typed by the <Schema>).
//
// Read here rather than through gdal3.js: its GDAL has only the plain KML driver, which returns
// Name and Description and drops ExtendedData — exactly where GDAL, ArcGIS and 奥维 put the
// attributes (监测编号, 面积 …) — and LIBKML is not compiled in. KML is small, well-formed XML with
// one coordinate syntax, so a strict little parser is the more faithful reader.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WeipianError } from '../domain/errors.ts';
import { getCrs } from '../geo/crs.ts';
import { decodeText } from './text.ts';
import {
  geometryFromGeoJson,
  notPolygon,
  setAttr,
  type VectorFeature,
  type VectorField,
  type VectorSource,
} from './vector-common.ts';

export interface XmlElement {
  /** Local name, without namespace prefix. */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Character data directly inside this element (entities decoded, CDATA included). */
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (all, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
    }
    return ENTITIES[e] ?? all;
  });
}

const localName = (q: string): string => q.slice(q.indexOf(':') + 1);

/**
 * A small, strict XML parser: elements, attributes, text, CDATA; comments, processing
 * instructions and DOCTYPE skipped. Mismatched or unclosed tags are refused ('kml_invalid').
 */
export function parseXml(text: string, file: string): XmlElement {
  const fail = (what: string, at: number) =>
    new WeipianError(
      'kml_invalid',
      `${file} 不是有效的 XML/KML：${what}（第 ${text.slice(0, at).split('\n').length} 行）`,
      {
        file,
        offset: at,
      },
    );
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: { el: XmlElement; qname: string }[] = [{ el: root, qname: '#document' }];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const lt = text.indexOf('<', i);
    const top = stack[stack.length - 1]!.el;
    const end = lt < 0 ? n : lt;
    if (end > i) top.text += decodeEntities(text.slice(i, end));
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      const e = text.indexOf('-->', lt + 4);
      if (e < 0) throw fail('注释没有结束', lt);
      i = e + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const e = text.indexOf(']]>', lt + 9);
      if (e < 0) throw fail('CDATA 没有结束', lt);
      top.text += text.slice(lt + 9, e);
      i = e + 3;
    } else if (text.startsWith('<?', lt)) {
      const e = text.indexOf('?>', lt + 2);
      if (e < 0) throw fail('处理指令没有结束', lt);
      i = e + 2;
    } else if (text.startsWith('<!', lt)) {
      const bracket = text.indexOf('[', lt);
      const gt = text.indexOf('>', lt);
      const e = bracket >= 0 && bracket < gt ? text.indexOf(']>', bracket) + 1 : gt;
      if (e <= 0) throw fail('DOCTYPE 没有结束', lt);
      i = e + 1;
    } else if (text[lt + 1] === '/') {
      const e = text.indexOf('>', lt);
      if (e < 0) throw fail('结束标签没有“>”', lt);
      const qname = text.slice(lt + 2, e).trim();
      const open = stack.pop();
      if (!open || stack.length === 0 || open.qname !== qname)
        throw fail(`结束标签 </${qname}> 与开始标签 <${open?.qname ?? ''}> 不匹配`, lt);
      i = e + 1;
    } else {
      let j = lt + 1;
      let quote = '';
      for (; j < n; j++) {
        const c = text[j];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (j >= n) throw fail('标签没有“>”', lt);
      let inner = text.slice(lt + 1, j);
      const selfClosing = inner.endsWith('/');
      if (selfClosing) inner = inner.slice(0, -1);
      const m = /^[^\s/>]+/.exec(inner);
      if (!m) throw fail('标签名为空', lt);
      const qname = m[0];
      const attrs: Record<string, string> = {};
      const attrRe = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
      const rest = inner.slice(qname.length);
      for (let a = attrRe.exec(rest); a; a = attrRe.exec(rest))
        attrs[localName(a[1]!)] = decodeEntities(a[2] ?? a[3] ?? '');
      const el: XmlElement = { name: localName(qname), attrs, children: [], text: '' };
      top.children.push(el);
      if (!selfClosing) stack.push({ el, qname });
      i = j + 1;
    }
  }
  if (stack.length !== 1) throw fail(`<${stack[stack.length - 1]!.qname}> 没有结束`, n);
  return root;
}

const child = (el: XmlElement, name: string): XmlElement | undefined =>
  el.children.find((c) => c.name === name);
const childText = (el: XmlElement, name: string): string | null => {
  const c = child(el, name);
  return c ? c.text.trim() : null;
};

// ---- geometry ----------------------------------------------------------------------------------

type Coords = [number, number][];

function parseCoordinates(el: XmlElement | undefined, file: string, index: number): Coords {
  const text = el?.text.trim() ?? '';
  if (!text) return [];
  const out: Coords = [];
  // Tuples are "lon,lat[,alt]" separated by whitespace; some writers put spaces after the commas.
  for (const tuple of text.replace(/\s*,\s*/g, ',').split(/\s+/)) {
    const [x, y] = tuple.split(',').map(Number);
    if (x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y))
      throw new WeipianError(
        'kml_invalid',
        `${file} 第 ${index + 1} 个地标的坐标“${tuple.slice(0, 60)}”不是“经度,纬度”`,
        {
          file,
          index,
        },
      );
    out.push([x, y]);
  }
  return out;
}

interface Collected {
  polygons: Coords[][];
  points: Coords;
  other: string[];
}

function collectGeometry(el: XmlElement, into: Collected, file: string, index: number): void {
  switch (el.name) {
    case 'Point':
      into.points.push(...parseCoordinates(child(el, 'coordinates'), file, index).slice(0, 1));
      break;
    case 'Polygon': {
      const rings: Coords[] = [];
      const outer = child(el, 'outerBoundaryIs');
      rings.push(
        parseCoordinates(outer && child(child(outer, 'LinearRing') ?? outer, 'coordinates'), file, index),
      );
      for (const inner of el.children.filter((c) => c.name === 'innerBoundaryIs'))
        for (const lr of inner.children.filter((c) => c.name === 'LinearRing'))
          rings.push(parseCoordinates(child(lr, 'coordinates'), file, index));
      into.polygons.push(rings);
      break;
    }
    case 'MultiGeometry':
      for (const c of el.children) if (GEOMETRY_ELEMENTS.has(c.name)) collectGeometry(c, into, file, index);
      break;
    default:
      into.other.push(el.name);
  }
}

const GEOMETRY_ELEMENTS = new Set([
  'Point',
  'LineString',
  'LinearRing',
  'Polygon',
  'MultiGeometry',
  'Track',
  'MultiTrack',
  'Model',
]);

function placemarkGeometry(
  pm: XmlElement,
  file: string,
  index: number,
): Pick<VectorFeature, 'geometry' | 'problem'> {
  const g = pm.children.find((c) => GEOMETRY_ELEMENTS.has(c.name));
  if (!g) return { geometry: null };
  const c: Collected = { polygons: [], points: [], other: [] };
  collectGeometry(g, c, file, index);
  const where = `第 ${index + 1} 个地标`;
  if (c.other.length) throw notPolygon(file, where, c.other[0]!, { index });
  if (c.polygons.length && c.points.length) throw notPolygon(file, where, 'GeometryCollection', { index });
  const ctx = { file, index, invalidCode: 'kml_invalid' };
  if (c.points.length === 1) return geometryFromGeoJson({ type: 'Point', coordinates: c.points[0] }, ctx);
  if (c.points.length > 1) throw notPolygon(file, where, 'MultiPoint', { index });
  if (c.polygons.length === 1)
    return geometryFromGeoJson({ type: 'Polygon', coordinates: c.polygons[0] }, ctx);
  if (c.polygons.length > 1)
    return geometryFromGeoJson({ type: 'MultiPolygon', coordinates: c.polygons }, ctx);
  return { geometry: null };
}

// ---- attributes --------------------------------------------------------------------------------

/** Typed value of a SimpleData by its SimpleField type; text stays text when it does not parse. */
function typed(value: string, type: string | undefined): unknown {
  if (value === '') return null;
  switch ((type ?? 'string').toLowerCase()) {
    case 'int':
    case 'uint':
    case 'short':
    case 'ushort': {
      const n = Number(value);
      return /^[-+]?\d+$/.test(value.trim()) && Number.isSafeInteger(n) ? n : value;
    }
    case 'float':
    case 'double': {
      const n = Number(value);
      return value.trim() !== '' && Number.isFinite(n) ? n : value;
    }
    case 'bool':
      return /^(1|true)$/i.test(value.trim()) ? true : /^(0|false)$/i.test(value.trim()) ? false : value;
    default:
      return value;
  }
}

function schemas(root: XmlElement): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const walk = (el: XmlElement) => {
    for (const c of el.children) {
      if (c.name === 'Schema') {
        const fields = new Map<string, string>();
        for (const f of c.children)
          if (f.name === 'SimpleField' && f.attrs.name) fields.set(f.attrs.name, f.attrs.type ?? 'string');
        if (c.attrs.id) out.set(c.attrs.id, fields);
        if (c.attrs.name && !out.has(c.attrs.name)) out.set(c.attrs.name, fields);
      } else if (c.name !== 'Placemark') walk(c);
    }
  };
  walk(root);
  return out;
}

function placemarkAttributes(
  pm: XmlElement,
  types: Map<string, Map<string, string>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const name = childText(pm, 'name');
  const description = childText(pm, 'description');
  if (name) setAttr(out, 'Name', name);
  if (description) setAttr(out, 'Description', description);
  const ext = child(pm, 'ExtendedData');
  for (const d of ext?.children ?? []) {
    if (d.name === 'Data' && d.attrs.name !== undefined) {
      const v = childText(d, 'value') ?? '';
      setAttr(out, d.attrs.name, v === '' ? null : v);
    } else if (d.name === 'SchemaData') {
      const url = d.attrs.schemaUrl ?? '';
      const fields = types.get(url.slice(url.indexOf('#') + 1));
      for (const s of d.children)
        if (s.name === 'SimpleData' && s.attrs.name !== undefined)
          setAttr(out, s.attrs.name, typed(s.text.trim(), fields?.get(s.attrs.name)));
    }
  }
  return out;
}

// ---- placemarks --------------------------------------------------------------------------------

interface Found {
  el: XmlElement;
  /** Names of the Document/Folder containers around it, outermost first. */
  path: string[];
}

function placemarks(root: XmlElement): Found[] {
  const out: Found[] = [];
  const walk = (el: XmlElement, p: string[]) => {
    for (const c of el.children) {
      if (c.name === 'Placemark') out.push({ el: c, path: p });
      else if (c.name === 'Document' || c.name === 'Folder' || c.name === 'kml')
        walk(c, c.name === 'kml' ? p : [...p, childText(c, 'name') ?? '']);
    }
  };
  walk(root, []);
  return out;
}

const fold = (s: string) => s.normalize('NFC').trim().toLowerCase();

export interface KmlOptions {
  encoding?: string;
  crs?: string;
  /** Only the placemarks inside the Document/Folder of this name. */
  layer?: string;
}

export async function openKml(file: string, opts: KmlOptions = {}): Promise<VectorSource> {
  const shown = path.basename(file);
  const bytes = await readFile(file);
  const head = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
  const declared = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']+)["']/.exec(head)?.[1] ?? null;
  const { text, encoding } = await decodeText(bytes, { option: opts.encoding, declared, file: shown });
  const root = parseXml(text, shown);
  if (!root.children.some((c) => c.name === 'kml'))
    throw new WeipianError('kml_invalid', `${shown} 不是 KML 文件（根元素不是 <kml>）。`, { file });
  let found = placemarks(root);
  let layer: string | null = null;
  if (opts.layer !== undefined) {
    const want = fold(opts.layer);
    const inLayer = found.filter((f) => f.path.some((n) => fold(n) === want));
    if (!inLayer.length) {
      const names = [...new Set(found.flatMap((f) => f.path).filter((n) => n !== ''))];
      throw new WeipianError(
        'source_layer_not_found',
        `${shown} 中没有名为“${opts.layer}”的文件夹（图层）。可选：${names.join('、') || '（无）'}。`,
        { input: file, layer: opts.layer, candidates: names },
      );
    }
    found = inLayer;
    layer = opts.layer;
  }
  const types = schemas(root);
  const fields: VectorField[] = [];
  const seen = new Set<string>();
  const features: VectorFeature[] = found.map((f, index) => {
    const attributes = placemarkAttributes(f.el, types);
    for (const [k, v] of Object.entries(attributes))
      if (!seen.has(k)) {
        seen.add(k);
        fields.push({
          name: k,
          type: typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string',
          length: 0,
          decimals: 0,
        });
      }
    return { index, attributes, ...placemarkGeometry(f.el, shown, index) };
  });
  const notes: string[] = [];
  if (!opts.crs)
    notes.push(
      'KML 坐标按规范为 WGS84 经纬度，按 CGCS2000 处理（两者相差不到 1 米）；如数据取自互联网地图（GCJ-02 等加密坐标），位置会偏移数百米。',
    );
  return {
    format: 'kml',
    path: file,
    layer,
    files: [file],
    encoding: { ...encoding, source: encoding.source === 'default' ? 'format' : encoding.source },
    prj: null,
    crs: getCrs(opts.crs ?? 'EPSG:4326'),
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
