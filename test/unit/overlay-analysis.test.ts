// analysePatch on a small hand-drawn district (frame metres near 117.8°E 36.8°N): every area is
// GeographicLib's area of the polygon written out by hand, every pre-judgement reason is spelled out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initGeos } from '../../src/geo/geos.ts';
import type { Areal } from '../../src/geo/geometry.ts';
import {
  buildReferenceIndex,
  type ReferenceFeature,
  type ReferenceIndexOptions,
} from '../../src/geo/reference-index.ts';
import {
  analysePatch,
  licenceBufferM,
  parseDateRange,
  parsePeriod,
  zoneOf,
  type AnalysisLayers,
} from '../../src/domain/analysis.ts';
import { loadRulePack } from '../../src/domain/rulepack.ts';
import { OUTPUT_FIELD_IDS } from '../../src/domain/fields.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import { geoArea, lonEastOf, poly, pt, rect, rectRing, ring, xOfLon } from '../helpers/overlay-frame.ts';

const geos = await initGeos();
const land = loadRulePack('2017-land');
const mineral = loadRulePack('2017-mineral');

const EXACT = 1e-3;
function close(
  actual: number | string | null | undefined,
  expected: number,
  tol: number,
  what: string,
): void {
  assert.equal(typeof actual, 'number', what);
  assert.ok(Math.abs((actual as number) - expected) <= tol, `${what}: ${String(actual)} vs ${expected}`);
}
const m2 = (x: number) => `${x.toFixed(2)} 平方米`;

function layer(features: [Areal, Record<string, unknown>][], opts: ReferenceIndexOptions = {}) {
  const fs: ReferenceFeature[] = features.map(([geometry, attributes], i) => ({
    id: i + 1,
    geometry,
    attributes,
  }));
  return buildReferenceIndex(geos, fs, opts);
}

// ---------------------------------------------------------------------------------------------
// The land district: unit A west of x = 0, unit B east; cultivated land west, homesteads east;
// farmland in the band 400 ≤ y ≤ 800 west of x = 0; 允许建设区 below y = 900, 限制建设区 above.

const A = { DWDM: '370306001', DWMC: '永安街道' };
const B = { DWDM: '370306002', DWMC: '城北路街道' };
const landLayers: AnalysisLayers = {
  unit: layer(
    [
      [rect(-2000, -2000, 0, 2000), A],
      [rect(0, -2000, 2000, 2000), B],
    ],
    { coverage: true },
  ),
  'land-use': layer(
    [
      [rect(-2000, -2000, 0, 2000), { DLBM: '0103' }],
      [rect(0, -2000, 2000, 2000), { DLBM: '0702' }],
    ],
    { coverage: true },
  ),
  farmland: layer([[rect(-2000, 400, 0, 800), { DLBM: '0103' }]], { coverage: true }),
  'basic-farmland': layer([[rect(-250, 500, -150, 600), {}]]),
  planning: layer([
    [rect(-2000, -2000, 2000, 900), { GZQLXDM: '010' }],
    [rect(-2000, 900, 2000, 2000), { GHYT: '211', GZQLXMC: '限制建设区' }],
  ]),
  approval: layer([
    [rect(90, 90, 300, 300), { PZWH: '鲁政土字〔2016〕123号', PZRQ: '2016-05-20' }],
    [rect(-300, 450, -200, 650), { PZWH: '鲁政土字〔2015〕45号', PZRQ: '20150312' }],
    [rect(490, 490, 560, 610), { PZWH: '淄政土字〔2016〕7号' }],
    [rect(540, 490, 580, 610), { PZWH: '淄政土字〔2017〕9号', PZRQ: '2017年11月3日' }],
  ]),
  expropriation: layer([]),
  supply: layer([]),
  linkage: layer([]),
  facility: layer([[rect(690, 90, 760, 160), { BABH: 'SN2017-001' }]]),
  temporary: layer([
    [rect(790, 90, 860, 160), { PZWH: '周国土临字〔2016〕3号', YXQ: '2016-01-01至2016-12-31' }],
  ]),
};

