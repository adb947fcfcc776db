// The evidence checklist as a pure function of (rule pack, verdict, subtype, evidence present),
// against the 2017 land and mineral packs: what each verdict needs, what counts, what is missing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildChecklist, type PresentEvidence } from '../../src/evidence/checklist.ts';
import { loadRulePack } from '../../src/domain/rulepack.ts';

const land = loadRulePack('2017-land');
const mineral = loadRulePack('2017-mineral');

let next = 1;
function item(
  kind: 'photo' | 'document',
  docType: string | null = null,
  over: Partial<PresentEvidence> = {},
) {
  return { id: next++, kind, docType, superseded: false, openSignals: 0, confirmedFindings: 0, ...over };
}

describe('evidence checklist', () => {
  it('asks for nothing before the patch is judged, and lists what is there', () => {
    const e = [item('photo')];
    const c = buildChecklist(land, null, null, e);
    assert.equal(c.status, 'no_verdict');
    assert.deepEqual(c.items, []);
    assert.deepEqual(c.unmatchedIds, [e[0]!.id]);
    assert.match(c.summary, /尚未判定/);
  });

  it('needs two site photos and the approval document for 合法·农转用/征收批准', () => {
    const c = buildChecklist(land, 'legal', 'agri_conversion_approval', []);
    assert.equal(c.status, 'incomplete');
    assert.deepEqual(
      c.items.map((i) => [i.id, i.from, i.required, i.minCount, i.docType, i.present, i.missing]),
      [
        ['site_photos', 'branch', true, 2, null, 0, 2],
        ['approval_document', 'subtype', true, 1, 'approval_doc', 0, 1],
        ['boundary_map', 'subtype', false, 1, 'survey_boundary_map', 0, 1],
      ],
    );
    assert.deepEqual(c.missing, ['实地照片（还差 2 份）', '农转用/征收批准文件']);
    assert.equal(c.summary, '合法·农转用/征收批准：还缺 实地照片（还差 2 份）、农转用/征收批准文件。');
    assert.equal(c.items[1]!.docTypeLabel, '农用地转用/土地征收批准文件');
    assert.deepEqual(
      c.fields.map((f) => f.id),
      ['approval_authority', 'approval_no', 'approval_date', 'approved_area_m2'],
    );
  });

  it('is complete with two photos and the right document type; optional items do not block', () => {
    const p1 = item('photo');
    const p2 = item('photo', null, { openSignals: 2 });
    const doc = item('document', 'approval_doc');
    const wrongType = item('document', 'supply_doc');
    const c = buildChecklist(land, 'legal', 'agri_conversion_approval', [p1, p2, doc, wrongType]);
    assert.equal(c.status, 'complete');
    assert.deepEqual(c.items[0]!.evidenceIds, [p1.id, p2.id]);
    assert.deepEqual(c.items[0]!.withOpenSignals, [p2.id]);
    assert.deepEqual(c.items[1]!.evidenceIds, [doc.id]);
    assert.equal(c.items[2]!.satisfied, false);
    assert.deepEqual(c.unmatchedIds, [wrongType.id]);
    assert.equal(c.summary, '合法·农转用/征收批准：必需的举证材料已齐全，其中 1 份有待审核的疑点。');
  });

  it('counts neither replaced versions nor items a reviewer found false', () => {
    const old = item('photo', null, { superseded: true });
    const faked = item('photo', null, { confirmedFindings: 1 });
    const good = item('photo');
    const c = buildChecklist(land, 'illegal', 'build_without_approval', [old, faked, good]);
    const photos = c.items[0]!;
    assert.deepEqual([photos.present, photos.missing, photos.satisfied], [1, 1, false]);
    assert.deepEqual(photos.rejectedIds, [faked.id]);
    assert.deepEqual(photos.evidenceIds, [good.id]);
    assert.ok(!c.unmatchedIds.includes(old.id));
    // 违法 has the inspection record as optional and 未批先建 adds nothing: still incomplete.
    assert.deepEqual(
      c.items.map((i) => i.id),
      ['site_photos', 'inspection_record'],
    );
    assert.equal(c.status, 'incomplete');
  });

  it('takes the verdict alone (branch evidence only) when no subtype is chosen yet', () => {
    const c = buildChecklist(land, 'other', null, [item('photo'), item('photo')]);
    assert.equal(c.status, 'complete');
    assert.deepEqual(
      c.items.map((i) => i.id),
      ['site_photos'],
    );
    assert.equal(c.subtype, null);
  });

  it('reads the mineral pack the same way (采矿许可证 for 越界开采)', () => {
    const c = buildChecklist(mineral, 'illegal', 'mining_beyond_boundary', [
      item('photo'),
      item('photo'),
      item('document', 'mining_licence'),
    ]);
    assert.equal(c.status, 'complete');
    assert.equal(c.items.find((i) => i.id === 'licence_copy')!.docTypeLabel, '采矿许可证');
  });

  it('refuses an unknown verdict or subtype with the choices', () => {
    assert.throws(() => buildChecklist(land, 'maybe', null, []), {
      code: 'checklist_verdict_invalid',
      message: /判定类别无效：maybe（可选：legal（合法）、other（其他（非新增建设））、illegal（违法））/,
    });
    assert.throws(() => buildChecklist(land, 'legal', 'rural_road', []), {
      code: 'checklist_subtype_invalid',
      message: /“合法”中没有细类“rural_road”/,
    });
    assert.throws(() => buildChecklist(land, null, 'rural_road', []), { code: 'checklist_verdict_invalid' });
  });
});
