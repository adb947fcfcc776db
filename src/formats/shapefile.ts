// Streaming ESRI Shapefile reader for polygon layers (图斑 and reference layers).
//
// A reader of our own rather than the `shapefile` package, because that package's behaviour is
// wrong exactly where enforcement data needs it right: on a damaged record it scans ahead to the
// next plausible header, silently pairing later geometries with the wrong .dbf rows; it returns
// rows flagged deleted as live ones; it builds dates in the server's local time zone; it decodes
// with the bundled `text-encoding` polyfill instead of Node's TextDecoder and throws a TypeError
// on any field type it does not know; and it hands each hole to the first outer ring that holds
// any of its vertices. Here the .shx index is the authority for where each record is, every
// length is checked against the files, and rows are read in lock-step with shapes.

import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { WeipianError } from '../domain/errors.ts';
import type { Areal, BBox, PolygonCoords, Position, Ring } from '../geo/geometry.ts';
import { assertNotGarbled, readCpg, resolveEncoding, type ResolvedEncoding } from './encoding.ts';

export interface DbfField {
  name: string;
  /** dBase type letter: C, N, F, D, L, … */
  type: string;
  length: number;
  decimals: number;
}

export type AttributeValue = string | number | boolean | Date | null;

export interface ShapefileFeature {
  /** 0-based record number, the same in .shp, .shx and .dbf. */
  index: number;
  /** null for a null shape (reported, not an error). */
  geometry: Areal | null;
  attributes: Record<string, AttributeValue>;
}

export interface ShapefileFiles {
  shp: string;
  shx: string;
  dbf: string;
  prj: string | null;
  cpg: string | null;
}

export interface ShapefileSource {
  /** Absolute path of the .shp. */
  path: string;
  files: ShapefileFiles;
  encoding: ResolvedEncoding;
  /** WKT from the .prj, null when there is none. */
  prj: string | null;
  shapeType: number;
  shapeTypeName: string;
  /** Number of records, including any the .dbf flags as deleted (those are not yielded). */
  featureCount: number;
  fields: DbfField[];
  /** From the .shp header; null when the file has no records. */
  bbox: BBox | null;
  /** Reads the records one at a time; each call starts again from the first record. */
  features(): AsyncIterable<ShapefileFeature>;
}

export interface OpenShapefileOptions {
  /** Explicit .dbf encoding (--encoding); overrides .cpg, language driver and detection. */
  encoding?: string;
}

const SHAPE_TYPE_NAMES: Record<number, string> = {
  0: 'Null',
  1: 'Point',
  3: 'PolyLine',
  5: 'Polygon',
  8: 'MultiPoint',
  11: 'PointZ',
  13: 'PolyLineZ',
  15: 'PolygonZ',
  18: 'MultiPointZ',
  21: 'PointM',
  23: 'PolyLineM',
  25: 'PolygonM',
  28: 'MultiPointM',
  31: 'MultiPatch',
};

const SHAPE_TYPE_CHINESE: Record<number, string> = {
  1: '点',
  3: '线',
  8: '多点',
  11: '点',
  13: '线',
  18: '多点',
  21: '点',
  23: '线',
  28: '多点',
  31: '多面片（MultiPatch）',
};

const POLYGON_TYPES = new Set([5, 15, 25]);
const SHP_MAGIC = 9994;
const HEADER_BYTES = 100;
const READ_CHUNK = 1 << 16;
// Reading every record: larger windows, fewer refills.
const STREAM_CHUNK = 1 << 20;
// Detection looks at the start of the table only; enough rows to meet Chinese text without
// reading a whole large layer twice.
const SAMPLE_MAX_RECORDS = 2000;
const SAMPLE_MAX_BYTES = 4 << 20;

export function shapeTypeName(type: number): string {
  return SHAPE_TYPE_NAMES[type] ?? `Unknown(${type})`;
}

/**
 * Finds a file's siblings by extension, ignoring case (.SHP/.Shx/.dbf all occur). An exact-case
 * match wins when a case-sensitive file system holds both.
 */
async function findSiblings(shpPath: string): Promise<Record<'shx' | 'dbf' | 'prj' | 'cpg', string | null>> {
  const dir = path.dirname(shpPath);
  const base = path.basename(shpPath, path.extname(shpPath));
  const names = await readdir(dir);
  const pick = (ext: string): string | null => {
    const matches = names.filter((n) => {
      const e = path.extname(n);
      return e.toLowerCase() === `.${ext}` && path.basename(n, e).toLowerCase() === base.toLowerCase();
    });
    const exact = matches.find((n) => path.basename(n, path.extname(n)) === base);
    const chosen = exact ?? matches.sort()[0];
    return chosen ? path.join(dir, chosen) : null;
  };
  return { shx: pick('shx'), dbf: pick('dbf'), prj: pick('prj'), cpg: pick('cpg') };
}