test('approved patch: owning unit, land use, 100 % approved → 疑似合法 with the document number', () => {
  const patch = rect(100, 100, 200, 200);
  const { fields, detail } = analysePatch({ jcbh: 'L1', geometry: patch, hsx: '2017-10' }, landLayers, land);
  assert.deepEqual(Object.keys(fields).sort(), [...OUTPUT_FIELD_IDS].sort());
  const area = geoArea(patch);
  close(fields.area_m2, area, EXACT, 'area');
  assert.equal(fields.unit_code, '370306002');
  assert.equal(fields.unit_name, '城北路街道');
  assert.equal(fields.agricultural_m2, 0);
  assert.equal(detail.landUse!.constructionM2, fields.area_m2);
  assert.equal(fields.farmland_m2, 0);
  assert.equal(fields.zone_allowed_m2, fields.area_m2);
  assert.equal(fields.zone_restricted_m2, 0);
  assert.equal(fields.approved_m2, fields.area_m2);
  assert.equal(fields.approved_share, 1);
  assert.equal(fields.approval_docs, '鲁政土字〔2016〕123号');
  assert.equal(fields.facility_m2, 0);
  assert.equal(fields.licence_inside_m2, null); // no licence layers: unknown, not zero
  assert.equal(fields.prejudgement, 'likely_legal');
  assert.equal(fields.prejudgement_reason, '已批准面积占 100.0%（鲁政土字〔2016〕123号），判为疑似合法');
  assert.equal(detail.prejudgement.suspected?.id, 'agri_conversion_approval');
  assert.deepEqual(
    detail.prejudgement.evidence.map((e) => [e.id, e.required]),
    [
      ['site_photos', true],
      ['approval_document', true],
      ['boundary_map', false],
    ],
  );
  const rec = detail.covers.approval!.records[0]!;
  assert.equal(rec.date, '2016-05-20');
  assert.equal(rec.method, 'covers_patch');
  assert.equal(detail.uncovered.areaM2, 0);
  assert.equal(detail.uncovered.geometry, null);
});

test('96.2 % approved: the share and the reason', () => {
  const patch = rect(100, 100, 200, 200);
  const layers = {
    ...landLayers,
    approval: layer([[rect(0, 0, 196.2, 300), { PZWH: '鲁政土字〔2016〕123号' }]]),
  };
  const { fields } = analysePatch({ jcbh: 'L1b', geometry: patch }, layers, land);
  close(fields.approved_m2, geoArea(rect(100, 100, 196.2, 200)), EXACT, 'approved');
  assert.equal(fields.prejudgement_reason, '已批准面积占 96.2%（鲁政土字〔2016〕123号），判为疑似合法');
  // Just below the threshold it is no longer legal.
  const less = { ...landLayers, approval: layer([[rect(0, 0, 194.9, 300), { PZWH: 'X' }]]) };
  assert.notEqual(
    analysePatch({ jcbh: 'L1c', geometry: patch }, less, land).fields.prejudgement,
    'likely_legal',
  );
});

test('half approved, rest on farmland → 疑似违法（批少占多）with the uncovered part measured', () => {
  const patch = rect(-300, 500, -100, 600);
  const { fields, detail } = analysePatch(
    { jcbh: 'L2', geometry: patch, hsx: '2017-10-15' },
    landLayers,
    land,
  );
  const area = geoArea(patch);
  const approved = geoArea(rect(-300, 500, -200, 600));
  const rest = geoArea(rect(-200, 500, -100, 600));
  close(fields.area_m2, area, EXACT, 'area');
  assert.equal(fields.unit_code, '370306001');
  assert.equal(fields.agricultural_m2, fields.area_m2);
  assert.equal(fields.farmland_m2, fields.area_m2);
  close(fields.basic_farmland_m2, geoArea(rect(-250, 500, -150, 600)), EXACT, 'basic farmland');
  close(fields.approved_m2, approved, EXACT, 'approved');
  close(fields.approved_share, approved / area, 1e-9, 'share');
  close(detail.uncovered.areaM2, rest, EXACT, 'uncovered');
  close(detail.uncovered.farmlandM2!, rest, EXACT, 'uncovered farmland');
  assert.equal(detail.covers.approval!.records[0]!.date, '2015-03-12');
  assert.equal(fields.prejudgement, 'likely_illegal');
  assert.equal(
    fields.prejudgement_reason,
    `已批准 ${((approved / area) * 100).toFixed(1)}%（鲁政土字〔2015〕45号），未覆盖 ${m2(detail.uncovered.areaM2)}（占耕地 ${m2(detail.uncovered.farmlandM2!)}），判为疑似违法（批少占多）`,
  );
  assert.equal(detail.prejudgement.suspected?.id, 'exceed_approved_area');
  assert.deepEqual(
    detail.prejudgement.evidence.map((e) => e.id),
    ['site_photos', 'inspection_record', 'approval_document'],
  );
  // The uncovered geometry is the east half, inside the patch.
  close(geoArea(detail.uncovered.geometry!), rest, EXACT, 'uncovered geometry');
});

