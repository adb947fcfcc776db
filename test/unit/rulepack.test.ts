import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WeipianError } from '../../src/domain/errors.ts';
import { PREJUDGEMENT_VALUES } from '../../src/domain/fields.ts';
import {
  allSubtypes,
  canonicalJson,
  digestOf,
  endOfDayInstant,
  evaluateCondition,
  evidenceFor,
  fieldsFor,
  landClassOf,
  listRulePacks,
  loadRulePack,
  milestoneDue,
  requiredObligations,
  rulesDir,
  validateRulePack,
  type RulePack,
} from '../../src/domain/rulepack.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/rules/${name}`, import.meta.url));
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8'));
const packJson = (id: string) => readJson(join(rulesDir(), `${id}.json`));

/** Asserts that fn throws 'rulepack_invalid' whose first error is at `path`; returns the error. */
function assertInvalidAt(fn: () => unknown, path: string): WeipianError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof WeipianError, `expected a WeipianError, got ${String(caught)}`);
  assert.equal(caught.code, 'rulepack_invalid');
  const errors = (caught.details as { errors: { path: string; message: string }[] }).errors;
  assert.equal(errors[0]?.path, path, `first error: ${JSON.stringify(errors, null, 1)}`);
  assert.ok(caught.message.includes(path), `message should name ${path}: ${caught.message}`);
  return caught;
}

// Changing a pack's rules must come with a new version (judgements record the version they
// were made under). When you change a pack: bump its version and register the new digest here.
const KNOWN_DIGESTS: Record<string, Record<string, string>> = {
  '2017-land': { '1.0.0': 'fb550875aa273454c77f9b5602e291bd24c602abb4b00152447c05376b802d8a' },
  '2017-mineral': { '1.0.0': '7f0835ead90f63355dbd9829c212b8936df19fad7f93d0917e000b2548bac938' },
};

test('both 2017 packs load and validate', () => {
  const land = loadRulePack('2017-land');
  const mineral = loadRulePack('2017-mineral');
  assert.equal(land.kind, 'land');
  assert.equal(land.year, 2017);
  assert.equal(mineral.kind, 'mineral');
  assert.match(land.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(
    land.basis.map((b) => b.docNo).filter((d) => d.startsWith('国土资发') || d.startsWith('周政办字')),
    ['国土资发〔2018〕8号', '周政办字〔2018〕31号'],
  );
});

test('digest: stable, canonical, pinned per version, not part of the JSON', () => {
  for (const id of ['2017-land', '2017-mineral']) {
    const a = loadRulePack(id);
    const b = loadRulePack(id);
    assert.match(a.digest, /^[0-9a-f]{64}$/);
    assert.equal(a.digest, b.digest);
    const raw = packJson(id);
    assert.equal(a.digest, digestOf(raw));
    assert.deepEqual(JSON.parse(JSON.stringify(a)), raw, 'digest must not leak into JSON.stringify');
    assert.equal(
      KNOWN_DIGESTS[id]?.[a.version],
      a.digest,
      `${id} ${a.version} changed: bump its version and register the new digest in KNOWN_DIGESTS`,
    );
  }
  // Key order and whitespace do not matter; values do.
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: '中' }] }), '{"a":[{"c":"中","d":2}],"b":1}');
  assert.equal(digestOf({ a: 1, b: 2 }), digestOf({ b: 2, a: 1 }));
  assert.notEqual(digestOf({ a: 1 }), digestOf({ a: 2 }));
});

test('a loaded pack is frozen and independent of its input', () => {
  const raw = packJson('2017-land');
  const pack = validateRulePack(raw);
  assert.throws(() => {
    (pack as unknown as { name: string }).name = 'x';
  }, TypeError);
  (raw as { name: string }).name = 'changed';
  assert.notEqual(pack.name, 'changed');
});

