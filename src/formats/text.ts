// Decoding of delivered text files (CSV, GeoJSON, KML) with the same order as for Shapefiles
// (encoding.ts): the user's --encoding, then what the file itself says (byte-order mark, XML
// declaration), then detection between UTF-8 and GBK, then UTF-8. Decoding is strict: bytes the
// encoding cannot map are refused with 'encoding_garbled', never turned into U+FFFD silently.

import { WeipianError } from '../domain/errors.ts';
import { normalizeEncodingLabel, resolveEncoding } from './encoding.ts';
import type { SourceEncoding } from './vector-common.ts';

export interface DecodeOptions {
  /** --encoding */
  option?: string;
  /** What the format declares, e.g. the encoding of an XML declaration. */
  declared?: string | null;
  /** Shown in messages. */
  file: string;
}

const SAMPLE_BYTES = 4 << 20;

/** The lines of the first few MB, for detection (a line never borrows bytes from its neighbour). */
function lines(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const end = Math.min(bytes.length, SAMPLE_BYTES);
  let start = 0;
  for (let i = 0; i < end; i++)
    if (bytes[i] === 0x0a) {
      out.push(bytes.subarray(start, i));
      start = i + 1;
    }
  // The last, possibly cut line only when the whole file was sampled.
  if (end === bytes.length && start < end) out.push(bytes.subarray(start, end));
  return out;
}

function garbled(file: string, encoding: SourceEncoding, bytes: Uint8Array): WeipianError {
  // Find the first line that does not decode, so the message can point at it.
  let line = 0;
  let lineNo = 1;
  for (const l of lines(bytes)) {
    try {
      new TextDecoder(encoding.encoding, { fatal: true }).decode(l);
    } catch {
      line = lineNo;
      break;
    }
    lineNo++;
  }
  const other = encoding.encoding === 'utf-8' ? 'GBK' : 'UTF-8';
  return new WeipianError(
    'encoding_garbled',
    `文件 ${file}${line ? ` 第 ${line} 行` : ''}按 ${encoding.encoding} 编码无法正确解码（会出现乱码）。请确认文件的实际编码，并用 --encoding 指定，例如 --encoding ${other}。`,
    { file, line: line || null, encoding: encoding.encoding, encodingSource: encoding.source },
  );
}

/** Decodes a whole text file; returns the text without byte-order mark and how it was decoded. */
export async function decodeText(
  bytes: Uint8Array,
  opts: DecodeOptions,
): Promise<{ text: string; encoding: SourceEncoding }> {
  let body = bytes;
  let encoding: SourceEncoding;
  const bom =
    bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
      ? 'utf-8'
      : bytes[0] === 0xff && bytes[1] === 0xfe
        ? 'utf-16le'
        : bytes[0] === 0xfe && bytes[1] === 0xff
          ? 'utf-16be'
          : null;
  if (opts.option != null && opts.option.trim() !== '') {
    const r = await resolveEncoding({ option: opts.option });
    encoding = { encoding: r.encoding, source: r.source };
    if (bom && r.encoding === bom) body = bytes.subarray(bom === 'utf-8' ? 3 : 2);
  } else if (bom) {
    encoding = {
      encoding: bom,
      source: 'detected',
      notes: [`文件以 ${bom.toUpperCase()} 字节顺序标记（BOM）开头`],
    };
    body = bytes.subarray(bom === 'utf-8' ? 3 : 2);
  } else if (opts.declared) {
    const label = normalizeEncodingLabel(opts.declared);
    if (!label)
      throw new WeipianError(
        'encoding_unsupported',
        `文件 ${opts.file} 声明的编码“${opts.declared}”无法识别，请用 --encoding 指定，例如 --encoding GBK。`,
        { file: opts.file, encoding: opts.declared },
      );
    encoding = { encoding: label, source: 'format' };
  } else {
    const r = await resolveEncoding({ sample: () => lines(bytes) });
    encoding = { encoding: r.encoding, source: r.source };
  }
  let text: string;
  try {
    text = new TextDecoder(encoding.encoding, { fatal: true, ignoreBOM: true }).decode(body);
  } catch (e) {
    if (e instanceof RangeError && /string/i.test(e.message))
      throw new WeipianError('source_too_large', `文件 ${opts.file} 太大，无法作为文本读取。`, {
        file: opts.file,
      });
    throw garbled(opts.file, encoding, body);
  }
  return { text, encoding };
}
