// KML as Google Earth, 奥维 and GDAL write it: placemark names and ExtendedData (typed by the
// Schema), polygons with holes, MultiGeometry, folders as layers, declared encodings; and the XML
// mistakes that must be refused rather than half read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { openKml, parseXml } from '../../src/formats/kml.ts';
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

async function kmlFile(
  t: { after(fn: () => Promise<void>): void },
  body: string | Buffer,
  name = 'a.kml',
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weipian-kml-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const f = path.join(dir, name);
  await writeFile(f, body);
  return f;
}

test('XML: entities, CDATA, comments, namespaces and self-closing tags', () => {
  const doc = parseXml(
    `<?xml version="1.0"?><!-- 注释 --><!DOCTYPE kml><kml:kml xmlns:kml="x"><a b='1 &amp; 2'>&lt;周村&gt;&#x533A;<![CDATA[<镇>]]></a><c/></kml:kml>`,
    'x.kml',
  );
  const kml = doc.children[0]!;
  assert.equal(kml.name, 'kml');
  assert.deepEqual(
    kml.children.map((c) => c.name),
    ['a', 'c'],
  );
  assert.equal(kml.children[0]!.attrs.b, '1 & 2');
  assert.equal(kml.children[0]!.text, '<周村>区<镇>');
});

test('XML: mismatched and unclosed tags are refused with the line number', () => {
  assert.throws(
    () => parseXml('<kml>\n<Placemark></Folder></kml>', 'x.kml'),
    refusedWith('kml_invalid', /不匹配（第 2 行）/),
  );
  assert.throws(() => parseXml('<kml><Placemark>', 'x.kml'), refusedWith('kml_invalid', /没有结束/));
});

const POLY = `<Polygon><outerBoundaryIs><LinearRing><coordinates>
  117.79,36.69,0 117.80,36.69,0 117.80,36.70,0 117.79,36.70,0 117.79,36.69,0
</coordinates></LinearRing></outerBoundaryIs><innerBoundaryIs><LinearRing><coordinates>117.792,36.692 117.794,36.692 117.794, 36.694 117.792,36.692</coordinates></LinearRing></innerBoundaryIs></Polygon>`;

test('placemarks: name, description, Data and typed SchemaData; polygon with a hole, oriented per RFC 7946', async (t) => {
  const f = await kmlFile(
    t,
    `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>周村区</name>
<Schema name="图斑" id="s1"><SimpleField name="JCMJ" type="float"/><SimpleField name="BH" type="int"/><SimpleField name="DM" type="string"/></Schema>
<Folder><name>2017年卫片</name>
<Placemark><name>北郊镇厂房</name><description><![CDATA[疑似<b>未批先建</b>]]></description>
<ExtendedData><Data name="监测编号"><value>370306201700001</value></Data>
<SchemaData schemaUrl="#s1"><SimpleData name="JCMJ">10000.5</SimpleData><SimpleData name="BH">7</SimpleData><SimpleData name="DM">0012</SimpleData></SchemaData></ExtendedData>
${POLY}</Placemark>
<Placemark><name>空地标</name></Placemark>
</Folder></Document></kml>`,
  );
  const src = await openKml(f);
  assert.deepEqual(
    [src.format, src.crs?.code, src.encoding.encoding, src.featureCount],
    ['kml', 'EPSG:4326', 'utf-8', 2],
  );
  assert.deepEqual(
    src.fields.map((x) => [x.name, x.type]),
    [
      ['Name', 'string'],
      ['Description', 'string'],
      ['监测编号', 'string'],
      ['JCMJ', 'number'],
      ['BH', 'number'],
      ['DM', 'string'],
    ],
  );
  const [a, b] = await all(src);
  assert.deepEqual(a!.attributes, {
    Name: '北郊镇厂房',
    Description: '疑似<b>未批先建</b>',
    监测编号: '370306201700001',
    JCMJ: 10000.5,
    BH: 7,
    DM: '0012',
  });
  const g = a!.geometry;
  assert.equal(g?.type, 'Polygon');
  const rings = g?.type === 'Polygon' ? g.coordinates : [];
  assert.equal(rings.length, 2);
  assert.deepEqual(rings[0]![0], [117.79, 36.69]);
  // Outer ring counter-clockwise, hole clockwise (the hole was written counter-clockwise).
  const area = (r: [number, number][]) =>
    r.reduce((s, p, i) => s + (r[(i + 1) % r.length]![0] - p[0]) * (r[(i + 1) % r.length]![1] + p[1]), 0);
  assert.ok(area(rings[0]!) < 0 && area(rings[1]!) > 0);
  assert.deepEqual([b!.geometry, b!.attributes], [null, { Name: '空地标' }]);
});

