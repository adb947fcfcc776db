// A small Ministry-style patch delivery with hand-worked areas: squares in EPSG:4527 whose
// ellipsoidal area follows from the Gauss-Krüger scale factor, a patch with a hole, a two-part
// patch, and one invalid (bowtie) polygon as real deliveries have.
import { rect, rectCw, type FixtureFeature } from './ogr.ts';

/** Square of `side` metres with its south-west corner at (e, n) in EPSG:4527. */
export function square(e: number, n: number, side: number) {
  return rect(e, n, e + side, n + side);
}

/**
 * Hand-worked ellipsoidal area of a small plane figure in a Gauss-Krüger zone: the plane area
 * divided by the squared point scale k² at its centroid, k = 1 + y²/(2R²) + y⁴/(24R⁴) with y the
 * distance from the central meridian and R² = M·N the Gaussian radius at the latitude.
 */
export function gaussToEllipsoid(planeArea: number, eastingFromCm: number, latDeg: number): number {
  const a = 6378137;
  const f = 1 / 298.257222101;
  const e2 = f * (2 - f);
  const s = Math.sin((latDeg * Math.PI) / 180);
  const w = 1 - e2 * s * s;
  const M = (a * (1 - e2)) / Math.pow(w, 1.5);
  const N = a / Math.sqrt(w);
  const r2 = M * N;
  const y2 = eastingFromCm * eastingFromCm;
  const k = 1 + y2 / (2 * r2) + (y2 * y2) / (24 * r2 * r2);
  return planeArea / (k * k);
}

export const DELIVERY_LAT = 36.7; // latitude of northing ≈ 4 063 000 near 117.8°E

export function deliveryFeatures(): FixtureFeature[] {
  return [
    {
      properties: {
        JCBH: '370306201700001',
        XZQDM: '370306101001',
        TBLX: '新增建设用地',
        JCMJ: 10000,
        GDMJ: 6000.5,
        QSX: '2016-10-15',
        HSX: '2017-04-20',
        ZXDX: 39571050,
        ZXDY: 4063050,
        备注: '北郊镇东侧厂房，疑似未批先建',
      },
      geometry: { type: 'Polygon', coordinates: [square(39571000, 4063000, 100)] },
    },
    {
      properties: {
        JCBH: '370306201700002',
        XZQDM: '370306102003',
        TBLX: '新增建设用地',
        JCMJ: 3600,
        GDMJ: 0,
        QSX: '2016-10-15',
        HSX: '2017-04-20',
        ZXDX: 39572030,
        ZXDY: 4063030,
        备注: '南郊镇（丝绸路街道交界）“设施农用地”',
      },
      // 60 m square with a 20 m square hole: plane area 3600 − 400 = 3200 m².
      geometry: {
        type: 'Polygon',
        coordinates: [square(39572000, 4063000, 60), rectCw(39572020, 4063020, 39572040, 4063040)],
      },
    },
    {
      properties: {
        JCBH: '370306201700003',
        XZQDM: '370306103010',
        TBLX: '其他',
        JCMJ: 800,
        GDMJ: 800,
        QSX: '2016-10-15',
        HSX: '2017-04-20',
        ZXDX: null,
        ZXDY: null,
        备注: '王村镇两处地块，中间隔农村道路',
      },
      // Two 20 m squares: 800 m² in the plane.
      geometry: {
        type: 'MultiPolygon',
        coordinates: [[square(39573000, 4063000, 20)], [square(39573040, 4063000, 20)]],
      },
    },
    {
      properties: {
        JCBH: '370306201700004',
        XZQDM: '370306104002',
        TBLX: '新增建设用地（光伏）',
        JCMJ: 2000,
        GDMJ: 0,
        QSX: '2016-10-15',
        HSX: '2017-04-20',
        ZXDX: null,
        ZXDY: null,
        备注: '萌水镇 bowtie：自相交，应修复为两个三角形',
      },
      // A bowtie crossing itself at (25, 20): repaired into two triangles of ½·40·25 = 500 m² each.
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [39574000, 4063000],
            [39574050, 4063040],
            [39574050, 4063000],
            [39574000, 4063040],
            [39574000, 4063000],
          ],
        ],
      },
    },
  ];
}

export const CM = 39_500_000; // false easting of zone 39 on the central meridian
