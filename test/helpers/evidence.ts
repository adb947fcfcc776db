// Evidence fixtures, written at test time: patches at known lon/lat (EPSG:4490) inserted directly,
// and JPEG photos whose EXIF (capture time, GPS position and accuracy, GPSImgDirection, device) is
// written by Debian's exiftool — the tool surveyors and forensic examiners use — so the bytes under
// test are real EXIF rather than what our own code would write.
import { execFile, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { Db } from '../../src/store/db.ts';
import { encodeWkb } from '../../src/geo/wkb.ts';
import { bboxOfGeometry, type Polygon, type Position } from '../../src/geo/geometry.ts';
import { direct } from '../../src/evidence/position.ts';
import { Rng } from '../../src/demo/prng.ts';
import { createBatch } from '../../src/services/batches.ts';

const run = promisify(execFile);
const EXIFTOOL = process.env.EXIFTOOL ?? 'exiftool';

let available: boolean | undefined;

/**
 * For `describe(name, { skip: skipWithoutExiftool() }, …)`: without exiftool the suites are skipped
 * with a reason locally; under CI a missing exiftool is an error, so the fixtures cannot silently
 * stop being tested (apt-get install libimage-exiftool-perl).
 */
export function skipWithoutExiftool(): string | false {
  available ??= spawnSync(EXIFTOOL, ['-ver'], { encoding: 'utf8' }).status === 0;
  if (available) return false;
  const reason = `${EXIFTOOL} not found: install libimage-exiftool-perl to write EXIF fixtures`;
  if (process.env.CI) throw new Error(reason);
  return reason;
}

/** The origin of the fixtures: south-west corner of patch A, in 周村 (lon, lat). */
export const ORIGIN: Position = [117.8, 36.7];

/** The point `east` metres east and `north` metres north of a point (geodesic, exact enough). */
export function offset(from: Position, east: number, north: number): Position {
  const p = east === 0 ? from : direct(from, 90, east);
  return north === 0 ? p : direct(p, 0, north);
}

/** A rectangle `w` × `h` metres with its south-west corner at `sw`. */
export function rectangle(sw: Position, w: number, h: number): Polygon {
  const se = offset(sw, w, 0);
  const ne = offset(sw, w, h);
  const nw = offset(sw, 0, h);
  return { type: 'Polygon', coordinates: [[sw, se, ne, nw, sw]] };
}

/** Patch A: 100 m × 100 m at ORIGIN. Patch B: the same size, 50 m east of A. Patch C: another unit's. */
export const PATCH_A = rectangle(ORIGIN, 100, 100);
export const PATCH_B = rectangle(offset(ORIGIN, 150, 0), 100, 100);
export const PATCH_C = rectangle(offset(ORIGIN, 0, 2000), 100, 100);

export interface SeededPatches {
  batchId: number;
  a: number;
  b: number;
  c: number;
}

/** A 2017 land batch (rule pack 2017-land) with patches A and B (unit 370306101) and C (370306102). */
export async function seedEvidencePatches(db: Db): Promise<SeededPatches> {
  const batch = await createBatch(db, { slug: '2017-land', kind: 'land', year: 2017, actor: 'tester' });
  const ids: number[] = [];
  for (const [jcbh, geom, unit] of [
    ['370306201700001', PATCH_A, '370306101'],
    ['370306201700002', PATCH_B, '370306101'],
    ['370306201700003', PATCH_C, '370306102'],
  ] as const) {
    const wkb = encodeWkb(geom);
    const bb = bboxOfGeometry(geom);
    const [row] = await db.query<{ id: number }>(
      `INSERT INTO patches (batch_id, source, jcbh, xzqdm, area_unit, qsx, hsx, attributes, src_crs, geom_source,
         geom, area_m2, minx, miny, maxx, maxy, unit_code)
       VALUES ($1, 'satellite', $2, $3, 'm2', '2016-10-15', '2017-04-20', '{}', 'EPSG:4490', $4, $4, 10000,
         $5, $6, $7, $8, $9) RETURNING id`,
      [batch.id, jcbh, `${unit}001`, wkb, bb.minx, bb.miny, bb.maxx, bb.maxy, unit],
    );
    ids.push(row!.id);
  }
  return { batchId: batch.id, a: ids[0]!, b: ids[1]!, c: ids[2]! };
}

/**
 * A distinct 640×480 JPEG: a seeded random 16×12 grid of colours, smoothly scaled (so its
 * perceptual hash is stable under re-encoding and unrelated to any other seed's).
 */
export async function makeJpeg(file: string, seed: number, quality = 90): Promise<string> {
  const rng = new Rng(seed, 'evidence-photo');
  const w = 16;
  const h = 12;
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(rng.next() * 256);
  const buf = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .resize(640, 480, { kernel: 'cubic' })
    .jpeg({ quality })
    .toBuffer();
  await writeFile(file, buf);
  return file;
}

export interface ExifFacts {
  /** Local wall time 'YYYY:MM:DD HH:MM:SS'. */
  time?: string;
  /** e.g. '+08:00'. */
  offset?: string;
  position?: Position;
  accuracyM?: number;
  /** GPSImgDirection, degrees from true north. */
  direction?: number;
  make?: string;
  model?: string;
}

/** Writes EXIF into a JPEG in place with exiftool. */
export async function writeExif(file: string, f: ExifFacts): Promise<string> {
  const args = ['-overwrite_original', '-q'];
  if (f.time) args.push(`-DateTimeOriginal=${f.time}`, `-CreateDate=${f.time}`);
  if (f.offset) args.push(`-OffsetTimeOriginal=${f.offset}`);
  if (f.position) {
    const [lon, lat] = f.position;
    args.push(
      `-GPSLatitude=${Math.abs(lat)}`,
      `-GPSLatitudeRef=${lat >= 0 ? 'N' : 'S'}`,
      `-GPSLongitude=${Math.abs(lon)}`,
      `-GPSLongitudeRef=${lon >= 0 ? 'E' : 'W'}`,
    );
  }
  if (f.accuracyM !== undefined) args.push(`-GPSHPositioningError=${f.accuracyM}`);
  if (f.direction !== undefined) args.push(`-GPSImgDirection=${f.direction}`, '-GPSImgDirectionRef=T');
  args.push(`-Make=${f.make ?? 'HUAWEI'}`, `-Model=${f.model ?? 'P20'}`);
  await run(EXIFTOOL, [...args, file]);
  return file;
}

/** A re-encoded copy: scaled to 90 %, saved at quality 60 (different bytes, same picture, no EXIF). */
export async function reencode(src: string, dst: string): Promise<string> {
  const meta = await sharp(src).metadata();
  await sharp(src)
    .resize(Math.round(meta.width! * 0.9))
    .jpeg({ quality: 60 })
    .toFile(dst);
  return dst;
}

/** A good field photo time for the 2017 batch (2018-03-30 10:15 Beijing time). */
export const GOOD_TIME = { time: '2018:03:30 10:15:00', offset: '+08:00' } as const;

/** The clock of the uploads: 2018-04-01 10:00 Beijing time (two days after GOOD_TIME). */
export const UPLOAD_NOW = new Date('2018-04-01T02:00:00Z');

export const fixturePath = (dir: string, name: string) => path.join(dir, name);