/** Positional reads through a window buffer, so sequential access costs one syscall per chunk. */
class FileWindow {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly chunk = READ_CHUNK,
  ) {}

  /**
   * Where [pos, pos+len) starts inside window() when it is already loaded, else -1: lets a
   * sequential reader take most records without a promise or a slice object.
   */
  offsetOf(pos: number, len: number): number {
    return pos >= this.start && pos + len <= this.start + this.buf.length && pos >= 0 ? pos - this.start : -1;
  }

  /** The loaded window (valid until the next read that refills it). */
  window(): Buffer {
    return this.buf;
  }

  /** The bytes [pos, pos+len), or null when the file ends before that. */
  async read(pos: number, len: number): Promise<Buffer | null> {
    if (pos < 0 || pos + len > this.size) return null;
    if (pos >= this.start && pos + len <= this.start + this.buf.length)
      return this.buf.subarray(pos - this.start, pos - this.start + len);
    // A fresh buffer per refill: slices handed out earlier stay valid.
    const want = Math.min(Math.max(len, this.chunk), this.size - pos);
    const b = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(b, got, want - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < len) return null;
    this.buf = b.subarray(0, got);
    this.start = pos;
    return this.buf.subarray(0, len);
  }
}

async function openWindow(
  file: string,
  chunk = READ_CHUNK,
): Promise<FileWindow & { close(): Promise<void> }> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const w = new FileWindow(fh, size, chunk) as FileWindow & { close(): Promise<void> };
    w.close = () => fh.close();
    return w;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

async function readHead(file: string, len: number): Promise<{ head: Buffer; size: number }> {
  const w = await openWindow(file);
  try {
    const head = (await w.read(0, Math.min(len, w.size))) ?? Buffer.alloc(0);
    return { head: Buffer.from(head), size: w.size };
  } finally {
    await w.close();
  }
}

interface ShpHeader {
  fileBytes: number;
  shapeType: number;
  bbox: BBox;
}

function parseShpHeader(head: Buffer, size: number, file: string, kind: '.shp' | '.shx'): ShpHeader {
  if (size === 0)
    throw new WeipianError('shp_empty', `${kind} 文件 ${file} 是空文件（0 字节）。`, {
      file,
      expected: `至少 ${HEADER_BYTES} 字节`,
      actual: 0,
    });
  if (size >= 4 && head.readInt32BE(0) !== SHP_MAGIC)
    throw new WeipianError(
      kind === '.shp' ? 'shp_not_shapefile' : 'shx_invalid',
      `${file} 不是 Shapefile ${kind} 文件（文件头标识应为 9994）。`,
      { file, expected: SHP_MAGIC, actual: head.readInt32BE(0) },
    );
  if (size < HEADER_BYTES)
    throw new WeipianError(
      kind === '.shp' ? 'shp_empty' : 'shx_invalid',
      `${kind} 文件 ${file} 只有 ${size} 字节，缺少完整的 100 字节文件头。`,
      { file, expected: `至少 ${HEADER_BYTES} 字节`, actual: size },
    );
  const fileBytes = head.readInt32BE(24) * 2;
  return {
    fileBytes,
    shapeType: head.readInt32LE(32),
    bbox: {
      minx: head.readDoubleLE(36),
      miny: head.readDoubleLE(44),
      maxx: head.readDoubleLE(52),
      maxy: head.readDoubleLE(60),
    },
  };
}

interface DbfHeader {
  recordCount: number;
  headerBytes: number;
  recordBytes: number;
  ldid: number;
  /** Raw field descriptors; names still undecoded. */
  rawFields: { nameBytes: Buffer; type: string; length: number; decimals: number; offset: number }[];
}

function dbfInvalid(file: string, message: string, details: Record<string, unknown> = {}): WeipianError {
  return new WeipianError('dbf_invalid', `属性表 ${file} 格式错误：${message}`, { file, ...details });
}