test('two overlapping approvals: approved area is their union; rest in 允许建设区 off farmland → 需核实', () => {
  const patch = rect(500, 500, 600, 600);
  const { fields, detail } = analysePatch({ jcbh: 'L3', geometry: patch, hsx: '2017-10' }, landLayers, land);
  const area = geoArea(patch);
  const union = geoArea(rect(500, 500, 580, 600));
  close(fields.approved_m2, union, EXACT, 'union');
  const sum = detail.covers.approval!.records.reduce((s, r) => s + r.areaM2, 0);
  close(sum, geoArea(rect(500, 500, 560, 600)) + geoArea(rect(540, 500, 580, 600)), EXACT, 'records');
  // Documents by covered area, the later one flagged as dated after the after-image month.
  assert.equal(fields.approval_docs, '淄政土字〔2016〕7号；淄政土字〔2017〕9号');
  assert.equal(detail.covers.approval!.records[1]!.afterImage, true);
  assert.ok(detail.notes.some((n) => n.includes('淄政土字〔2017〕9号') && n.includes('边报边用')));
  const rest = geoArea(rect(580, 500, 600, 600));
  close(detail.uncovered.areaM2, rest, EXACT, 'rest');
  assert.equal(fields.prejudgement, 'needs_check');
  assert.equal(
    fields.prejudgement_reason,
    `已批准 ${((union / area) * 100).toFixed(1)}%（淄政土字〔2016〕7号、淄政土字〔2017〕9号），未覆盖 ${m2(detail.uncovered.areaM2)}，但未占耕地且不在限制建设区、禁止建设区，需核实`,
  );
  assert.equal(detail.prejudgement.suspected, null);
  assert.deepEqual(
    detail.prejudgement.evidence.map((e) => e.id),
    ['site_photos'],
  );
});

test('facility land covering the patch → 疑似其他（设施农用地）', () => {
  const patch = rect(700, 100, 750, 150);
  const { fields, detail } = analysePatch({ jcbh: 'L4', geometry: patch }, landLayers, land);
  assert.equal(fields.facility_m2, fields.area_m2);
  assert.equal(fields.approved_m2, 0);
  assert.equal(fields.prejudgement, 'likely_other');
  assert.equal(fields.prejudgement_reason, '设施农用地覆盖 100.0%（SN2017-001），判为疑似其他（非新增建设）');
  assert.equal(detail.prejudgement.suspected?.id, 'facility_agricultural');
  assert.deepEqual(
    detail.prejudgement.evidence.map((e) => e.id),
    ['site_photos', 'filing_document'],
  );
});

