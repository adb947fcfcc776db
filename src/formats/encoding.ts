// Text encoding of a Shapefile's .dbf (DOMAIN.md §8). Garbled Chinese attributes are the most
// common failure of JS shapefile tools, so the encoding is resolved in a fixed, reported order
// and every decoded string is checked afterwards instead of trusting the guess.

import { readFile } from 'node:fs/promises';
import { WeipianError } from '../domain/errors.ts';

export type EncodingSource = 'option' | 'cpg' | 'ldid' | 'detected' | 'default';

export interface ResolvedEncoding {
  /** A WHATWG TextDecoder label in canonical form: 'gbk', 'utf-8', 'gb18030', 'big5', … */
  encoding: string;
  source: EncodingSource;
  /** Chinese remarks about inputs that were present but not usable (e.g. an unknown .cpg value). */
  notes?: string[];
}

const SOURCE_NAMES: Record<EncodingSource, string> = {
  option: '命令参数指定',
  cpg: '.cpg 文件',
  ldid: 'DBF 语言驱动标志',
  detected: '按内容识别',
  default: '默认',
};

// Windows code page numbers as they appear in .cpg files ("936", "ANSI 936", "CP936").
// Only pages a TextDecoder can decode are listed; gb2312/cp936 data is decoded as GBK, its superset.
const CODEPAGES: Record<number, string> = {
  936: 'gbk',
  20936: 'gbk',
  54936: 'gb18030',
  65001: 'utf-8',
  950: 'big5',
  932: 'shift_jis',
  949: 'euc-kr',
  874: 'windows-874',
  866: 'ibm866',
  1250: 'windows-1250',
  1251: 'windows-1251',
  1252: 'windows-1252',
  1253: 'windows-1253',
  1254: 'windows-1254',
  1255: 'windows-1255',
  1256: 'windows-1256',
  1257: 'windows-1257',
  1258: 'windows-1258',
  20866: 'koi8-r',
  28591: 'windows-1252',
  28592: 'iso-8859-2',
  28595: 'iso-8859-5',
  28597: 'iso-8859-7',
  28605: 'iso-8859-15',
};

const NAMED: Record<string, string> = {
  GBK: 'gbk',
  CP936: 'gbk',
  MS936: 'gbk',
  WINDOWS936: 'gbk',
  GB2312: 'gbk',
  EUCCN: 'gbk',
  GB18030: 'gb18030',
  UTF8: 'utf-8',
  BIG5: 'big5',
};

/**
 * Maps an encoding name as users and .cpg files write it to a canonical TextDecoder label,
 * or null when it is unknown or cannot be decoded here.
 */
export function normalizeEncodingLabel(raw: string): string | null {
  const label = raw.replace(/^\uFEFF/, '').trim();
  if (!label) return null;
  const compact = label.toUpperCase().replace(/[\s_-]/g, '');
  const named = NAMED[compact];
  if (named) return named;
  // "936", "ANSI 936", "CP936", "WINDOWS-1252", "CP 65001"
  const page = /^(?:ANSI|CP|MS|WINDOWS|IBM)?(\d{3,5})$/.exec(compact);
  if (page) return CODEPAGES[Number(page[1])] ?? null;
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return null;
  }
}

/**
 * DBF language-driver ids (header byte 29) that name a decodable code page. 0x57 and 0x87 mean
 * "the writer's current ANSI code page" and 0x00 means unknown: those say nothing and are absent.
 * DOS code pages (437, 850, …) have no TextDecoder and are absent too.
 */
const LDIDS: Record<number, string> = {
  0x03: 'windows-1252',
  0x13: 'shift_jis',
  0x26: 'ibm866',
  0x4c: 'shift_jis',
  0x4d: 'gbk',
  0x4e: 'euc-kr',
  0x4f: 'big5',
  0x50: 'windows-874',
  0x58: 'windows-1252',
  0x59: 'windows-1252',
  0x65: 'ibm866',
  0x78: 'big5',
  0x79: 'euc-kr',
  0x7a: 'gbk',
  0x7b: 'shift_jis',
  0x7c: 'windows-874',
  0x7d: 'windows-1255',
  0x7e: 'windows-1256',
  0xc8: 'windows-1250',
  0xc9: 'windows-1251',
  0xca: 'windows-1254',
  0xcb: 'windows-1253',
  0xcc: 'windows-1257',
};

export function encodingFromLdid(ldid: number): string | null {
  return LDIDS[ldid] ?? null;
}