async function readDbfHeader(file: string): Promise<DbfHeader & { size: number }> {
  const w = await openWindow(file);
  try {
    const size = w.size;
    const fixed = await w.read(0, 32);
    if (!fixed)
      throw new WeipianError('dbf_truncated', `属性表 ${file} 只有 ${size} 字节，缺少完整的文件头。`, {
        file,
        expected: '至少 32 字节',
        actual: size,
      });
    const version = fixed.readUInt8(0);
    // dBase 7 uses 48-byte field descriptors; shapefiles never do.
    if ((version & 0x07) === 4) throw dbfInvalid(file, 'dBase 7 格式不属于 Shapefile。', { version });
    const recordCount = fixed.readUInt32LE(4);
    const headerBytes = fixed.readUInt16LE(8);
    const recordBytes = fixed.readUInt16LE(10);
    const ldid = fixed.readUInt8(29);
    if (headerBytes < 33 || recordBytes < 1)
      throw dbfInvalid(file, '文件头中的长度无效。', { headerBytes, recordBytes });
    const head = await w.read(0, headerBytes);
    if (!head)
      throw new WeipianError('dbf_truncated', `属性表 ${file} 在字段定义处被截断。`, {
        file,
        expected: `至少 ${headerBytes} 字节`,
        actual: size,
      });
    const raw: { nameBytes: Buffer; type: string; len: number; dec: number }[] = [];
    for (let p = 32; p + 32 <= headerBytes && head[p] !== 0x0d; p += 32) {
      const nameRaw = head.subarray(p, p + 11);
      const nul = nameRaw.indexOf(0);
      raw.push({
        nameBytes: Buffer.from(nul < 0 ? nameRaw : nameRaw.subarray(0, nul)),
        type: String.fromCharCode(head.readUInt8(p + 11)),
        len: head.readUInt8(p + 16),
        dec: head.readUInt8(p + 17),
      });
    }
    let widths = raw.map((f) => f.len);
    const sum = (ws: number[]): number => ws.reduce((a, b) => a + b, 1);
    // Clipper/FoxPro store the high byte of a long character field's width in the decimals byte.
    if (sum(widths) !== recordBytes) {
      const wide = raw.map((f) => (f.type === 'C' ? f.len + f.dec * 256 : f.len));
      if (sum(wide) === recordBytes) widths = wide;
    }
    if (sum(widths) > recordBytes)
      throw dbfInvalid(file, '字段宽度之和超过记录长度。', { expected: recordBytes, actual: sum(widths) });
    let offset = 1;
    const rawFields = raw.map((f, i) => {
      const length = widths[i] ?? 0;
      const field = {
        nameBytes: f.nameBytes,
        type: f.type,
        length,
        decimals: f.type === 'C' && length !== f.len ? 0 : f.dec,
        offset,
      };
      offset += length;
      return field;
    });
    return { size, recordCount, headerBytes, recordBytes, ldid, rawFields };
  } finally {
    await w.close();
  }
}

/** String-field bytes from the first rows, for encoding detection. */
async function sampleDbfStrings(file: string, h: DbfHeader): Promise<Uint8Array[]> {
  const samples: Uint8Array[] = h.rawFields.map((f) => f.nameBytes);
  const textFields = h.rawFields.filter((f) => f.type === 'C');
  if (!textFields.length) return samples;
  const rows = Math.min(h.recordCount, SAMPLE_MAX_RECORDS, Math.floor(SAMPLE_MAX_BYTES / h.recordBytes));
  const w = await openWindow(file);
  try {
    for (let i = 0; i < rows; i++) {
      const rec = await w.read(h.headerBytes + i * h.recordBytes, h.recordBytes);
      if (!rec) break;
      if (rec[0] === 0x2a) continue;
      for (const f of textFields) {
        const v = trimRight(rec.subarray(f.offset, f.offset + f.length));
        if (v.some((b) => b >= 0x80)) samples.push(Buffer.from(v));
      }
    }
  } finally {
    await w.close();
  }
  return samples;
}

function trimRight(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x20 || b[end - 1] === 0x00)) end--;
  return b.subarray(0, end);
}

/**
 * Opens and validates a polygon Shapefile. Everything that can be checked without reading every
 * record is checked here, so a broken delivery is refused before any import starts.
 */
