// Judgement forms from the rule pack: what each sub-type requires, validation that names the
// missing or inconsistent field, handling with its reason code, the pack version recorded, and the
// evidence a sub-type still lacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRulePack } from '../../src/domain/rulepack.ts';
import { isWeipianError } from '../../src/domain/errors.ts';
import {
  evidenceShortfall,
  judgementForm,
  validateHandling,
  validateJudgement,
  type JudgementInput,
} from '../../src/domain/judgement.ts';

const land = loadRulePack('2017-land');
const mineral = loadRulePack('2017-mineral');

/** Asserts validation fails with this code and names this field. */
function refuses(input: JudgementInput, code: string, field: string, ctx = {}, message?: RegExp) {
  assert.throws(
    () => validateJudgement(land, input, ctx),
    (e: unknown) => {
      assert.ok(isWeipianError(e), String(e));
      assert.equal(e.code, code, e.message);
      assert.equal((e.details as { field: string }).field, field, e.message);
      assert.match(e.message, /[\u4e00-\u9fff]/);
      if (message) assert.match(e.message, message);
      return true;
    },
  );
}

const illegalFlags = {
  violates_plan: true,
  occupies_agricultural: true,
  occupies_farmland: true,
  occupies_basic_farmland: false,
  construction_period: 'new',
};

test('the form lists per sub-type the fields and evidence of the pack', () => {
  const form = judgementForm(land);
  assert.deepEqual(form.rulePack, { id: '2017-land', version: land.version, name: land.name });
  const legal = form.verdicts.find((v) => v.id === 'legal')!;
  const conv = legal.subtypes.find((s) => s.id === 'agri_conversion_approval')!;
  assert.deepEqual(
    conv.fields.map((f) => f.label),
    ['批准机关', '批准文号', '批准时间', '批准面积'],
  );
  // The branch's field photos come first, then the sub-type's approval document.
  assert.deepEqual(
    conv.evidence.map((e) => e.id),
    ['site_photos', 'approval_document', 'boundary_map'],
  );
  const other = form.verdicts.find((v) => v.id === 'other')!;
  assert.deepEqual(
    other.subtypes
      .find((s) => s.id === 'facility_agricultural')!
      .fields.filter((f) => f.required)
      .map((f) => f.label),
    ['备案编号'],
  );
  assert.deepEqual(
    other.subtypes.find((s) => s.id === 'rural_road')!.fields.map((f) => f.label),
    ['宽度', '是否硬化'],
  );
  const illegal = form.verdicts.find((v) => v.id === 'illegal')!;
  // The illegal branch's common flags precede each sub-type's own fields.
  assert.equal(illegal.subtypes.find((s) => s.id === 'exceed_approved_area')!.fields[0]!.id, 'violates_plan');
  assert.deepEqual(
    form.handling.modes.map((m) => m.id),
    ['file_case', 'handle_without_case', 'should_file_not_filed'],
  );
  assert.equal(judgementForm(mineral).verdicts.find((v) => v.id === 'other')!.label, '伪变化');
});

test('a complete 农转用 judgement is normalised and records the pack version', () => {
  const j = validateJudgement(
    land,
    {
      verdict: 'legal',
      subtype: '农转用/征收批准', // the label is accepted and stored as the id
      fields: {
        approval_authority: ' 山东省人民政府 ',
        approval_no: '鲁政土字〔2016〕123号',
        approval_date: '2016-08-01',
        approved_area_m2: 6000,
      },
    },
    { today: '2018-03-01' },
  );
  assert.deepEqual(j, {
    verdict: 'legal',
    subtype: 'agri_conversion_approval',
    fields: {
      approval_authority: '山东省人民政府',
      approval_no: '鲁政土字〔2016〕123号',
      approval_date: '2016-08-01',
      approved_area_m2: 6000,
    },
    handling: null,
    rulePack: { id: '2017-land', version: '1.0.0' },
  });
  // 超占 is an alias of 批少占多.
  assert.equal(
    validateJudgement(land, {
      verdict: 'illegal',
      subtype: '超占',
      fields: { ...illegalFlags, approval_no: 'x', approved_area_m2: 1, exceeded_area_m2: 1 },
    }).subtype,
    'exceed_approved_area',
  );
});

test('missing, wrong-typed, out-of-range and unknown fields are refused with the field named', () => {
  const conv = { verdict: 'legal', subtype: 'agri_conversion_approval' };
  const full = {
    approval_authority: 'a',
    approval_no: 'b',
    approval_date: '2016-08-01',
    approved_area_m2: 1,
  };
  refuses(
    { ...conv, fields: { ...full, approval_no: '  ' } },
    'judgement_field_missing',
    'approval_no',
    {},
    /批准文号/,
  );
  refuses(
    { ...conv, fields: { ...full, approval_date: '2016-02-30' } },
    'judgement_field_invalid',
    'approval_date',
  );
  refuses(
    { ...conv, fields: { ...full, approved_area_m2: '6000' } },
    'judgement_field_invalid',
    'approved_area_m2',
  );
  refuses(
    { ...conv, fields: { ...full, approved_area_m2: -1 } },
    'judgement_field_invalid',
    'approved_area_m2',
  );
  refuses({ ...conv, fields: { ...full, filing_no: 'x' } }, 'judgement_field_unknown', 'filing_no');
  refuses(
    { verdict: 'other', subtype: 'facility_agricultural', fields: {} },
    'judgement_field_missing',
    'filing_no',
    {},
    /备案编号/,
  );
  refuses(
    { verdict: 'other', subtype: 'rural_road', fields: { width_m: 8.5, hardened: true } },
    'judgement_field_invalid',
    'width_m',
    {},
    /不能大于 8 米/,
  );
  refuses(
    { verdict: 'other', subtype: 'rural_road', fields: { width_m: 6 } },
    'judgement_field_missing',
    'hardened',
  );
  refuses(
    {
      verdict: 'illegal',
      subtype: 'build_without_approval',
      fields: { ...illegalFlags, construction_period: 'soon' },
    },
    'judgement_field_invalid',
    'construction_period',
  );
  refuses({ verdict: 'legal', fields: full }, 'subtype_missing', 'subtype');
  refuses(
    { verdict: 'legal', subtype: 'rural_road', fields: {} },
    'subtype_invalid',
    'subtype',
    {},
    /属于“其他/,
  );
  refuses({ verdict: 'guilty', subtype: 'x' }, 'verdict_invalid', 'verdict');
  refuses({ verdict: 'undetermined', subtype: 'rural_road' }, 'verdict_invalid', 'verdict');
});