test('MultiGeometry of polygons is a MultiPolygon; a point is a point; lines are refused', async (t) => {
  const multi = await kmlFile(
    t,
    `<kml><Placemark><MultiGeometry>${POLY}${POLY}</MultiGeometry></Placemark><Placemark><Point><coordinates>117.8,36.7,0</coordinates></Point></Placemark></kml>`,
  );
  const [m, p] = await all(await openKml(multi));
  assert.equal(m!.geometry?.type, 'MultiPolygon');
  assert.deepEqual(p!.geometry, { type: 'Point', coordinates: [117.8, 36.7] });
  const line = await kmlFile(
    t,
    '<kml><Placemark><LineString><coordinates>117.8,36.7 117.9,36.7</coordinates></LineString></Placemark></kml>',
  );
  await assert.rejects(openKml(line), refusedWith('geometry_not_polygon', /第 1 个地标是线（LineString）/));
  const bad = await kmlFile(
    t,
    '<kml><Placemark><Point><coordinates>东经117度</coordinates></Point></Placemark></kml>',
  );
  await assert.rejects(openKml(bad), refusedWith('kml_invalid', /不是“经度,纬度”/));
});

test('a folder is a layer: --layer keeps its placemarks, an unknown name lists the folders', async (t) => {
  const f = await kmlFile(
    t,
    `<kml><Document><name>周村区</name>
<Folder><name>北郊镇</name><Placemark><name>一</name>${POLY}</Placemark></Folder>
<Folder><name>南郊镇</name><Placemark><name>二</name>${POLY}</Placemark><Folder><name>2017</name><Placemark><name>三</name>${POLY}</Placemark></Folder></Folder>
</Document></kml>`,
  );
  assert.equal((await openKml(f)).featureCount, 3);
  const south = await openKml(f, { layer: '南郊镇' });
  assert.equal(south.layer, '南郊镇');
  assert.deepEqual(
    (await all(south)).map((x) => x.attributes.Name),
    ['二', '三'],
  );
  await assert.rejects(
    openKml(f, { layer: '王村镇' }),
    refusedWith('source_layer_not_found', /周村区、北郊镇、南郊镇、2017/),
  );
});

test('a KML declared as GBK is read as GBK; wrong bytes for UTF-8 are refused as garbled', async (t) => {
  const text = `<?xml version="1.0" encoding="GBK"?><kml><Placemark><name>王村镇两处地块</name>${POLY}</Placemark></kml>`;
  const gbk = await kmlFile(t, iconv.encode(text, 'gbk'), 'gbk.kml');
  const src = await openKml(gbk);
  assert.deepEqual([src.encoding.encoding, src.encoding.source], ['gbk', 'format']);
  assert.equal((await all(src))[0]!.attributes.Name, '王村镇两处地块');
  const lying = await kmlFile(t, iconv.encode(text.replace('GBK', 'UTF-8'), 'gbk'), 'lying.kml');
  await assert.rejects(openKml(lying), refusedWith('encoding_garbled', /--encoding GBK/));
  const fixed = await openKml(lying, { encoding: 'GBK' });
  assert.equal((await all(fixed))[0]!.attributes.Name, '王村镇两处地块');
});

test('not a KML document at all is refused', async (t) => {
  const f = await kmlFile(t, '<gpx><trk/></gpx>');
  await assert.rejects(openKml(f), refusedWith('kml_invalid', /根元素不是 <kml>/));
});