export async function openShapefile(
  shpPath: string,
  opts: OpenShapefileOptions = {},
): Promise<ShapefileSource> {
  const shp = path.resolve(shpPath);
  try {
    const st = await stat(shp);
    if (!st.isFile()) throw new Error('not a file');
  } catch {
    throw new WeipianError('shp_not_found', `找不到 Shapefile 文件 ${shp}。`, { file: shp });
  }

  // The .shp itself first: an empty or foreign file is the more useful message.
  const { head: shpHead, size: shpSize } = await readHead(shp, HEADER_BYTES);
  const header = parseShpHeader(shpHead, shpSize, shp, '.shp');
  if (header.fileBytes !== shpSize)
    throw new WeipianError(
      'shp_truncated',
      header.fileBytes > shpSize
        ? `${shp} 不完整：文件头记载长度 ${header.fileBytes} 字节，实际只有 ${shpSize} 字节（文件可能在复制或传输中被截断）。`
        : `${shp} 长度与文件头不符：文件头记载 ${header.fileBytes} 字节，实际 ${shpSize} 字节。`,
      { file: shp, expected: header.fileBytes, actual: shpSize },
    );
  if (header.shapeType !== 0 && !POLYGON_TYPES.has(header.shapeType)) {
    const zh = SHAPE_TYPE_CHINESE[header.shapeType];
    throw new WeipianError(
      'geometry_not_polygon',
      zh
        ? `${shp} 是${zh}图层（${shapeTypeName(header.shapeType)}），图斑必须是面图层（Polygon）。`
        : `${shp} 的几何类型代码 ${header.shapeType} 无效，图斑必须是面图层（Polygon）。`,
      {
        file: shp,
        expected: 'Polygon',
        actual: shapeTypeName(header.shapeType),
        shapeType: header.shapeType,
      },
    );
  }

  const sib = await findSiblings(shp);
  if (!sib.shx)
    throw new WeipianError(
      'shp_missing_shx',
      `缺少索引文件：${path.basename(shp, path.extname(shp))}.shx 应与 ${path.basename(shp)} 放在同一目录。`,
      { file: shp, expected: path.basename(shp, path.extname(shp)) + '.shx' },
    );
  if (!sib.dbf)
    throw new WeipianError(
      'shp_missing_dbf',
      `缺少属性表：${path.basename(shp, path.extname(shp))}.dbf 应与 ${path.basename(shp)} 放在同一目录。`,
      { file: shp, expected: path.basename(shp, path.extname(shp)) + '.dbf' },
    );
  const shx = sib.shx;
  const dbf = sib.dbf;

  // .shx: fixed 8-byte entries after the header; its count is the record count.
  const { head: shxHead, size: shxSize } = await readHead(shx, HEADER_BYTES);
  let shxHeader: ShpHeader;
  try {
    shxHeader = parseShpHeader(shxHead, shxSize, shx, '.shx');
  } catch (e) {
    if (e instanceof WeipianError && e.code === 'shp_empty')
      throw new WeipianError('shx_invalid', `索引文件 ${shx} 是空文件或不完整。`, e.details);
    throw e;
  }
  if (shxHeader.fileBytes !== shxSize || (shxSize - HEADER_BYTES) % 8 !== 0)
    throw new WeipianError('shx_invalid', `索引文件 ${shx} 长度与文件头不符，可能已损坏或被截断。`, {
      file: shx,
      expected: shxHeader.fileBytes,
      actual: shxSize,
    });
  if (shxHeader.shapeType !== header.shapeType)
    throw new WeipianError('shx_invalid', `索引文件 ${shx} 的几何类型与 ${path.basename(shp)} 不一致。`, {
      file: shx,
      expected: header.shapeType,
      actual: shxHeader.shapeType,
    });
  const recordCount = (shxSize - HEADER_BYTES) / 8;
  if (recordCount > 0) {
    const { head } = await readHeadAt(shx, shxSize - 8, 8);
    const offset = head.readInt32BE(0) * 2;
    const end = offset + 8 + head.readInt32BE(4) * 2;
    if (offset < HEADER_BYTES || end > shpSize)
      throw new WeipianError(
        'shp_truncated',
        `${shp} 不完整：第 ${recordCount} 条（最后一条）记录应在第 ${end} 字节结束，但文件只有 ${shpSize} 字节。`,
        { file: shp, expected: end, actual: shpSize, recordIndex: recordCount - 1 },
      );
  }

  const dh = await readDbfHeader(dbf);
  const expectedDbf = dh.headerBytes + dh.recordCount * dh.recordBytes;
  if (dh.size < expectedDbf)
    throw new WeipianError(
      'dbf_truncated',
      `属性表 ${dbf} 不完整：${dh.recordCount} 条记录应有 ${expectedDbf} 字节，实际只有 ${dh.size} 字节。`,
      { file: dbf, expected: expectedDbf, actual: dh.size },
    );
  if (dh.recordCount !== recordCount)
    throw new WeipianError(
      'shp_dbf_count_mismatch',
      `几何与属性记录数不一致：${path.basename(shx)} 有 ${recordCount} 条，${path.basename(dbf)} 有 ${dh.recordCount} 条。`,
      { file: dbf, expected: recordCount, actual: dh.recordCount, shx, dbf },
    );

  const cpgText = await readCpg(sib.cpg);
  const encoding = await resolveEncoding({
    option: opts.encoding,
    cpg: cpgText,
    ldid: dh.ldid,
    sample: () => sampleDbfStrings(dbf, dh),
  });
  const decoder = new TextDecoder(encoding.encoding);
  const fields: (DbfField & { offset: number })[] = [];
  const seen = new Set<string>();
  for (const f of dh.rawFields) {
    const name = decoder.decode(f.nameBytes).trim();
    assertNotGarbled(name, { file: dbf, field: name, record: null, encoding });
    if (seen.has(name))
      throw dbfInvalid(dbf, `字段名“${name}”重复。`, { field: name, encoding: encoding.encoding });
    seen.add(name);
    fields.push({ name, type: f.type, length: f.length, decimals: f.decimals, offset: f.offset });
  }

  let prj: string | null = null;
  if (sib.prj) prj = (await readFile(sib.prj, 'utf8')).replace(/^\uFEFF/, '').trim() || null;

  const files: ShapefileFiles = { shp, shx, dbf, prj: sib.prj, cpg: sib.cpg };
  const layout: Layout = {
    files,
    shapeType: header.shapeType,
    recordCount,
    dbf: dh,
    fields,
    encoding,
  };
  return {
    path: shp,
    files,
    encoding,
    prj,
    shapeType: header.shapeType,
    shapeTypeName: shapeTypeName(header.shapeType),
    featureCount: recordCount,
    fields: fields.map(({ name, type, length, decimals }) => ({ name, type, length, decimals })),
    bbox: recordCount > 0 && Object.values(header.bbox).every(Number.isFinite) ? header.bbox : null,
    features: () => readFeatures(layout),
  };
}