test('expired temporary use does not cover; the record stays listed as not valid', () => {
  const patch = rect(800, 100, 850, 150);
  const { fields, detail } = analysePatch({ jcbh: 'L6', geometry: patch, hsx: '2017-10' }, landLayers, land);
  assert.equal(fields.temporary_m2, 0);
  const rec = detail.covers.temporary!.records[0]!;
  assert.equal(rec.validAtImage, false);
  assert.equal(rec.validTo, '2016-12-31');
  assert.equal(fields.prejudgement, 'needs_check');
  // Valid at an after-image date inside the period: it covers, and the patch is 疑似其他.
  const inPeriod = analysePatch({ jcbh: 'L6b', geometry: patch, hsx: '2016-08' }, landLayers, land);
  assert.equal(inPeriod.fields.temporary_m2, inPeriod.fields.area_m2);
  assert.equal(inPeriod.fields.prejudgement, 'likely_other');
  assert.equal(inPeriod.detail.prejudgement.suspected?.id, 'temporary_use');
});

test('a patch across two units: the larger owns it, the shares add up exactly; 限制建设区 → 未批先建', () => {
  const patch = rect(-60, 1000, 40, 1050);
  const { fields, detail } = analysePatch({ jcbh: 'L5', geometry: patch }, landLayers, land);
  const units = detail.units!;
  assert.equal(units.length, 2);
  assert.equal(fields.unit_code, '370306001');
  assert.deepEqual(
    units.map((u) => u.code),
    ['370306001', '370306002'],
  );
  assert.equal(units[0]!.areaM2 + units[1]!.areaM2, fields.area_m2); // exactly
  assert.equal(units[0]!.share + units[1]!.share, 1);
  close(units[0]!.areaM2, geoArea(rect(-60, 1000, 0, 1050)), 0.01, 'A');
  close(units[1]!.areaM2, geoArea(rect(0, 1000, 40, 1050)), 0.01, 'B');
  close(fields.agricultural_m2, geoArea(rect(-60, 1000, 0, 1050)), EXACT, 'agricultural');
  assert.equal(fields.zone_restricted_m2, fields.area_m2);
  assert.equal(fields.farmland_m2, 0);
  assert.equal(fields.prejudgement, 'likely_illegal');
  assert.equal(
    fields.prejudgement_reason,
    `无批准范围覆盖，未覆盖 ${m2(fields.area_m2 as number)}（限制建设区 ${m2(fields.area_m2 as number)}），判为疑似违法（未批先建）`,
  );
  assert.equal(detail.prejudgement.suspected?.id, 'build_without_approval');
});

test('small uncovered patch: below 400 m² it is 需核实, not illegal', () => {
  const patch = rect(-50, 450, -40, 460); // 100 m² on farmland, nothing approved
  const { fields } = analysePatch({ jcbh: 'L7', geometry: patch }, landLayers, land);
  assert.equal(fields.prejudgement, 'needs_check');
  assert.equal(
    fields.prejudgement_reason,
    `无批准范围覆盖，未覆盖 ${m2(fields.area_m2 as number)}，未达 400.00 平方米，需核实`,
  );
});

test('a bowtie patch is repaired, measured as its two lobes and judged', () => {
  const bowtie = poly(ring([100, 100], [200, 200], [200, 100], [100, 200]));
  const { fields, detail } = analysePatch({ jcbh: 'L8', geometry: bowtie }, landLayers, land);
  const lobes =
    geoArea(poly(ring([100, 100], [150, 150], [100, 200]))) +
    geoArea(poly(ring([200, 100], [200, 200], [150, 150])));
  close(fields.area_m2, lobes, EXACT, 'lobes');
  assert.equal(detail.repaired, true);
  assert.equal(detail.validityIssue, 'Self-intersection');
  assert.deepEqual(detail.errors, []);
  assert.equal(fields.approved_share, 1);
  assert.equal(fields.prejudgement, 'likely_legal');
  assert.ok(detail.notes.some((n) => n.includes('已修复')));
});

