import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import iconv from 'iconv-lite';
import yazl from 'yazl';
import { isWeipianError } from '../../src/domain/errors.ts';
import { openShapefile } from '../../src/formats/shapefile.ts';
import { resolveShapefileInput } from '../../src/formats/source.ts';
import {
  chooseLegacyNameEncoding,
  crc32,
  extractZipSafely,
  safeEntrySegments,
} from '../../src/formats/zip.ts';
import { samplePatches, skipWithoutOgr, writeShapefile } from '../helpers/ogr.ts';
import { tmpDir } from '../helpers/tmp.ts';

const LIMITS = { maxTotalBytes: 10 * 1024 * 1024, maxEntries: 100 };
const FOLDER = '周村区2017年卫片图斑';

function rejectsWith(code: string, check?: (e: { message: string; details?: unknown }) => void) {
  return (e: unknown) => {
    assert.ok(isWeipianError(e), `expected WeipianError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    check?.(e);
    return true;
  };
}

interface RawEntry {
  /** Raw name bytes (or a string, written as UTF-8). */
  name: Buffer | string;
  data?: Buffer;
  /** General-purpose flags; bit 11 (0x800) = UTF-8 name. */
  flags?: number;
  method?: 0 | 8;
  extra?: Buffer;
}

/**
 * Writes ZIP bytes by hand: yazl always sets the UTF-8 flag and refuses unsafe names, and these
 * tests need raw GBK names without the flag and hostile names.
 */
function buildZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : e.name;
    const data = e.data ?? Buffer.alloc(0);
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const extra = e.extra ?? Buffer.alloc(0);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.flags ?? 0, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.flags ?? 0, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, extra, body);
    centrals.push(central, name, extra);
    offset += local.length + name.length + extra.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

async function yazlZip(file: string, add: (z: yazl.ZipFile) => void): Promise<void> {
  const z = new yazl.ZipFile();
  add(z);
  z.end();
  await new Promise<void>((resolve, reject) => {
    z.outputStream.pipe(createWriteStream(file)).on('close', resolve).on('error', reject);
  });
}

/** Every file under dir, relative, sorted. */
async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push(path.relative(dir, full) + '/');
        await walk(full);
      } else out.push(path.relative(dir, full));
    }
  };
  await walk(dir);
  return out.sort();
}

describe('entry names', () => {
  test('unsafe names are refused', () => {
    for (const n of [
      '../evil.txt',
      '/abs.txt',
      'a/../../evil.txt',
      '..\\evil.txt',
      'C:/evil.txt',
      'c:evil.txt',
      '\\\\host\\share\\x',
    ])
      assert.throws(() => safeEntrySegments(n), rejectsWith('zip_unsafe_path'), n);
  });
  test('ordinary names, backslash separators and "." segments are fine', () => {
    assert.deepEqual(safeEntrySegments(`${FOLDER}/图斑.shp`), [FOLDER, '图斑.shp']);
    assert.deepEqual(safeEntrySegments(`${FOLDER}\\图斑.dbf`), [FOLDER, '图斑.dbf']);
    assert.deepEqual(safeEntrySegments('./a//b.txt'), ['a', 'b.txt']);
    assert.deepEqual(safeEntrySegments('..a/b..txt'), ['..a', 'b..txt']);
  });
  test('legacy names: GBK unless every name is valid UTF-8', () => {
    assert.equal(chooseLegacyNameEncoding([iconv.encode(`${FOLDER}/图斑.shp`, 'gbk')]), 'gbk');
    assert.equal(chooseLegacyNameEncoding([Buffer.from(`${FOLDER}/图斑.shp`)]), 'utf-8');
    assert.equal(chooseLegacyNameEncoding([Buffer.from('a.shp')]), 'utf-8');
  });
});

describe('extractZipSafely', () => {
  test('GBK names without the UTF-8 flag (Chinese Windows) are decoded as GBK', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'in.zip');
    await writeFile(
      zip,
      buildZip([
        { name: iconv.encode(`${FOLDER}/`, 'gbk') },
        { name: iconv.encode(`${FOLDER}/说明.txt`, 'gbk'), data: Buffer.from('周村区') },
      ]),
    );
    const dest = path.join(dir, 'out');
    const files = await extractZipSafely(zip, dest, LIMITS);
    assert.deepEqual(files, [path.join(dest, FOLDER, '说明.txt')]);
    assert.equal(await readFile(files[0] as string, 'utf8'), '周村区');
  });

  test('an Info-ZIP Unicode Path extra field wins when its CRC matches', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'in.zip');
    const raw = Buffer.from('????.txt');
    const utf = Buffer.from('图斑.txt');
    const extra = Buffer.alloc(4 + 5 + utf.length);
    extra.writeUInt16LE(0x7075, 0);
    extra.writeUInt16LE(5 + utf.length, 2);
    extra.writeUInt8(1, 4);
    extra.writeUInt32LE(crc32(raw), 5);
    utf.copy(extra, 9);
    await writeFile(zip, buildZip([{ name: raw, data: Buffer.from('x'), extra }]));
    const files = await extractZipSafely(zip, path.join(dir, 'out'), LIMITS);
    assert.equal(path.basename(files[0] as string), '图斑.txt');
  });

  for (const bad of ['../evil.txt', '/abs.txt', '..\\evil.txt', 'sub/../../evil.txt']) {
    test(`"${bad}" is refused before anything is written`, async (t) => {
      const dir = await tmpDir(t);
      const zip = path.join(dir, 'in.zip');
      await writeFile(
        zip,
        buildZip([
          { name: 'ok/first.txt', data: Buffer.from('first') },
          { name: bad, data: Buffer.from('evil') },
        ]),
      );
      const dest = path.join(dir, 'a', 'b');
      await mkdir(dest, { recursive: true });
      await assert.rejects(
        extractZipSafely(zip, dest, LIMITS),
        rejectsWith('zip_unsafe_path', (e) => assert.ok(e.message.includes(bad))),
      );
      assert.deepEqual(await listTree(dir), ['a/', 'a/b/', 'in.zip']);
      await assert.rejects(stat('/abs.txt'));
    });
  }

  test('a zip bomb is stopped at the limit, quickly, and the partial output removed', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'bomb.zip');
    await yazlZip(zip, (z) => {
      z.addBuffer(Buffer.from('小文件'), 'a/small.txt');
      z.addBuffer(Buffer.alloc(50 * 1024 * 1024), 'a/zeros.bin');
    });
    assert.ok((await stat(zip)).size < 200 * 1024, 'the bomb is small on disk');
    const dest = path.join(dir, 'out');
    const started = Date.now();
    await assert.rejects(extractZipSafely(zip, dest, LIMITS), rejectsWith('zip_too_large'));
    assert.ok(Date.now() - started < 5000, 'refused quickly');
    assert.deepEqual(await listTree(dir), ['bomb.zip']);
  });

  test('entries lying about their size are refused', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'liar.zip');
    const bytes = buildZip([{ name: 'zeros.bin', data: Buffer.alloc(20 * 1024 * 1024) }]);
    // Declare 1 KiB uncompressed in both headers.
    bytes.writeUInt32LE(1024, 22);
    const cd = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(1024, cd + 24);
    await writeFile(zip, bytes);
    await assert.rejects(extractZipSafely(zip, path.join(dir, 'out'), LIMITS), (e: unknown) => {
      assert.ok(isWeipianError(e) && ['zip_invalid', 'zip_too_large'].includes(e.code), String(e));
      return true;
    });
    assert.deepEqual(await listTree(dir), ['liar.zip']);
  });

  test('not a zip → zip_invalid', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'x.zip');
    await writeFile(zip, '这不是压缩包');
    await assert.rejects(extractZipSafely(zip, path.join(dir, 'out'), LIMITS), rejectsWith('zip_invalid'));
  });

  test('encrypted entries → zip_encrypted', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'enc.zip');
    await writeFile(zip, buildZip([{ name: 'secret.dbf', data: Buffer.from('x'), flags: 0x0001 }]));
    await assert.rejects(extractZipSafely(zip, path.join(dir, 'out'), LIMITS), rejectsWith('zip_encrypted'));
  });

  test('too many entries → zip_too_many_entries', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'many.zip');
    await writeFile(zip, buildZip(Array.from({ length: 5 }, (_, i) => ({ name: `${i}.txt` }))));
    await assert.rejects(
      extractZipSafely(zip, path.join(dir, 'out'), { ...LIMITS, maxEntries: 4 }),
      rejectsWith('zip_too_many_entries'),
    );
  });

  test('two entries for one file (case-folded), or a file and a folder of one name, are refused', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'dup.zip');
    await writeFile(zip, buildZip([{ name: 'a/TB.shp' }, { name: 'A/tb.SHP' }]));
    await assert.rejects(
      extractZipSafely(zip, path.join(dir, 'out'), LIMITS),
      rejectsWith('zip_unsafe_path'),
    );
    const clash = path.join(dir, 'clash.zip');
    await writeFile(clash, buildZip([{ name: 'a', data: Buffer.from('file') }, { name: 'a/b.txt' }]));
    await assert.rejects(
      extractZipSafely(clash, path.join(dir, 'out'), LIMITS),
      rejectsWith('zip_unsafe_path'),
    );
    assert.deepEqual(await listTree(dir), ['clash.zip', 'dup.zip']);
  });
});

describe('resolveShapefileInput', { skip: skipWithoutOgr() }, () => {
  const features = samplePatches();

  async function layerFiles(t: Parameters<typeof tmpDir>[0]): Promise<{ name: string; data: Buffer }[]> {
    const files = await writeShapefile(await tmpDir(t), features, {
      name: '卫片图斑',
      lco: ['ENCODING=CP936'],
    });
    const out = [];
    for (const f of [files.shp, files.shx, files.dbf, files.prj, files.cpg as string])
      out.push({ name: path.basename(f), data: await readFile(f) });
    return out;
  }

  test('a zip made with yazl (UTF-8 names, flag bit 11) holding a Chinese-named folder', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, '周村区.zip');
    const files = await layerFiles(t);
    await yazlZip(zip, (z) => {
      for (const f of files) z.addBuffer(f.data, `${FOLDER}/${f.name}`);
    });
    const r = await resolveShapefileInput(zip, { tmpRoot: dir });
    assert.equal(path.basename(path.dirname(r.shpPath)), FOLDER);
    assert.equal(path.basename(r.shpPath), '卫片图斑.shp');
    const src = await openShapefile(r.shpPath);
    for await (const f of src.features()) {
      assert.equal(f.attributes.XZQMC, '周村区北郊镇');
      break;
    }
    const tmp = path.dirname(path.dirname(r.shpPath));
    await r.cleanup();
    await assert.rejects(stat(tmp), 'temporary folder removed');
  });

  test('a zip with raw GBK names and no UTF-8 flag holding a Chinese-named folder', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'gbk.zip');
    const files = await layerFiles(t);
    await writeFile(
      zip,
      buildZip([
        { name: iconv.encode(`${FOLDER}/`, 'gbk') },
        ...files.map((f) => ({ name: iconv.encode(`${FOLDER}/${f.name}`, 'gbk'), data: f.data })),
        // A macOS twin that must not count as a second layer.
        { name: `__MACOSX/${FOLDER}/._卫片图斑.shp`, data: Buffer.from('appledouble'), flags: 0x800 },
      ]),
    );
    const r = await resolveShapefileInput(zip, { tmpRoot: dir });
    t.after(() => r.cleanup());
    assert.equal(path.basename(path.dirname(r.shpPath)), FOLDER);
    const src = await openShapefile(r.shpPath);
    assert.equal(src.featureCount, 4);
  });

  test('a folder with two .shp → source_ambiguous listing both; layer chooses', async (t) => {
    const dir = await tmpDir(t);
    await writeShapefile(path.join(dir), features, { name: '图斑' });
    await mkdir(path.join(dir, '参考'));
    await writeShapefile(path.join(dir, '参考'), features, { name: '镇界' });
    await assert.rejects(
      resolveShapefileInput(dir),
      rejectsWith('source_ambiguous', (e) => {
        assert.deepEqual((e.details as { candidates: string[] }).candidates, ['参考/镇界.shp', '图斑.shp']);
        assert.match(e.message, /--layer/);
      }),
    );
    assert.equal(
      (await resolveShapefileInput(dir, { layer: '镇界' })).shpPath,
      path.join(dir, '参考', '镇界.shp'),
    );
    assert.equal(
      (await resolveShapefileInput(dir, { layer: '图斑.shp' })).shpPath,
      path.join(dir, '图斑.shp'),
    );
    await assert.rejects(
      resolveShapefileInput(dir, { layer: '地类图斑' }),
      rejectsWith('source_layer_not_found'),
    );
  });

  test('a zip with two layers is ambiguous too, and its temporary folder is removed', async (t) => {
    const dir = await tmpDir(t);
    const zip = path.join(dir, 'two.zip');
    const files = await layerFiles(t);
    await yazlZip(zip, (z) => {
      for (const f of files) {
        z.addBuffer(f.data, `${FOLDER}/${f.name}`);
        z.addBuffer(f.data, `${FOLDER}/副本/${f.name}`);
      }
    });
    await assert.rejects(resolveShapefileInput(zip, { tmpRoot: dir }), rejectsWith('source_ambiguous'));
    assert.deepEqual(await listTree(dir), ['two.zip']);
    const r = await resolveShapefileInput(zip, { tmpRoot: dir, layer: `${FOLDER}/副本/卫片图斑` });
    t.after(() => r.cleanup());
    assert.ok(r.shpPath.endsWith(path.join('副本', '卫片图斑.shp')));
  });

  test('no shapefile → source_no_shapefile', async (t) => {
    const dir = await tmpDir(t);
    await writeFile(path.join(dir, '说明.txt'), '无');
    await assert.rejects(resolveShapefileInput(dir), rejectsWith('source_no_shapefile'));
  });

  test('a sibling file stands for its layer', async (t) => {
    const files = await writeShapefile(await tmpDir(t), features, { name: '图斑' });
    assert.equal((await resolveShapefileInput(files.dbf)).shpPath, files.shp);
  });

  test('content not matching the extension → file_type_mismatch', async (t) => {
    const dir = await tmpDir(t);
    const notZip = path.join(dir, '图斑.zip');
    await writeFile(notZip, 'Rar!\x1a\x07\x00 rar archive renamed');
    await assert.rejects(
      resolveShapefileInput(notZip),
      rejectsWith('file_type_mismatch', (e) => assert.match(e.message, /RAR/)),
    );
    const zipAsShp = path.join(dir, 'x.shp');
    await writeFile(zipAsShp, buildZip([{ name: 'a.txt' }]));
    await assert.rejects(resolveShapefileInput(zipAsShp), rejectsWith('file_type_mismatch'));
    await rename(zipAsShp, path.join(dir, 'x.gpkg'));
    await assert.rejects(
      resolveShapefileInput(path.join(dir, 'x.gpkg')),
      rejectsWith('source_unsupported_type'),
    );
  });
});