async function readHeadAt(file: string, pos: number, len: number): Promise<{ head: Buffer }> {
  const w = await openWindow(file);
  try {
    const b = await w.read(pos, len);
    if (!b) throw new WeipianError('shx_invalid', `索引文件 ${file} 被截断。`, { file });
    return { head: Buffer.from(b) };
  } finally {
    await w.close();
  }
}

interface Layout {
  files: ShapefileFiles;
  shapeType: number;
  recordCount: number;
  dbf: DbfHeader;
  fields: (DbfField & { offset: number })[];
  encoding: ResolvedEncoding;
}

function recordInvalid(file: string, index: number, message: string, details: Record<string, unknown> = {}) {
  return new WeipianError('shp_record_invalid', `${file} 第 ${index + 1} 条记录损坏：${message}`, {
    file,
    recordIndex: index,
    ...details,
  });
}

async function* readFeatures(l: Layout): AsyncGenerator<ShapefileFeature> {
  const shp = await openWindow(l.files.shp, STREAM_CHUNK);
  const shx = await openWindow(l.files.shx, STREAM_CHUNK).catch(async (e) => {
    await shp.close();
    throw e;
  });
  const dbf = await openWindow(l.files.dbf, STREAM_CHUNK).catch(async (e) => {
    await Promise.all([shp.close(), shx.close()]);
    throw e;
  });
  try {
    const decoder = new TextDecoder(l.encoding.encoding);
    const ascii = ASCII_COMPATIBLE.has(l.encoding.encoding);
    const recordBytes = l.dbf.recordBytes;
    for (let i = 0; i < l.recordCount; i++) {
      // Records are read in order, so nearly every one is already in the windows: take it from
      // there without a promise; refill (and check the file's end) only at a window's edge.
      const entryPos = HEADER_BYTES + i * 8;
      let entry = shx.window();
      let eo = shx.offsetOf(entryPos, 8);
      if (eo < 0) {
        const e = await shx.read(entryPos, 8);
        if (!e)
          throw new WeipianError('shx_invalid', `索引文件 ${l.files.shx} 被截断。`, { file: l.files.shx });
        entry = e;
        eo = 0;
      }
      const offset = entry.readInt32BE(eo) * 2;
      const contentBytes = entry.readInt32BE(eo + 4) * 2;
      const recPos = l.dbf.headerBytes + i * recordBytes;
      let rec = dbf.window();
      let ro = dbf.offsetOf(recPos, recordBytes);
      if (ro < 0) {
        const r = await dbf.read(recPos, recordBytes);
        if (!r)
          throw new WeipianError('dbf_truncated', `属性表 ${l.files.dbf} 在第 ${i + 1} 条记录处被截断。`, {
            file: l.files.dbf,
            recordIndex: i,
          });
        rec = r;
        ro = 0;
      }
      // Deleted rows ('*') are skipped as GDAL does; their numbers stay unused.
      if (rec[ro] === 0x2a) continue;
      const attributes = decodeRecord(rec, ro, l, decoder, ascii, i);

      if (offset < HEADER_BYTES || contentBytes < 4)
        throw recordInvalid(l.files.shp, i, '索引中的位置或长度无效。', { offset, contentBytes });
      // Record header (number, length) and content, in one piece.
      let whole = shp.window();
      let so = shp.offsetOf(offset, 8 + contentBytes);
      if (so < 0) {
        const r = await shp.read(offset, 8 + contentBytes);
        if (!r)
          throw new WeipianError('shp_truncated', `${l.files.shp} 在第 ${i + 1} 条记录处被截断。`, {
            file: l.files.shp,
            recordIndex: i,
            expected: offset + 8 + contentBytes,
            actual: shp.size,
          });
        whole = r;
        so = 0;
      }
      if (whole.readInt32BE(so + 4) * 2 !== contentBytes)
        throw recordInvalid(l.files.shp, i, '记录长度与索引文件不一致。', {
          expected: contentBytes,
          actual: whole.readInt32BE(so + 4) * 2,
        });
      const geometry = parseShape(whole.subarray(so + 8, so + 8 + contentBytes), l.shapeType, l.files.shp, i);
      yield { index: i, geometry, attributes };
    }
  } finally {
    await Promise.all([shp.close(), shx.close(), dbf.close()]);
  }
}

