import assert from 'node:assert/strict';
import { open, rm, writeFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { isWeipianError } from '../../src/domain/errors.ts';
import {
  assertNotGarbled,
  detectTextEncoding,
  encodingFromLdid,
  hasReplacementChars,
  normalizeEncodingLabel,
  resolveEncoding,
} from '../../src/formats/encoding.ts';
import { openShapefile, type ShapefileFeature } from '../../src/formats/shapefile.ts';
import { samplePatches, skipWithoutOgr, writeShapefile, type FixtureFeature } from '../helpers/ogr.ts';
import { tmpDir } from '../helpers/tmp.ts';

const gbk = (s: string) => iconv.encode(s, 'gbk');
const utf8 = (s: string) => Buffer.from(s, 'utf8');

function rejectsWith(code: string) {
  return (e: unknown) => {
    assert.ok(isWeipianError(e), `expected WeipianError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

describe('encoding labels', () => {
  test('.cpg values map to TextDecoder labels', () => {
    const cases: [string, string][] = [
      ['GBK', 'gbk'],
      ['CP936', 'gbk'],
      ['cp936', 'gbk'],
      ['936', 'gbk'],
      ['ANSI 936', 'gbk'],
      ['GB2312', 'gbk'],
      ['GB18030', 'gb18030'],
      ['54936', 'gb18030'],
      ['UTF-8', 'utf-8'],
      ['UTF8', 'utf-8'],
      ['utf-8\r\n', 'utf-8'],
      ['\uFEFF65001', 'utf-8'],
      ['Big5', 'big5'],
      ['1252', 'windows-1252'],
      ['ISO-8859-1', 'windows-1252'],
    ];
    for (const [label, expected] of cases) assert.equal(normalizeEncodingLabel(label), expected, label);
  });

  test('unknown labels and code pages without a decoder give null', () => {
    for (const label of ['', '   ', 'LDID/87', 'klingon', '437', '850'])
      assert.equal(normalizeEncodingLabel(label), null);
  });

  test('language-driver ids: 0x4D and 0x7A are GBK; 0x57, 0x87 and 0x00 say nothing', () => {
    assert.equal(encodingFromLdid(0x4d), 'gbk');
    assert.equal(encodingFromLdid(0x7a), 'gbk');
    assert.equal(encodingFromLdid(0x57), null);
    assert.equal(encodingFromLdid(0x87), null);
    assert.equal(encodingFromLdid(0x00), null);
  });
});

describe('content detection', () => {
  test('GBK Chinese is detected as GBK', () => {
    assert.equal(detectTextEncoding([gbk('周村区北郊镇'), gbk('新增建设用地'), utf8('370306101')]), 'gbk');
  });
  test('UTF-8 Chinese is detected as UTF-8', () => {
    assert.equal(detectTextEncoding([utf8('周村区北郊镇'), utf8('新增建设用地')]), 'utf-8');
  });
  test('ASCII says nothing', () => {
    assert.equal(detectTextEncoding([utf8('370306101'), utf8('JCBH')]), null);
  });
  test('bytes valid in neither say nothing', () => {
    assert.equal(detectTextEncoding([Buffer.from([0xff, 0xff, 0xff])]), null);
  });
  test('a table mixing UTF-8 and GBK values is left undecided (the garbled check then speaks)', () => {
    assert.equal(detectTextEncoding([utf8('周村区'), gbk('北郊镇东侧厂房')]), null);
  });
});

describe('resolution order: option → .cpg → LDID → detection → UTF-8', () => {
  const sample = () => [gbk('周村区北郊镇')];
  test('option wins over everything', async () => {
    assert.deepEqual(await resolveEncoding({ option: 'GB18030', cpg: 'UTF-8', ldid: 0x4d, sample }), {
      encoding: 'gb18030',
      source: 'option',
    });
  });
  test('.cpg wins over LDID and content', async () => {
    assert.deepEqual(await resolveEncoding({ cpg: 'UTF-8', ldid: 0x4d, sample }), {
      encoding: 'utf-8',
      source: 'cpg',
    });
  });
  test('LDID wins over content', async () => {
    const r = await resolveEncoding({ cpg: null, ldid: 0x4d, sample: () => [utf8('周村区')] });
    assert.deepEqual(r, { encoding: 'gbk', source: 'ldid' });
  });
  test('an unreadable .cpg and an ANSI LDID fall through to detection, with a note', async () => {
    const r = await resolveEncoding({ cpg: 'LDID/87', ldid: 0x57, sample });
    assert.equal(r.encoding, 'gbk');
    assert.equal(r.source, 'detected');
    assert.match(r.notes?.[0] ?? '', /LDID\/87/);
  });
  test('nothing to go on → UTF-8 default', async () => {
    assert.deepEqual(await resolveEncoding({ ldid: 0, sample: () => [utf8('abc')] }), {
      encoding: 'utf-8',
      source: 'default',
    });
  });
  test('an unsupported option is refused', async () => {
    await assert.rejects(resolveEncoding({ option: 'EBCDIC-klingon' }), rejectsWith('encoding_unsupported'));
  });
});

describe('garbled check', () => {
  test('hasReplacementChars', () => {
    assert.equal(hasReplacementChars('周村区'), false);
    assert.equal(hasReplacementChars(new TextDecoder('utf-8').decode(gbk('周村区'))), true);
  });
  test('names field and record and suggests --encoding', () => {
    assert.throws(
      () =>
        assertNotGarbled('\uFFFD\uFFFD', {
          file: 'a.dbf',
          field: 'XZQMC',
          record: 4,
          encoding: { encoding: 'utf-8', source: 'default' },
        }),
      (e: unknown) => {
        assert.ok(isWeipianError(e));
        assert.equal(e.code, 'encoding_garbled');
        assert.match(e.message, /第 5 条记录/);
        assert.match(e.message, /XZQMC/);
        assert.match(e.message, /--encoding/);
        return true;
      },
    );
  });
});

// ---- real files written by GDAL ----------------------------------------------------------------

async function readAll(shp: string, encoding?: string): Promise<ShapefileFeature[]> {
  const src = await openShapefile(shp, { encoding });
  const out: ShapefileFeature[] = [];
  for await (const f of src.features()) out.push(f);
  return out;
}

/** Every delivered string comes back identical, field names included. */
function assertSameText(got: ShapefileFeature[], expected: FixtureFeature[]): void {
  assert.equal(got.length, expected.length);
  got.forEach((f, i) => {
    for (const [k, v] of Object.entries(expected[i]?.properties ?? {}))
      if (typeof v === 'string' && !/^\d{4}-\d{2}-\d{2}$/.test(v))
        assert.equal(f.attributes[k], v, `${k} #${i}`);
  });
}

async function setLdid(dbf: string, ldid: number): Promise<void> {
  const fh = await open(dbf, 'r+');
  try {
    await fh.write(Buffer.from([ldid]), 0, 1, 29);
  } finally {
    await fh.close();
  }
}

describe('GDAL shapefiles in GBK and UTF-8', { skip: skipWithoutOgr() }, () => {
  const features = samplePatches();

  test('GBK with .cpg (ENCODING=CP936)', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, {
      name: '卫片图斑',
      lco: ['ENCODING=CP936'],
    });
    assert.ok(files.cpg, 'GDAL writes a .cpg');
    const src = await openShapefile(files.shp);
    assert.deepEqual(src.encoding, { encoding: 'gbk', source: 'cpg' });
    assert.ok(src.fields.some((f) => f.name === '备注'));
    assertSameText(await readAll(files.shp), features);
  });

  test('GBK without .cpg: detected from content', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'] });
    await rm(files.cpg as string);
    const src = await openShapefile(files.shp);
    assert.deepEqual(src.encoding, { encoding: 'gbk', source: 'detected' });
    assertSameText(await readAll(files.shp), features);
  });

  test('GBK without .cpg but with language driver 0x4D', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'] });
    await rm(files.cpg as string);
    await setLdid(files.dbf, 0x4d);
    assert.deepEqual((await openShapefile(files.shp)).encoding, { encoding: 'gbk', source: 'ldid' });
    assertSameText(await readAll(files.shp), features);
  });

  test('GBK without .cpg and with the "ANSI" driver 0x57: the byte is ignored', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'] });
    await rm(files.cpg as string);
    await setLdid(files.dbf, 0x57);
    assert.deepEqual((await openShapefile(files.shp)).encoding, { encoding: 'gbk', source: 'detected' });
  });

  test('.cpg saying "ANSI 936"', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'] });
    await writeFile(files.cpg as string, 'ANSI 936');
    assert.deepEqual((await openShapefile(files.shp)).encoding, { encoding: 'gbk', source: 'cpg' });
  });

  test('UTF-8 with .cpg', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=UTF-8'] });
    assert.deepEqual((await openShapefile(files.shp)).encoding, { encoding: 'utf-8', source: 'cpg' });
    assertSameText(await readAll(files.shp), features);
  });

  test('UTF-8 without .cpg: detected from content', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=UTF-8'] });
    await rm(files.cpg as string);
    assert.deepEqual((await openShapefile(files.shp)).encoding, { encoding: 'utf-8', source: 'detected' });
    assertSameText(await readAll(files.shp), features);
  });

  test('explicit GB18030 reads GBK data (superset)', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'] });
    assertSameText(await readAll(files.shp, 'GB18030'), features);
  });

  test('explicit wrong encoding utf-8 on a GBK file → encoding_garbled (Chinese field name)', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { lco: ['ENCODING=CP936'] });
    await assert.rejects(openShapefile(files.shp, { encoding: 'utf-8' }), rejectsWith('encoding_garbled'));
  });

  test('explicit wrong encoding utf-8 on a GBK file → encoding_garbled naming field and record', async (t) => {
    const asciiNames = features.map((f) => {
      const { 备注: note, ...rest } = f.properties;
      return { ...f, properties: { ...rest, BZ: note ?? null } };
    });
    const files = await writeShapefile(await tmpDir(t), asciiNames, { lco: ['ENCODING=CP936'] });
    await assert.rejects(readAll(files.shp, 'utf-8'), (e: unknown) => {
      assert.ok(isWeipianError(e));
      assert.equal(e.code, 'encoding_garbled');
      assert.deepEqual(
        {
          field: (e.details as { field: string }).field,
          record: (e.details as { recordIndex: number }).recordIndex,
        },
        { field: 'XZQMC', record: 0 },
      );
      assert.match(e.message, /--encoding/);
      return true;
    });
  });
});
