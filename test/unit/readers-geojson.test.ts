// GeoJSON as GIS tools write it: the legacy crs member in its spellings, RFC 7946's implied WGS84
// (treated as CGCS2000 and said), properties kept as delivered, and malformed input refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { crsFromGeoJsonMember, openGeoJson } from '../../src/formats/geojson-reader.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import type { VectorFeature, VectorSource } from '../../src/formats/vector-common.ts';

const refusedWith = (code: string, message?: RegExp) => (e: unknown) => {
  assert.ok(isWeipianError(e), String(e));
  assert.equal(e.code, code, e.message);
  assert.match(e.message, /[\u4e00-\u9fff]/);
  if (message) assert.match(e.message, message);
  return true;
};

async function all(src: VectorSource): Promise<VectorFeature[]> {
  const out: VectorFeature[] = [];
  for await (const f of src.features()) out.push(f);
  return out;
}

async function file(t: { after(fn: () => Promise<void>): void }, body: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weipian-geojson-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'a.geojson');
  await writeFile(f, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
  return f;
}

const square = (x: number, y: number, s: number) => [
  [
    [x, y],
    [x, y + s],
    [x + s, y + s],
    [x + s, y],
    [x, y],
  ],
];

test('crs member spellings: OGC URN, EPSG:n, CRS84, the old {type: EPSG}', () => {
  const name = (n: string) => ({ type: 'name', properties: { name: n } });
  assert.equal(crsFromGeoJsonMember(name('urn:ogc:def:crs:EPSG::4527'), 'a')?.code, 'EPSG:4527');
  assert.equal(crsFromGeoJsonMember(name('urn:ogc:def:crs:EPSG:6.6:4490'), 'a')?.code, 'EPSG:4490');
  assert.equal(crsFromGeoJsonMember(name('EPSG:4548'), 'a')?.code, 'EPSG:4548');
  assert.equal(crsFromGeoJsonMember(name('urn:ogc:def:crs:OGC:1.3:CRS84'), 'a')?.code, 'EPSG:4326');
  assert.equal(crsFromGeoJsonMember({ type: 'EPSG', properties: { code: 2383 } }, 'a')?.code, 'EPSG:2383');
  assert.equal(crsFromGeoJsonMember(undefined, 'a'), null);
  assert.throws(() => crsFromGeoJsonMember(name('EPSG:3857'), 'a'), refusedWith('crs_unknown'));
  assert.throws(
    () => crsFromGeoJsonMember({ type: 'link', properties: { href: 'x' } }, 'a'),
    refusedWith('crs_unknown', /--crs/),
  );
});

test('a projected FeatureCollection: CRS from the crs member, outer rings made counter-clockwise', async (t) => {
  const f = await file(t, {
    type: 'FeatureCollection',
    crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4527' } },
    features: [
      {
        type: 'Feature',
        properties: { JCBH: '370306201700001', 监测面积: 10000, 备注: '北郊镇', 附加: { 层: 1 } },
        geometry: { type: 'Polygon', coordinates: square(39571000, 4063000, 100) },
      },
      { type: 'Feature', properties: null, geometry: null },
    ],
  });
  const src = await openGeoJson(f);
  assert.deepEqual([src.crs?.code, src.notes, src.featureCount], ['EPSG:4527', [], 2]);
  const [a, b] = await all(src);
  assert.deepEqual(a!.attributes, {
    JCBH: '370306201700001',
    监测面积: 10000,
    备注: '北郊镇',
    附加: { 层: 1 },
  });
  const ring = a!.geometry?.type === 'Polygon' ? a!.geometry.coordinates[0]! : [];
  assert.deepEqual(ring[1], [39571100, 4063000], 'written clockwise, read counter-clockwise');
  assert.deepEqual([b!.geometry, b!.attributes], [null, {}]);
  assert.equal((await openGeoJson(f, { crs: 'EPSG:4548' })).crs?.code, 'EPSG:4548', '--crs wins');
});

test('no crs member: RFC 7946 WGS84 longitude/latitude, treated as CGCS2000 and said so', async (t) => {
  const f = await file(t, {
    type: 'Feature',
    properties: { 名称: '周村' },
    geometry: { type: 'MultiPoint', coordinates: [[117.8, 36.7, 50]] },
  });
  const src = await openGeoJson(f);
  assert.equal(src.crs?.code, 'EPSG:4326');
  assert.match(src.notes.join(''), /RFC 7946.*CGCS2000/);
  assert.deepEqual((await all(src))[0]!.geometry, { type: 'Point', coordinates: [117.8, 36.7] });
});

test('GBK GeoJSON (not allowed by the RFC, sent anyway) is read and noted', async (t) => {
  const text = JSON.stringify({
    type: 'Feature',
    properties: { 备注: '南郊镇（丝绸路街道交界）' },
    geometry: null,
  });
  const src = await openGeoJson(await file(t, iconv.encode(text, 'gbk')));
  assert.equal(src.encoding.encoding, 'gbk');
  assert.match(src.notes.join(''), /应为 UTF-8/);
  assert.equal((await all(src))[0]!.attributes.备注, '南郊镇（丝绸路街道交界）');
});

test('refuses broken JSON, non-GeoJSON, lines, and coordinates that are not numbers', async (t) => {
  await assert.rejects(
    openGeoJson(await file(t, '{"type": "FeatureCollection", ')),
    refusedWith('geojson_invalid', /JSON 语法错误/),
  );
  await assert.rejects(
    openGeoJson(await file(t, { type: 'Topology' })),
    refusedWith('geojson_invalid', /Topology/),
  );
  await assert.rejects(
    openGeoJson(
      await file(t, {
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            properties: {},
            geometry: {
              type: 'LineString',
              coordinates: [
                [1, 2],
                [3, 4],
              ],
            },
          },
        ],
      }),
    ),
    refusedWith('geometry_not_polygon', /第 1 个要素是线/),
  );
  await assert.rejects(
    openGeoJson(
      await file(t, {
        type: 'Feature',
        properties: {},
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [1, 2],
              ['x', 4],
              [5, 6],
              [1, 2],
            ],
          ],
        },
      }),
    ),
    refusedWith('geojson_invalid', /不是有限数值/),
  );
});

test('a polygon whose outer ring has fewer than three corners has no geometry, with the reason', async (t) => {
  const f = await file(t, {
    type: 'Feature',
    properties: {},
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [1, 2],
          [3, 4],
          [1, 2],
        ],
      ],
    },
  });
  const [a] = await all(await openGeoJson(f));
  assert.deepEqual([a!.geometry, a!.problem], [null, '面的外环不足 3 个顶点']);
});
