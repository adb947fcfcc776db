// The demo district's geography: ten units with real codes, streets in the built-up middle, farmland
// around, hills with forest in the south-west, land classes and names from the 2017 rule pack.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  buildDistrict,
  cellSizeFor,
  LAND_CLASSES,
  PLAN_ZONES,
  UNITS,
  type District,
} from '../../src/demo/district.ts';
import { cellCentre } from '../../src/demo/mesh.ts';
import { signedArea } from '../../src/demo/shapes.ts';

interface PackClass {
  code: string;
  name: string;
  group: string;
  cultivated?: boolean;
}

describe('demo district', () => {
  let d: District;
  before(() => {
    d = buildDistrict(2017, 0.05);
  });

  it('uses GB/T 21010-2017 classes exactly as the 2017 rule pack names and groups them', () => {
    const pack = JSON.parse(readFileSync(new URL('../../rules/2017-land.json', import.meta.url), 'utf8')) as {
      landClasses: { schemes: { id: string; classes: PackClass[] }[] };
    };
    const classes = pack.landClasses.schemes.find((s) => s.id === 'gbt21010_2017')!.classes;
    for (const c of LAND_CLASSES) {
      const p = classes.find((x) => x.code === c.code);
      assert.ok(p, c.code);
      assert.equal(p.name, c.name);
      assert.equal(p.group, c.group, c.code);
      assert.equal(p.cultivated === true, c.cultivated, c.code);
    }
  });

  it('names its units with 9-digit codes: streets 001–005, towns 1xx, the zone 4xx', () => {
    assert.equal(UNITS.length, 10);
    for (const u of UNITS) {
      assert.match(u.code, /^370306\d{3}$/);
      const tail = Number(u.code.slice(6));
      if (u.kind === 'street') assert.ok(tail >= 1 && tail <= 5 && u.name.endsWith('街道'));
      if (u.kind === 'town') assert.ok(tail >= 100 && tail < 200 && u.name.endsWith('镇'));
      if (u.kind === 'zone') assert.ok(tail >= 400 && tail < 500 && u.name.includes('开发区'));
    }
    assert.deepEqual(
      PLAN_ZONES.map((z) => z.name),
      ['允许建设区', '有条件建设区', '限制建设区', '禁止建设区'],
    );
  });

  it('gives every unit one territory, the streets in the middle, the whole about 285 km²', () => {
    let total = 0;
    d.unitRings.forEach((rings, u) => {
      assert.ok(rings.length >= 1 && signedArea(rings[0]!) > 0, UNITS[u]!.name);
      total += rings.reduce((s, r) => s + signedArea(r), 0);
    });
    const district = d.districtRings.reduce((s, r) => s + signedArea(r), 0);
    assert.equal(d.districtRings.length, 1, 'the district has no holes');
    assert.ok(Math.abs(total - district) < 1e-3);
    assert.ok(district > 270e6 && district < 300e6, `${district}`);
    assert.ok(Math.abs(d.cellsInside * cellSizeFor(0.05) ** 2 - district) < 0.02 * district);
    const streets = d.unitRings.filter((_, u) => UNITS[u]!.kind === 'street');
    const streetArea = streets.reduce((s, rings) => s + rings.reduce((a, r) => a + signedArea(r), 0), 0);
    assert.ok(streetArea > 15e6 && streetArea < 50e6, `streets ${streetArea}`);
    for (let k = 0; k < d.inside.length; k++) {
      if (!d.inside[k] || UNITS[d.unit[k]!]!.kind !== 'street') continue;
      assert.ok(d.du[k]! < 5000, 'street land lies within 5 km of the centre');
    }
  });

  it('is built up in the middle, farmland around, forest in the south-west hills', () => {
    const share = (cells: number[], test: (k: number) => boolean) => cells.filter(test).length / cells.length;
    const all: number[] = [];
    for (let k = 0; k < d.inside.length; k++) if (d.inside[k]) all.push(k);
    const core = all.filter((k) => d.core[k]);
    const towns = all.filter((k) => !d.core[k]);
    const group = (k: number) => LAND_CLASSES[d.cls[k]!]!.group;
    const cultivated = (k: number) => LAND_CLASSES[d.cls[k]!]!.cultivated;
    assert.ok(share(core, (k) => group(k) === 'construction') > 0.6);
    assert.ok(share(towns, (k) => group(k) === 'construction') < 0.3);
    assert.ok(share(towns, cultivated) > 0.45);
    const forest = all.filter((k) => LAND_CLASSES[d.cls[k]!]!.code.startsWith('03'));
    const mean = forest.reduce(
      (m, k) => {
        const [x, y] = cellCentre(d.mesh, k);
        return [m[0]! + x / forest.length, m[1]! + y / forest.length];
      },
      [0, 0],
    );
    assert.ok(
      mean[0]! < d.centre[0] - 3000 && mean[1]! < d.centre[1] - 3000,
      'forest lies south-west of the centre',
    );
    // Basic farmland is cultivated land outside the city; rivers are forbidden zones.
    for (const p of d.parcels)
      if (p.basic) assert.ok(LAND_CLASSES[p.cls]!.cultivated && !d.core[p.cells[0]!]);
    assert.ok(
      d.parcels.filter((p) => p.basic).length >
        0.4 * d.parcels.filter((p) => LAND_CLASSES[p.cls]!.cultivated).length,
    );
    for (let k = 0; k < d.inside.length; k++)
      if (d.river[k]) assert.equal(PLAN_ZONES[d.zone[k]!]!.code, '040');
  });

  it('is the same district for the same seed and another for another seed', () => {
    const again = buildDistrict(2017, 0.05);
    assert.deepEqual(again.parcels.slice(0, 50), d.parcels.slice(0, 50));
    assert.deepEqual(again.unitRings, d.unitRings);
    const other = buildDistrict(2018, 0.05);
    assert.notDeepEqual(other.unitRings, d.unitRings);
  });
});
