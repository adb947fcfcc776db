// Bulk writes shared by the query modules: multi-row INSERT, and PostgreSQL's binary COPY format
// for large loads (a 100,000-feature layer). COPY skips SQL parsing, parameter binding and text
// parsing of every value; on PGlite it cut the CPU of loading reference features by about 40 %
// against 250-row INSERTs (bench/import.ts, README Performance).
import type { CopyOptions, Queryable } from './db.ts';

/** Multi-row INSERT in chunks that stay below PostgreSQL's 65,535-parameter limit. */
export async function insertRows(
  q: Queryable,
  table: string,
  columns: string[],
  rows: unknown[][],
): Promise<void> {
  const perChunk = Math.max(1, Math.floor(60_000 / columns.length));
  for (let start = 0; start < rows.length; start += perChunk) {
    const chunk = rows.slice(start, start + perChunk);
    const params: unknown[] = [];
    const tuples = chunk.map((row) => {
      const ph = row.map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      return `(${ph.join(', ')})`;
    });
    await q.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}

/** Column types the binary COPY writer knows; json travels as its text, as json_recv expects. */
export type CopyType = 'int4' | 'float8' | 'text' | 'json' | 'bytea';

export interface CopyColumn {
  name: string;
  type: CopyType;
}

// "PGCOPY\n\377\r\n\0", then int32 flags (0) and int32 header-extension length (0).
const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const HEADER_BYTES = 19;

/**
 * Writes rows in PostgreSQL's binary COPY format into one growing buffer: per row an int16 field
 * count, per field an int32 byte length (−1 for NULL) and the value in network byte order. The
 * caller writes each row's fields in column order (row(), then one call per field).
 */
export class CopyWriter {
  private buf: Uint8Array;
  private view: DataView;
  private o = HEADER_BYTES;
  private readonly utf8 = new TextEncoder();
  /** Rows written so far. */
  rows = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = new Uint8Array(Math.max(initialBytes, 64));
    this.view = new DataView(this.buf.buffer);
    this.buf.set(SIGNATURE, 0);
  }

  /** Bytes written so far (header included, trailer not). */
  get byteLength(): number {
    return this.o;
  }

  private ensure(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.o + n));
    next.set(this.buf.subarray(0, this.o));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  row(fields: number): this {
    this.ensure(2);
    this.view.setInt16(this.o, fields);
    this.o += 2;
    this.rows++;
    return this;
  }

  null(): this {
    this.ensure(4);
    this.view.setInt32(this.o, -1);
    this.o += 4;
    return this;
  }

  int4(v: number): this {
    this.ensure(8);
    this.view.setInt32(this.o, 4);
    this.view.setInt32(this.o + 4, v);
    this.o += 8;
    return this;
  }

  float8(v: number): this {
    this.ensure(12);
    this.view.setInt32(this.o, 8);
    this.view.setFloat64(this.o + 4, v);
    this.o += 12;
    return this;
  }

  /** text or json; null writes NULL. */
  text(s: string | null): this {
    if (s === null) return this.null();
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    this.ensure(4 + 3 * s.length);
    const { written } = this.utf8.encodeInto(s, this.buf.subarray(this.o + 4));
    this.view.setInt32(this.o, written);
    this.o += 4 + written;
    return this;
  }

  bytea(b: Uint8Array | null): this {
    if (b === null) return this.null();
    this.ensure(4 + b.length);
    this.view.setInt32(this.o, b.length);
    this.buf.set(b, this.o + 4);
    this.o += 4 + b.length;
    return this;
  }

  /**
   * A bytea of exactly `size` bytes written in place by `write(target, offset)` (e.g. writeWkb
   * straight into the buffer, without an intermediate array).
   */
  byteaInPlace(size: number, write: (target: Uint8Array, offset: number) => void): this {
    this.ensure(4 + size);
    this.view.setInt32(this.o, size);
    write(this.buf, this.o + 4);
    this.o += 4 + size;
    return this;
  }

  /** The complete COPY data (header, rows, trailer). The writer must not be used afterwards. */
  finish(): Uint8Array {
    this.ensure(2);
    this.view.setInt16(this.o, -1);
    this.o += 2;
    return this.buf.subarray(0, this.o);
  }
}

function copyInvalid(reason: string): Error {
  return new Error(`binary COPY data is malformed: ${reason}`);
}

/** Reads binary COPY data back into rows (bytea as Uint8Array): the INSERT fallback, and tests. */
export function decodeCopyBinary(data: Uint8Array, types: readonly CopyType[]): unknown[][] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < HEADER_BYTES + 2 || SIGNATURE.some((b, i) => data[i] !== b))
    throw copyInvalid('no PGCOPY signature');
  let o = HEADER_BYTES;
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const rows: unknown[][] = [];
  for (;;) {
    if (o + 2 > data.length) throw copyInvalid('truncated');
    const n = view.getInt16(o);
    o += 2;
    if (n === -1) break;
    if (n !== types.length) throw copyInvalid(`row of ${n} fields, expected ${types.length}`);
    const row: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      if (o + 4 > data.length) throw copyInvalid('truncated');
      const len = view.getInt32(o);
      o += 4;
      if (len === -1) {
        row[i] = null;
        continue;
      }
      if (len < 0 || o + len > data.length) throw copyInvalid('field length');
      const t = types[i]!;
      if (t === 'int4') row[i] = view.getInt32(o);
      else if (t === 'float8') row[i] = view.getFloat64(o);
      else if (t === 'bytea') row[i] = data.slice(o, o + len);
      else row[i] = utf8.decode(data.subarray(o, o + len));
      o += len;
    }
    rows.push(row);
  }
  if (o !== data.length) throw copyInvalid('bytes after the trailer');
  return rows;
}

/**
 * Sets int4 column `column` of every row of binary COPY data to `value`, in place: a reader thread
 * encodes a layer's rows before the layer has its id (jobs/layer-worker.ts).
 */
export function setInt4Column(data: Uint8Array, column: number, value: number): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let o = HEADER_BYTES;
  for (;;) {
    const n = view.getInt16(o);
    o += 2;
    if (n === -1) return;
    if (column >= n) throw copyInvalid(`row of ${n} fields has no column ${column}`);
    for (let i = 0; i < n; i++) {
      const len = view.getInt32(o);
      o += 4;
      if (i === column) {
        if (len !== 4) throw copyInvalid(`column ${column} is not int4`);
        view.setInt32(o, value);
      }
      if (len > 0) o += len;
    }
  }
}

/**
 * Loads binary COPY data (CopyWriter) into table: by COPY when the connection offers it, else
 * (a wrapped Queryable, e.g. a test's fault injector) by the equivalent multi-row INSERTs.
 */
export async function copyRows(
  q: Queryable,
  table: string,
  columns: readonly CopyColumn[],
  data: Uint8Array,
  opts?: CopyOptions,
): Promise<void> {
  const names = columns.map((c) => c.name);
  if (q.copyBinary) return q.copyBinary(table, names, data, opts);
  const rows = decodeCopyBinary(
    data,
    columns.map((c) => c.type),
  );
  await insertRows(q, table, names, rows);
}

/** The COPY statement for binary data from `source` (STDIN on a server, '/dev/blob' on PGlite). */
export function copyStatement(table: string, columns: readonly string[], source: string): string {
  return `COPY ${table} (${columns.join(', ')}) FROM ${source} WITH (FORMAT binary)`;
}
