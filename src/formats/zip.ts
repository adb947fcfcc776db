// Safe extraction of user-supplied ZIP archives (deliveries usually arrive zipped, often made on
// Chinese Windows with GBK entry names). Every entry is read and checked from the central
// directory before the first byte is written; inflated bytes are counted as they stream, since the
// sizes an archive declares are the attacker's to choose.

import { createWriteStream } from 'node:fs';
import { mkdir, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { WeipianError } from '../domain/errors.ts';

export interface ZipLimits {
  /** Refuse once the inflated bytes of all entries together pass this. */
  maxTotalBytes: number;
  /** Refuse archives with more entries than this. */
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxTotalBytes: 4 * 1024 ** 3, maxEntries: 20000 };

const FLAG_ENCRYPTED = 0x0001;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_UTF8 = 0x0800;
const UNICODE_PATH_EXTRA = 0x7075;

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE), as used by ZIP. */
export function crc32(buf: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of buf) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function tryDecode(label: string, bytes: Uint8Array): string | null {
  try {
    return new TextDecoder(label, { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

const isAscii = (b: Uint8Array): boolean => b.every((c) => c < 0x80);

/**
 * Chooses one legacy encoding for all entry names that lack the UTF-8 flag, so that a folder
 * name decodes the same way in every entry. UTF-8 wins only when every such name is valid UTF-8
 * (macOS and 7-Zip write UTF-8 without the flag; GBK text is practically never valid UTF-8, while
 * UTF-8 Chinese is often valid GBK); otherwise GBK/CP936, the Chinese Windows default.
 */
export function chooseLegacyNameEncoding(names: Iterable<Uint8Array>): 'utf-8' | 'gbk' {
  for (const n of names) if (!isAscii(n) && tryDecode('utf-8', n) === null) return 'gbk';
  return 'utf-8';
}

interface RawEntry {
  entry: yauzl.Entry;
  raw: Buffer;
}

/** Info-ZIP Unicode Path extra field: a UTF-8 name, valid only while its CRC matches the raw name. */
function unicodePathExtra(e: yauzl.Entry, raw: Buffer): string | null {
  for (const f of e.extraFields ?? []) {
    if (f.id !== UNICODE_PATH_EXTRA || f.data.length < 5 || f.data[0] !== 1) continue;
    if (f.data.readUInt32LE(1) !== crc32(raw)) continue;
    return tryDecode('utf-8', f.data.subarray(5));
  }
  return null;
}

export function decodeEntryName(
  raw: Buffer,
  flags: number,
  legacy: 'utf-8' | 'gbk',
  e?: yauzl.Entry,
): string {
  if (flags & FLAG_UTF8) return tryDecode('utf-8', raw) ?? new TextDecoder('gbk').decode(raw);
  const extra = e ? unicodePathExtra(e, raw) : null;
  if (extra !== null) return extra;
  return tryDecode(legacy, raw) ?? tryDecode('utf-8', raw) ?? new TextDecoder('gbk').decode(raw);
}

function unsafe(name: string, reason: string): WeipianError {
  return new WeipianError(
    'zip_unsafe_path',
    `压缩包中的条目“${name}”${reason}，已拒绝解压（未写入任何文件）。`,
    {
      entry: name,
      reason,
    },
  );
}

/**
 * The path segments an entry may be written to, or a 'zip_unsafe_path' error. Backslashes are
 * treated as separators (old Windows zippers use them), so "..\x" is caught like "../x".
 */
export function safeEntrySegments(name: string): string[] {
  if (name.includes('\0')) throw unsafe(name, '的名称包含空字符');
  const p = name.replace(/\\/g, '/');
  if (p.startsWith('/')) throw unsafe(name, '使用了绝对路径');
  if (/^[A-Za-z]:/.test(p)) throw unsafe(name, '带有盘符');
  const segs = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.some((s) => s === '..')) throw unsafe(name, '含有“..”，会写到目标目录之外');
  return segs;
}

function isSymlink(e: yauzl.Entry): boolean {
  const madeByUnix = e.versionMadeBy >> 8 === 3;
  return madeByUnix && ((e.externalFileAttributes >>> 16) & 0o170000) === 0o120000;
}

function invalidZip(zipPath: string, cause: unknown): WeipianError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new WeipianError('zip_invalid', `${zipPath} 不是有效的 ZIP 压缩包或已损坏（${msg}）。`, {
    file: zipPath,
    cause: msg,
  });
}

function openZip(zipPath: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(
      zipPath,
      { lazyEntries: true, decodeStrings: false, autoClose: false, validateEntrySizes: true },
      (err, zf) => (err || !zf ? reject(invalidZip(zipPath, err)) : resolve(zf)),
    );
  });
}

function readAllEntries(zf: yauzl.ZipFile, zipPath: string, limits: ZipLimits): Promise<RawEntry[]> {
  return new Promise((resolve, reject) => {
    const out: RawEntry[] = [];
    const tooMany = (n: number) =>
      new WeipianError(
        'zip_too_many_entries',
        `压缩包 ${zipPath} 的条目超过 ${limits.maxEntries} 个，已拒绝。`,
        {
          file: zipPath,
          expected: limits.maxEntries,
          actual: n,
        },
      );
    if (zf.entryCount > limits.maxEntries) return reject(tooMany(zf.entryCount));
    zf.on('entry', (e: yauzl.Entry) => {
      // decodeStrings:false makes fileName the raw bytes, whatever the typings say.
      const raw = e.fileName as unknown as Buffer;
      out.push({ entry: e, raw: Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)) });
      if (out.length > limits.maxEntries) return reject(tooMany(out.length));
      zf.readEntry();
    });
    zf.on('end', () => resolve(out));
    zf.on('error', (err: unknown) => reject(err instanceof WeipianError ? err : invalidZip(zipPath, err)));
    zf.readEntry();
  });
}

