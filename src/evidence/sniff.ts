// What an uploaded file really is, decided by its bytes and never by its name: a PHP script named
// .jpg is refused, a JPEG named .pdf is a JPEG. Each accepted format is also walked far enough to
// refuse a file cut short in transfer (a truncated JPEG has no end-of-image marker after its scan,
// a truncated PDF no %%EOF, a truncated zip no central directory …) — a damaged original is worse
// than none, because it would be kept for ever as "the evidence".
import { open, stat } from 'node:fs/promises';
import yauzl from 'yauzl';
import { WeipianError } from '../domain/errors.ts';

export type EvidenceFormat =
  'jpeg' | 'png' | 'webp' | 'heic' | 'pdf' | 'ofd' | 'docx' | 'xlsx' | 'pptx' | 'doc' | 'xls' | 'ppt';

export interface Sniffed {
  format: EvidenceFormat;
  mime: string;
  /** Chinese name of the format, for messages. */
  label: string;
  /** A picture (may be a photo). */
  image: boolean;
  /** sharp can decode it (thumbnails, perceptual hash); HEIC (HEVC) is not in sharp's prebuilt libvips. */
  decodable: boolean;
}

const FORMATS: Record<EvidenceFormat, Omit<Sniffed, 'format'>> = {
  jpeg: { mime: 'image/jpeg', label: 'JPEG 图片', image: true, decodable: true },
  png: { mime: 'image/png', label: 'PNG 图片', image: true, decodable: true },
  webp: { mime: 'image/webp', label: 'WebP 图片', image: true, decodable: true },
  heic: { mime: 'image/heic', label: 'HEIC 图片', image: true, decodable: false },
  pdf: { mime: 'application/pdf', label: 'PDF 文档', image: false, decodable: false },
  ofd: { mime: 'application/ofd', label: 'OFD 版式文档', image: false, decodable: false },
  docx: {
    mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    label: 'Word 文档',
    image: false,
    decodable: false,
  },
  xlsx: {
    mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    label: 'Excel 表格',
    image: false,
    decodable: false,
  },
  pptx: {
    mime: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    label: 'PowerPoint 演示文稿',
    image: false,
    decodable: false,
  },
  doc: { mime: 'application/msword', label: 'Word 97-2003 文档', image: false, decodable: false },
  xls: { mime: 'application/vnd.ms-excel', label: 'Excel 97-2003 表格', image: false, decodable: false },
  ppt: {
    mime: 'application/vnd.ms-powerpoint',
    label: 'PowerPoint 97-2003 演示文稿',
    image: false,
    decodable: false,
  },
};

export const ACCEPTED_LABELS = 'JPEG、PNG、WebP、HEIC 图片，PDF、OFD，Word、Excel、PowerPoint 文档';

function sniffed(format: EvidenceFormat): Sniffed {
  return { format, ...FORMATS[format] };
}

function refused(name: string, what: string): WeipianError {
  return new WeipianError(
    'evidence_type_refused',
    `文件“${name}”的内容${what}，不能作为举证材料（可接受：${ACCEPTED_LABELS}）`,
    { name },
    415,
  );
}

function damaged(name: string, label: string, why: string): WeipianError {
  return new WeipianError(
    'evidence_file_damaged',
    `文件“${name}”是不完整或已损坏的${label}（${why}），请重新上传原始文件`,
    { name, why },
    422,
  );
}

const startsWith = (b: Buffer, sig: number[], at = 0) => sig.every((v, i) => b[at + i] === v);

/** Walks JPEG segments and entropy-coded data up to the end-of-image marker. */
export function jpegComplete(b: Buffer): string | null {
  if (!startsWith(b, [0xff, 0xd8])) return '缺少文件头';
  let o = 2;
  let sawScan = false;
  while (o < b.length) {
    if (b[o] !== 0xff) return `第 ${o} 字节处不是标记`;
    while (b[o] === 0xff) o++; // fill bytes
    if (o >= b.length) break;
    const m = b[o]!;
    o++;
    if (m === 0xd9) return sawScan ? null : '图像数据缺失';
    if (m >= 0xd0 && m <= 0xd7) continue;
    if (o + 2 > b.length) break;
    const len = b.readUInt16BE(o);
    if (len < 2) return `第 ${o} 字节处段长度无效`;
    if (o + len > b.length) break;
    o += len;
    if (m === 0xda) {
      sawScan = true;
      // Entropy-coded data: runs until a marker other than stuffing (FF 00) or a restart marker.
      for (;;) {
        if (o + 1 >= b.length) return '文件在图像数据中途结束（缺少结束标记 FFD9）';
        if (b[o] === 0xff) {
          const n = b[o + 1]!;
          if (n === 0x00 || (n >= 0xd0 && n <= 0xd7) || n === 0xff) {
            o += n === 0xff ? 1 : 2;
            continue;
          }
          break;
        }
        o++;
      }
    }
  }
  return '文件在中途结束（缺少结束标记 FFD9）';
}

/** Walks PNG chunks up to IEND. */
export function pngComplete(b: Buffer): string | null {
  let o = 8;
  while (o + 8 <= b.length) {
    const len = b.readUInt32BE(o);
    const type = b.toString('latin1', o + 4, o + 8);
    o += 12 + len;
    if (o > b.length) break;
    if (type === 'IEND') return null;
  }
  return '文件在中途结束（缺少 IEND）';
}

