// Evidence files: the type decided by content (never by name) and completeness checked per format;
// the perceptual hash (hand-worked cases) and thumbnails; the directory store (content-addressed,
// never overwriting, no path escapes).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import yazl from 'yazl';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { tmpDir } from '../helpers/tmp.ts';
import { Rng } from '../../src/demo/prng.ts';
import { sniffFile, jpegComplete, bmffComplete } from '../../src/evidence/sniff.ts';
import { phashOfGrey, hammingDistance, analyseImage } from '../../src/evidence/image.ts';
import { DirectoryStore, originalKey, thumbnailKey, sha256OfStream } from '../../src/evidence/store.ts';

async function zip(file: string, entries: Record<string, string>): Promise<string> {
  const z = new yazl.ZipFile();
  for (const [name, text] of Object.entries(entries)) z.addBuffer(Buffer.from(text), name);
  z.end();
  const ws = createWriteStream(file);
  z.outputStream.pipe(ws);
  await once(ws, 'close');
  return file;
}

const u16 = (s: string) => Buffer.from(s, 'utf16le');

describe('file type by content', () => {
  it('recognises pictures, PDF, OFD and Office files whatever their names', async (t) => {
    const dir = await tmpDir(t);
    const f = (n: string) => path.join(dir, n);
    const img = sharp({ create: { width: 8, height: 8, channels: 3, background: '#804020' } });
    await writeFile(f('a.pdf'), await img.clone().jpeg().toBuffer()); // a JPEG named .pdf
    await writeFile(f('b'), await img.clone().png().toBuffer());
    await writeFile(f('c.jpg'), await img.clone().webp().toBuffer());
    await writeFile(f('d.doc'), '%PDF-1.7\n%âãÏÓ\n1 0 obj<<>>endobj\n%%EOF\n');
    await zip(f('e.zip'), { '[Content_Types].xml': '<Types/>', 'word/document.xml': '<w:document/>' });
    await zip(f('f.docx'), { '[Content_Types].xml': '<Types/>', 'xl/workbook.xml': '<workbook/>' });
    await zip(f('g.bin'), { '[Content_Types].xml': '<Types/>', 'ppt/presentation.xml': '<p/>' });
    await zip(f('h.zip'), { 'OFD.xml': '<ofd:OFD/>', 'Doc_0/Document.xml': '<d/>' });
    // A legacy Word file: compound-document header, 512-byte sectors, a WordDocument stream entry.
    const ole = Buffer.alloc(1536);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(ole);
    u16('WordDocument').copy(ole, 1024);
    await writeFile(f('i.xls'), ole);
    const heic = Buffer.concat([
      Buffer.from([0, 0, 0, 24]),
      Buffer.from('ftypheic'),
      Buffer.from([0, 0, 0, 0]),
      Buffer.from('mif1heic'),
      Buffer.from([0, 0, 0, 16]),
      Buffer.from('mdat'),
      Buffer.alloc(8),
    ]);
    await writeFile(f('j.jpg'), heic);
    const got: Record<string, string> = {};
    for (const n of ['a.pdf', 'b', 'c.jpg', 'd.doc', 'e.zip', 'f.docx', 'g.bin', 'h.zip', 'i.xls', 'j.jpg'])
      got[n] = (await sniffFile(f(n), n)).format;
    assert.deepEqual(got, {
      'a.pdf': 'jpeg',
      b: 'png',
      'c.jpg': 'webp',
      'd.doc': 'pdf',
      'e.zip': 'docx',
      'f.docx': 'xlsx',
      'g.bin': 'pptx',
      'h.zip': 'ofd',
      'i.xls': 'doc',
      'j.jpg': 'heic',
    });
  });

  it('refuses scripts, pages, programs and unknown bytes, saying what they are', async (t) => {
    const dir = await tmpDir(t);
    const cases: [string, Buffer | string, RegExp][] = [
      ['photo.jpg', '<?php echo 1; ?>', /PHP 脚本/],
      ['photo2.jpg', '\n  <?PHP\n', /PHP 脚本/],
      ['page.jpg', '<!DOCTYPE html><html>', /网页或 XML/],
      ['pic.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>', /网页或 XML/],
      ['setup.pdf', Buffer.from('MZ\x90\x00\x03'), /可执行程序/],
      ['run.png', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]), /可执行程序/],
      ['notes.docx', '说明：这是一段文字', /不是可识别的图片或文档/],
    ];
    for (const [name, content, why] of cases) {
      const p = path.join(dir, name);
      await writeFile(p, content);
      await assert.rejects(sniffFile(p, name), (e: { code: string; status: number; message: string }) => {
        assert.equal(e.code, 'evidence_type_refused', name);
        assert.equal(e.status, 415);
        assert.match(e.message, why, name);
        assert.match(e.message, new RegExp(`“${name.replace('.', '\\.')}”`));
        return true;
      });
    }
    const plain = await zip(path.join(dir, 'x.docx'), { 'readme.txt': 'hi' });
    await assert.rejects(sniffFile(plain, 'x.docx'), { code: 'evidence_type_refused', message: /压缩包/ });
    const msi = Buffer.alloc(1536);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(msi);
    await writeFile(path.join(dir, 'y.doc'), msi);
    await assert.rejects(sniffFile(path.join(dir, 'y.doc'), 'y.doc'), { message: /不认识的复合文档/ });
  });

  it('refuses files cut short, in every format', async (t) => {
    const dir = await tmpDir(t);
    const img = sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } });
    const cut = async (name: string, b: Buffer, keep: number) => {
      const p = path.join(dir, name);
      await writeFile(p, b.subarray(0, keep));
      return p;
    };
    const jpeg = await img.clone().jpeg().toBuffer();
    const png = await img.clone().png().toBuffer();
    const webp = await img.clone().webp().toBuffer();
    const docx = await readFile(
      await zip(path.join(dir, 'ok.docx'), {
        '[Content_Types].xml': '<Types/>',
        'word/document.xml': 'x'.repeat(500),
      }),
    );
    for (const [name, p] of [
      ['a.jpg', await cut('a.jpg', jpeg, jpeg.length - 2)],
      ['b.jpg', await cut('b.jpg', jpeg, Math.floor(jpeg.length / 2))],
      ['c.png', await cut('c.png', png, png.length - 12)],
      ['d.webp', await cut('d.webp', webp, webp.length - 10)],
      ['e.pdf', await cut('e.pdf', Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n'), 30)],
      ['f.docx', await cut('f.docx', docx, docx.length - 30)],
      [
        'g.doc',
        await cut(
          'g.doc',
          Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(1600)]),
          1600,
        ),
      ],
    ] as const)
      await assert.rejects(sniffFile(p, name), (e: { code: string; status: number }) => {
        assert.equal(e.code, 'evidence_file_damaged', name);
        assert.equal(e.status, 422);
        return true;
      });
  });

  it('walks JPEG markers: stuffing and restarts inside the scan, trailers after the end', () => {
    const seg = (m: number, body: number[]) => [0xff, m, 0, body.length + 2, ...body];
    const head = [0xff, 0xd8, ...seg(0xe0, [1, 2, 3]), ...seg(0xda, [0, 0])];
    const scan = [0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56];
    assert.equal(jpegComplete(Buffer.from([...head, ...scan, 0xff, 0xd9])), null);
    assert.equal(
      jpegComplete(Buffer.from([...head, ...scan, 0xff, 0xd9, 0, 0, 0x53, 0x45])),
      null,
      'trailer',
    );
    assert.match(jpegComplete(Buffer.from([...head, ...scan]))!, /缺少结束标记/);
    assert.match(jpegComplete(Buffer.from([0xff, 0xd8, ...seg(0xe0, [1]), 0xff, 0xd9]))!, /图像数据缺失/);
    // An embedded thumbnail's end marker inside an APP1 segment does not end the file.
    const app1 = seg(0xe1, [0xff, 0xd8, 0xff, 0xd9]);
    assert.match(jpegComplete(Buffer.from([0xff, 0xd8, ...app1, ...seg(0xda, [0]), 1, 2]))!, /缺少结束标记/);
  });

  it('adds up ISO-BMFF boxes (HEIC) exactly', () => {
    const box = (type: string, n: number) => {
      const b = Buffer.alloc(8 + n);
      b.writeUInt32BE(8 + n);
      b.write(type, 4, 'latin1');
      return b;
    };
    assert.equal(bmffComplete(Buffer.concat([box('ftyp', 8), box('mdat', 100)])), null);
    assert.match(
      bmffComplete(Buffer.concat([box('ftyp', 8), box('mdat', 100)]).subarray(0, 60))!,
      /中途结束/,
    );
  });
});