interface PlannedEntry {
  name: string;
  segments: string[];
  directory: boolean;
  entry: yauzl.Entry;
}

function plan(entries: RawEntry[], zipPath: string): PlannedEntry[] {
  const legacy = chooseLegacyNameEncoding(
    entries.filter((r) => !(r.entry.generalPurposeBitFlag & FLAG_UTF8)).map((r) => r.raw),
  );
  const planned: PlannedEntry[] = [];
  const targets = new Map<string, string>();
  const dirs = new Set<string>();
  for (const { entry, raw } of entries) {
    const name = decodeEntryName(raw, entry.generalPurposeBitFlag, legacy, entry);
    const segments = safeEntrySegments(name);
    if (isSymlink(entry)) throw unsafe(name, '是符号链接');
    const directory = /[/\\]$/.test(name);
    if (!directory) {
      if (entry.generalPurposeBitFlag & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))
        throw new WeipianError('zip_encrypted', `压缩包中的“${name}”已加密，请提供未加密的压缩包。`, {
          file: zipPath,
          entry: name,
        });
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)
        throw new WeipianError(
          'zip_unsupported',
          `压缩包中的“${name}”使用了不支持的压缩方式（${entry.compressionMethod}），请用普通 ZIP（Deflate）重新压缩。`,
          { file: zipPath, entry: name, compressionMethod: entry.compressionMethod },
        );
      if (segments.length === 0) throw unsafe(name, '没有文件名');
      // Case-folded, so two entries cannot land on one file on a case-insensitive disk.
      const key = segments.join('/').normalize('NFC').toLowerCase();
      const prev = targets.get(key);
      if (prev !== undefined) throw unsafe(name, `与“${prev}”指向同一文件`);
      targets.set(key, name);
    }
    const upto = directory ? segments.length : segments.length - 1;
    for (let i = 1; i <= upto; i++) dirs.add(segments.slice(0, i).join('/').normalize('NFC').toLowerCase());
    planned.push({ name, segments, directory, entry });
  }
  // A file and a folder of the same name cannot both be extracted.
  for (const [key, name] of targets) if (dirs.has(key)) throw unsafe(name, '与压缩包中的文件夹同名');
  return planned;
}

/** Counts bytes across all entries and fails the stream the moment the total passes the limit. */
function byteCounter(state: { total: number }, limits: ZipLimits, zipPath: string, name: string): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      state.total += chunk.length;
      if (state.total > limits.maxTotalBytes)
        return cb(
          new WeipianError(
            'zip_too_large',
            `压缩包 ${zipPath} 解压后超过 ${limits.maxTotalBytes} 字节的上限（在“${name}”处停止），已拒绝并删除已解出的文件。`,
            { file: zipPath, entry: name, limit: limits.maxTotalBytes },
          ),
        );
      cb(null, chunk);
    },
  });
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Extracts every entry of `zipPath` under `destDir` and returns the absolute paths of the files
 * written. On any failure everything this call created is removed again before the error is
 * thrown. Existing files are never overwritten.
 */
export async function extractZipSafely(
  zipPath: string,
  destDir: string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<string[]> {
  const dest = path.resolve(destDir);
  const zf = await openZip(zipPath);
  const createdDirs: string[] = [];
  const written: string[] = [];
  try {
    const planned = plan(await readAllEntries(zf, zipPath, limits), zipPath);

    const ensureDir = async (segs: string[]): Promise<string> => {
      let dir = dest;
      for (const s of [undefined, ...segs]) {
        if (s !== undefined) dir = path.join(dir, s);
        if (await exists(dir)) continue;
        await mkdir(dir);
        createdDirs.push(dir);
      }
      return dir;
    };
    const state = { total: 0 };
    for (const p of planned) {
      if (p.directory) {
        await ensureDir(p.segments);
        continue;
      }
      const dir = await ensureDir(p.segments.slice(0, -1));
      const target = path.join(dir, p.segments[p.segments.length - 1] as string);
      // Defence in depth: the segment check already rules this out.
      const rel = path.relative(dest, target);
      if (rel === '..' || rel.startsWith('..' + path.sep) || path.isAbsolute(rel))
        throw unsafe(p.name, '会写到目标目录之外');
      let input: Readable;
      try {
        input = await zf.openReadStreamPromise(p.entry);
      } catch (e) {
        throw invalidZip(zipPath, e);
      }
      written.push(target);
      try {
        await pipeline(
          input,
          byteCounter(state, limits, zipPath, p.name),
          createWriteStream(target, { flags: 'wx' }),
        );
      } catch (e) {
        if (e instanceof WeipianError) throw e;
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          written.pop();
          throw unsafe(p.name, '与目标目录中已有的文件重名');
        }
        throw invalidZip(zipPath, e);
      }
    }
    return written;
  } catch (e) {
    await Promise.all(written.map((f) => rm(f, { force: true })));
    for (const d of createdDirs.reverse()) await rmdir(d).catch(() => undefined);
    throw e;
  } finally {
    zf.close();
  }
}