/** Reads a .cpg file's first line; null when there is no file. */
export async function readCpg(cpgPath: string | null): Promise<string | null> {
  if (!cpgPath) return null;
  try {
    const text = new TextDecoder('utf-8').decode(await readFile(cpgPath));
    return text.split(/\r?\n/)[0] ?? '';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

function decodesFatally(label: string, bytes: Uint8Array): string | null {
  try {
    return new TextDecoder(label, { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Guesses between UTF-8 and GBK from sample byte strings (each decoded on its own, so a value
 * never borrows bytes from its neighbour). UTF-8 is tested first because multi-byte UTF-8 is
 * structured enough that GBK text almost never passes by chance, while UTF-8 Chinese often
 * happens to be valid GBK. Returns null when the samples are plain ASCII or fit neither.
 */
export function detectTextEncoding(samples: Iterable<Uint8Array>): 'utf-8' | 'gbk' | null {
  let highBytes = false;
  let utf8 = true;
  let gbk = true;
  let gbkCjk = false;
  for (const s of samples) {
    if (!s.some((b) => b >= 0x80)) continue;
    highBytes = true;
    if (utf8 && decodesFatally('utf-8', s) === null) utf8 = false;
    if (gbk) {
      const text = decodesFatally('gbk', s);
      if (text === null) gbk = false;
      else if (CJK.test(text)) gbkCjk = true;
    }
    if (!utf8 && !gbk) break;
  }
  if (!highBytes) return null;
  if (utf8) return 'utf-8';
  if (gbk && gbkCjk) return 'gbk';
  return null;
}

export interface EncodingInputs {
  /** The user's explicit choice (--encoding). */
  option?: string | null;
  /** First line of the .cpg file, null when absent. */
  cpg?: string | null;
  /** DBF header byte 29. */
  ldid?: number | null;
  /** Raw bytes of string values (and field names), read only if the earlier steps say nothing. */
  sample?: () => Promise<Iterable<Uint8Array>> | Iterable<Uint8Array>;
}

/** option → .cpg → language-driver id → content detection → UTF-8 (DOMAIN.md §8). */
export async function resolveEncoding(inputs: EncodingInputs): Promise<ResolvedEncoding> {
  const notes: string[] = [];
  const withNotes = (r: ResolvedEncoding): ResolvedEncoding => (notes.length ? { ...r, notes } : r);

  if (inputs.option != null && inputs.option.trim() !== '') {
    const enc = normalizeEncodingLabel(inputs.option);
    if (!enc)
      throw new WeipianError(
        'encoding_unsupported',
        `不支持指定的编码“${inputs.option}”。常用取值：GBK、GB18030、UTF-8。`,
        { encoding: inputs.option },
      );
    return { encoding: enc, source: 'option' };
  }
  if (inputs.cpg != null) {
    const enc = normalizeEncodingLabel(inputs.cpg);
    if (enc) return withNotes({ encoding: enc, source: 'cpg' });
    notes.push(`.cpg 文件内容“${inputs.cpg.trim()}”无法识别，已忽略。`);
  }
  if (inputs.ldid != null && inputs.ldid !== 0) {
    const enc = encodingFromLdid(inputs.ldid);
    if (enc) return withNotes({ encoding: enc, source: 'ldid' });
  }
  if (inputs.sample) {
    const enc = detectTextEncoding(await inputs.sample());
    if (enc) return withNotes({ encoding: enc, source: 'detected' });
  }
  return withNotes({ encoding: 'utf-8', source: 'default' });
}

export function hasReplacementChars(s: string): boolean {
  return s.includes('\uFFFD');
}

export interface GarbledContext {
  file: string;
  field: string;
  /** 0-based record index; null when the garbled text is the field name itself. */
  record: number | null;
  encoding: ResolvedEncoding;
}

/** Throws 'encoding_garbled' when a decoded attribute contains U+FFFD (bytes the encoding cannot map). */
export function assertNotGarbled(value: string, ctx: GarbledContext): void {
  if (!hasReplacementChars(value)) return;
  const where =
    ctx.record === null ? `字段名“${ctx.field}”` : `第 ${ctx.record + 1} 条记录的字段“${ctx.field}”`;
  const other = ctx.encoding.encoding === 'utf-8' ? 'GBK' : 'UTF-8';
  throw new WeipianError(
    'encoding_garbled',
    `文件 ${ctx.file} 中${where}按 ${ctx.encoding.encoding} 编码（${SOURCE_NAMES[ctx.encoding.source]}）解码后出现乱码。` +
      `请确认数据的实际编码，并用 --encoding 指定，例如 --encoding ${other}。`,
    {
      file: ctx.file,
      field: ctx.field,
      recordIndex: ctx.record,
      encoding: ctx.encoding.encoding,
      encodingSource: ctx.encoding.source,
      value,
    },
  );
}
