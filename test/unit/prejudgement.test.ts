// The pre-judgement rules on their own: figures in, outcome + reason + suspected subtype + evidence out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRulePack, validateRulePack } from '../../src/domain/rulepack.ts';
import {
  formatM2,
  formatShare,
  listShort,
  prejudgeLand,
  prejudgeMineral,
  type LandFigures,
  type MineralFigures,
} from '../../src/domain/prejudgement.ts';

const land = loadRulePack('2017-land');
const mineral = loadRulePack('2017-mineral');

const landFigures = (over: Partial<LandFigures>): LandFigures => ({
  areaM2: 10000,
  approvedM2: 0,
  approvalDocs: [],
  legalSource: null,
  otherCoverM2: 0,
  otherSource: null,
  otherDocs: [],
  uncoveredM2: 10000,
  uncoveredFarmlandM2: 0,
  uncoveredZoneM2: { allowed: 10000, conditional: 0, restricted: 0, forbidden: 0 },
  ...over,
});

test('formatting helpers', () => {
  assert.equal(formatShare(0.9623), '96.2%');
  assert.equal(formatShare(1), '100.0%');
  assert.equal(formatM2(400), '400.00 平方米');
  assert.equal(listShort(['a', 'b']), 'a、b');
  assert.equal(listShort(['a', 'b', 'c']), 'a、b等 3 个');
});

test('land: the legal threshold is reached at equality, with the main source deciding the subtype', () => {
  const r = prejudgeLand(
    land,
    landFigures({
      approvedM2: 9500,
      approvalDocs: ['淄政土字〔2016〕7号', '淄政土字〔2016〕8号', '淄政土字〔2016〕9号'],
      legalSource: 'supply',
      uncoveredM2: 500,
    }),
  );
  assert.equal(r.outcome, 'likely_legal');
  assert.equal(r.label, '疑似合法');
  assert.equal(
    r.reason,
    '已批准面积占 95.0%（淄政土字〔2016〕7号、淄政土字〔2016〕8号等 3 个），判为疑似合法',
  );
  assert.deepEqual(r.suspected, { branch: 'legal', id: 'land_supply', label: '供地' });
  assert.deepEqual(
    r.evidence.map((e) => e.label),
    ['实地照片', '供地文件'],
  );
  const linkage = prejudgeLand(
    land,
    landFigures({ approvedM2: 10000, legalSource: 'linkage', uncoveredM2: 0 }),
  );
  assert.equal(linkage.suspected?.id, 'linkage_quota');
  assert.equal(linkage.reason, '已批准面积占 100.0%，判为疑似合法');
  assert.notEqual(
    prejudgeLand(land, landFigures({ approvedM2: 9499, uncoveredM2: 501 })).outcome,
    'likely_legal',
  );
});

test('land: facility/temporary cover → likely_other; approval takes precedence', () => {
  const r = prejudgeLand(
    land,
    landFigures({ otherCoverM2: 9600, otherSource: 'temporary', otherDocs: ['临字1号'], uncoveredM2: 400 }),
  );
  assert.equal(r.outcome, 'likely_other');
  assert.equal(r.reason, '临时用地覆盖 96.0%（临字1号），判为疑似其他（非新增建设）');
  assert.equal(r.suspected?.id, 'temporary_use');
  const both = prejudgeLand(
    land,
    landFigures({ approvedM2: 10000, otherCoverM2: 10000, otherSource: 'facility', uncoveredM2: 0 }),
  );
  assert.equal(both.outcome, 'likely_legal');
});