/**
 * Encodings whose bytes below 0x80 are ASCII (WHATWG decoders): a text value of such bytes only
 * is its latin1 reading, with no decoder call and nothing that could be garbled.
 */
const ASCII_COMPATIBLE = new Set([
  'utf-8',
  'gbk',
  'gb18030',
  'big5',
  'shift_jis',
  'euc-kr',
  'windows-874',
  'ibm866',
  'koi8-r',
  'windows-1250',
  'windows-1251',
  'windows-1252',
  'windows-1253',
  'windows-1254',
  'windows-1255',
  'windows-1256',
  'windows-1257',
  'windows-1258',
  'iso-8859-2',
  'iso-8859-5',
  'iso-8859-7',
  'iso-8859-15',
]);

function setAttr(o: Record<string, AttributeValue>, k: string, v: AttributeValue): void {
  // A field literally named "__proto__" must become data, not the object's prototype.
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** The record starting at rec[at]. */
function decodeRecord(
  rec: Buffer,
  at: number,
  l: Layout,
  decoder: TextDecoder,
  ascii: boolean,
  index: number,
): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const f of l.fields) {
    const from = at + f.offset;
    const to = from + f.length;
    let v: AttributeValue | undefined;
    if (f.type === 'N' || f.type === 'F') v = fastNumber(rec, from, to);
    else if (f.type === 'C' && ascii) v = fastAsciiText(rec, from, to);
    if (v === undefined) v = decodeValue(rec.subarray(from, to), f, l, decoder, index);
    setAttr(out, f.name, v);
  }
  return out;
}

const SP = 0x20;
const D0 = 0x30;
const D9 = 0x39;

/**
 * A numeric field in the common form (space padding, optional sign, digits, optional fraction and
 * exponent) read without building intermediate strings; undefined hands anything else — NULs,
 * tabs, asterisks, malformed text — to decodeValue, which decides exactly as before.
 */
function fastNumber(b: Buffer, from: number, to: number): number | string | null | undefined {
  let i = from;
  let end = to;
  while (i < end && b[i] === SP) i++;
  while (end > i && b[end - 1] === SP) end--;
  if (i === end) return null;
  const start = i;
  if (b[i] === 0x2d || b[i] === 0x2b) i++;
  let intDigits = 0;
  while (i < end && b[i]! >= D0 && b[i]! <= D9) {
    i++;
    intDigits++;
  }
  if (i === end) {
    if (intDigits === 0) return undefined;
    const s = b.toString('latin1', start, end);
    const n = Number(s);
    // 18-digit codes stored as numbers would silently lose digits as a double: keep the text.
    return Number.isSafeInteger(n) ? n : s;
  }
  let fracDigits = 0;
  if (b[i] === 0x2e) {
    i++;
    while (i < end && b[i]! >= D0 && b[i]! <= D9) {
      i++;
      fracDigits++;
    }
  }
  if (intDigits === 0 && fracDigits === 0) return undefined;
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2d || b[i] === 0x2b)) i++;
    let expDigits = 0;
    while (i < end && b[i]! >= D0 && b[i]! <= D9) {
      i++;
      expDigits++;
    }
    if (expDigits === 0) return undefined;
  }
  if (i !== end) return undefined;
  return Number(b.toString('latin1', start, end));
}

/** A text field of ASCII bytes only (after trailing spaces and NULs); undefined otherwise. */
function fastAsciiText(b: Buffer, from: number, to: number): string | null | undefined {
  let end = to;
  while (end > from && (b[end - 1] === SP || b[end - 1] === 0)) end--;
  if (end === from) return null;
  for (let i = from; i < end; i++) if (b[i]! >= 0x80) return undefined;
  return b.toString('latin1', from, end);
}

function invalidValue(l: Layout, f: DbfField, index: number, text: string): WeipianError {
  return new WeipianError(
    'dbf_invalid_value',
    `属性表 ${l.files.dbf} 第 ${index + 1} 条记录的字段“${f.name}”（类型 ${f.type}）取值“${text}”无法识别。`,
    { file: l.files.dbf, field: f.name, recordIndex: index, type: f.type, value: text },
  );
}