test('verdict branches have the fixed ids and labels; every subtype, field and evidence is labelled', () => {
  const land = loadRulePack('2017-land');
  const mineral = loadRulePack('2017-mineral');
  assert.deepEqual(
    [land.verdicts.legal.label, land.verdicts.other.label, land.verdicts.illegal.label],
    ['合法', '其他（非新增建设）', '违法'],
  );
  assert.deepEqual(
    [mineral.verdicts.legal.label, mineral.verdicts.other.label, mineral.verdicts.illegal.label],
    ['合法', '伪变化', '违法'],
  );
  for (const pack of [land, mineral]) {
    for (const { subtype } of allSubtypes(pack)) {
      assert.match(subtype.id, /^[a-z][a-z0-9_]*$/);
      assert.ok(subtype.label.trim() && subtype.description.trim(), subtype.id);
      for (const f of fieldsFor(pack, subtype.id)) assert.ok(f.label.trim(), `${subtype.id}.${f.id}`);
      for (const e of evidenceFor(pack, subtype.id)) assert.ok(e.label.trim(), `${subtype.id}.${e.id}`);
    }
  }
});

test('land pack has the categories of DOMAIN §3', () => {
  const land = loadRulePack('2017-land');
  const labels = (b: 'legal' | 'other' | 'illegal') => land.verdicts[b].subtypes.map((s) => s.label);
  assert.deepEqual(labels('legal'), [
    '农转用/征收批准',
    '供地',
    '增减挂钩',
    '历史批文',
    '重点工程/单独选址',
    '其他批文',
  ]);
  assert.deepEqual(labels('other'), ['设施农用地', '临时用地', '农村道路', '实地未变化/伪变化', '其他']);
  assert.deepEqual(labels('illegal'), [
    '未批先建',
    '边报边用',
    '未供即用',
    '批少占多',
    '擅自改变用途',
    '非法批地',
    '违法供地',
    '以租代征',
    '骗取批准',
    '其他',
  ]);
  // Each legal subtype records 批准机关, 文号, 时间, 面积.
  for (const s of land.verdicts.legal.subtypes) {
    const ids = s.fields.map((f) => f.id);
    for (const id of ['approval_authority', 'approval_no', 'approval_date', 'approved_area_m2'])
      assert.ok(ids.includes(id), s.id);
  }
  const illegalFlags = (land.verdicts.illegal.fields ?? []).map((f) => f.id);
  for (const id of ['violates_plan', 'occupies_farmland', 'occupies_basic_farmland', 'construction_period'])
    assert.ok(illegalFlags.includes(id), id);
  // Illegal needs field photos; legal needs the approval document and photos.
  assert.ok(evidenceFor(land, 'build_without_approval').some((e) => e.required && e.kinds.includes('photo')));
  const legalEvidence = evidenceFor(land, 'agri_conversion_approval');
  assert.ok(legalEvidence.some((e) => e.required && e.kinds.includes('photo')));
  assert.ok(legalEvidence.some((e) => e.required && e.docType === 'approval_doc'));
});

test('mineral pack: subtypes, handling modes with no_action', () => {
  const mineral = loadRulePack('2017-mineral');
  assert.deepEqual(
    mineral.verdicts.illegal.subtypes.map((s) => s.label),
    ['无证开采', '越界开采', '以采代探', '擅自改变开采矿种'],
  );
  const legal = fieldsFor(mineral, 'licensed_within_boundary').map((f) => f.id);
  assert.deepEqual(legal, ['licence_no', 'mineral', 'valid_from', 'valid_to']);
  const noAction = mineral.handling.modes.find((m) => m.id === 'no_action');
  assert.ok(noAction?.requiresWrittenReason);
  assert.ok(mineral.kind === 'mineral' && mineral.prejudgement.mineral.boundaryToleranceM > 0);
});

test('handling: coded reasons for handling without a case', () => {
  const land = loadRulePack('2017-land');
  const m = land.handling.modes.find((x) => x.id === 'handle_without_case');
  assert.ok(m && m.requiresReasonCode && m.requiresWrittenReason);
  assert.deepEqual(
    m.reasons?.map((r) => r.label),
    ['违法主体灭失', '已超过追诉时效', '情节轻微并已整改', '已并入其他案件', '其他'],
  );
});

