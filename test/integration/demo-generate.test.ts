// The demo district generator (weipian demo generate) at --scale 0.1: the delivery it writes is
// read back from the files, the way the system and a GIS user would read it, and checked against
// geometry rather than against the generator's own bookkeeping — the land-use parcels and the
// towns tile the district, every ground-truth category holds on the map, the bytes depend on the
// seed only, and the Chinese survives GBK Shapefile → the real importer on both engines.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Flatbush from 'flatbush';
import ExcelJS from 'exceljs';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { runCli } from '../helpers/cli.ts';
import {
  buildDemoFiles,
  generateDemo,
  LAND_DIR,
  MINERAL_DIR,
  REFERENCE_DIR,
  type DemoManifest,
} from '../../src/demo/generate.ts';
import { LAND_CATEGORIES, MINERAL_CATEGORIES, type PatchTruth } from '../../src/demo/scenario.ts';
import { pointInRing } from '../../src/demo/shapes.ts';
import { openVectorSource } from '../../src/formats/vector-source.ts';
import { initGeos, type Geos } from '../../src/geo/geos.ts';
import { planeArea } from '../../src/geo/area.ts';
import { bboxOf, type Areal } from '../../src/geo/geometry.ts';
import { getCrs, toCgcs2000 } from '../../src/geo/crs.ts';
import { decodeGeometry, decodeWkb } from '../../src/geo/wkb.ts';
import { importLayer } from '../../src/jobs/import-layer.ts';
import { importPatches } from '../../src/jobs/import-patches.ts';
import { createBatch } from '../../src/services/batches.ts';
import { listPatches } from '../../src/store/queries/patches.ts';
import { listUnits } from '../../src/store/queries/units.ts';
import { isWeipianError } from '../../src/domain/errors.ts';

const SEED = 2017;
const SCALE = 0.1;

interface Feature {
  geom: Areal;
  attrs: Record<string, unknown>;
}

/** Reads a delivered layer with the project's reader, geometry as delivered (EPSG:4527). */
async function readLayer(file: string): Promise<Feature[]> {
  const src = await openVectorSource(file, { geometry: 'polygon' });
  const out: Feature[] = [];
  try {
    for await (const f of src.features()) {
      assert.ok(f.geometry && f.geometry.type !== 'Point', `${file} #${f.index} has an areal geometry`);
      out.push({ geom: f.geometry as Areal, attrs: f.attributes });
    }
  } finally {
    await src.close();
  }
  return out;
}

function index(features: readonly Feature[]): Flatbush {
  const fb = new Flatbush(features.length);
  for (const f of features) {
    const b = bboxOf(f.geom);
    fb.add(b.minx, b.miny, b.maxx, b.maxy);
  }
  fb.finish();
  return fb;
}

function overlap(geos: Geos, a: Areal, b: Areal): number {
  const x = geos.intersection(a, b);
  return x ? planeArea(x) : 0;
}

