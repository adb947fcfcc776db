// Integrity signals (举证疑点): facts about a photo that a reviewer must look at before trusting it,
// each with a plain Chinese explanation. A pure function of what the photo says, what the page
// measured, the patch, the batch's work window and the other patches' photos — computed once on
// upload and stored; a reviewer then confirms one as a finding (核查发现) or dismisses it with a
// reason. Thresholds are settings (WEIPIAN_EVIDENCE_* or per call), not constants.
import type { PatchGeometry } from '../geo/geometry.ts';
import { endOfDayInstant } from '../domain/rulepack.ts';
import type { BrowserCapture, ExifSummary } from './exif.ts';
import { headingOffPatch, relateToPatch, type PatchRelation } from './position.ts';

export const SIGNAL_CODES = [
  'far_from_patch',
  'no_position',
  'no_time',
  'outside_work_window',
  'before_after_image',
  'facing_away',
  'duplicate_file',
  'similar_image',
  'exif_upload_gap',
] as const;
export type SignalCode = (typeof SIGNAL_CODES)[number];

export const SIGNAL_LABELS: Record<SignalCode, string> = {
  far_from_patch: '拍摄点距图斑过远',
  no_position: '没有拍摄位置',
  no_time: '没有拍摄时间',
  outside_work_window: '拍摄时间不在核查工作期内',
  before_after_image: '拍摄时间早于后时相影像',
  facing_away: '拍摄方向背离图斑',
  duplicate_file: '同一文件已用于其他图斑',
  similar_image: '近似照片已用于其他图斑',
  exif_upload_gap: '拍摄时间与上传时间相差过大',
};

/** 核查发现: what a confirmed signal is recorded as. The first two are 弄虚作假 (fraud). */
export const FINDINGS = {
  false_evidence: { label: '虚假举证', fraud: true },
  photo_reuse: { label: '照片复用', fraud: true },
  nonconforming: { label: '举证不规范', fraud: false },
} as const;
export type Finding = keyof typeof FINDINGS;
export const FRAUD_FINDINGS = (Object.keys(FINDINGS) as Finding[]).filter((f) => FINDINGS[f].fraud);

export function isFinding(s: string): s is Finding {
  return Object.hasOwn(FINDINGS, s);
}

export interface SignalSettings {
  /** A photo taken farther than this from the patch (metres) is flagged. */
  maxDistanceM: number;
  /** A heading more than this many degrees off every direction of the patch is flagged. */
  maxHeadingOffDeg: number;
  /** EXIF capture time and upload more than this many hours apart are flagged. */
  maxUploadGapHours: number;
  /** Perceptual hashes within this many bits (of 64) are the same picture. */
  maxPhashDistance: number;
}

export const DEFAULT_SIGNAL_SETTINGS: SignalSettings = {
  maxDistanceM: 200,
  maxHeadingOffDeg: 90,
  maxUploadGapHours: 7 * 24,
  maxPhashDistance: 10,
};

/** Settings from the environment over the defaults (WEIPIAN_EVIDENCE_MAX_DISTANCE_M …). */
export function signalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): SignalSettings {
  const pick = (name: string, d: number) => {
    const v = Number(env[name]);
    return env[name] !== undefined && env[name] !== '' && Number.isFinite(v) && v >= 0 ? v : d;
  };
  const d = DEFAULT_SIGNAL_SETTINGS;
  return {
    maxDistanceM: pick('WEIPIAN_EVIDENCE_MAX_DISTANCE_M', d.maxDistanceM),
    maxHeadingOffDeg: pick('WEIPIAN_EVIDENCE_MAX_HEADING_OFF_DEG', d.maxHeadingOffDeg),
    maxUploadGapHours: pick('WEIPIAN_EVIDENCE_MAX_UPLOAD_GAP_HOURS', d.maxUploadGapHours),
    maxPhashDistance: pick('WEIPIAN_EVIDENCE_MAX_PHASH_DISTANCE', d.maxPhashDistance),
  };
}

/** The period in which field photos of a batch are expected: [start, end), instants in ISO UTC. */
export interface WorkWindow {
  start: string | null;
  end: string | null;
  /** Local dates for messages. */
  startDate: string | null;
  endDate: string | null;
}

/**
 * A batch's work window. It starts on 1 January after the monitoring year for an annual batch (the
 * 2017 inspection is done in 2018) and, for quarterly or monthly batches, at the after-image date;
 * it ends with the day of the batch's last milestone (Asia/Shanghai end of day).
 */
export function workWindow(
  batch: { year: number; period: string; milestones: unknown },
  hsx: string | null,
  timeZone: string,
): WorkWindow {
  const dates = (Array.isArray(batch.milestones) ? batch.milestones : [])
    .map((m) => (m as { date?: unknown }).date)
    .filter((d): d is string => typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d))
    .sort();
  const endDate = dates[dates.length - 1] ?? null;
  const startDate = batch.period === 'annual' ? `${batch.year + 1}-01-01` : hsxStartDate(hsx);
  return {
    start: startDate ? startOfDay(startDate, timeZone).toISOString() : null,
    end: endDate ? endOfDayInstant(endDate, timeZone).toISOString() : null,
    startDate,
    endDate,
  };
}