function decodeValue(
  raw: Buffer,
  f: DbfField,
  l: Layout,
  decoder: TextDecoder,
  index: number,
): AttributeValue {
  switch (f.type) {
    case 'N':
    case 'F': {
      const s = raw.toString('latin1').replace(/\0/g, '').trim();
      // Empty means null; asterisks are dBase's "value did not fit".
      if (s === '' || /^\*+$/.test(s)) return null;
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw invalidValue(l, f, index, s);
      const n = Number(s);
      // 18-digit codes stored as numbers would silently lose digits as a double: keep the text.
      if (/^[-+]?\d+$/.test(s) && !Number.isSafeInteger(n)) return s;
      return n;
    }
    case 'D': {
      const s = raw.toString('latin1').replace(/\0/g, '').trim();
      if (s === '' || /^0+$/.test(s)) return null;
      const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
      if (!m) throw invalidValue(l, f, index, s);
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const date = new Date(Date.UTC(y, mo - 1, d));
      if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d)
        throw invalidValue(l, f, index, s);
      return date;
    }
    case 'L': {
      const c = raw.toString('latin1').trim();
      if (/^[TtYy]$/.test(c)) return true;
      if (/^[FfNn]$/.test(c)) return false;
      return null;
    }
    default: {
      // C and anything unusual (memo pointers, …) are text.
      const bytes = trimRight(raw);
      if (bytes.length === 0) return null;
      const s = decoder.decode(bytes);
      assertNotGarbled(s, { file: l.files.dbf, field: f.name, record: index, encoding: l.encoding });
      return s;
    }
  }
}

function parseShape(buf: Buffer, fileType: number, file: string, index: number): Areal | null {
  const type = buf.readInt32LE(0);
  if (type === 0) return null;
  if (type !== fileType)
    throw recordInvalid(
      file,
      index,
      `记录的几何类型 ${shapeTypeName(type)} 与文件头 ${shapeTypeName(fileType)} 不一致。`,
      {
        expected: fileType,
        actual: type,
      },
    );
  if (buf.length < 44) throw recordInvalid(file, index, '记录太短。', { actual: buf.length });
  const numParts = buf.readInt32LE(36);
  const numPoints = buf.readInt32LE(40);
  const pointsAt = 44 + 4 * numParts;
  if (numParts < 0 || numPoints < 0 || pointsAt + 16 * numPoints > buf.length)
    throw recordInvalid(file, index, '部件数或点数超出记录长度。', {
      numParts,
      numPoints,
      contentBytes: buf.length,
    });
  if (numParts === 0 || numPoints === 0) return null;
  const starts: number[] = [];
  for (let p = 0; p < numParts; p++) {
    const s = buf.readInt32LE(44 + 4 * p);
    if (s < 0 || s >= numPoints || (p > 0 && s <= (starts[p - 1] ?? -1)) || (p === 0 && s !== 0))
      throw recordInvalid(file, index, '部件起点索引无效。', { part: p, start: s });
    starts.push(s);
  }
  const rings: Ring[] = [];
  for (let p = 0; p < numParts; p++) {
    const from = starts[p] ?? 0;
    const to = starts[p + 1] ?? numPoints;
    const ring: Ring = [];
    for (let k = from; k < to; k++) {
      const at = pointsAt + 16 * k;
      const x = buf.readDoubleLE(at);
      const y = buf.readDoubleLE(at + 8);
      if (!Number.isFinite(x) || !Number.isFinite(y))
        throw recordInvalid(file, index, '坐标不是有限数值。', { point: k });
      ring.push([x, y]);
    }
    rings.push(ring);
  }
  return assemblePolygon(rings);
}

// ---- ring assembly ---------------------------------------------------------------------------

/** Shoelace sum; positive for counter-clockwise rings in a y-up system. */
function signedArea(ring: Ring): number {
  let s = 0;
  for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) {
    const a = ring[j] as Position;
    const b = ring[i] as Position;
    s += (a[0] - b[0]) * (a[1] + b[1]);
  }
  return s / 2;
}

/** 1 inside, -1 outside, 0 on the boundary. */
function pointInRing(pt: Position, ring: Ring): number {
  const [x, y] = pt;
  let inside = false;
  for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) {
    const [xi, yi] = ring[i] as Position;
    const [xj, yj] = ring[j] as Position;
    const cross = (xj - xi) * (y - yi) - (yj - yi) * (x - xi);
    if (
      cross === 0 &&
      Math.min(xi, xj) <= x &&
      x <= Math.max(xi, xj) &&
      Math.min(yi, yj) <= y &&
      y <= Math.max(yi, yj)
    )
      return 0;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside ? 1 : -1;
}