test('land: illegal needs enough uncovered area AND farmland or a listed zone', () => {
  const base = { approvedM2: 0, uncoveredM2: 400 };
  const onFarm = prejudgeLand(land, landFigures({ ...base, uncoveredFarmlandM2: 120 }));
  assert.equal(onFarm.outcome, 'likely_illegal');
  assert.equal(
    onFarm.reason,
    '无批准范围覆盖，未覆盖 400.00 平方米（占耕地 120.00 平方米），判为疑似违法（未批先建）',
  );
  assert.equal(onFarm.suspected?.id, 'build_without_approval');
  assert.deepEqual(
    onFarm.evidence.map((e) => [e.id, e.required]),
    [
      ['site_photos', true],
      ['inspection_record', false],
    ],
  );
  const forbidden = prejudgeLand(
    land,
    landFigures({ ...base, approvedM2: 3000, approvalDocs: ['X号'], uncoveredZoneM2: { forbidden: 400 } }),
  );
  assert.equal(forbidden.outcome, 'likely_illegal');
  assert.equal(forbidden.suspected?.id, 'exceed_approved_area');
  assert.equal(
    forbidden.reason,
    '已批准 30.0%（X号），未覆盖 400.00 平方米（禁止建设区 400.00 平方米），判为疑似违法（批少占多）',
  );
  // 399.99 m² uncovered: below the threshold.
  const small = prejudgeLand(
    land,
    landFigures({ approvedM2: 0, uncoveredM2: 399.99, uncoveredFarmlandM2: 399.99 }),
  );
  assert.equal(small.outcome, 'needs_check');
  assert.equal(small.reason, '无批准范围覆盖，未覆盖 399.99 平方米，未达 400.00 平方米，需核实');
  // Large but on neither: needs checking, and says why.
  const neither = prejudgeLand(land, landFigures({ approvedM2: 0, uncoveredM2: 5000 }));
  assert.equal(neither.outcome, 'needs_check');
  assert.equal(
    neither.reason,
    '无批准范围覆盖，未覆盖 5000.00 平方米，但未占耕地且不在限制建设区、禁止建设区，需核实',
  );
  assert.equal(neither.suspected, null);
  assert.deepEqual(
    neither.evidence.map((e) => e.id),
    ['site_photos'],
  );
});

test('land: an edited pack changes the outcome without code changes', () => {
  const data = JSON.parse(JSON.stringify(land)) as typeof land & {
    prejudgement: { land: { illegal: { onFarmland: boolean; zones: string[] } } };
  };
  data.prejudgement.land.illegal.onFarmland = false;
  data.prejudgement.land.illegal.zones = ['allowed'];
  const edited = validateRulePack(data, { source: 'edited.json' });
  const f = landFigures({
    approvedM2: 0,
    uncoveredM2: 5000,
    uncoveredFarmlandM2: 5000,
    uncoveredZoneM2: { allowed: 5000 },
  });
  assert.equal(prejudgeLand(land, f).outcome, 'likely_illegal');
  const r = prejudgeLand(edited, f);
  assert.equal(r.outcome, 'likely_illegal'); // now because of 允许建设区, farmland no longer counts
  assert.equal(
    r.reason,
    '无批准范围覆盖，未覆盖 5000.00 平方米（允许建设区 5000.00 平方米），判为疑似违法（未批先建）',
  );
});

test('land: missing layers, failed overlays and empty patches need checking', () => {
  const noLayers = prejudgeLand(
    land,
    landFigures({ approvedM2: null, otherCoverM2: null, uncoveredFarmlandM2: null, uncoveredZoneM2: null }),
  );
  assert.equal(noLayers.outcome, 'needs_check');
  assert.equal(
    noLayers.reason,
    '未提供批准范围图层，未覆盖 10000.00 平方米，但未提供耕地、规划分区图层，无法判断，需核实',
  );
  const failed = prejudgeLand(land, landFigures({ approvedM2: 10000, uncoveredM2: 0, errorCount: 2 }));
  assert.equal(failed.outcome, 'needs_check');
  assert.equal(failed.reason, '有 2 处叠加计算失败（见分析明细），数据不完整，需核实');
  const empty = prejudgeLand(land, landFigures({ areaM2: 0 }));
  assert.equal(empty.outcome, 'needs_check');
  assert.match(empty.reason, /无法叠加分析/);
});