/** 'YYYY-MM' (month-only deliveries) counts from the first of the month. */
function hsxStartDate(hsx: string | null): string | null {
  if (!hsx) return null;
  return /^\d{4}-\d{2}$/.test(hsx) ? `${hsx}-01` : hsx;
}

/** Local midnight at the start of a date, as an instant. */
export function startOfDay(date: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const prev = new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
  return endOfDayInstant(prev, timeZone);
}

/** An instant as local 'YYYY-MM-DD HH:mm' in the zone, for messages. */
export function formatLocal(iso: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(iso));
  const g = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${g('year')}-${g('month')}-${g('day')} ${g('hour')}:${g('minute')}`;
}

export interface OtherUse {
  evidenceId: number;
  patchId: number;
  jcbh: string;
  /** Bits apart (similar images only). */
  distance?: number;
}

export interface SignalInput {
  exif: ExifSummary;
  browser?: BrowserCapture;
  patch: { geometry: PatchGeometry; hsx: string | null };
  window: WorkWindow;
  timeZone: string;
  uploadedAt: Date;
  /** The same bytes (SHA-256) already on other patches. */
  sameFile: OtherUse[];
  /** Near-identical pictures (perceptual hash) already on other patches, excluding sameFile. */
  similar: OtherUse[];
  settings: SignalSettings;
}

export interface ComputedSignal {
  code: SignalCode;
  /** Plain explanation for the reviewer. */
  message: string;
  details: Record<string, unknown>;
}

const SOURCE_LABEL = { exif: '照片 EXIF', browser: '浏览器定位' } as const;
type Source = keyof typeof SOURCE_LABEL;

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

function listUses(uses: OtherUse[]): string {
  const shown = uses
    .slice(0, 5)
    .map(
      (u) =>
        `图斑 ${u.jcbh}（举证 #${u.evidenceId}${u.distance !== undefined ? `，相差 ${u.distance} 位` : ''}）`,
    );
  return shown.join('、') + (uses.length > 5 ? ` 等 ${uses.length} 处` : '');
}

