import { test } from 'node:test';
import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import {
  CORE_FIELD_IDS,
  EXPORT_FIELD_IDS,
  FIELDS,
  OUTPUT_FIELD_IDS,
  PATCH_SOURCES,
  areaFieldIds,
  fieldDef,
  requireField,
} from '../../src/domain/fields.ts';

test('every Shapefile alias fits a DBF column name (≤ 10 bytes in GBK and UTF-8) and is unique', () => {
  const seen = new Set<string>();
  for (const f of FIELDS) {
    assert.ok(Buffer.byteLength(f.alias, 'utf8') <= 10, `${f.id}: ${f.alias} is over 10 bytes in UTF-8`);
    assert.ok(iconv.encode(f.alias, 'gbk').length <= 10, `${f.id}: ${f.alias} is over 10 bytes in GBK`);
    assert.match(f.alias, /^[A-Z][A-Z0-9_]*$/, `${f.id}: alias must be upper-case ASCII`);
    const key = f.alias.toUpperCase();
    assert.ok(!seen.has(key), `duplicate alias ${f.alias}`);
    seen.add(key);
  }
});

test('field ids are unique and every entry is complete', () => {
  const ids = FIELDS.map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const f of FIELDS) {
    assert.match(f.id, /^[a-z][a-z0-9_]*$/);
    assert.ok(f.name.trim() && f.description.trim(), f.id);
    if (f.type === 'string') assert.ok(f.width >= 1 && f.width <= 254 && f.decimals === 0, f.id);
    if (f.type === 'number' || f.type === 'integer') assert.ok(f.width <= 20 && f.decimals < f.width, f.id);
    if (f.type === 'date') assert.equal(f.width, 8, f.id);
    if (f.type === 'boolean') assert.equal(f.width, 1, f.id);
  }
});

test('the contract ids exist: delivered core fields and analysis/export output', () => {
  for (const id of [...CORE_FIELD_IDS, ...OUTPUT_FIELD_IDS, 'batch', 'source', 'verdict', 'workflow_state'])
    assert.ok(fieldDef(id), `missing field ${id}`);
  assert.deepEqual(EXPORT_FIELD_IDS.slice(0, 3), ['jcbh', 'batch', 'source']);
  assert.equal(EXPORT_FIELD_IDS.length, FIELDS.length);
  assert.deepEqual(
    CORE_FIELD_IDS.map((id) => requireField(id).name),
    [
      '监测编号',
      '行政区代码',
      '图斑类型',
      '监测面积',
      '耕地面积',
      '前时相',
      '后时相',
      '中心点X',
      '中心点Y',
      '备注',
    ],
  );
  assert.equal(requireField('farmland_m2').alias, 'FARM_M2');
  assert.equal(requireField('unit_code').alias, 'UNIT_CODE');
  assert.equal(requireField('jcbh').alias, 'JCBH');
  assert.throws(() => requireField('nope'));
});

test('source values and area fields', () => {
  assert.deepEqual(
    PATCH_SOURCES.map((v) => `${v.id}:${v.label}`),
    ['satellite:卫片', 'routine_inspection:例行督察', 'patrol:巡查', 'report:举报'],
  );
  assert.deepEqual(requireField('source').values, PATCH_SOURCES);
  const areas = areaFieldIds();
  for (const id of OUTPUT_FIELD_IDS.filter((x) => x.endsWith('_m2'))) assert.ok(areas.includes(id), id);
  assert.ok(!areas.includes('jcmj'), 'delivered areas are informational, not metrics');
});