test('inconsistent fields are refused, naming the field that contradicts', () => {
  const base = { verdict: 'illegal', subtype: 'build_without_approval' };
  refuses(
    { ...base, fields: { ...illegalFlags, occupies_farmland: false, occupies_basic_farmland: true } },
    'judgement_inconsistent',
    'occupies_farmland',
    {},
    /永久基本农田/,
  );
  refuses(
    { ...base, fields: { ...illegalFlags, occupies_agricultural: false } },
    'judgement_inconsistent',
    'occupies_agricultural',
  );
  refuses(
    {
      verdict: 'other',
      subtype: 'temporary_use',
      fields: { approval_no: 'x', term_start: '2017-05-01', term_end: '2017-04-30' },
    },
    'judgement_inconsistent',
    'term_end',
  );
  refuses(
    {
      verdict: 'legal',
      subtype: 'land_supply',
      fields: { approval_authority: 'a', approval_no: 'b', approval_date: '2018-03-02', approved_area_m2: 1 },
    },
    'judgement_inconsistent',
    'approval_date',
    { today: '2018-03-01' },
  );
  // 超占面积 cannot exceed the part judged.
  refuses(
    {
      verdict: 'illegal',
      subtype: 'exceed_approved_area',
      fields: { ...illegalFlags, approval_no: 'x', approved_area_m2: 6000, exceeded_area_m2: 4000.02 },
    },
    'judgement_inconsistent',
    'exceeded_area_m2',
    { partAreaM2: 4000 },
  );
  assert.equal(
    validateJudgement(
      land,
      {
        verdict: 'illegal',
        subtype: 'exceed_approved_area',
        fields: { ...illegalFlags, approval_no: 'x', approved_area_m2: 6000, exceeded_area_m2: 4000.01 },
      },
      { partAreaM2: 4000 },
    ).fields.exceeded_area_m2,
    4000.01,
  );
});

test('handling: modes of the pack, reason codes from the list, written reasons where required', () => {
  assert.deepEqual(validateHandling(land, 'illegal', { mode: 'file_case' }), {
    mode: 'file_case',
    reasonCode: null,
    reason: null,
  });
  assert.deepEqual(
    validateHandling(land, 'illegal', {
      mode: 'handle_without_case',
      reasonCode: '03',
      reason: '已自行拆除',
    }),
    {
      mode: 'handle_without_case',
      reasonCode: '03',
      reason: '已自行拆除',
    },
  );
  const bad = (
    h: Parameters<typeof validateHandling>[2],
    field: string,
    verdict: 'illegal' | 'legal' = 'illegal',
  ) =>
    assert.throws(
      () => validateHandling(land, verdict, h),
      (e: unknown) =>
        isWeipianError(e) &&
        e.code === 'handling_invalid' &&
        (e.details as { field: string }).field === field,
    );
  bad({ mode: 'handle_without_case', reason: '说明' }, 'handling.reasonCode');
  bad({ mode: 'handle_without_case', reasonCode: '07', reason: '说明' }, 'handling.reasonCode');
  bad({ mode: 'handle_without_case', reasonCode: '03' }, 'handling.reason');
  bad({ mode: 'should_file_not_filed' }, 'handling.reason');
  bad({ mode: 'file_case', reasonCode: '01' }, 'handling.reasonCode');
  bad({ mode: 'no_action', reason: 'x' }, 'handling.mode'); // land has no 不处理
  bad({ mode: 'file_case' }, 'handling', 'legal');
  // Minerals have 不处理 with a written reason.
  assert.equal(
    validateHandling(mineral, 'illegal', { mode: 'no_action', reason: '已由其他程序处理' })!.mode,
    'no_action',
  );
});

test('evidence shortfall: two field photos and the approval document for 农转用', () => {
  const short = evidenceShortfall(land, 'agri_conversion_approval', {
    photos: 1,
    documents: { supply_doc: 1 },
  });
  assert.deepEqual(
    short.map((s) => [s.id, s.required, s.have]),
    [
      ['site_photos', 2, 1],
      ['approval_document', 1, 0],
    ],
  );
  assert.deepEqual(
    evidenceShortfall(land, 'agri_conversion_approval', { photos: 2, documents: { approval_doc: 1 } }),
    [],
  );
  // An illegal verdict needs the field photos; 农村道路 needs only them.
  assert.equal(
    evidenceShortfall(land, 'build_without_approval', { photos: 0, documents: {} })[0]!.id,
    'site_photos',
  );
  assert.deepEqual(evidenceShortfall(land, 'rural_road', { photos: 2, documents: {} }), []);
});