test('evidence already provided is not asked for again', () => {
  const r = prejudgeLand(land, landFigures({ approvedM2: 10000, uncoveredM2: 0 }), {
    providedEvidence: ['site_photos'],
  });
  assert.deepEqual(
    r.evidence.map((e) => e.id),
    ['approval_document', 'boundary_map'],
  );
});

const mineralFigures = (over: Partial<MineralFigures>): MineralFigures => ({
  areaM2: 2000,
  miningLayer: true,
  explorationLayer: true,
  insideM2: 2000,
  outsideM2: 0,
  validLicences: [{ no: 'C1' }],
  invalidLicences: [],
  explorationM2: 0,
  explorationLicences: [],
  toleranceM: 10,
  datesChecked: true,
  ...over,
});

test('mineral: the pack order — 无证, 以采代探, 越界 (at 100 m²), 合法 (at 95 %), 需核实', () => {
  const noLicence = prejudgeMineral(
    mineral,
    mineralFigures({ insideM2: 0, outsideM2: 2000, validLicences: [] }),
  );
  assert.equal(noLicence.outcome, 'likely_illegal');
  assert.equal(noLicence.label, '疑似违法');
  assert.equal(noLicence.suspected?.id, 'mining_without_licence');
  const expl = prejudgeMineral(
    mineral,
    mineralFigures({
      insideM2: 0,
      outsideM2: 2000,
      validLicences: [],
      explorationM2: 2000,
      explorationLicences: [{ no: 'T9' }],
    }),
  );
  assert.equal(expl.suspected?.id, 'mining_under_exploration_licence');
  assert.equal(expl.outcome, 'likely_illegal');
  const beyond = prejudgeMineral(mineral, mineralFigures({ insideM2: 1900, outsideM2: 100 }));
  assert.equal(beyond.outcome, 'likely_illegal');
  assert.equal(
    beyond.reason,
    '越出采矿权 C1 范围 100.00 平方米（边界容差 10 米），达到 100.00 平方米，判为疑似违法（越界开采）',
  );
  assert.equal(beyond.suspected?.id, 'mining_beyond_boundary');
  const legal = prejudgeMineral(mineral, mineralFigures({ areaM2: 1000, insideM2: 950, outsideM2: 50 }));
  assert.equal(legal.outcome, 'likely_legal');
  assert.equal(legal.reason, '位于有效采矿权 C1 范围内 95.0%（边界容差 10 米），判为疑似合法');
  assert.deepEqual(
    legal.evidence.map((e) => e.id),
    ['site_photos', 'licence_copy'],
  );
  const partExpl = prejudgeMineral(
    mineral,
    mineralFigures({
      areaM2: 1000,
      insideM2: 900,
      outsideM2: 99,
      explorationM2: 300,
      explorationLicences: [{ no: 'T9' }],
    }),
  );
  assert.equal(partExpl.outcome, 'needs_check');
  assert.equal(partExpl.reason, '采矿权 C1 范围内 90.0%，另位于探矿权 T9 范围内，疑似以采代探，需核实');
  assert.equal(partExpl.suspected?.id, 'mining_under_exploration_licence');
  const unclear = prejudgeMineral(mineral, mineralFigures({ areaM2: 1000, insideM2: 901, outsideM2: 99 }));
  assert.equal(unclear.outcome, 'needs_check');
  assert.equal(
    unclear.reason,
    '采矿权 C1 范围内 90.1%（未达 95.0%），越界 99.00 平方米（未达 100.00 平方米），需核实',
  );
  const noLayer = prejudgeMineral(mineral, mineralFigures({ miningLayer: false }));
  assert.equal(noLayer.outcome, 'needs_check');
  assert.equal(noLayer.reason, '未提供采矿权图层，无法判断是否持证，需核实');
});

test('a pack of the other kind is a programming error', () => {
  assert.throws(() => prejudgeLand(mineral, landFigures({})), TypeError);
  assert.throws(() => prejudgeMineral(land, mineralFigures({})), TypeError);
});