interface RingInfo {
  ring: Ring;
  area: number;
  bbox: BBox;
}

function ringBBox(ring: Ring): BBox {
  let minx = Infinity;
  let miny = Infinity;
  let maxx = -Infinity;
  let maxy = -Infinity;
  for (const [x, y] of ring) {
    if (x < minx) minx = x;
    if (y < miny) miny = y;
    if (x > maxx) maxx = x;
    if (y > maxy) maxy = y;
  }
  return { minx, miny, maxx, maxy };
}

/** Whether `inner` lies inside `outer`, decided by the first vertex not on `outer`'s boundary. */
function ringInside(inner: RingInfo, outer: RingInfo): boolean {
  const a = inner.bbox;
  const b = outer.bbox;
  if (a.minx < b.minx || a.miny < b.miny || a.maxx > b.maxx || a.maxy > b.maxy) return false;
  for (const p of inner.ring) {
    const c = pointInRing(p, outer.ring);
    if (c !== 0) return c > 0;
  }
  // Every vertex on the boundary: try edge midpoints, then accept (the boxes already nest).
  for (let i = 1; i < inner.ring.length; i++) {
    const p = inner.ring[i - 1] as Position;
    const q = inner.ring[i] as Position;
    const c = pointInRing([(p[0] + q[0]) / 2, (p[1] + q[1]) / 2], outer.ring);
    if (c !== 0) return c > 0;
  }
  return true;
}

function closeRing(ring: Ring): Ring {
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (!first || !last) return ring;
  return first[0] === last[0] && first[1] === last[1] ? ring : [...ring, [first[0], first[1]]];
}

function oriented(ring: Ring, counterClockwise: boolean): Ring {
  return signedArea(ring) > 0 === counterClockwise ? ring : [...ring].reverse();
}

/**
 * Builds a Polygon or MultiPolygon from Shapefile rings (outer rings clockwise, holes
 * counter-clockwise). Each hole goes to the smallest outer ring that contains it, so holes
 * listed after the wrong outer and islands inside holes come out right. A hole inside no outer
 * ring becomes an outer ring itself (its writer had the orientation wrong); a record with no
 * clockwise ring at all is organised by nesting depth instead. Rings that are not closed are
 * closed; rings with fewer than four positions are dropped. A ring whose signed area is zero but
 * which has extent (a bowtie: its two lobes cancel) is kept as an outer ring, so that validation
 * sees it and repairs or refuses it by name — never loses it silently.
 * Output follows RFC 7946: outer rings counter-clockwise, holes clockwise.
 */
export function assemblePolygon(input: Ring[]): Areal | null {
  const rings: RingInfo[] = [];
  for (const r of input) {
    const ring = closeRing(r);
    if (ring.length < 4) continue;
    const area = signedArea(ring);
    rings.push({ ring, area, bbox: ringBBox(ring) });
  }
  if (!rings.length) return null;

  let outers = rings.filter((r) => r.area <= 0);
  let holes = rings.filter((r) => r.area > 0);
  if (!outers.length) {
    // No clockwise ring: orientation carries no information, so use nesting depth.
    const sorted = [...rings].sort((a, b) => Math.abs(b.area) - Math.abs(a.area));
    const depth = new Map<RingInfo, number>();
    for (const r of sorted) {
      let parent: RingInfo | undefined;
      for (const c of sorted) {
        if (c === r || !depth.has(c) || !ringInside(r, c)) continue;
        if (!parent || Math.abs(c.area) < Math.abs(parent.area)) parent = c;
      }
      depth.set(r, parent ? (depth.get(parent) ?? 0) + 1 : 0);
    }
    outers = sorted.filter((r) => (depth.get(r) ?? 0) % 2 === 0);
    holes = sorted.filter((r) => (depth.get(r) ?? 0) % 2 === 1);
  }

  const polys = new Map<RingInfo, Ring[]>(outers.map((o) => [o, [oriented(o.ring, true)]]));
  for (const h of holes) {
    let best: RingInfo | undefined;
    for (const o of outers) {
      if (Math.abs(o.area) <= Math.abs(h.area) || !ringInside(h, o)) continue;
      if (!best || Math.abs(o.area) < Math.abs(best.area)) best = o;
    }
    if (best) polys.get(best)?.push(oriented(h.ring, false));
    else polys.set(h, [oriented(h.ring, true)]);
  }
  const coords: PolygonCoords[] = [...polys.values()];
  if (coords.length === 1) return { type: 'Polygon', coordinates: coords[0] as PolygonCoords };
  return { type: 'MultiPolygon', coordinates: coords };
}
