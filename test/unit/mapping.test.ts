import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeipianError } from '../../src/domain/errors.ts';
import {
  mapAttributes,
  normalizeName,
  parseDeliveredDate,
  resolveMapping,
} from '../../src/domain/mapping.ts';

function assertCode(fn: () => unknown, code: string, mentions: string[] = []): WeipianError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof WeipianError, `expected WeipianError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  for (const m of mentions)
    assert.ok(caught.message.includes(m), `message should mention ${m}: ${caught.message}`);
  return caught;
}

test('Chinese attribute names (with a unit suffix in full-width brackets)', () => {
  const names = [
    '监测编号',
    '行政区代码',
    '图斑类型',
    '监测面积（亩）',
    '耕地面积(亩)',
    '前时相',
    '后时相',
    '中心点X',
    '中心点Y',
    '备注',
    '核查人',
  ];
  const { map, unmapped } = resolveMapping(names);
  assert.deepEqual(map, {
    jcbh: '监测编号',
    xzqdm: '行政区代码',
    tblx: '图斑类型',
    jcmj: '监测面积（亩）',
    gdmj: '耕地面积(亩)',
    qsx: '前时相',
    hsx: '后时相',
    zxdx: '中心点X',
    zxdy: '中心点Y',
    bz: '备注',
  });
  assert.deepEqual(unmapped, ['核查人']);
});

test('upper-case Ministry names', () => {
  const names = ['JCBH', 'XZQDM', 'TBLX', 'JCMJ', 'GDMJ', 'QSX', 'HSX', 'ZXDX', 'ZXDY', 'BZ', 'SHAPE_Area'];
  const { map, unmapped } = resolveMapping(names);
  assert.equal(map.jcbh, 'JCBH');
  assert.equal(map.zxdy, 'ZXDY');
  assert.deepEqual(unmapped, ['SHAPE_Area']);
});

test('mixed case and alternative names; the most specific name wins', () => {
  const { map, unmapped } = resolveMapping([
    'tbbh',
    'XZQHDM',
    '图斑类型',
    'tbmj',
    'qsxsj',
    'HSXSJ',
    'x',
    'Yzb',
    'Bz',
  ]);
  assert.deepEqual(map, {
    jcbh: 'tbbh',
    xzqdm: 'XZQHDM',
    tblx: '图斑类型',
    jcmj: 'tbmj',
    gdmj: undefined,
    qsx: 'qsxsj',
    hsx: 'HSXSJ',
    zxdx: 'x',
    zxdy: 'Yzb',
    bz: 'Bz',
  });
  assert.deepEqual(unmapped, []);
  const both = resolveMapping(['TBBH', 'JCBH', '行政区划代码']);
  assert.equal(both.map.jcbh, 'JCBH');
  assert.equal(both.map.xzqdm, '行政区划代码');
  assert.deepEqual(both.unmapped, ['TBBH']);
  assert.equal(resolveMapping(['ＪＣＢＨ']).map.jcbh, 'ＪＣＢＨ', 'full-width letters are recognised');
});

test('a user mapping overrides the built-in profile (case-insensitive)', () => {
  const { map, unmapped } = resolveMapping(['MY_ID', 'AREA_MU', 'XZQDM', 'JCBH'], {
    jcbh: 'my_id',
    jcmj: 'AREA_MU',
  });
  assert.equal(map.jcbh, 'MY_ID');
  assert.equal(map.jcmj, 'AREA_MU');
  assert.equal(map.xzqdm, 'XZQDM');
  assert.deepEqual(unmapped, ['JCBH']);
});

test('refusals: unknown core field, attribute not in the file, one attribute twice, no jcbh', () => {
  assertCode(() => resolveMapping(['JCBH'], { jcbhx: 'JCBH' }), 'mapping_invalid', ['jcbhx']);
  const e = assertCode(() => resolveMapping(['JCBH', 'MJ'], { jcmj: 'AREA' }), 'mapping_invalid', [
    'AREA',
    '监测面积',
  ]);
  assert.deepEqual((e.details as { attributes: string[] }).attributes, ['JCBH', 'MJ']);
  assertCode(() => resolveMapping(['ID', 'MJ'], { jcbh: 'ID', jcmj: 'id' }), 'mapping_invalid', ['ID']);
  const n = assertCode(() => resolveMapping(['ID', '面积']), 'mapping_no_jcbh', ['ID', '面积']);
  assert.deepEqual((n.details as { attributes: string[] }).attributes, ['ID', '面积']);
});

test('mapAttributes types the values', () => {
  const { map } = resolveMapping([
    'JCBH',
    'XZQDM',
    'TBLX',
    'JCMJ',
    'GDMJ',
    'QSX',
    'HSX',
    'ZXDX',
    'ZXDY',
    'BZ',
  ]);
  const rec = mapAttributes(
    {
      JCBH: 370306201700012,
      XZQDM: '370306101',
      TBLX: ' 新增建设 ',
      JCMJ: '1,234.50',
      GDMJ: 3.25,
      QSX: new Date(2017, 2, 15),
      HSX: '201711',
      ZXDX: '39512345.67',
      ZXDY: 4071234.5,
      BZ: '  ',
    },
    map,
  );
  assert.deepEqual(rec, {
    jcbh: '370306201700012',
    xzqdm: '370306101',
    tblx: '新增建设',
    jcmj: 1234.5,
    gdmj: 3.25,
    qsx: '2017-03-15',
    hsx: '2017-11',
    zxdx: 39512345.67,
    zxdy: 4071234.5,
  });
});

test('delivered date formats', () => {
  assert.equal(parseDeliveredDate('20170315'), '2017-03-15');
  assert.equal(parseDeliveredDate(20170315), '2017-03-15');
  assert.equal(parseDeliveredDate('2017-03-15'), '2017-03-15');
  assert.equal(parseDeliveredDate('2017/3/5'), '2017-03-05');
  assert.equal(parseDeliveredDate('2017年3月5日'), '2017-03-05');
  assert.equal(parseDeliveredDate('201703'), '2017-03');
  assert.equal(parseDeliveredDate('2017-3'), '2017-03');
  assert.equal(parseDeliveredDate(new Date(2016, 1, 29)), '2016-02-29');
  assert.equal(parseDeliveredDate(''), undefined);
  assert.equal(parseDeliveredDate(null), undefined);
  assert.equal(parseDeliveredDate('20170230'), null);
  assert.equal(parseDeliveredDate('201713'), null);
  assert.equal(parseDeliveredDate('March 2017'), null);
});

test('mapAttributes refuses unreadable values; a blank monitoring number is left out for the importer to refuse', () => {
  const { map } = resolveMapping(['JCBH', 'JCMJ', 'QSX']);
  assertCode(() => mapAttributes({ JCBH: 'A1', JCMJ: 'abc' }, map), 'mapping_value_invalid', ['JCMJ', 'abc']);
  assertCode(() => mapAttributes({ JCBH: 'A1', QSX: '20170230' }, map), 'mapping_value_invalid', [
    'QSX',
    '20170230',
  ]);
  assert.deepEqual(mapAttributes({ JCBH: ' ', JCMJ: 1 }, map), { jcmj: 1 });
  assert.deepEqual(mapAttributes({ JCBH: 'A1' }, map), { jcbh: 'A1' });
});

test('normalizeName', () => {
  assert.equal(normalizeName(' 监测面积（亩） '), '监测面积');
  assert.equal(normalizeName('ｊｃｂｈ'), 'JCBH');
  assert.equal(normalizeName('中心点 x'), '中心点X');
});
