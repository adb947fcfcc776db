// Ellipsoidal measurement on CGCS2000 (a = 6378137, 1/f = 298.257222101) with GeographicLib:
// the same geodesic polygon area the official 椭球面积 is checked against. Input is lon/lat.
import geographiclib from 'geographiclib-geodesic';

const geod = new geographiclib.Geodesic.Geodesic(6378137, 1 / 298.257222101);

export function geodesicLength(coords: [number, number][]): number {
  const p = geod.Polygon(true);
  for (const [lon, lat] of coords) p.AddPoint(lat, lon);
  return p.Compute(false, true).perimeter;
}

/** Area of a ring (closed or not) in m², always positive. */
export function geodesicArea(ring: [number, number][]): number {
  const pts =
    ring.length > 1 && ring[0]![0] === ring.at(-1)![0] && ring[0]![1] === ring.at(-1)![1]
      ? ring.slice(0, -1)
      : ring;
  if (pts.length < 3) return 0;
  const p = geod.Polygon(false);
  for (const [lon, lat] of pts) p.AddPoint(lat, lon);
  return Math.abs(p.Compute(false, true).area ?? 0);
}

export const M2_PER_MU = 2000 / 3;

export function formatLength(m: number): string {
  return m >= 1000 ? `${(m / 1000).toFixed(3)} 千米` : `${m.toFixed(2)} 米`;
}

export function formatArea(m2: number): string {
  return `${(m2 / M2_PER_MU).toFixed(2)} 亩（${m2.toLocaleString('zh-CN', { maximumFractionDigits: 1 })} 平方米，${(m2 / 10000).toFixed(4)} 公顷）`;
}