test('broken fixture packs are refused at the exact JSON path', () => {
  assert.equal(loadRulePack(fixture('minimal-valid.json')).id, '2099-land-minimal');
  const cases: [string, string][] = [
    ['broken-missing-field.json', '/verdicts/legal/subtypes/0/label'],
    ['broken-wrong-type.json', '/verdicts/illegal/subtypes/1/fields/0/type'],
    ['broken-duplicate-subtype.json', '/verdicts/illegal/subtypes/1/id'],
    ['broken-unknown-milestone.json', '/reportRounds/1/dueBy'],
    ['broken-bad-date.json', '/milestones/1/date'],
    ['broken-milestone-order.json', '/milestones/2/date'],
    ['broken-unknown-subtype.json', '/warningInterview/majorViolation/subtypes/1'],
    ['broken-unknown-obligation.json', '/indicators/0/params/collected/0'],
  ];
  for (const [file, path] of cases) {
    const e = assertInvalidAt(() => loadRulePack(fixture(file)), path);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
  }
});

test('all problems are listed in details, the first named in the message', () => {
  const raw = readJson(fixture('minimal-valid.json')) as {
    verdicts: { legal: { subtypes: Record<string, unknown>[] } };
  };
  const st = raw.verdicts.legal.subtypes[0]!;
  delete st.label;
  st.colour = 'red';
  const e = assertInvalidAt(() => validateRulePack(raw), '/verdicts/legal/subtypes/0/label');
  const paths = (e.details as { errors: { path: string }[] }).errors.map((x) => x.path);
  assert.ok(paths.includes('/verdicts/legal/subtypes/0/colour'), paths.join(' '));
  assert.match(e.message, /共 2 处错误/);
});

