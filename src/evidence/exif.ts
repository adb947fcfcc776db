// What a photo says about itself (EXIF: capture time, GPS position and accuracy, direction, device)
// and what the page measured when it was taken (browser capture: phones often strip EXIF GPS on
// upload). Both are kept side by side with their source marked; neither overwrites the other.
import exifr from 'exifr';
import { WeipianError } from '../domain/errors.ts';
import { zoneOffsetMs } from '../domain/rulepack.ts';

/** The EXIF facts the checks use, plus the raw tags they come from (kept in evidence_items.exif). */
export interface ExifSummary {
  /** Capture instant, ISO 8601 UTC; null when the photo carries no capture time. */
  takenAt: string | null;
  /**
   * How takenAt was fixed: 'offset' (DateTimeOriginal + OffsetTimeOriginal), 'gps' (GPS date and
   * time stamps, UTC), 'assumed_zone' (DateTimeOriginal read in the rule pack's time zone).
   */
  takenAtSource: 'offset' | 'gps' | 'assumed_zone' | null;
  /** DateTimeOriginal as written (local time without zone). */
  localTime: string | null;
  lat: number | null;
  lon: number | null;
  /** GPSHPositioningError in metres. */
  accuracyM: number | null;
  /** GPSImgDirection in degrees clockwise from north. */
  directionDeg: number | null;
  /** 'T' true north, 'M' magnetic north (about 7° off here; within the direction tolerance). */
  directionRef: 'T' | 'M' | null;
  make: string | null;
  model: string | null;
  software: string | null;
  /** The tags read, as written (numbers and strings only), for the reviewer and for later checks. */
  tags: Record<string, string | number | number[]>;
}

export const EMPTY_EXIF: ExifSummary = {
  takenAt: null,
  takenAtSource: null,
  localTime: null,
  lat: null,
  lon: null,
  accuracyM: null,
  directionDeg: null,
  directionRef: null,
  make: null,
  model: null,
  software: null,
  tags: {},
};

const KEPT_TAGS = [
  'Make',
  'Model',
  'Software',
  'Orientation',
  'DateTime',
  'DateTimeOriginal',
  'CreateDate',
  'OffsetTime',
  'OffsetTimeOriginal',
  'SubSecTimeOriginal',
  'ExifImageWidth',
  'ExifImageHeight',
  'GPSLatitudeRef',
  'GPSLatitude',
  'GPSLongitudeRef',
  'GPSLongitude',
  'GPSAltitude',
  'GPSAltitudeRef',
  'GPSTimeStamp',
  'GPSDateStamp',
  'GPSImgDirectionRef',
  'GPSImgDirection',
  'GPSHPositioningError',
  'GPSDOP',
  'GPSMapDatum',
  'GPSProcessingMethod',
];

const EXIF_DATE = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/;
const OFFSET = /^([+-])(\d{2}):(\d{2})$/;

function str(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  // EXIF strings are NUL-padded by some cameras.
  const s = v.replace(/\0+$/, '').trim();
  return s === '' ? null : s;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Degrees, minutes, seconds (as exifr returns them unrevived) to decimal degrees. */
function dms(v: unknown, ref: unknown): number | null {
  let deg: number | null;
  if (Array.isArray(v) && v.length >= 1 && v.every((x) => typeof x === 'number' && Number.isFinite(x)))
    deg =
      (v[0] as number) +
      ((v[1] as number | undefined) ?? 0) / 60 +
      ((v[2] as number | undefined) ?? 0) / 3600;
  else deg = num(v);
  if (deg === null) return null;
  const r = str(ref)?.toUpperCase();
  return r === 'S' || r === 'W' ? -deg : deg;
}

/** Local wall time 'YYYY:MM:DD HH:MM:SS' at a UTC offset (minutes) → instant in ms. */
function localToInstant(local: string, offsetMin: number): number | null {
  const m = EXIF_DATE.exec(local);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const t = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const back = new Date(t);
  // 2018:02:30 and other impossible dates are not a time.
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo! - 1 || h! > 23 || mi! > 59 || s! > 59)
    return null;
  return t - offsetMin * 60_000;
}

function parseOffset(v: unknown): number | null {
  const m = OFFSET.exec(str(v) ?? '');
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** Offset of a time zone (e.g. Asia/Shanghai) at an instant, in minutes. */
export function zoneOffsetMinutes(timeZone: string, at: number): number {
  return Math.round(zoneOffsetMs(at, timeZone) / 60_000);
}

function gpsInstant(date: unknown, time: unknown): number | null {
  const d = /^(\d{4}):(\d{2}):(\d{2})$/.exec(str(date) ?? '');
  if (!d || !Array.isArray(time) || time.length < 3 || !time.every((x) => typeof x === 'number')) return null;
  const [h, m, s] = time as number[];
  const t =
    Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), 0, 0, 0) + (h! * 3600 + m! * 60 + s!) * 1000;
  return Number.isFinite(t) ? t : null;
}

