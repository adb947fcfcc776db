// Mapbox Vector Tile (spec 2.1) encoding straight from geojson-vt's stored tiles: their geometry is
// already in tile coordinates, in typed arrays, with polygon rings wound as the spec wants. This
// writes the same bytes as vt-pbf's fromGeojsonVt (field order, value types, key and value tables
// in order of first use) without turning every vertex into an object first — a first-time tile of
// land-use parcels spent most of its time there.
import type { RawFeature } from 'geojson-vt';

/** A growable protobuf writer: only what MVT needs (varints, strings, doubles, nested messages). */
class Writer {
  buf = new Uint8Array(16 * 1024);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  varint(v: number): void {
    this.room(10);
    if (v >= 0 && v <= 0xfffffff) {
      while (v >= 0x80) {
        this.buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else if (v > 0) {
      // Beyond 28 bits (e.g. 13-digit parcel numbers): by division, exact below 2^53.
      while (v >= 0x80) {
        this.buf[this.pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    } else {
      // Negative: 64-bit two's complement, as protobuf writes an int64.
      let big = BigInt.asUintN(64, BigInt(v));
      while (big >= 0x80n) {
        this.buf[this.pos++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      v = Number(big);
    }
    this.buf[this.pos++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  string(field: number, s: string): void {
    this.tag(field, 2);
    const bytes = Buffer.from(s, 'utf8');
    this.varint(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.room(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).setFloat64(0, v, true);
    this.pos += 8;
  }

  /** A length-delimited field whose content `write` appends; the length is put in front after. */
  message(field: number, write: () => void): void {
    this.tag(field, 2);
    const start = this.pos;
    write();
    const len = this.pos - start;
    let lenBytes = 1;
    for (let l = len; l >= 0x80; l >>>= 7) lenBytes++;
    this.room(lenBytes);
    this.buf.copyWithin(start + lenBytes, start, this.pos);
    const end = this.pos + lenBytes;
    this.pos = start;
    this.varint(len);
    this.pos = end;
  }
}

const zigzag = (n: number) => (n << 1) ^ (n >> 31);
const command = (cmd: number, count: number) => (count << 3) + (cmd & 7);

/** Writes one ring or point list from a flat [x, y, x, y, …] array; returns the cursor. */
function writeRing(w: Writer, flat: ArrayLike<number>, type: number, at: [number, number]): void {
  const n = flat.length / 2;
  w.varint(command(1, type === 1 ? n : 1)); // MoveTo
  // A polygon ring's closing vertex is not written (ClosePath stands for it).
  const count = type === 3 ? n - 1 : n;
  for (let i = 0; i < count; i++) {
    if (i === 1 && type !== 1) w.varint(command(2, count - 1)); // LineTo
    const x = flat[2 * i]!;
    const y = flat[2 * i + 1]!;
    w.varint(zigzag(x - at[0]));
    w.varint(zigzag(y - at[1]));
    at[0] = x;
    at[1] = y;
  }
  if (type === 3) w.varint(command(7, 1)); // ClosePath
}

/**
 * One layer of features from geojson-vt's getTileRaw, encoded as a tile. Properties that are null
 * are left out; objects and arrays are written as JSON text (as vt-pbf does).
 */
export function encodeMvt(
  layerName: string,
  features: readonly RawFeature[],
  opts: { version?: number; extent?: number } = {},
): Uint8Array {
  const w = new Writer();
  w.message(3, () => {
    w.tag(15, 0);
    w.varint(opts.version ?? 1);
    w.string(1, layerName);
    w.tag(5, 0);
    w.varint(opts.extent ?? 4096);
    const keys: string[] = [];
    const keyIndex = new Map<string, number>();
    const values: (string | number | boolean)[] = [];
    const valueIndex = new Map<string, number>();
    for (const f of features) {
      w.message(2, () => {
        if (typeof f.id === 'number') {
          w.tag(1, 0);
          w.varint(f.id);
        }
        w.message(2, () => {
          for (const key in f.tags ?? {}) {
            let value = (f.tags as Record<string, unknown>)[key];
            if (value === null) continue;
            let k = keyIndex.get(key);
            if (k === undefined) {
              keyIndex.set(key, (k = keys.length));
              keys.push(key);
            }
            w.varint(k);
            const type = typeof value;
            if (type !== 'string' && type !== 'boolean' && type !== 'number') value = JSON.stringify(value);
            const vk = `${type}:${String(value)}`;
            let v = valueIndex.get(vk);
            if (v === undefined) {
              valueIndex.set(vk, (v = values.length));
              values.push(value as string | number | boolean);
            }
            w.varint(v);
          }
        });
        const type = f.type === 4 ? 1 : f.type;
        w.tag(3, 0);
        w.varint(type);
        w.message(4, () => {
          const at: [number, number] = [0, 0];
          if (f.type === 4) writeRing(w, [f.x, f.y], 1, at);
          else if (f.type === 1) writeRing(w, f.geometry, 1, at);
          else for (const ring of f.geometry) writeRing(w, ring, f.type, at);
        });
      });
    }
    for (const k of keys) w.string(3, k);
    for (const v of values)
      w.message(4, () => {
        if (typeof v === 'string') w.string(1, v);
        else if (typeof v === 'boolean') {
          w.tag(7, 0);
          w.varint(v ? 1 : 0);
        } else if (v % 1 !== 0) w.double(3, v);
        else if (v < 0) {
          w.tag(6, 0);
          w.varint(-v * 2 - 1); // zigzag of a 64-bit integer
        } else {
          w.tag(5, 0);
          w.varint(v);
        }
      });
  });
  return w.buf.slice(0, w.pos);
}