test('a patch with a hole and a multipart patch', () => {
  const holed = poly(rectRing(-300, 500, -100, 600), rectRing(-280, 520, -260, 540));
  const r1 = analysePatch({ jcbh: 'L9', geometry: holed }, landLayers, land);
  close(
    r1.fields.area_m2,
    geoArea(rect(-300, 500, -100, 600)) - geoArea(rect(-280, 520, -260, 540)),
    EXACT,
    'holed',
  );
  close(
    r1.fields.approved_m2,
    geoArea(rect(-300, 500, -200, 600)) - geoArea(rect(-280, 520, -260, 540)),
    EXACT,
    'approved',
  );
  const parts: Areal = {
    type: 'MultiPolygon',
    coordinates: [rect(100, 100, 150, 150).coordinates, rect(-150, 1000, -100, 1050).coordinates],
  };
  const r2 = analysePatch({ jcbh: 'L10', geometry: parts }, landLayers, land);
  close(r2.fields.approved_m2, geoArea(rect(100, 100, 150, 150)), EXACT, 'approved part');
  // Two 50 m squares: the southern one (in B) is larger by ~0.3 m², so B owns the patch.
  assert.equal(r2.fields.unit_code, '370306002');
  assert.ok(r2.detail.units![0]!.areaM2 - r2.detail.units![1]!.areaM2 > 0.1);
  assert.equal(r2.detail.units!.length, 2);
  assert.equal(r2.fields.prejudgement, 'likely_illegal'); // 2,500 m² unapproved in 限制建设区
  assert.equal(r2.detail.prejudgement.suspected?.id, 'exceed_approved_area');
});

test('a point-only patch gets its unit and needs checking; missing layers are null, not 0', () => {
  const { fields, detail } = analysePatch(
    { jcbh: 'P', geometry: { type: 'Point', coordinates: pt(100, 100) } },
    landLayers,
    land,
  );
  assert.equal(fields.unit_code, '370306002');
  assert.equal(fields.area_m2, null);
  assert.equal(fields.prejudgement, 'needs_check');
  assert.match(fields.prejudgement_reason as string, /仅有中心点/);
  assert.equal(detail.pointOnly, true);

  const bare = analysePatch(
    { jcbh: 'L11', geometry: rect(100, 100, 200, 200) },
    { unit: landLayers.unit! },
    land,
  );
  assert.equal(bare.fields.farmland_m2, null);
  assert.equal(bare.fields.approved_m2, null);
  assert.equal(bare.fields.zone_allowed_m2, null);
  assert.equal(bare.fields.prejudgement, 'needs_check');
  assert.match(
    bare.fields.prejudgement_reason as string,
    /^未提供批准范围图层，.*未提供耕地、规划分区图层，无法判断，需核实$/,
  );
  assert.ok(bare.detail.missingLayers.includes('approval'));
});

test('outside every unit: the outside part is listed and the shares still add up', () => {
  const units = layer([[rect(-2000, -2000, 0, 2000), A]]);
  const patch = rect(-30, 0, 70, 50);
  const { fields, detail } = analysePatch({ jcbh: 'O', geometry: patch }, { unit: units }, land);
  assert.equal(fields.unit_code, '370306001'); // the only unit, though 70 % lies outside it
  const [inA, outside] = detail.units!;
  assert.equal(outside!.code, null);
  assert.equal(inA!.areaM2 + outside!.areaM2, fields.area_m2);
  close(outside!.areaM2, geoArea(rect(0, 0, 70, 50)), 0.01, 'outside');
  assert.ok(detail.notes.some((n) => n.includes('不在任何责任单位界线内')));
});

// ---------------------------------------------------------------------------------------------
// Minerals: licences grown by the pack's 10 m tolerance; after-image October 2017.

const tol = licenceBufferM(mineral);
const mineralLayers: AnalysisLayers = {
  unit: landLayers.unit!,
  'mining-right': layer(
    [
      [
        rect(0, 0, 200, 200),
        { XKZH: 'C3703002010127120091234', KZ: '石灰岩', YXQQ: '2015-01-01', YXQZ: '2020-12-31' },
      ],
      [
        rect(1000, 0, 1200, 200),
        { XKZH: 'C3703002009017120001111', KZ: '建筑石料用灰岩', YXQ: '2010-01-01至2016-12-31' },
      ],
    ],
    { bufferM: tol },
  ),
  'exploration-right': layer(
    [
      [
        rect(2000, 0, 2200, 200),
        { XKZH: 'T37120080702010888', KZ: '铁矿', YXQQ: '2016-01-01', YXQZ: '2019-12-31' },
      ],
    ],
    { bufferM: tol },
  ),
};

