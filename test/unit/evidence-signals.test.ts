// Integrity signals as a pure function, with hand-worked positions, directions and times: where a
// photo stands relative to its patch, which way it looks, when it was taken — and the thresholds'
// edges (exactly at a limit is fine, just past it is flagged).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { relateToPatch, headingOffPatch } from '../../src/evidence/position.ts';
import {
  computeSignals,
  DEFAULT_SIGNAL_SETTINGS,
  signalSettingsFromEnv,
  startOfDay,
  workWindow,
  formatLocal,
  type SignalInput,
} from '../../src/evidence/signals.ts';
import { EMPTY_EXIF, parseBrowserCapture, summariseExif, type ExifSummary } from '../../src/evidence/exif.ts';
import { offset, ORIGIN, PATCH_A, rectangle } from '../helpers/evidence.ts';
import { loadRulePack } from '../../src/domain/rulepack.ts';
import type { Polygon } from '../../src/geo/geometry.ts';

const TZ = 'Asia/Shanghai';
const near = (a: number, b: number, tol: number) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b} (±${tol})`);

describe('position relative to a patch', () => {
  it('is inside (distance 0) for a point within the square, outside for one in its hole', () => {
    const r = relateToPatch(offset(ORIGIN, 50, 50), PATCH_A);
    assert.equal(r.inside, true);
    assert.equal(r.distanceM, 0);
    assert.equal(r.bearingToNearest, null);
    // A 100 m square with a 40 m hole in the middle: the centre is 20 m from the hole's edge.
    const hole = rectangle(offset(ORIGIN, 30, 30), 40, 40)
      .coordinates[0]!.slice()
      .reverse();
    const holed: Polygon = { type: 'Polygon', coordinates: [PATCH_A.coordinates[0]!, hole] };
    const c = relateToPatch(offset(ORIGIN, 50, 50), holed);
    assert.equal(c.inside, false);
    near(c.distanceM, 20, 0.01);
    assert.equal(headingOffPatch(123, c), 0, 'the patch surrounds the camera: every direction sees it');
  });

  it('measures 800 m from a point 800 m north of the north edge, bearing due south', () => {
    const r = relateToPatch(offset(ORIGIN, 50, 900), PATCH_A);
    assert.equal(r.inside, false);
    near(r.distanceM, 800, 0.01);
    near(r.bearingToNearest!, 180, 0.01);
    near(r.bearingToCentroid!, 180, 0.01);
    near(r.nearest[0], offset(ORIGIN, 50, 100)[0], 1e-7);
    near(r.nearest[1], offset(ORIGIN, 50, 100)[1], 1e-7);
  });

  it('measures to the nearest corner from a diagonal point (3-4-5: 500 m)', () => {
    const r = relateToPatch(offset(ORIGIN, 100 + 300, 100 + 400), PATCH_A);
    near(r.distanceM, 500, 0.05);
  });

  it('sees the square between 45° and 135° from 50 m west of its middle', () => {
    const r = relateToPatch(offset(ORIGIN, -50, 50), PATCH_A);
    near(r.distanceM, 50, 0.01);
    near(headingOffPatch(270, r), 135, 0.01);
    assert.equal(headingOffPatch(90, r), 0);
    assert.equal(headingOffPatch(60, r), 0);
    near(headingOffPatch(0, r), 45, 0.01);
    near(headingOffPatch(180, r), 45, 0.01);
    near(headingOffPatch(315, r), 90, 0.01);
    near(headingOffPatch(225, r), 90, 0.01);
  });

  it('treats a point patch (delivered as a centre only) as a point', () => {
    const r = relateToPatch(offset(ORIGIN, 0, 300), { type: 'Point', coordinates: ORIGIN });
    near(r.distanceM, 300, 0.01);
    near(headingOffPatch(180, r), 0, 1e-6);
    near(headingOffPatch(0, r), 180, 1e-6);
  });
});

describe('work window', () => {
  const pack = loadRulePack('2017-land');
  it('runs from 1 January after the monitoring year to the end of the last milestone day (Beijing)', () => {
    const w = workWindow({ year: 2017, period: 'annual', milestones: pack.milestones }, '2017-04-20', TZ);
    assert.deepEqual(w, {
      start: '2017-12-31T16:00:00.000Z',
      end: '2018-05-10T16:00:00.000Z',
      startDate: '2018-01-01',
      endDate: '2018-05-10',
    });
  });
  it('starts at the after-image date for quarterly batches (a month-only date at the 1st)', () => {
    const w = workWindow(
      { year: 2018, period: 'quarterly', milestones: [{ date: '2018-06-30' }] },
      '2018-04',
      TZ,
    );
    assert.equal(w.start, '2018-03-31T16:00:00.000Z');
    assert.equal(w.startDate, '2018-04-01');
    assert.equal(w.end, '2018-06-30T16:00:00.000Z');
  });
  it('has open ends when nothing bounds it', () => {
    assert.deepEqual(workWindow({ year: 2018, period: 'monthly', milestones: [] }, null, TZ), {
      start: null,
      end: null,
      startDate: null,
      endDate: null,
    });
  });
  it('formats instants in the zone', () => {
    assert.equal(startOfDay('2018-03-01', TZ).toISOString(), '2018-02-28T16:00:00.000Z');
    assert.equal(formatLocal('2018-03-30T02:15:00.000Z', TZ), '2018-03-30 10:15');
  });
});

describe('computeSignals', () => {
  const pack = loadRulePack('2017-land');
  const window = workWindow({ year: 2017, period: 'annual', milestones: pack.milestones }, '2017-04-20', TZ);
  const inside = offset(ORIGIN, 50, 50);
  const exif = (over: Partial<ExifSummary>): ExifSummary => ({
    ...EMPTY_EXIF,
    takenAt: '2018-03-30T02:15:00.000Z',
    takenAtSource: 'offset',
    lon: inside[0],
    lat: inside[1],
    directionDeg: 0,
    directionRef: 'T',
    ...over,
  });
  const input = (over: Partial<SignalInput>): SignalInput => ({
    exif: exif({}),
    patch: { geometry: PATCH_A, hsx: '2017-04-20' },
    window,
    timeZone: TZ,
    uploadedAt: new Date('2018-04-01T02:00:00Z'),
    sameFile: [],
    similar: [],
    settings: DEFAULT_SIGNAL_SETTINGS,
    ...over,
  });
  const codes = (i: SignalInput) => computeSignals(i).map((s) => s.code);

  it('raises nothing for a good photo inside the patch', () => {
    assert.deepEqual(computeSignals(input({})), []);
  });

  it('flags farther than the limit, not at it', () => {
    const at = (north: number) => {
      const [lon, lat] = offset(ORIGIN, 50, 100 + north);
      return codes(input({ exif: exif({ lon, lat, directionDeg: 180 }) }));
    };
    assert.deepEqual(at(199.9), []);
    assert.deepEqual(at(200.1), ['far_from_patch']);
    const tight = { ...DEFAULT_SIGNAL_SETTINGS, maxDistanceM: 50 };
    const [lon, lat] = offset(ORIGIN, 50, 160);
    assert.deepEqual(codes(input({ exif: exif({ lon, lat, directionDeg: 180 }), settings: tight })), [
      'far_from_patch',
    ]);
  });

  it('checks both positions when the page measured one too, and names the source', () => {
    const [lon, lat] = offset(ORIGIN, 50, 1100);
    const s = computeSignals(
      input({
        browser: { lat, lon, accuracyM: 20, headingDeg: 180, takenAt: null },
      }),
    );
    assert.deepEqual(
      s.map((x) => x.code),
      ['far_from_patch'],
    );
    assert.match(s[0]!.message, /^拍摄位置（浏览器定位，精度 ±20 米）距图斑 1000 米/);
    const positions = s[0]!.details.positions as { source: string; distanceM: number }[];
    assert.deepEqual(
      positions.map((p) => [p.source, p.distanceM]),
      [
        ['exif', 0],
        ['browser', 1000],
      ],
    );
  });

  it('flags no position only when neither EXIF nor the page has one', () => {
    assert.deepEqual(codes(input({ exif: exif({ lat: null, lon: null }) })), ['no_position']);
    assert.deepEqual(
      codes(
        input({
          exif: exif({ lat: null, lon: null, directionDeg: null }),
          browser: { lat: inside[1], lon: inside[0], accuracyM: null, headingDeg: null, takenAt: null },
        }),
      ),
      [],
    );
  });

  it('flags a heading more than 90° off the patch, not exactly 90°', () => {
    const [lon, lat] = offset(ORIGIN, -50, 50);
    assert.deepEqual(codes(input({ exif: exif({ lon, lat, directionDeg: 270 }) })), ['facing_away']);
    // Heading 315 is 90° anticlockwise of the arc 45°–135°: 315.1 is within the tolerance, 314 not.
    assert.deepEqual(codes(input({ exif: exif({ lon, lat, directionDeg: 315.1 }) })), []);
    assert.deepEqual(codes(input({ exif: exif({ lon, lat, directionDeg: 314 }) })), ['facing_away']);
    assert.deepEqual(codes(input({ exif: exif({ lon, lat, directionDeg: 224.9 }) })), []);
    assert.deepEqual(codes(input({ exif: exif({ lon, lat, directionDeg: 226 }) })), ['facing_away']);
    // No heading at all: nothing to check.
    assert.deepEqual(codes(input({ exif: exif({ lon, lat, directionDeg: null }) })), []);
  });

  it('checks time against the after image, the work window and the upload', () => {
    const at = (iso: string) => codes(input({ exif: exif({ takenAt: iso }) }));
    assert.deepEqual(at('2017-12-31T15:59:59.000Z'), ['outside_work_window', 'exif_upload_gap']);
    assert.deepEqual(at('2017-04-19T15:59:59.000Z'), [
      'outside_work_window',
      'before_after_image',
      'exif_upload_gap',
    ]);
    // The last milestone day ends at midnight Beijing time: 23:59 is in, 00:00 the next day is out.
    const late = (iso: string) =>
      codes(input({ exif: exif({ takenAt: iso }), uploadedAt: new Date(Date.parse(iso) + 3_600_000) }));
    assert.deepEqual(late('2018-05-10T15:59:00.000Z'), []);
    assert.deepEqual(late('2018-05-10T16:00:00.000Z'), ['outside_work_window']);
  });

  it('flags EXIF time and upload more than 7 days apart, or a capture after the upload', () => {
    const up = new Date('2018-04-01T02:00:00Z');
    const taken = (hoursBefore: number) =>
      codes(
        input({ exif: exif({ takenAt: new Date(up.getTime() - hoursBefore * 3_600_000).toISOString() }) }),
      );
    assert.deepEqual(taken(168), []);
    assert.deepEqual(taken(168.1), ['exif_upload_gap']);
    assert.deepEqual(taken(-0.1), [], 'six minutes of clock difference');
    assert.deepEqual(taken(-0.2), ['exif_upload_gap']);
    const s = computeSignals(input({ exif: exif({ takenAt: '2018-04-01T03:00:00.000Z' }) }));
    assert.match(s[0]!.message, /晚于上传时间/);
    // The page's clock is not compared with the upload (it is the upload's own clock).
    assert.deepEqual(
      codes(
        input({
          exif: exif({ takenAt: null }),
          browser: {
            lat: null,
            lon: null,
            accuracyM: null,
            headingDeg: null,
            takenAt: '2018-03-01T02:00:00.000Z',
          },
        }),
      ),
      [],
    );
  });

  it('flags a photo without any time', () => {
    assert.deepEqual(codes(input({ exif: exif({ takenAt: null }) })), ['no_time']);
  });

  it('counts a month-only after-image date from the first of the month', () => {
    const at = (iso: string) =>
      codes(
        input({
          exif: exif({ takenAt: iso }),
          patch: { geometry: PATCH_A, hsx: '2017-04' },
          window: { ...window, start: null },
        }),
      );
    assert.deepEqual(at('2017-03-31T16:00:00.000Z').includes('before_after_image'), false);
    assert.deepEqual(at('2017-03-31T15:59:00.000Z').includes('before_after_image'), true);
  });

  it('names the other patches for reused and near-identical photos', () => {
    const s = computeSignals(
      input({
        sameFile: [{ evidenceId: 7, patchId: 2, jcbh: '370306201700002' }],
        similar: [{ evidenceId: 9, patchId: 3, jcbh: '370306201700003', distance: 4 }],
      }),
    );
    assert.deepEqual(
      s.map((x) => x.code),
      ['duplicate_file', 'similar_image'],
    );
    assert.match(s[0]!.message, /图斑 370306201700002（举证 #7）/);
    assert.match(s[1]!.message, /图斑 370306201700003（举证 #9，相差 4 位）/);
  });

  it('reads thresholds from the environment, ignoring nonsense', () => {
    assert.deepEqual(
      signalSettingsFromEnv({
        WEIPIAN_EVIDENCE_MAX_DISTANCE_M: '500',
        WEIPIAN_EVIDENCE_MAX_HEADING_OFF_DEG: 'x',
      }),
      { ...DEFAULT_SIGNAL_SETTINGS, maxDistanceM: 500 },
    );
  });
});

describe('what a photo says (EXIF summary)', () => {
  it('fixes the capture instant by the offset, else the GPS clock, else the pack’s zone', () => {
    const base = { DateTimeOriginal: '2018:03:30 10:15:00' };
    const a = summariseExif({ ...base, OffsetTimeOriginal: '+09:00' }, TZ);
    assert.deepEqual([a.takenAt, a.takenAtSource], ['2018-03-30T01:15:00.000Z', 'offset']);
    const b = summariseExif({ ...base, GPSDateStamp: '2018:03:30', GPSTimeStamp: [2, 15, 30] }, TZ);
    assert.deepEqual([b.takenAt, b.takenAtSource], ['2018-03-30T02:15:30.000Z', 'gps']);
    const c = summariseExif(base, TZ);
    assert.deepEqual(
      [c.takenAt, c.takenAtSource, c.localTime],
      ['2018-03-30T02:15:00.000Z', 'assumed_zone', '2018:03:30 10:15:00'],
    );
    const bad = summariseExif({ DateTimeOriginal: '2018:02:30 10:15:00' }, TZ);
    assert.equal(bad.takenAt, null);
  });

  it('reads degrees, minutes, seconds with their hemisphere, and refuses the 0,0 no-fix', () => {
    const s = summariseExif(
      {
        GPSLatitude: [36, 42, 0],
        GPSLatitudeRef: 'S',
        GPSLongitude: [117, 47, 60],
        GPSLongitudeRef: 'W',
        GPSImgDirection: 365,
        GPSHPositioningError: 12,
        Make: 'HUAWEI\u0000\u0000',
      },
      TZ,
    );
    assert.deepEqual(
      [s.lat, s.lon, s.accuracyM, s.directionDeg, s.make],
      [-36.7, -117.8, 12, null, 'HUAWEI'],
    );
    const zero = summariseExif({ GPSLatitude: [0, 0, 0], GPSLongitude: [0, 0, 0] }, TZ);
    assert.deepEqual([zero.lat, zero.lon], [null, null]);
    const mag = summariseExif({ GPSImgDirection: 90.5, GPSImgDirectionRef: 'M' }, TZ);
    assert.deepEqual([mag.directionDeg, mag.directionRef], [90.5, 'M']);
    assert.deepEqual(summariseExif(undefined, TZ), { ...EMPTY_EXIF, tags: {} });
  });

  it('validates what the page measured', () => {
    assert.equal(parseBrowserCapture({}), undefined);
    assert.deepEqual(
      parseBrowserCapture({ lat: '36.7', lon: 117.8, heading: 0, time: '2018-03-30T10:15:00+08:00' }),
      {
        lat: 36.7,
        lon: 117.8,
        accuracyM: null,
        headingDeg: 0,
        takenAt: '2018-03-30T02:15:00.000Z',
      },
    );
    for (const bad of [
      { lat: 36.7 },
      { lat: 91, lon: 0 },
      { heading: 360 },
      { accuracy: -1 },
      { time: '昨天' },
    ])
      assert.throws(() => parseBrowserCapture(bad), { code: 'evidence_capture_invalid' });
  });
});
