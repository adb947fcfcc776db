// OpenLayers pieces shared by the map workspace and the patch page: basemaps from configured
// templates (none = offline, a plain background), vector-tile layers for patches and reference
// layers, and the colour schemes.
import TileLayer from 'ol/layer/Tile';
import XYZ from 'ol/source/XYZ';
import WMTS from 'ol/source/WMTS';
import WMTSTileGrid from 'ol/tilegrid/WMTS';
import VectorTileLayer from 'ol/layer/VectorTile';
import VectorTileSource from 'ol/source/VectorTile';
import MVT from 'ol/format/MVT';
import { Fill, Stroke, Style, Circle as CircleStyle } from 'ol/style';
import { get as getProjection } from 'ol/proj';
import { getTopLeft, getWidth } from 'ol/extent';
import type { FeatureLike } from 'ol/Feature';
import type { Basemap } from './types.ts';

export function basemapLayer(b: Basemap): TileLayer {
  if (b.type === 'wmts') {
    const proj = getProjection('EPSG:3857')!;
    const size = getWidth(proj.getExtent()) / 256;
    const resolutions = Array.from({ length: 19 }, (_, z) => size / 2 ** z);
    const matrixIds = resolutions.map((_, z) => String(z));
    return new TileLayer({
      properties: { basemap: b.id },
      source: new WMTS({
        url: b.url,
        layer: b.layer ?? '',
        matrixSet: b.matrixSet ?? 'w',
        format: b.format ?? 'tiles',
        style: b.style ?? 'default',
        projection: proj,
        tileGrid: new WMTSTileGrid({ origin: getTopLeft(proj.getExtent()), resolutions, matrixIds }),
        wrapX: true,
        attributions: b.attribution,
      }),
    });
  }
  return new TileLayer({
    properties: { basemap: b.id },
    source: new XYZ({
      url: b.url,
      maxZoom: b.maxZoom ?? 18,
      attributions: b.attribution,
      crossOrigin: 'anonymous',
    }),
  });
}

export const LAYER_STYLES: Record<string, { stroke: string; fill: string; width?: number }> = {
  unit: { stroke: '#333', fill: 'rgba(0,0,0,0)', width: 2 },
  'land-use': { stroke: 'rgba(120,120,120,0.7)', fill: 'rgba(240,240,230,0.25)', width: 0.6 },
  farmland: { stroke: '#c9a227', fill: 'rgba(250,219,20,0.18)' },
  'basic-farmland': { stroke: '#ad6800', fill: 'rgba(212,136,6,0.22)' },
  planning: { stroke: '#9254de', fill: 'rgba(146,84,222,0.10)' },
  approval: { stroke: '#389e0d', fill: 'rgba(82,196,26,0.15)', width: 1.5 },
  expropriation: { stroke: '#08979c', fill: 'rgba(19,194,194,0.12)' },
  supply: { stroke: '#1d39c4', fill: 'rgba(47,84,235,0.12)' },
  linkage: { stroke: '#c41d7f', fill: 'rgba(235,47,150,0.10)' },
  facility: { stroke: '#7cb305', fill: 'rgba(160,217,17,0.15)' },
  temporary: { stroke: '#d4b106', fill: 'rgba(250,219,20,0.12)' },
  'mining-right': { stroke: '#5c0011', fill: 'rgba(130,0,20,0.12)', width: 1.5 },
  'exploration-right': { stroke: '#614700', fill: 'rgba(97,71,0,0.10)', width: 1.5 },
};

export function referenceLayer(type: string): VectorTileLayer {
  const s = LAYER_STYLES[type] ?? { stroke: '#555', fill: 'rgba(0,0,0,0.05)' };
  return new VectorTileLayer({
    properties: { reference: type },
    minZoom: type === 'land-use' ? 13.99 : 7.99,
    renderMode: 'hybrid',
    source: new VectorTileSource({
      format: new MVT(),
      url: `/api/tiles/${type}/{z}/{x}/{y}.pbf`,
      maxZoom: 18,
    }),
    style: new Style({
      stroke: new Stroke({ color: s.stroke, width: s.width ?? 1 }),
      fill: new Fill({ color: s.fill }),
    }),
  });
}

const styleCache = new Map<string, Style>();
/** A patch style: fill in the scheme's colour, thicker outline when selected, dashed when overdue. */
export function patchStyle(color: string, selected: boolean, overdue: boolean, point: boolean): Style {
  const key = `${color}|${selected}|${overdue}|${point}`;
  let st = styleCache.get(key);
  if (!st) {
    const stroke = new Stroke({
      color: selected ? '#00e5ff' : color,
      width: selected ? 4 : 2,
      lineDash: overdue && !selected ? [6, 4] : undefined,
    });
    const fill = new Fill({ color: hexAlpha(color, selected ? 0.45 : 0.3) });
    st = point
      ? new Style({ image: new CircleStyle({ radius: selected ? 8 : 6, fill, stroke }) })
      : new Style({ stroke, fill });
    styleCache.set(key, st);
  }
  return st;
}

function hexAlpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

export function patchTileSource(batch: string): VectorTileSource {
  return new VectorTileSource({
    format: new MVT({ idProperty: 'id' }),
    url: `/api/tiles/patches/${batch}/{z}/{x}/{y}.pbf`,
    maxZoom: 18,
  });
}

export const propsOf = (f: FeatureLike) => f.getProperties() as Record<string, unknown>;