test('mineral: 5 m beyond the licence is inside within the 10 m tolerance → 疑似合法', () => {
  assert.equal(tol, 10);
  const patch = rect(150, 50, 205, 100);
  const { fields, detail } = analysePatch(
    { jcbh: 'K1', geometry: patch, hsx: '2017-10' },
    mineralLayers,
    mineral,
  );
  assert.equal(fields.licence_inside_m2, fields.area_m2);
  assert.equal(fields.licence_outside_m2, 0);
  assert.equal(fields.licence_nos, 'C3703002010127120091234');
  assert.equal(fields.prejudgement, 'likely_legal');
  assert.equal(
    fields.prejudgement_reason,
    '位于有效采矿权 C3703002010127120091234 范围内 100.0%（边界容差 10 米），判为疑似合法',
  );
  assert.equal(detail.licences!.mining[0]!.mineral, '石灰岩');
  assert.equal(detail.licences!.mining[0]!.validAtImage, true);
  assert.equal(detail.prejudgement.suspected?.id, 'licensed_within_boundary');
  // Without an after-image date validity cannot be checked, and the reason says so.
  const undated = analysePatch({ jcbh: 'K1b', geometry: patch }, mineralLayers, mineral);
  assert.equal(undated.fields.prejudgement, 'likely_legal');
  assert.match(undated.fields.prejudgement_reason as string, /后时相日期不详，未核对有效期/);
});

test('mineral: 30 m beyond the licence → 越界 by the part beyond the tolerance', () => {
  const patch = rect(150, 50, 230, 100);
  const { fields } = analysePatch({ jcbh: 'K2', geometry: patch, hsx: '2017-10' }, mineralLayers, mineral);
  const xb = xOfLon(lonEastOf(200, 75, 10)); // the licence edge moved 10 geodesic metres east
  const outside = geoArea(rect(xb, 50, 230, 100));
  close(fields.licence_outside_m2, outside, 0.01, 'outside');
  close(fields.licence_inside_m2, geoArea(rect(150, 50, xb, 100)), 0.01, 'inside');
  assert.equal(fields.prejudgement, 'likely_illegal');
  assert.equal(
    fields.prejudgement_reason,
    `越出采矿权 C3703002010127120091234 范围 ${m2(fields.licence_outside_m2 as number)}（边界容差 10 米），达到 100.00 平方米，判为疑似违法（越界开采）`,
  );
});

test('mineral: only an expired licence → 无证, naming the expired licence', () => {
  const patch = rect(1050, 50, 1100, 100);
  const { fields, detail } = analysePatch(
    { jcbh: 'K3', geometry: patch, hsx: '2017-10' },
    mineralLayers,
    mineral,
  );
  assert.equal(fields.licence_inside_m2, 0);
  assert.equal(fields.licence_outside_m2, fields.area_m2);
  assert.equal(fields.licence_nos, 'C3703002009017120001111');
  assert.equal(detail.licences!.mining[0]!.validAtImage, false);
  assert.equal(fields.prejudgement, 'likely_illegal');
  assert.equal(
    fields.prejudgement_reason,
    '未与任何有效采矿权相交（边界容差 10 米）；采矿权 C3703002009017120001111（有效期至 2016-12-31）在后时相时不在有效期内，判为疑似违法（无证开采）',
  );
  assert.equal(detail.prejudgement.suspected?.id, 'mining_without_licence');
  // While the licence was valid, the same patch is legal.
  const before = analysePatch({ jcbh: 'K3b', geometry: patch, hsx: '2016-06-30' }, mineralLayers, mineral);
  assert.equal(before.fields.prejudgement, 'likely_legal');
});

