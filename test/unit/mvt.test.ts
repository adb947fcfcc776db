// src/server/mvt.ts writes the same bytes as vt-pbf (the reference encoder, from the same authors as
// geojson-vt) for every kind of geometry and property value, and its geometry commands are the
// ones of the MVT specification, checked by hand on a small square.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import GeoJSONVT, { type LegacyTile } from 'geojson-vt';
import { encodeMvt } from '../../src/server/mvt.ts';

const vtpbf = createRequire(import.meta.url)('vt-pbf') as {
  fromGeojsonVt(layers: Record<string, LegacyTile>, opts?: { version?: number; extent?: number }): Uint8Array;
};

const square = (x: number, y: number, d: number) => [
  [x, y],
  [x + d, y],
  [x + d, y + d],
  [x, y + d],
  [x, y],
];

const features = [
  // a polygon with a hole, every kind of value (null left out, objects as JSON), a large id
  {
    type: 'Feature',
    id: 2 ** 31 + 5,
    geometry: { type: 'Polygon', coordinates: [square(117.8, 36.7, 0.01), square(117.803, 36.703, 0.002)] },
    properties: { name: '耕地', n: 7, neg: -3, f: 1.25, yes: true, no: false, nil: null, obj: { a: [1] } },
  },
  {
    type: 'Feature',
    id: 3,
    geometry: {
      type: 'MultiPolygon',
      coordinates: [[square(117.82, 36.71, 0.005)], [square(117.83, 36.72, 0.004)]],
    },
    properties: { name: '耕地', n: 7, big: 2 ** 40, tiny: -(2 ** 35) },
  },
  { type: 'Feature', id: 4, geometry: { type: 'Point', coordinates: [117.81, 36.705] }, properties: {} },
  {
    type: 'Feature',
    geometry: {
      type: 'MultiPoint',
      coordinates: [
        [117.811, 36.706],
        [117.812, 36.707],
      ],
    },
    properties: { name: '点' },
  },
  {
    type: 'Feature',
    id: 'text-id',
    geometry: {
      type: 'LineString',
      coordinates: [
        [117.79, 36.69],
        [117.84, 36.73],
        [117.85, 36.69],
      ],
    },
    properties: { width: 3.5 },
  },
];

describe('MVT encoding', () => {
  const vt = new GeoJSONVT({ type: 'FeatureCollection', features } as never, {
    maxZoom: 18,
    indexMaxZoom: 6,
    tolerance: 3,
    extent: 4096,
    buffer: 64,
  });

  it('writes the bytes vt-pbf writes, tile by tile from zoom 0 to 16', () => {
    let compared = 0;
    for (let z = 0; z <= 16; z++) {
      const n = 2 ** z;
      const x0 = Math.floor(((117.79 + 180) / 360) * n);
      const x1 = Math.floor(((117.85 + 180) / 360) * n);
      const row = (lat: number) =>
        Math.floor(((1 - Math.asinh(Math.tan((lat * Math.PI) / 180)) / Math.PI) / 2) * n);
      for (let x = x0; x <= x1; x++)
        for (let y = row(36.73); y <= row(36.69); y++) {
          const raw = vt.getTileRaw(z, x, y);
          const legacy = vt.getTile(z, x, y);
          if (!raw || !legacy) continue;
          const ours = encodeMvt('layer', raw.features, { version: 2, extent: 4096 });
          const ref = vtpbf.fromGeojsonVt({ layer: legacy }, { version: 2, extent: 4096 });
          assert.deepEqual(Buffer.from(ours), Buffer.from(ref), `${z}/${x}/${y}`);
          compared += raw.features.length > 0 ? 1 : 0;
        }
    }
    assert.ok(compared > 40, `${compared} tiles with features compared`);
    // An empty layer, too.
    assert.deepEqual(
      Buffer.from(encodeMvt('patches', [], { version: 2 })),
      Buffer.from(vtpbf.fromGeojsonVt({ patches: { features: [] } }, { version: 2 })),
    );
  });

  it('encodes a square ring as MoveTo, LineTo ×3, ClosePath with zigzag deltas', () => {
    const b = encodeMvt(
      'l',
      [{ type: 3, tags: {}, geometry: [Int16Array.from([0, 0, 10, 0, 10, 10, 0, 10, 0, 0])] }],
      { version: 2 },
    );
    // geometry field 4 of the feature: [MoveTo(1) = 9, 0, 0, LineTo(3) = 26, 20, 0, 0, 20, 19, 0, ClosePath = 15]
    const geometry = [9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15];
    const at = Buffer.from(b).indexOf(Buffer.from([0x22, geometry.length, ...geometry]));
    assert.ok(at > 0, Buffer.from(b).toString('hex'));
  });
});