/** Every signal this photo raises, in SIGNAL_CODES order. */
export function computeSignals(input: SignalInput): ComputedSignal[] {
  const { exif, browser, settings, timeZone } = input;
  const out: ComputedSignal[] = [];
  const positions: { source: Source; lon: number; lat: number; accuracyM: number | null }[] = [];
  if (exif.lat !== null && exif.lon !== null)
    positions.push({ source: 'exif', lon: exif.lon, lat: exif.lat, accuracyM: exif.accuracyM });
  if (browser && browser.lat !== null && browser.lon !== null)
    positions.push({ source: 'browser', lon: browser.lon, lat: browser.lat, accuracyM: browser.accuracyM });
  const related = positions.map((p) => ({
    ...p,
    rel: relateToPatch([p.lon, p.lat], input.patch.geometry),
  }));

  // Position.
  const far = related.filter((r) => r.rel.distanceM > settings.maxDistanceM);
  if (far.length > 0)
    out.push({
      code: 'far_from_patch',
      message: `${far
        .map(
          (r) =>
            `拍摄位置（${SOURCE_LABEL[r.source]}${r.accuracyM !== null ? `，精度 ±${round(r.accuracyM)} 米` : ''}）距图斑 ${round(r.rel.distanceM)} 米`,
        )
        .join('；')}，超过允许的 ${settings.maxDistanceM} 米：照片可能不是在该图斑拍摄的。`,
      details: {
        maxDistanceM: settings.maxDistanceM,
        positions: related.map((r) => ({
          source: r.source,
          lon: r.lon,
          lat: r.lat,
          accuracyM: r.accuracyM,
          distanceM: round(r.rel.distanceM, 1),
        })),
      },
    });
  if (positions.length === 0)
    out.push({
      code: 'no_position',
      message: '照片既没有 EXIF GPS 位置，也没有浏览器采集的位置：无法核实拍摄地点。',
      details: {},
    });

  // Time: the photo's own EXIF time first, else the page's clock at capture.
  const taken = exif.takenAt
    ? { at: exif.takenAt, source: 'exif' as Source }
    : browser?.takenAt
      ? { at: browser.takenAt, source: 'browser' as Source }
      : null;
  const takenLocal = taken ? formatLocal(taken.at, timeZone) : null;
  if (!taken)
    out.push({
      code: 'no_time',
      message: '照片没有拍摄时间（EXIF 与浏览器采集均无）：无法核实拍摄时间。',
      details: {},
    });
  else {
    const t = Date.parse(taken.at);
    const w = input.window;
    const early = w.start !== null && t < Date.parse(w.start);
    const late = w.end !== null && t >= Date.parse(w.end);
    if (early || late)
      out.push({
        code: 'outside_work_window',
        message: `拍摄时间 ${takenLocal}（${SOURCE_LABEL[taken.source]}）${early ? '早于' : '晚于'}本批次核查工作期（${w.startDate ?? '不限'} 至 ${w.endDate ?? '不限'}）。`,
        details: { takenAt: taken.at, source: taken.source, window: w },
      });
    const hsx = hsxStartDate(input.patch.hsx);
    if (hsx && t < startOfDay(hsx, timeZone).getTime())
      out.push({
        code: 'before_after_image',
        message: `拍摄时间 ${takenLocal}（${SOURCE_LABEL[taken.source]}）早于图斑后时相影像日期 ${input.patch.hsx}：照片拍不到影像上的变化。`,
        details: { takenAt: taken.at, source: taken.source, hsx: input.patch.hsx },
      });
  }

  // Direction: each measured heading against each position it can be paired with.
  const headings: { source: Source; deg: number; ref?: 'T' | 'M' }[] = [];
  if (exif.directionDeg !== null)
    headings.push({ source: 'exif', deg: exif.directionDeg, ref: exif.directionRef ?? 'T' });
  if (browser?.headingDeg != null) headings.push({ source: 'browser', deg: browser.headingDeg });
  const away: { source: Source; headingDeg: number; offDeg: number; rel: PatchRelation }[] = [];
  for (const h of headings) {
    // The heading's own source's position when there is one, else the other.
    const r = related.find((x) => x.source === h.source) ?? related[0];
    if (!r || r.rel.inside) continue;
    const off = headingOffPatch(h.deg, r.rel);
    if (off > settings.maxHeadingOffDeg)
      away.push({ source: h.source, headingDeg: h.deg, offDeg: off, rel: r.rel });
  }
  if (away.length > 0)
    out.push({
      code: 'facing_away',
      message: `${away
        .map(
          (a) =>
            `拍摄方向 ${round(a.headingDeg)}°（${SOURCE_LABEL[a.source]}）与图斑所在方向（约 ${round(a.rel.bearingToCentroid ?? 0)}°）相差 ${round(a.offDeg)}°`,
        )
        .join('；')}，超过允许的 ${settings.maxHeadingOffDeg}°：照片拍的可能不是该图斑。`,
      details: {
        maxHeadingOffDeg: settings.maxHeadingOffDeg,
        headings: away.map((a) => ({
          source: a.source,
          headingDeg: a.headingDeg,
          offDeg: round(a.offDeg, 1),
          bearingToNearest: a.rel.bearingToNearest === null ? null : round(a.rel.bearingToNearest, 1),
          bearingToCentroid: a.rel.bearingToCentroid === null ? null : round(a.rel.bearingToCentroid, 1),
        })),
      },
    });

  if (input.sameFile.length > 0)
    out.push({
      code: 'duplicate_file',
      message: `同一文件（SHA-256 相同）已作为${listUses(input.sameFile)}的举证材料：一张照片不能证明两个图斑。`,
      details: { uses: input.sameFile },
    });
  if (input.similar.length > 0)
    out.push({
      code: 'similar_image',
      message: `与${listUses(input.similar)}的照片几乎相同（感知哈希相差不超过 ${settings.maxPhashDistance} 位）：可能是同一照片另存或裁剪后重复使用。`,
      details: { uses: input.similar, maxPhashDistance: settings.maxPhashDistance },
    });

  if (exif.takenAt) {
    const gapH = (input.uploadedAt.getTime() - Date.parse(exif.takenAt)) / 3_600_000;
    // Ten minutes of clock difference between camera and server are tolerated.
    if (gapH > settings.maxUploadGapHours || gapH < -1 / 6)
      out.push({
        code: 'exif_upload_gap',
        message:
          gapH < 0
            ? `EXIF 拍摄时间 ${takenLocal} 晚于上传时间 ${formatLocal(input.uploadedAt.toISOString(), timeZone)}：拍摄时间不可信。`
            : `EXIF 拍摄时间 ${formatLocal(exif.takenAt, timeZone)} 与上传时间 ${formatLocal(input.uploadedAt.toISOString(), timeZone)} 相差 ${gapH >= 48 ? `${round(gapH / 24, 1)} 天` : `${round(gapH, 1)} 小时`}，超过允许的 ${settings.maxUploadGapHours} 小时：可能是旧照片。`,
        details: {
          takenAt: exif.takenAt,
          uploadedAt: input.uploadedAt.toISOString(),
          gapHours: round(gapH, 2),
          maxUploadGapHours: settings.maxUploadGapHours,
        },
      });
  }
  const order = (c: SignalCode) => SIGNAL_CODES.indexOf(c);
  return out.sort((a, b) => order(a.code) - order(b.code));
}