test('mineral: inside an exploration licence only → 以采代探; nowhere → 无证', () => {
  const r = analysePatch(
    { jcbh: 'K4', geometry: rect(2050, 50, 2100, 100), hsx: '2017-10' },
    mineralLayers,
    mineral,
  );
  assert.equal(r.fields.licence_inside_m2, 0);
  assert.equal(r.fields.licence_nos, 'T37120080702010888');
  assert.equal(r.fields.prejudgement, 'likely_illegal');
  assert.equal(
    r.fields.prejudgement_reason,
    '未与有效采矿权相交（边界容差 10 米），位于探矿权 T37120080702010888 范围内，判为疑似违法（以采代探）',
  );
  assert.equal(r.detail.prejudgement.suspected?.id, 'mining_under_exploration_licence');
  assert.deepEqual(
    r.detail.prejudgement.evidence.map((e) => e.id),
    ['site_photos', 'inspection_record', 'licence_copy'],
  );
  const none = analysePatch(
    { jcbh: 'K5', geometry: rect(5000, 5000, 5050, 5050), hsx: '2017-10' },
    mineralLayers,
    mineral,
  );
  assert.equal(none.fields.prejudgement, 'likely_illegal');
  assert.equal(
    none.fields.prejudgement_reason,
    '未与任何有效采矿权相交（边界容差 10 米），判为疑似违法（无证开采）',
  );
  assert.equal(none.fields.licence_nos, '');
});

test('mineral: partly outside but under 100 m² and under 95 % inside → 需核实', () => {
  const patch = rect(195, 50, 225, 52); // 60 m²: 15 m inside the tolerance, 15 m beyond it
  const { fields } = analysePatch({ jcbh: 'K6', geometry: patch, hsx: '2017-10' }, mineralLayers, mineral);
  assert.equal(fields.prejudgement, 'needs_check');
  const share = ((fields.licence_inside_m2 as number) / (fields.area_m2 as number)) * 100;
  assert.equal(
    fields.prejudgement_reason,
    `采矿权 C3703002010127120091234 范围内 ${share.toFixed(1)}%（未达 95.0%），越界 ${m2(fields.licence_outside_m2 as number)}（未达 100.00 平方米），需核实`,
  );
});

test('licence layers built without the pack tolerance are refused', () => {
  const wrong = { ...mineralLayers, 'mining-right': layer([[rect(0, 0, 200, 200), { XKZH: 'C1' }]]) };
  assert.throws(
    () => analysePatch({ jcbh: 'K7', geometry: rect(0, 0, 10, 10) }, wrong, mineral),
    (e: unknown) =>
      isWeipianError(e) && e.code === 'analysis_layer_mismatch' && /边界容差 10 米/.test(e.message),
  );
});

// ---------------------------------------------------------------------------------------------
// Attribute readers

test('dates, validity periods and zone names are read from what deliveries actually contain', () => {
  assert.deepEqual(parseDateRange('2017-10'), { from: '2017-10-01', to: '2017-10-31' });
  assert.deepEqual(parseDateRange('201702'), { from: '2017-02-01', to: '2017-02-28' });
  assert.deepEqual(parseDateRange('2017年11月3日'), { from: '2017-11-03', to: '2017-11-03' });
  assert.deepEqual(parseDateRange('2016.5.20'), { from: '2016-05-20', to: '2016-05-20' });
  assert.deepEqual(parseDateRange(20150312), { from: '2015-03-12', to: '2015-03-12' });
  assert.deepEqual(parseDateRange('2017'), { from: '2017-01-01', to: '2017-12-31' });
  assert.equal(parseDateRange('2017-02-30'), null);
  assert.equal(parseDateRange('不详'), null);
  assert.deepEqual(parsePeriod('2010-01-01至2016-12-31'), { from: '2010-01-01', to: '2016-12-31' });
  assert.deepEqual(parsePeriod('2015.01.01-2020.01.01'), { from: '2015-01-01', to: '2020-01-01' });
  assert.deepEqual(parsePeriod('2015年1月至2018年6月'), { from: '2015-01-01', to: '2018-06-30' });
  assert.equal(parsePeriod('长期'), null);
  assert.equal(zoneOf('010'), 'allowed');
  assert.equal(zoneOf('有条件建设区'), 'conditional');
  assert.equal(zoneOf('限制建设区'), 'restricted');
  assert.equal(zoneOf('040'), 'forbidden');
  assert.equal(zoneOf('211'), undefined);
});