describe('perceptual hash', () => {
  const grey = (f: (x: number, y: number) => number) => {
    const a = new Uint8Array(32 * 32);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) a[y * 32 + x] = f(x, y);
    return a;
  };

  it('of a flat picture has only the brightness bit', () => {
    assert.equal(phashOfGrey(grey(() => 128)), '8000000000000000');
  });

  it('ignores brightness and flips the detail bits of the negative', () => {
    // Seeded noise (no ties). Negating flips every detail bit except the brightness bit and the
    // coefficient sorted 32nd of the 63, which lies below the median (mean of the 32nd and 33rd)
    // both ways: 62 bits.
    const rng = new Rng(9, 'phash-test');
    const noise = Array.from({ length: 32 * 32 }, () => 40 + Math.floor(rng.next() * 150));
    const pattern = (x: number, y: number) => noise[y * 32 + x]!;
    const h = phashOfGrey(grey(pattern));
    assert.equal(phashOfGrey(grey((x, y) => pattern(x, y) + 60)), h);
    assert.equal(hammingDistance(h, phashOfGrey(grey((x, y) => 255 - pattern(x, y)))), 62);
  });

  it('counts differing bits', () => {
    assert.equal(hammingDistance('0000000000000000', 'ffffffffffffffff'), 64);
    assert.equal(hammingDistance('8000000000000000', '0000000000000001'), 2);
    assert.equal(hammingDistance('0123456789abcdef', '0123456789abcdef'), 0);
  });

  it('decodes fully, uprights the picture and makes a 320 px thumbnail', async (t) => {
    const dir = await tmpDir(t);
    const p = path.join(dir, 'rot.jpg');
    // 600 × 400 stored, EXIF orientation 6 (rotate 90° clockwise to view): 400 × 600 upright.
    await sharp({ create: { width: 600, height: 400, channels: 3, background: '#aa5500' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(p);
    const facts = await analyseImage(p, 'rot.jpg');
    assert.deepEqual([facts.width, facts.height], [400, 600]);
    const th = await sharp(facts.thumbnail).metadata();
    assert.deepEqual([th.width, th.height, th.orientation], [213, 320, undefined]);
    const bad = path.join(dir, 'bad.png');
    const png = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#000' } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    // Chunks intact, pixel data cut: passes nothing but a full decode.
    const idat = png.indexOf('IDAT');
    const broken = Buffer.from(png);
    broken.fill(0x55, idat + 100, idat + 400);
    await writeFile(bad, broken);
    await assert.rejects(analyseImage(bad, 'bad.png'), { code: 'evidence_file_damaged' });
  });
});

describe('directory store', () => {
  it('keeps each key once, never overwrites, lists and discards', async (t) => {
    const dir = await tmpDir(t);
    const store = new DirectoryStore(path.join(dir, 'evidence'));
    const a = path.join(dir, 'a.bin');
    const b = path.join(dir, 'b.bin');
    await writeFile(a, 'first');
    await writeFile(b, 'second');
    const sha = 'ab'.repeat(32);
    assert.equal(originalKey(sha), `originals/ab/ab/${sha}`);
    assert.equal(thumbnailKey(sha), `thumbnails/ab/${sha}.jpg`);
    assert.deepEqual(await store.putFile(originalKey(sha), a), { created: true });
    assert.deepEqual(await store.putFile(originalKey(sha), b), { created: false });
    const f = await store.open(originalKey(sha));
    assert.equal(f!.bytes, 5);
    assert.equal(await sha256OfStream(f!.stream), createHash('sha256').update('first').digest('hex'));
    const listed = [];
    for await (const o of store.list('originals')) listed.push(o);
    assert.deepEqual(listed, [{ key: originalKey(sha), bytes: 5 }]);
    assert.equal(await store.open('originals/none'), undefined);
    await store.discard(originalKey(sha));
    assert.equal(await store.exists(originalKey(sha)), false);
    for (const bad of ['../x', 'originals/../../x', '/etc/passwd', 'A/b', ''])
      await assert.rejects(store.putFile(bad, a), /invalid evidence store key/);
  });
});
