// Seeded pseudo-random numbers for the demo district. Everything the generator draws comes from
// here, never from Math.random, so one seed always gives the same district. sfc32 (Chris Doty-Humphrey's
// Small Fast Counting generator, 128-bit state) seeded through splitmix32; fork(label) derives an
// independent stream from the seed and a name, so one part of the generator (e.g. the patches) can
// change how much it draws without moving everything generated after it.

/** FNV-1a over the UTF-16 code units of s: a stable 32-bit hash for stream names. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** splitmix32 step: a well-mixed 32-bit value from a counter-like state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** seed: any integer 0 … 2^32−1; path: the stream's name (empty for the root stream). */
  constructor(
    readonly seed: number,
    readonly path = '',
  ) {
    const st = { s: (seed ^ hashString(path)) | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** An independent stream named `label`, the same whatever this stream has drawn so far. */
  fork(label: string): Rng {
    return new Rng(this.seed, this.path ? `${this.path}/${label}` : label);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [a, b). */
  range(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [a, b] (both included). */
  intIn(a: number, b: number): number {
    return a + this.int(b - a + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** One of the items, with probability proportional to its weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.next() * total;
    for (const [v, w] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return items[items.length - 1]![0];
  }

  /** Standard normal deviate (Box–Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log(0) never happens
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

/** 32-bit integer hash of a lattice point and a seed (for value noise). */
function latticeHash(ix: number, iy: number, seed: number): number {
  let h = Math.imul(ix | 0, 0x27d4eb2d) ^ Math.imul(iy | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Smooth value noise in [0, 1): random values on a square lattice of spacing `scale` (metres),
 * blended with a smoothstep; `octaves` finer layers at half the spacing and half the weight.
 */
export function valueNoise(seed: number, scale: number, octaves = 3): (x: number, y: number) => number {
  const s = seed >>> 0;
  return (x, y) => {
    let sum = 0;
    let norm = 0;
    let amp = 1;
    let sc = scale;
    for (let o = 0; o < octaves; o++) {
      const fx = x / sc;
      const fy = y / sc;
      const ix = Math.floor(fx);
      const iy = Math.floor(fy);
      const tx = fx - ix;
      const ty = fy - iy;
      const sx = tx * tx * (3 - 2 * tx);
      const sy = ty * ty * (3 - 2 * ty);
      const os = (s + o * 7919) | 0;
      const v00 = latticeHash(ix, iy, os) / 4294967296;
      const v10 = latticeHash(ix + 1, iy, os) / 4294967296;
      const v01 = latticeHash(ix, iy + 1, os) / 4294967296;
      const v11 = latticeHash(ix + 1, iy + 1, os) / 4294967296;
      const a = v00 + (v10 - v00) * sx;
      const b = v01 + (v11 - v01) * sx;
      sum += amp * (a + (b - a) * sy);
      norm += amp;
      amp /= 2;
      sc /= 2;
    }
    return sum / norm;
  };
}
