// Pictures: a full decode (a file that passes the structure walk but does not decode is damaged),
// a perceptual hash and a thumbnail. The perceptual hash (pHash: the signs of the 8×8 lowest
// frequencies of the DCT of a 32×32 grey image against their median) stays within a few bits when
// a photo is re-encoded, resized or slightly recoloured, and differs in about half of its 64 bits
// between unrelated photos — so a re-saved copy of another patch's photo is found even though its
// SHA-256 differs.
import sharp from 'sharp';
import { WeipianError } from '../domain/errors.ts';

export interface ImageFacts {
  width: number;
  height: number;
  /** 64-bit perceptual hash, 16 hex digits. */
  phash: string;
  /** JPEG thumbnail (longest side 320 px, upright, no metadata). */
  thumbnail: Buffer;
}

const N = 32;
const K = 8;

// cos((2x+1)uπ/2N) for the K lowest frequencies, computed once.
const COS: number[][] = Array.from({ length: K }, (_, u) =>
  Array.from({ length: N }, (_, x) => Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N))),
);

/** pHash of a 32×32 grey image given as N*N bytes, row by row. */
export function phashOfGrey(pixels: Uint8Array): string {
  if (pixels.length !== N * N) throw new Error(`phash needs ${N * N} grey pixels, got ${pixels.length}`);
  const coef: number[] = [];
  for (let u = 0; u < K; u++)
    for (let v = 0; v < K; v++) {
      let s = 0;
      for (let y = 0; y < N; y++) {
        const cy = COS[u]![y]!;
        for (let x = 0; x < N; x++) s += pixels[y * N + x]! * cy * COS[v]![x]!;
      }
      // Rounded so that zero stays zero (a flat picture) and hashes do not depend on summation order.
      coef.push(Math.round(s * 1e6) / 1e6);
    }
  // The DC term (overall brightness) is left out of the median.
  const ac = coef.slice(1).sort((a, b) => a - b);
  const median = (ac[31]! + ac[32]!) / 2;
  let hex = '';
  for (let i = 0; i < 64; i += 4) {
    let nibble = 0;
    for (let j = 0; j < 4; j++) nibble = (nibble << 1) | (coef[i + j]! > median ? 1 : 0);
    hex += nibble.toString(16);
  }
  return hex;
}

/** Number of differing bits between two 16-hex-digit hashes. */
export function hammingDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 16; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}

/** Decodes the picture completely, then hashes it and makes its thumbnail. */
export async function analyseImage(file: string, name: string): Promise<ImageFacts> {
  try {
    // failOn 'truncated': a picture whose data ends early is refused rather than padded with grey.
    const base = () => sharp(file, { failOn: 'truncated', limitInputPixels: 200_000_000 }).rotate();
    const meta = await sharp(file, { failOn: 'truncated' }).metadata();
    const grey = await base().greyscale().resize(N, N, { fit: 'fill' }).raw().toBuffer();
    const thumbnail = await base()
      .resize({ width: 320, height: 320, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer();
    const swap = (meta.orientation ?? 1) >= 5;
    return {
      width: (swap ? meta.height : meta.width) ?? 0,
      height: (swap ? meta.width : meta.height) ?? 0,
      phash: phashOfGrey(grey),
      thumbnail,
    };
  } catch (e) {
    throw new WeipianError(
      'evidence_file_damaged',
      `图片“${name}”无法完整解码（${(e as Error).message.split('\n')[0]}），请重新上传原始文件`,
      { name },
      422,
    );
  }
}