/** Summarises raw (unrevived) exifr output. Pure: tested without files. */
export function summariseExif(raw: Record<string, unknown> | undefined, timeZone: string): ExifSummary {
  if (!raw) return { ...EMPTY_EXIF, tags: {} };
  const tags: ExifSummary['tags'] = {};
  for (const k of KEPT_TAGS) {
    const v = raw[k];
    if (typeof v === 'number' && Number.isFinite(v)) tags[k] = v;
    else if (typeof v === 'string') {
      const s = str(v);
      if (s !== null) tags[k] = s.slice(0, 200);
    } else if (
      Array.isArray(v) &&
      v.length <= 8 &&
      v.every((x) => typeof x === 'number' && Number.isFinite(x))
    )
      tags[k] = v as number[];
  }
  const localTime = str(raw.DateTimeOriginal) ?? str(raw.CreateDate);
  let takenAt: number | null = null;
  let takenAtSource: ExifSummary['takenAtSource'] = null;
  const offset = parseOffset(raw.OffsetTimeOriginal) ?? parseOffset(raw.OffsetTime);
  if (localTime && offset !== null) {
    takenAt = localToInstant(localTime, offset);
    if (takenAt !== null) takenAtSource = 'offset';
  }
  if (takenAt === null) {
    takenAt = gpsInstant(raw.GPSDateStamp, raw.GPSTimeStamp);
    if (takenAt !== null) takenAtSource = 'gps';
  }
  if (takenAt === null && localTime) {
    const guess = localToInstant(localTime, 0);
    if (guess !== null) {
      takenAt = localToInstant(localTime, zoneOffsetMinutes(timeZone, guess));
      if (takenAt !== null) takenAtSource = 'assumed_zone';
    }
  }
  let lat = dms(raw.GPSLatitude, raw.GPSLatitudeRef);
  let lon = dms(raw.GPSLongitude, raw.GPSLongitudeRef);
  // 0,0 is what some phones write when they had no fix.
  if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) {
    lat = null;
    lon = null;
  }
  const dir = num(raw.GPSImgDirection);
  const ref = str(raw.GPSImgDirectionRef)?.toUpperCase();
  const acc = num(raw.GPSHPositioningError);
  return {
    takenAt: takenAt === null ? null : new Date(takenAt).toISOString(),
    takenAtSource,
    localTime,
    lat,
    lon,
    accuracyM: acc !== null && acc >= 0 ? acc : null,
    directionDeg: dir !== null && dir >= 0 && dir <= 360 ? dir % 360 : null,
    directionRef: dir === null ? null : ref === 'M' ? 'M' : 'T',
    make: str(raw.Make),
    model: str(raw.Model),
    software: str(raw.Software),
    tags,
  };
}

/** Reads the EXIF of a JPEG/PNG/WebP/HEIC file (path) or buffer; none gives the empty summary. */
export async function readExif(input: Buffer | string, timeZone: string): Promise<ExifSummary> {
  let raw: Record<string, unknown> | undefined;
  try {
    raw = (await exifr.parse(input, {
      tiff: true,
      exif: true,
      gps: true,
      ifd1: false,
      xmp: false,
      icc: false,
      iptc: false,
      jfif: false,
      ihdr: false,
      translateKeys: true,
      translateValues: false,
      reviveValues: false,
      sanitize: true,
      mergeOutput: true,
    })) as Record<string, unknown> | undefined;
  } catch {
    // Unreadable EXIF is treated as none: the photo itself was already checked to be complete.
    raw = undefined;
  }
  return summariseExif(raw, timeZone);
}

/** What the page measured at capture (navigator.geolocation, DeviceOrientation, its clock). */
export interface BrowserCapture {
  lat: number | null;
  lon: number | null;
  accuracyM: number | null;
  headingDeg: number | null;
  /** ISO 8601 UTC. */
  takenAt: string | null;
}

export interface BrowserCaptureInput {
  lat?: number | string;
  lon?: number | string;
  accuracy?: number | string;
  heading?: number | string;
  time?: string;
}

function field(v: number | string | undefined, name: string, min: number, max: number, maxExclusive = false) {
  if (v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (maxExclusive && n === max))
    throw new WeipianError(
      'evidence_capture_invalid',
      `浏览器采集的${name}无效：${String(v)}（应在 ${min} 到 ${max} 之间）`,
      { field: name, value: v },
    );
  return n;
}

/** Validates the page's capture data; undefined when the page sent none. */
export function parseBrowserCapture(input: BrowserCaptureInput): BrowserCapture | undefined {
  const lat = field(input.lat, '纬度', -90, 90);
  const lon = field(input.lon, '经度', -180, 180);
  if ((lat === null) !== (lon === null))
    throw new WeipianError('evidence_capture_invalid', '浏览器采集的位置须同时提供经度和纬度');
  const accuracyM = field(input.accuracy, '定位精度', 0, 100_000);
  const headingDeg = field(input.heading, '朝向', 0, 360, true);
  let takenAt: string | null = null;
  if (input.time !== undefined && input.time !== '') {
    const t = Date.parse(input.time);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(input.time) || Number.isNaN(t))
      throw new WeipianError(
        'evidence_capture_invalid',
        `浏览器采集的时间无效：${input.time}（应为 ISO 8601，如 2018-03-30T10:15:00+08:00）`,
        { field: 'time', value: input.time },
      );
    takenAt = new Date(t).toISOString();
  }
  if (lat === null && accuracyM === null && headingDeg === null && takenAt === null) return undefined;
  return { lat, lon, accuracyM, headingDeg, takenAt };
}