/** Top-level ISO-BMFF boxes must add up exactly to the file. */
export function bmffComplete(b: Buffer): string | null {
  let o = 0;
  while (o < b.length) {
    if (o + 8 > b.length) return '文件在中途结束';
    let size = b.readUInt32BE(o);
    if (size === 1) {
      if (o + 16 > b.length) return '文件在中途结束';
      size = Number(b.readBigUInt64BE(o + 8));
    } else if (size === 0) size = b.length - o;
    if (size < 8) return `第 ${o} 字节处的盒子长度无效`;
    o += size;
  }
  return o === b.length ? null : '文件在中途结束';
}

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);

function zipEntries(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true, strictFileNames: false }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const names: string[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        names.push(e.fileName);
        if (names.length > 100_000) {
          zip.close();
          resolve(names);
          return;
        }
        zip.readEntry();
      });
      zip.on('end', () => resolve(names));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

function utf16(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

/** Reads the first and last bytes of a file (and the whole of it when small enough to walk). */
async function readParts(file: string, whole: boolean) {
  const size = (await stat(file)).size;
  const fh = await open(file, 'r');
  try {
    if (whole) {
      const all = Buffer.alloc(size);
      await fh.read(all, 0, size, 0);
      return { size, head: all.subarray(0, 4096), tail: all.subarray(Math.max(0, size - 1024)), all };
    }
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(size, 1024));
    await fh.read(tail, 0, tail.length, size - tail.length);
    return { size, head, tail, all: undefined };
  } finally {
    await fh.close();
  }
}

/** Largest file whose structure is walked in memory (images, legacy Office); others use head/tail. */
const WALK_LIMIT = 256 * 1024 * 1024;

/**
 * The format of a file by its content, after checking that it is complete. `name` is only used in
 * messages. Throws evidence_type_refused (415) or evidence_file_damaged (422).
 */
export async function sniffFile(file: string, name: string): Promise<Sniffed> {
  const size = (await stat(file)).size;
  const first = await readParts(file, false);
  const h = first.head;
  const walkable = size <= WALK_LIMIT;

  if (startsWith(h, [0xff, 0xd8, 0xff])) {
    if (!walkable) throw refused(name, '是超大的 JPEG');
    const why = jpegComplete((await readParts(file, true)).all!);
    if (why) throw damaged(name, FORMATS.jpeg.label, why);
    return sniffed('jpeg');
  }
  if (startsWith(h, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    if (!walkable) throw refused(name, '是超大的 PNG');
    const why = pngComplete((await readParts(file, true)).all!);
    if (why) throw damaged(name, FORMATS.png.label, why);
    return sniffed('png');
  }
  if (h.toString('latin1', 0, 4) === 'RIFF' && h.toString('latin1', 8, 12) === 'WEBP') {
    if (h.readUInt32LE(4) + 8 !== size) throw damaged(name, FORMATS.webp.label, '文件长度与文件头不符');
    return sniffed('webp');
  }
  if (h.toString('latin1', 4, 8) === 'ftyp' && HEIF_BRANDS.has(h.toString('latin1', 8, 12))) {
    if (!walkable) throw refused(name, '是超大的 HEIC');
    const why = bmffComplete((await readParts(file, true)).all!);
    if (why) throw damaged(name, FORMATS.heic.label, why);
    return sniffed('heic');
  }
  // %PDF- may be preceded by junk within the first kilobyte (PDF 1.7, 7.5.2 and Annex H).
  const pdfAt = h.subarray(0, 1024).indexOf('%PDF-');
  if (pdfAt >= 0) {
    if (!first.tail.includes('%%EOF')) throw damaged(name, FORMATS.pdf.label, '缺少文件结束标记 %%EOF');
    return sniffed('pdf');
  }
  if (startsWith(h, [0x50, 0x4b, 0x03, 0x04])) {
    let entries: string[];
    try {
      entries = await zipEntries(file);
    } catch (e) {
      throw damaged(name, 'Office/OFD 文档', `压缩结构不完整：${(e as Error).message}`);
    }
    const has = (p: string) => entries.some((n) => n === p || n.startsWith(p));
    if (has('OFD.xml')) return sniffed('ofd');
    if (entries.includes('[Content_Types].xml')) {
      if (has('word/')) return sniffed('docx');
      if (has('xl/')) return sniffed('xlsx');
      if (has('ppt/')) return sniffed('pptx');
    }
    throw refused(name, '是压缩包而不是 Office 文档');
  }
  if (startsWith(h, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    if (!walkable) throw refused(name, '是超大的复合文档');
    if (size < 1536 || size % 512 !== 0) throw damaged(name, 'Office 97-2003 文档', '复合文档长度不完整');
    // Directory entries name the streams in UTF-16: an .msi or other compound file is not Office.
    const all = (await readParts(file, true)).all!;
    if (all.includes(utf16('WordDocument'))) return sniffed('doc');
    if (all.includes(utf16('Workbook')) || all.includes(utf16('Book\u0000'))) return sniffed('xls');
    if (all.includes(utf16('PowerPoint Document'))) return sniffed('ppt');
    throw refused(name, '是不认识的复合文档（不是 Word/Excel/PowerPoint）');
  }
  const text = h.toString('latin1', 0, 64).trimStart();
  if (/^<\?php/i.test(text)) throw refused(name, '是 PHP 脚本');
  if (/^<(!doctype|html|\?xml|svg)/i.test(text)) throw refused(name, '是网页或 XML 文本');
  if (text.startsWith('MZ') || startsWith(h, [0x7f, 0x45, 0x4c, 0x46])) throw refused(name, '是可执行程序');
  throw refused(name, '不是可识别的图片或文档');
}