/** Plane area of g ∩ (union of the indexed features) — the features tile without overlap. */
function overlapWithLayer(geos: Geos, g: Areal, layer: readonly Feature[], fb: Flatbush): number {
  const b = bboxOf(g);
  let sum = 0;
  for (const i of fb.search(b.minx, b.miny, b.maxx, b.maxy)) sum += overlap(geos, g, layer[i]!.geom);
  return sum;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

describe('demo generate (scale 0.1)', () => {
  let root: string;
  let dir: string;
  let manifest: DemoManifest;
  let geos: Geos;
  const ref = (name: string) => path.join(dir, REFERENCE_DIR, `${name}.shp`);
  const truths = (category: string) => manifest.patches.filter((p) => p.category === category);

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'weipian-demo-'));
    dir = path.join(root, '周村区示例');
    manifest = (await generateDemo(dir, { seed: SEED, scale: SCALE })).manifest;
    geos = await initGeos();
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('writes the delivery as a district receives it, every file listed with its SHA-256', async () => {
    const onDisk = await listFiles(dir);
    assert.deepEqual(onDisk, [...manifest.files.map((f) => f.path), 'manifest.json'].sort());
    for (const f of manifest.files) {
      const bytes = await readFile(path.join(dir, ...f.path.split('/')));
      assert.equal(bytes.length, f.bytes, f.path);
      assert.equal(sha256(bytes), f.sha256, f.path);
    }
    for (const name of [
      '行政区',
      '镇街界线',
      '地类图斑',
      '耕地',
      '永久基本农田',
      '土地利用总体规划',
      '农用地转用征收批准',
      '供地',
      '增减挂钩',
      '设施农用地',
      '临时用地',
      '采矿权',
      '探矿权',
    ])
      for (const ext of ['shp', 'shx', 'dbf', 'prj', 'cpg'])
        assert.ok(onDisk.includes(`${REFERENCE_DIR}/${name}.${ext}`), `${name}.${ext}`);
    const land = `${LAND_DIR}/土地卫片图斑`;
    const cpg = await readFile(path.join(dir, ...`${land}.cpg`.split('/')), 'utf8');
    assert.equal(cpg, '936');
    const dbf = await readFile(path.join(dir, ...`${land}.dbf`.split('/')));
    assert.equal(dbf[29], 0x4d, 'GBK language driver');
    assert.deepEqual([dbf[1], dbf[2], dbf[3]], [118, 2, 28], 'DBF dated 2018-02-28, not today');
    const prj = await readFile(path.join(dir, ...`${land}.prj`.split('/')), 'utf8');
    assert.match(prj, /False_Easting",39500000/);
    assert.match(prj, /Central_Meridian",117/);
    // Eastings carry the zone number: 8 integer digits starting with 39.
    const patches = await readLayer(path.join(dir, LAND_DIR, '土地卫片图斑.shp'));
    for (const p of patches) {
      const b = bboxOf(p.geom);
      assert.ok(b.minx > 39_500_000 && b.maxx < 39_600_000, `easting ${b.minx}`);
      assert.ok(b.miny > 4_050_000 && b.maxy < 4_090_000, `northing ${b.miny}`);
    }
    assert.ok(patches.length >= 55 && patches.length <= 70, `about 60 land patches: ${patches.length}`);
    const parcels = manifest.layers.find((l) => l.importAs === 'land-use')!.features;
    assert.ok(parcels >= 3000 && parcels <= 4000, `about 3,000 parcels: ${parcels}`);
    // 周村区 is about 263 km²; the demo district 260–310 km², inside 117°41′–117°58′E, 36°39′–36°54′N.
    assert.ok(
      manifest.district.areaM2 > 260e6 && manifest.district.areaM2 < 310e6,
      `${manifest.district.areaM2}`,
    );
    const [district] = await readLayer(ref('行政区'));
    const toGeo = toCgcs2000(getCrs('EPSG:4527'));
    const b = bboxOf(district!.geom);
    const [w, s] = toGeo([b.minx, b.miny]);
    const [e, n] = toGeo([b.maxx, b.maxy]);
    assert.ok(w > 117 + 41 / 60 - 0.01 && e < 117 + 58 / 60 + 0.01, `${w}–${e}°E`);
    assert.ok(s > 36 + 39 / 60 - 0.01 && n < 36 + 54 / 60 + 0.01, `${s}–${n}°N`);
  });

  it('tiles the district with land-use parcels: no gap and no overlap above 0.01 m²', async () => {
    const [district] = await readLayer(ref('行政区'));
    const parcels = await readLayer(ref('地类图斑'));
    let sum = 0;
    for (const p of parcels) {
      assert.equal(p.geom.type, 'Polygon');
      const v = geos.validity(p.geom);
      assert.ok(v.valid, `parcel ${String(p.attrs.BSM)}: ${v.reason}`);
      const ring = (p.geom as { coordinates: number[][][] }).coordinates[0]!;
      assert.ok(ring.length - 1 >= 4 && ring.length - 1 <= 16, `parcel of ${ring.length - 1} vertices`);
      sum += planeArea(p.geom);
    }
    const area = planeArea(district!.geom);
    assert.ok(Math.abs(sum - area) < 0.01 * parcels.length, `parcels ${sum} vs district ${area}`);
    const fb = index(parcels);
    let pairs = 0;
    parcels.forEach((p, i) => {
      const b = bboxOf(p.geom);
      for (const j of fb.search(b.minx, b.miny, b.maxx, b.maxy)) {
        if (j <= i) continue;
        pairs++;
        const a = overlap(geos, p.geom, parcels[j]!.geom);
        assert.ok(a < 0.01, `parcels ${i} and ${j} overlap by ${a} m²`);
      }
    });
    assert.ok(pairs > parcels.length * 3, `neighbours were compared: ${pairs}`);
    // Cultivated land and basic farmland are parcels of the land-use layer (01xx; a subset).
    const farmland = await readLayer(ref('耕地'));
    assert.ok(farmland.every((f) => /^01\d\d$/.test(String(f.attrs.DLBM))));
    assert.equal(farmland.length, parcels.filter((p) => /^01/.test(String(p.attrs.DLBM))).length);
    const basic = await readLayer(ref('永久基本农田'));
    const farmlandBsm = new Set(farmland.map((f) => Number(f.attrs.BSM)));
    assert.ok(basic.length > farmland.length / 3 && basic.length < farmland.length);
    assert.ok(basic.every((f) => farmlandBsm.has(Number(f.attrs.BSM))));
  });

  it('splits the district into ten responsible units that tile it, each parcel inside its own unit', async () => {
    const [district] = await readLayer(ref('行政区'));
    const units = await readLayer(ref('镇街界线'));
    assert.deepEqual(
      units.map((u) => [u.attrs.DWDM, u.attrs.DWMC]),
      [
        ['370306001', '丝绸路街道'],
        ['370306002', '大街街道'],
        ['370306003', '青年路街道'],
        ['370306004', '永安街街道'],
        ['370306005', '城北路街道'],
        ['370306100', '北郊镇'],
        ['370306101', '南郊镇'],
        ['370306102', '王村镇'],
        ['370306103', '萌水镇'],
        ['370306400', '周村经济开发区'],
      ],
    );
    let sum = 0;
    for (const u of units) {
      assert.ok(geos.validity(u.geom).valid, String(u.attrs.DWMC));
      // Irregular, not rectangles: hundreds of boundary vertices.
      assert.ok((u.geom as { coordinates: number[][][] }).coordinates[0]!.length > 40, String(u.attrs.DWMC));
      sum += planeArea(u.geom);
    }
    assert.ok(Math.abs(sum - planeArea(district!.geom)) < 0.01 * units.length);
    for (let i = 0; i < units.length; i++)
      for (let j = i + 1; j < units.length; j++)
        assert.ok(overlap(geos, units[i]!.geom, units[j]!.geom) < 0.01);
    // The streets are the built-up middle: closer to the district's centre than any town's land.
    const c = bboxOf(district!.geom);
    const mid = [(c.minx + c.maxx) / 2, (c.miny + c.maxy) / 2];
    for (const u of units.slice(0, 5)) {
      const b = bboxOf(u.geom);
      assert.ok(
        Math.hypot((b.minx + b.maxx) / 2 - mid[0]!, (b.miny + b.maxy) / 2 - mid[1]!) < 6000,
        String(u.attrs.DWMC),
      );
    }
    const byCode = new Map(units.map((u) => [String(u.attrs.DWDM), u.geom]));
    const parcels = await readLayer(ref('地类图斑'));
    for (const p of parcels) {
      const u = byCode.get(String(p.attrs.ZLDWDM));
      assert.ok(u, `parcel unit ${String(p.attrs.ZLDWDM)}`);
      assert.ok(
        Math.abs(overlap(geos, p.geom, u) - planeArea(p.geom)) < 0.01,
        `parcel ${String(p.attrs.BSM)} inside its unit`,
      );
    }
  });

  it('has every ground-truth category, and the categories hold on the map', async () => {
    for (const c of LAND_CATEGORIES) assert.ok(manifest.counts.land.byCategory[c.id]! >= 2, `land ${c.id}`);
    for (const c of MINERAL_CATEGORIES)
      assert.ok(manifest.counts.mineral.byCategory[c.id]! >= 1, `mineral ${c.id}`);
    for (const t of ['holes', 'multipart', 'invalid_bowtie', 'invalid_self_touching', 'straddles_units'])
      assert.ok(manifest.counts.land.byTrait[t]! >= 1, `trait ${t}`);
    assert.ok(manifest.counts.mineral.byTrait.expired_licence! >= 1);

    const land = new Map(
      (await readLayer(path.join(dir, LAND_DIR, '土地卫片图斑.shp'))).map((p) => [String(p.attrs.JCBH), p]),
    );
    const mineral = new Map(
      (await readLayer(path.join(dir, MINERAL_DIR, '矿产卫片图斑.shp'))).map((p) => [
        String(p.attrs.JCBH),
        p,
      ]),
    );
    const layer = {
      approval: await readLayer(ref('农用地转用征收批准')),
      supply: await readLayer(ref('供地')),
      linkage: await readLayer(ref('增减挂钩')),
      facility: await readLayer(ref('设施农用地')),
      temporary: await readLayer(ref('临时用地')),
      mining: await readLayer(ref('采矿权')),
      exploration: await readLayer(ref('探矿权')),
    };
    const geomOf = (t: PatchTruth) => {
      const p = (t.kind === 'land' ? land : mineral).get(t.jcbh);
      assert.ok(p, `patch ${t.jcbh} delivered`);
      const v = geos.makeValid(p.geom);
      assert.ok(v);
      return { g: v, p };
    };
    const share = (t: PatchTruth, rec: Areal) => {
      const { g } = geomOf(t);
      return overlap(geos, g, rec) / planeArea(g);
    };

    // Fully inside its record: approval, supply, linkage, facility filing, temporary use, licence.
    for (const cat of [
      'approved',
      'supplied',
      'linkage',
      'facility',
      'temporary',
      'licensed',
      'expired_licence',
      'exploration_licence',
      'changed_mineral',
    ])
      for (const t of truths(cat)) {
        const rec = layer[t.evidence!.layer][t.evidence!.index]!;
        const { g } = geomOf(t);
        assert.ok(
          Math.abs(overlap(geos, g, rec.geom) - planeArea(g)) < 0.01,
          `${cat} ${t.jcbh} inside ${t.evidence!.number}`,
        );
        assert.equal(t.insideShare, 1);
        assert.equal(
          String(
            rec.attrs.PZWH ??
              rec.attrs.供地文号 ??
              rec.attrs.PFWH ??
              rec.attrs.BABH ??
              rec.attrs.PWH ??
              rec.attrs.XKZH,
          ),
          t.evidence!.number,
        );
      }
    // Every record a verdict rests on was in force at the 后时相.
    const DATE_FIELDS: Record<string, [string, string | null]> = {
      approval: ['PZRQ', null],
      supply: ['供地日期', null],
      linkage: ['PFRQ', null],
      facility: ['BARQ', null],
      temporary: ['QSRQ', 'ZZRQ'],
      exploration: ['YXQQ', 'YXQZ'],
    };
    for (const t of manifest.patches.filter((p) => p.evidence && p.verdict !== 'illegal')) {
      const fields = DATE_FIELDS[t.evidence!.layer];
      if (!fields) continue;
      const rec = layer[t.evidence!.layer][t.evidence!.index]!;
      const hsx = geomOf(t).p.attrs.HSX as Date;
      assert.ok((rec.attrs[fields[0]] as Date) < hsx, `${t.jcbh}: ${fields[0]} before the image`);
      if (fields[1])
        assert.ok((rec.attrs[fields[1]] as Date) > hsx, `${t.jcbh}: ${fields[1]} after the image`);
    }
    for (const t of truths('supplied')) {
      // …and the supply lies inside an approval.
      const sup = layer.supply[t.evidence!.index]!;
      assert.ok(
        Math.abs(
          overlapWithLayer(geos, sup.geom, layer.approval, index(layer.approval)) - planeArea(sup.geom),
        ) < 0.01,
      );
    }
    // 批少占多: about 60 % inside the approval.
    for (const t of truths('partly_approved')) {
      const s = share(t, layer.approval[t.evidence!.index]!.geom);
      assert.ok(s > 0.5 && s < 0.7, `${t.jcbh}: ${s}`);
    }
    // No record of any kind under the patches that have none.
    const recordLayers = [layer.approval, layer.supply, layer.linkage, layer.facility, layer.temporary];
    const recordIndexes = recordLayers.map(index);
    for (const cat of ['illegal', 'illegal_basic_farmland', 'no_change', 'rural_road', 'straddling'])
      for (const t of truths(cat)) {
        const { g } = geomOf(t);
        recordLayers.forEach((l, k) =>
          assert.ok(overlapWithLayer(geos, g, l, recordIndexes[k]!) < 0.01, `${cat} ${t.jcbh} has no record`),
        );
        assert.equal(t.evidence, null);
      }
    // Clearly illegal on basic farmland: at least half of it.
    const basic = await readLayer(ref('永久基本农田'));
    const basicIndex = index(basic);
    for (const t of truths('illegal_basic_farmland')) {
      const { g } = geomOf(t);
      assert.ok(overlapWithLayer(geos, g, basic, basicIndex) >= 0.5 * planeArea(g), t.jcbh);
    }
    // Straddling: really in two units, each with a fifth or more.
    const units = await readLayer(ref('镇街界线'));
    for (const t of truths('straddling')) {
      const { g } = geomOf(t);
      const shares = units.map((u) => overlap(geos, g, u.geom) / planeArea(g)).filter((s) => s > 0);
      assert.ok(
        shares.length >= 2 && shares.filter((s) => s >= 0.2).length >= 2,
        `${t.jcbh}: ${shares.join(', ')}`,
      );
      assert.ok(t.traits.includes('straddles_units'));
    }
    // Rural roads are long and thin: mean width 2·area / perimeter under 8 m.
    for (const t of truths('rural_road')) {
      const ring = (geomOf(t).p.geom as { coordinates: number[][][] }).coordinates[0]!;
      let perimeter = 0;
      for (let i = 1; i < ring.length; i++)
        perimeter += Math.hypot(ring[i]![0]! - ring[i - 1]![0]!, ring[i]![1]! - ring[i - 1]![1]!);
      assert.ok((2 * planeArea(geomOf(t).p.geom)) / perimeter < 8, t.jcbh);
    }
    // Structural traits are in the delivered geometry itself.
    for (const t of manifest.patches) {
      const p = (t.kind === 'land' ? land : mineral).get(t.jcbh)!;
      const v = geos.validity(p.geom);
      const invalid = t.traits.includes('invalid_bowtie') || t.traits.includes('invalid_self_touching');
      assert.equal(v.valid, !invalid, `${t.jcbh} ${t.traits.join(',')}: ${v.reason}`);
      if (t.traits.includes('holes'))
        assert.ok(p.geom.type === 'Polygon' && p.geom.coordinates.length === 2, t.jcbh);
      if (t.traits.includes('multipart'))
        assert.ok(p.geom.type === 'MultiPolygon' && p.geom.coordinates.length === 2, t.jcbh);
    }
    // Minerals: 越界 partly outside, 无证 outside every licence, 以采代探 clear of mining licences,
    // an expired licence ended before the image, a changed mineral differs from the licence's.
    for (const t of truths('beyond_boundary')) {
      const s = share(t, layer.mining[t.evidence!.index]!.geom);
      assert.ok(s > 0.5 && s < 0.8, `${t.jcbh}: ${s}`);
    }
    const mining = index(layer.mining);
    const exploration = index(layer.exploration);
    for (const t of truths('no_licence')) {
      const { g } = geomOf(t);
      assert.ok(
        overlapWithLayer(geos, g, layer.mining, mining) < 0.01 &&
          overlapWithLayer(geos, g, layer.exploration, exploration) < 0.01,
      );
    }
    for (const t of truths('exploration_licence'))
      assert.ok(overlapWithLayer(geos, geomOf(t).g, layer.mining, mining) < 0.01);
    for (const t of [...truths('expired_licence'), ...truths('licensed')]) {
      const lic = layer.mining[t.evidence!.index]!;
      const hsx = geomOf(t).p.attrs.HSX as Date;
      const end = lic.attrs.YXQZ as Date;
      assert.equal(
        end < hsx,
        t.category === 'expired_licence',
        `${t.jcbh}: licence ends ${String(end)}, image ${String(hsx)}`,
      );
    }
    for (const t of truths('changed_mineral'))
      assert.notEqual(geomOf(t).p.attrs.KZ, layer.mining[t.evidence!.index]!.attrs.KZ);
    // The delivered centre (ZXDX east, ZXDY north) lies inside its patch — also for the patch with a
    // courtyard, the two-part one and the repaired invalid ones.
    for (const t of manifest.patches) {
      const { g, p } = geomOf(t);
      const at: [number, number] = [p.attrs.ZXDX as number, p.attrs.ZXDY as number];
      const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
      assert.ok(
        polys.some((rings) => pointInRing(at, rings[0]!) && !rings.slice(1).some((h) => pointInRing(at, h))),
        `${t.jcbh} ${t.traits.join(',')}: centre ${at.join(', ')} inside`,
      );
    }
    // Delivered attributes: JCBH 3703062017 + 5 digits, XZQDM unit + village, JCMJ in 亩.
    for (const t of manifest.patches.filter((p) => p.kind === 'land')) {
      const p = land.get(t.jcbh)!;
      assert.match(t.jcbh, /^3703062017\d{5}$/);
      assert.match(String(p.attrs.XZQDM), /^370306\d{6}$/);
      assert.ok(Math.abs((p.attrs.JCMJ as number) - (t.areaM2 * 3) / 2000) <= 0.005 + 1e-9, t.jcbh);
      assert.equal(
        Object.keys(p.attrs).some((k) => /truth|category|verdict/i.test(k)),
        false,
      );
    }
  });

  it('depends on the seed only: same seed, same bytes; another seed, other bytes', async () => {
    const again = await buildDemoFiles({ seed: SEED, scale: SCALE });
    const onDisk = new Map(manifest.files.map((f) => [f.path, f.sha256]));
    for (const [p, bytes] of again.files)
      if (p !== 'manifest.json') assert.equal(sha256(bytes), onDisk.get(p), p);
    assert.equal(
      sha256(again.files.get('manifest.json')!),
      sha256(await readFile(path.join(dir, 'manifest.json'))),
    );
    const other = await buildDemoFiles({ seed: SEED + 1, scale: SCALE });
    for (const p of [
      `${REFERENCE_DIR}/地类图斑.shp`,
      `${REFERENCE_DIR}/镇街界线.shp`,
      `${LAND_DIR}/土地卫片图斑.shp`,
      `${LAND_DIR}/土地卫片图斑.dbf`,
      `${MINERAL_DIR}/矿产卫片图斑一张表.xlsx`,
      `${MINERAL_DIR}/矿产卫片图斑.gpkg`,
    ])
      assert.notEqual(sha256(other.files.get(p)!), onDisk.get(p), p);
    // Every geometry differs; only the .prj/.cpg and the attribute tables of the district and the
    // units (codes and names, the same in every seed) may coincide.
    const same = [...other.files.keys()].filter(
      (p) => p !== 'manifest.json' && onDisk.get(p) === sha256(other.files.get(p)!),
    );
    assert.ok(
      same.every((p) => /\.(prj|cpg)$/.test(p) || /\/(行政区|镇街界线)\.dbf$/.test(p)),
      same.join(', '),
    );
  });

  it('writes the mineral 一张表 with surveyors’ X (northing) before Y (easting), as real tables do', async () => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(path.join(dir, MINERAL_DIR, '矿产卫片图斑一张表.xlsx'));
    const ws = wb.worksheets[0]!;
    assert.match(String(ws.getCell(1, 1).value), /周村区2017年度矿产卫片/);
    const header = (ws.getRow(2).values as unknown[]).slice(1).map(String);
    const xi = header.indexOf('中心点X') + 1;
    const yi = header.indexOf('中心点Y') + 1;
    assert.ok(xi > 0 && yi === xi + 1, header.join(','));
    const shp = new Map(
      (await readLayer(path.join(dir, MINERAL_DIR, '矿产卫片图斑.shp'))).map((p) => [
        String(p.attrs.JCBH),
        p,
      ]),
    );
    let rows = 0;
    for (let r = 3; r <= ws.rowCount; r++) {
      const row = ws.getRow(r);
      const x = row.getCell(xi).value as number;
      const y = row.getCell(yi).value as number;
      assert.ok(x > 4_050_000 && x < 4_090_000, `中心点X ${x} is a northing`);
      assert.ok(y > 39_500_000 && y < 39_600_000, `中心点Y ${y} is a zone-prefixed easting`);
      const p = shp.get(String(row.getCell(header.indexOf('监测编号') + 1).value))!;
      assert.equal(x, p.attrs.ZXDY);
      assert.equal(y, p.attrs.ZXDX);
      rows++;
    }
    assert.equal(rows, manifest.counts.mineral.total);
    // Created and modified are the report date, not the clock.
    assert.equal(wb.created.toISOString(), '2018-04-09T01:00:00.000Z');
  });

  it('refuses a folder that is not empty, and bad options, writing nothing', async () => {
    const busy = path.join(root, 'busy');
    await mkdir(busy);
    await writeFile(path.join(busy, 'keep.txt'), 'x');
    for (const [target, opts, code] of [
      [busy, {}, 'demo_dir_not_empty'],
      [path.join(busy, 'keep.txt'), {}, 'demo_dir_not_directory'],
      [path.join(root, 'new1'), { seed: -1 }, 'demo_seed_invalid'],
      [path.join(root, 'new2'), { seed: 1.5 }, 'demo_seed_invalid'],
      [path.join(root, 'new3'), { scale: 0 }, 'demo_scale_invalid'],
      [path.join(root, 'new4'), { scale: Number.NaN }, 'demo_scale_invalid'],
    ] as const) {
      await assert.rejects(generateDemo(target, opts), (e: unknown) => {
        assert.ok(isWeipianError(e) && e.code === code, String(e));
        assert.match(e.message, /[\u4e00-\u9fff]/);
        return true;
      });
    }
    assert.deepEqual(await readdir(busy), ['keep.txt']);
    assert.deepEqual((await readdir(root)).sort(), ['busy', '周村区示例']);
  });

  it('runs as `weipian demo generate` and explains a bad option in Chinese', async () => {
    const target = path.join(root, 'cli');
    const ok = await runCli(['demo', 'generate', target, '--seed', '7', '--scale', '0.02', '--json'], {});
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as { ok: boolean; seed: number; scale: number };
    assert.deepEqual([out.ok, out.seed, out.scale], [true, 7, 0.02]);
    const m = JSON.parse(await readFile(path.join(target, 'manifest.json'), 'utf8')) as DemoManifest;
    assert.equal(m.seed, 7);
    const bad = await runCli(['demo', 'generate', path.join(root, 'cli2'), '--scale', 'abc'], {});
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /规模.*\[demo_scale_invalid\]/);
    await rm(target, { recursive: true, force: true });
  });

  for (const engine of engines())
    describe(`import on ${engine}`, () => {
      let t: TestDb;
      before(async () => {
        t = await freshDb(engine);
      });
      after(() => t.drop());

      it('imports every layer and both deliveries through the real importer with the Chinese intact', async () => {
        for (const l of manifest.layers.filter(
          (x) => x.format === 'shapefile' && x.importAs !== 'patches' && x.importAs !== null,
        )) {
          const s = await importLayer(t.db, path.join(dir, ...l.file.split('/')), {
            type: l.importAs!,
            actor: 'tester',
            maxUnzippedBytes: 1 << 30,
          });
          assert.equal(s.imported, l.features, l.file);
          assert.equal(s.encoding, 'gbk', l.file);
          assert.equal(s.crs, 'EPSG:4527', l.file);
          assert.deepEqual(s.refused, [], l.file);
        }
        const units = await listUnits(t.db);
        assert.deepEqual(
          units.map((u) => [u.code, u.name, u.kind]),
          manifest.district.units.map((u) => [u.code, u.name, u.kind]),
        );
        for (const u of units) {
          const want = manifest.district.units.find((m) => m.code === u.code)!.areaM2;
          assert.ok(Math.abs(u.area_m2! - want) < 0.01, `${u.name} ${u.area_m2} vs ${want}`);
        }
        const names = await t.db.query<{ t: string; n: string }>(
          `SELECT l.type AS t, string_agg(DISTINCT (f.attributes::jsonb ->> CASE l.type WHEN 'supply' THEN '用地单位' WHEN 'planning' THEN 'GZQLXMC' WHEN 'mining-right' THEN 'KSMC' ELSE 'DLMC' END), '|') AS n
             FROM reference_features f JOIN reference_layers l ON l.id = f.layer_id
            WHERE l.type IN ('land-use', 'supply', 'planning', 'mining-right') GROUP BY l.type ORDER BY l.type`,
        );
        const byType = new Map(names.map((r) => [r.t, r.n.split('|')]));
        assert.ok(byType.get('land-use')!.includes('旱地') && byType.get('land-use')!.includes('农村宅基地'));
        assert.deepEqual(
          byType.get('planning')!.sort(),
          ['允许建设区', '有条件建设区', '禁止建设区', '限制建设区'].sort(),
        );
        assert.ok(byType.get('supply')!.every((n) => /有限公司$/.test(n)));
        assert.ok(byType.get('mining-right')!.every((n) => /^淄博市周村区.+矿$/.test(n)));

        await createBatch(t.db, { slug: 'demo-land', kind: 'land', year: 2017, actor: 'tester' });
        const land = await importPatches(t.db, path.join(dir, LAND_DIR, '土地卫片图斑.shp'), {
          batch: 'demo-land',
          areaUnit: 'mu',
          source: '卫片',
          actor: 'tester',
          maxUnzippedBytes: 1 << 30,
        });
        assert.equal(land.imported, manifest.counts.land.total);
        assert.equal(
          land.repaired.length,
          manifest.counts.land.byTrait.invalid_bowtie! + manifest.counts.land.byTrait.invalid_self_touching!,
        );
        const rows = await listPatches(t.db, {
          batchId: (await t.db.query<{ id: number }>("SELECT id FROM batches WHERE slug = 'demo-land'"))[0]!
            .id,
        });
        const truth = new Map(manifest.patches.map((p) => [p.jcbh, p]));
        for (const r of rows) {
          const want = truth.get(r.jcbh)!;
          // The importer's official area is the generator's, to well under a square metre.
          assert.ok(Math.abs(r.area_m2 - want.areaM2) < 0.01, `${r.jcbh} ${r.area_m2} vs ${want.areaM2}`);
          assert.match(r.tblx ?? '', /^(新增建设用地|推填土|其他)$/);
          // 行政区代码 names the unit the patch lies in (all of it, unless it crosses a unit line).
          if (!want.traits.includes('straddles_units')) assert.equal(r.xzqdm!.slice(0, 9), want.unit, r.jcbh);
        }
        assert.ok(rows.some((r) => r.bz !== null && /[\u4e00-\u9fff]/.test(r.bz)));

        await createBatch(t.db, { slug: 'demo-mineral', kind: 'mineral', year: 2017, actor: 'tester' });
        const shp = await importPatches(t.db, path.join(dir, MINERAL_DIR, '矿产卫片图斑.shp'), {
          batch: 'demo-mineral',
          areaUnit: 'mu',
          source: '卫片',
          actor: 'tester',
          maxUnzippedBytes: 1 << 30,
        });
        assert.equal(shp.imported, manifest.counts.mineral.total);
        const mineralId = (
          await t.db.query<{ id: number }>("SELECT id FROM batches WHERE slug = 'demo-mineral'")
        )[0]!.id;
        const polys = await listPatches(t.db, { batchId: mineralId });
        assert.ok(
          polys.every((r) =>
            ['建筑石料用灰岩', '石灰岩', '耐火粘土', '铝土矿'].includes(String(r.attributes.KZ)),
          ),
        );
        // The same patches from the 一张表 (centre points, X = northing) and from the GeoPackage.
        await createBatch(t.db, { slug: 'demo-mineral-table', kind: 'mineral', year: 2017, actor: 'tester' });
        const table = await importPatches(t.db, path.join(dir, MINERAL_DIR, '矿产卫片图斑一张表.xlsx'), {
          batch: 'demo-mineral-table',
          areaUnit: 'mu',
          source: '卫片',
          actor: 'tester',
          maxUnzippedBytes: 1 << 30,
        });
        assert.equal(table.points, manifest.counts.mineral.total);
        assert.ok(
          table.notes.some((n) => /X 为北坐标/.test(n)),
          table.notes.join(' '),
        );
        const tableId = (
          await t.db.query<{ id: number }>("SELECT id FROM batches WHERE slug = 'demo-mineral-table'")
        )[0]!.id;
        const pts = new Map((await listPatches(t.db, { batchId: tableId })).map((r) => [r.jcbh, r]));
        const toGeo = toCgcs2000(getCrs('EPSG:4527'));
        for (const r of polys) {
          const pt = pts.get(r.jcbh)!;
          assert.equal(pt.attributes['乡镇（街道）'], r.attributes.XZQMC);
          const g = decodeGeometry(pt.geom) as { type: string; coordinates: [number, number] };
          assert.equal(g.type, 'Point');
          const [lon, lat] = toGeo([r.attributes.ZXDX as number, r.attributes.ZXDY as number]);
          assert.ok(
            Math.abs(g.coordinates[0] - lon) < 1e-7 && Math.abs(g.coordinates[1] - lat) < 1e-7,
            r.jcbh,
          );
          // The centre lies in its patch.
          const b = bboxOf(decodeWkb(r.geom) as Areal);
          assert.ok(lon >= b.minx && lon <= b.maxx && lat >= b.miny && lat <= b.maxy, r.jcbh);
        }
        await createBatch(t.db, { slug: 'demo-mineral-gpkg', kind: 'mineral', year: 2017, actor: 'tester' });
        const gpkg = await importPatches(t.db, path.join(dir, MINERAL_DIR, '矿产卫片图斑.gpkg'), {
          batch: 'demo-mineral-gpkg',
          areaUnit: 'mu',
          source: '卫片',
          actor: 'tester',
          maxUnzippedBytes: 1 << 30,
        });
        assert.equal(gpkg.imported, manifest.counts.mineral.total);
        assert.ok(Math.abs(gpkg.totalAreaM2 - shp.totalAreaM2) < 0.01);
      });
    });
});