test('cross-reference checks on the real land pack', () => {
  type Mut = (p: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
  const cases: [Mut, string][] = [
    [
      (p) => (p.verdicts.legal.subtypes[0].evidence[0].docType = 'nope'),
      '/verdicts/legal/subtypes/0/evidence/0/docType',
    ],
    [(p) => (p.obligations.items[1].evidence = ['nope']), '/obligations/items/1/evidence/0'],
    [
      (p) => (p.obligations.items[1].requiredWhen.fields.violates_plan = 'yes'),
      '/obligations/items/1/requiredWhen/fields/violates_plan',
    ],
    [
      (p) => (p.obligations.items[1].requiredWhen.fields.nope = true),
      '/obligations/items/1/requiredWhen/fields/nope',
    ],
    [
      (p) => (p.obligations.items[0].requiredWhen.handling = ['no_action']),
      '/obligations/items/0/requiredWhen/handling/0',
    ],
    [
      (p) => (p.obligations.items[5].requiredWhen.any[0].metrics[0].unit = 'yuan'),
      '/obligations/items/5/requiredWhen/any/0/metrics/0/unit',
    ],
    [(p) => (p.indicators[3].params.obligation = 'nope'), '/indicators/3/params/obligation'],
    [
      (p) => (p.warningInterview.triggers[2].conditions[0].asOf = 'nope'),
      '/warningInterview/triggers/2/conditions/0/asOf',
    ],
    [
      (p) => (p.warningInterview.triggers[0].conditions[0].unit = 'ratio'),
      '/warningInterview/triggers/0/conditions/0/unit',
    ],
    [(p) => (p.assessment.items[0].weight = 31), '/assessment/total'],
    [(p) => (p.assessment.items[0].indicator = 'nope'), '/assessment/items/0/indicator'],
    [(p) => (p.landClasses.schemes[1].classes[0].code = '0101'), '/landClasses/schemes/1/classes/0/code'],
    [
      (p) => (p.landClasses.schemes[0].classes[17].cultivated = true),
      '/landClasses/schemes/0/classes/17/cultivated',
    ],
    [
      (p) => (p.verdicts.illegal.subtypes[3].fields[0].id = 'approved_area_m2'),
      '/verdicts/illegal/subtypes/3/fields/1/id',
    ],
    [
      (p) => (p.verdicts.other.subtypes[2].fields[1].pattern = '^x'),
      '/verdicts/other/subtypes/2/fields/1/pattern',
    ],
    [(p) => delete p.landClasses, '/landClasses'],
    [(p) => delete p.prejudgement.land, '/prejudgement/land'],
    [(p) => (p.version = '1.0'), '/version'],
    [(p) => p.reportRounds.reverse(), '/reportRounds/1/id'],
  ];
  for (const [mutate, path] of cases) {
    const raw = packJson('2017-land');
    mutate(raw);
    assertInvalidAt(() => validateRulePack(raw), path);
  }
});

test('loader errors: unknown id, malformed id, not JSON', () => {
  assert.throws(
    () => loadRulePack('2017-nothing'),
    (e: unknown) => e instanceof WeipianError && e.code === 'rulepack_not_found',
  );
  assert.throws(
    () => loadRulePack('land'),
    (e: unknown) => e instanceof WeipianError && e.code === 'rulepack_not_found',
  );
  const dir = mkdtempSync(join(tmpdir(), 'weipian-rulepack-'));
  const file = join(dir, 'x.json');
  writeFileSync(file, '{ "id": ');
  assertInvalidAt(() => loadRulePack(file), '');
});

test('listRulePacks lists the shipped packs as valid', () => {
  const list = listRulePacks();
  const ids = list.map((p) => p.id);
  assert.ok(ids.includes('2017-land') && ids.includes('2017-mineral'));
  for (const p of list) assert.equal(p.valid, true, `${p.file}: ${p.error}`);
  assert.equal(list.find((p) => p.id === '2017-land')?.digest, loadRulePack('2017-land').digest);
});

test('land classes: GB/T 21010-2017 三大类 and the 二调 codes of the 2017 change survey', () => {
  const land = loadRulePack('2017-land');
  assert.deepEqual(landClassOf(land, '0101'), {
    code: '0101',
    name: '水田',
    group: 'agricultural',
    cultivated: true,
    scheme: 'gbt21010_2017',
  });
  assert.equal(landClassOf(land, '0702')?.group, 'construction');
  assert.equal(landClassOf(land, '0702')?.name, '农村宅基地');
  assert.equal(landClassOf(land, '1204')?.group, 'unused');
  assert.equal(landClassOf(land, '0404')?.group, 'unused'); // 其他草地
  assert.equal(landClassOf(land, '1103')?.group, 'agricultural'); // 水库水面 (2017)
  assert.equal(landClassOf(land, '113')?.group, 'construction'); // 水库水面 (二调)
  assert.equal(landClassOf(land, '1202')?.group, 'agricultural');
  assert.equal(landClassOf(land, '1201')?.group, 'construction');
  assert.equal(landClassOf(land, '013')?.cultivated, true);
  assert.equal(landClassOf(land, '203')?.group, 'construction');
  assert.equal(landClassOf(land, ' 0103 ')?.cultivated, true);
  assert.equal(landClassOf(land, '9999'), undefined);
  const s2017 = land.landClasses?.schemes.find((s) => s.id === 'gbt21010_2017');
  assert.ok(s2017);
  assert.equal(s2017.classes.length, 73, 'GB/T 21010-2017 has 73 second-level classes');
  assert.deepEqual(
    s2017.classes.filter((c) => c.cultivated).map((c) => c.code),
    ['0101', '0102', '0103'],
  );
});

test('milestones, deadlines and report rounds', () => {
  const land = loadRulePack('2017-land');
  const mineral = loadRulePack('2017-mineral');
  const dates = (p: RulePack) => Object.fromEntries(p.milestones.map((m) => [m.id, m.date]));
  assert.deepEqual(dates(land), {
    town_plans: '2018-03-08',
    land_initial_report: '2018-03-14',
    rectification_done: '2018-05-10',
    self_acceptance: '2018-05-10',
  });
  assert.equal(dates(mineral).mineral_initial_report, '2018-04-09');
  // "3月14日前" = before midnight at the end of 14 March, Beijing time.
  assert.equal(milestoneDue(land, 'land_initial_report').toISOString(), '2018-03-14T16:00:00.000Z');
  assert.equal(milestoneDue(mineral, 'mineral_initial_report').toISOString(), '2018-04-09T16:00:00.000Z');
  assert.throws(
    () => milestoneDue(land, 'nope'),
    (e: unknown) => e instanceof WeipianError,
  );
  // The generic zone arithmetic also holds across a DST change.
  assert.equal(endOfDayInstant('2018-03-11', 'America/New_York').toISOString(), '2018-03-12T04:00:00.000Z');
  assert.deepEqual(
    land.reportRounds.map((r) => [r.id, r.label, r.dueBy]),
    [
      ['initial', '初报', 'land_initial_report'],
      ['update', '更新报', undefined],
      ['final', '终报', 'rectification_done'],
    ],
  );
});

test('obligations ("六个该") apply by condition', () => {
  const land = loadRulePack('2017-land');
  assert.equal(land.obligations.confirmed, false);
  assert.match(land.obligations.note, /未经确认/);
  assert.deepEqual(
    land.obligations.items.filter((o) => !o.variant).map((o) => o.label),
    ['该立案的立案', '该拆除的拆除', '该没收的没收', '该罚款的罚款', '该处分的处分', '该移送的移送'],
  );
  const ids = (ctx: Parameters<typeof requiredObligations>[1]) =>
    requiredObligations(land, ctx).map((o) => o.id);
  const flags = { violates_plan: true, occupies_agricultural: true, occupies_farmland: true };
  assert.deepEqual(ids({ subtype: 'build_without_approval', handling: 'file_case', fields: flags }), [
    'file_case',
    'demolish',
    'fine',
  ]);
  assert.deepEqual(
    ids({
      subtype: 'build_without_approval',
      handling: 'file_case',
      fields: { ...flags, violates_plan: false },
    }),
    ['file_case', 'confiscate', 'fine', 'remedy'],
  );
  assert.deepEqual(ids({ subtype: 'illegal_approval', handling: 'handle_without_case', fields: flags }), [
    'demolish',
    'discipline',
  ]);
  // 10 亩 of farmland (= 6666.67 m²) reaches the transfer threshold; a little less does not.
  const farm = (m2: number) =>
    ids({
      subtype: 'build_without_approval',
      handling: 'file_case',
      fields: flags,
      metrics: { farmland_m2: m2 },
    });
  assert.ok(farm(20000 / 3).includes('transfer'));
  assert.ok(!farm(6666).includes('transfer'));
  // not / all / any compose.
  assert.equal(evaluateCondition({ not: { subtypes: ['a'] } }, { subtype: 'a' }), false);
  assert.equal(
    evaluateCondition({ all: [{ subtypes: ['a'] }, { any: [{ handling: ['x'] }, {}] }] }, { subtype: 'a' }),
    true,
  );
  assert.equal(evaluateCondition({ metrics: [{ metric: 'm', comparison: '>', threshold: 0 }] }, {}), false);
});

test('prejudgement outcomes match the field dictionary values', () => {
  for (const id of ['2017-land', '2017-mineral']) {
    const p = loadRulePack(id);
    assert.deepEqual(
      p.prejudgement.outcomes.map((o) => o.id).sort(),
      PREJUDGEMENT_VALUES.map((v) => v.id).sort(),
    );
  }
  const land = loadRulePack('2017-land');
  assert.ok(land.kind === 'land');
  assert.equal(land.prejudgement.sliverToleranceM2, 0.01);
  assert.equal(land.prejudgement.land.legal.minApprovedShare, 0.95);
  assert.equal(land.prejudgement.land.illegal.minUncoveredM2, 400);
});

test('indicators and warning-interview triggers', () => {
  const land = loadRulePack('2017-land');
  assert.deepEqual(
    land.indicators.map((i) => i.id),
    [
      'illegal_farmland_ratio',
      'filing_rate',
      'closing_rate',
      'demolition_restoration_rate',
      'rectification_rate',
      'fine_collection_rate',
    ],
  );
  const closing = land.indicators.find((i) => i.id === 'closing_rate');
  assert.equal(closing?.thresholds?.[0]?.when[0]?.threshold, 0.95);
  const ratio = land.indicators.find((i) => i.id === 'illegal_farmland_ratio');
  assert.deepEqual(
    ratio?.thresholds?.map((t) => t.consequence),
    ['discipline', 'warning_interview'],
  );
  assert.deepEqual(
    land.warningInterview.triggers.map((t) => t.id),
    ['farmland_area_ratio', 'major_violations', 'slow_rectification', 'chaotic_order', 'fraud'],
  );
  const fraud = land.warningInterview.triggers.find((t) => t.id === 'fraud')!;
  assert.deepEqual(fraud.conditions[0], {
    metric: 'fraud_findings',
    comparison: '>',
    threshold: 0,
    unit: 'count',
  });
  assert.equal(
    land.assessment.items.reduce((s, a) => s + a.weight, 0),
    land.assessment.total,
  );
});
