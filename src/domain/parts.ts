// Parts of a patch (批少占多: approved for less than was taken): parts tile the patch exactly —
// no gap, no overlap, nothing outside, each within 0.01 m² — and each carries its own verdict; all
// figures use the parts. Parts are drawn by hand (GeoJSON, EPSG:4490 lon/lat) or derived as the
// patch ∩ approval cover and the patch − approval cover. Geometry by GEOS, areas by the official
// ellipsoidal formula. No I/O.
//
// Tiling is checked geometrically, not by adding areas: a part's area is not exactly additive with
// its parent's (geo/overlay.ts: GEOS splits along the straight lon/lat segment, area.ts measures
// geodesic edges), which for a 100 m cut is already ~0.007 m².
import { WeipianError } from './errors.ts';
import { ellipsoidalArea } from '../geo/area.ts';
import { inChina } from '../geo/crs.ts';
import { bboxOf, type Areal, type BBox, type Position, type Ring } from '../geo/geometry.ts';
import type { Geos } from '../geo/geos.ts';

export const TILING_TOLERANCE_M2 = 0.01;

/** A GeoJSON geometry (or Feature) drawn by hand → a closed lon/lat Polygon or MultiPolygon. */
export function parseDrawnGeometry(json: unknown, what: string): Areal {
  const bad = (why: string) => new WeipianError('geometry_invalid', `${what}的图形无效：${why}`, { what });
  let g = json as { type?: unknown; coordinates?: unknown; geometry?: unknown } | null;
  if (g && typeof g === 'object' && g.type === 'Feature') g = g.geometry as typeof g;
  if (!g || typeof g !== 'object') throw bad('应为 GeoJSON 的 Polygon 或 MultiPolygon');
  if (g.type !== 'Polygon' && g.type !== 'MultiPolygon')
    throw bad(`应为 Polygon 或 MultiPolygon（收到 ${String(g.type)}）`);
  const ring = (r: unknown): Ring => {
    if (!Array.isArray(r)) throw bad('坐标应为数组');
    const pts = r.map((p): Position => {
      if (!Array.isArray(p) || p.length < 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number')
        throw bad('每个坐标应为 [经度, 纬度]');
      const [x, y] = p as [number, number];
      if (!Number.isFinite(x) || !Number.isFinite(y)) throw bad('坐标含非数值');
      if (!inChina(x, y)) throw bad(`坐标 (${x}, ${y}) 不在中国范围内（应为 CGCS2000 经纬度，EPSG:4490）`);
      return [x, y];
    });
    const first = pts[0];
    const last = pts[pts.length - 1];
    // An unclosed ring is closed: its meaning is unambiguous.
    if (first && last && (first[0] !== last[0] || first[1] !== last[1])) pts.push([first[0], first[1]]);
    if (pts.length < 4) throw bad('每个环至少需要 3 个不同的顶点');
    return pts;
  };
  const poly = (p: unknown) => {
    if (!Array.isArray(p) || p.length === 0) throw bad('多边形没有外环');
    return p.map(ring);
  };
  if (g.type === 'Polygon') return { type: 'Polygon', coordinates: poly(g.coordinates) };
  if (!Array.isArray(g.coordinates) || g.coordinates.length === 0) throw bad('MultiPolygon 没有多边形');
  return { type: 'MultiPolygon', coordinates: g.coordinates.map(poly) };
}

/** Refuses a self-intersecting or otherwise invalid drawn polygon, naming GEOS's reason and place. */
export function assertValidDrawn(geos: Geos, g: Areal, what: string): void {
  const v = geos.validity(g);
  if (!v.valid)
    throw new WeipianError(
      'geometry_invalid',
      `${what}的图形无效：${v.reason ?? '无效多边形'}${v.location ? `（位置 ${v.location[0].toFixed(7)}, ${v.location[1].toFixed(7)}）` : ''}，请重新绘制`,
      { what, reason: v.reason, location: v.location },
    );
}

const area = (g: Areal | null): number => (g ? ellipsoidalArea(g) : 0);

export interface TilingReport {
  patchM2: number;
  partsM2: number[];
  sumM2: number;
  /** Patch area no part covers. */
  gapM2: number;
  /** Area covered by two parts or more (sum over pairs). */
  overlapM2: number;
  /** Part area outside the patch. */
  outsideM2: number;
  ok: boolean;
}

/** Measures how exactly `parts` tile `patch`. */
export function tilingReport(geos: Geos, patch: Areal, parts: readonly Areal[]): TilingReport {
  const partsM2 = parts.map((p) => ellipsoidalArea(p));
  const union = geos.union(parts);
  const gapM2 = union ? area(geos.difference(patch, union)) : ellipsoidalArea(patch);
  const outsideM2 = union ? area(geos.difference(union, patch)) : 0;
  let overlapM2 = 0;
  for (let i = 0; i < parts.length; i++)
    for (let j = i + 1; j < parts.length; j++)
      if (boxesOverlap(bboxOf(parts[i]!), bboxOf(parts[j]!)))
        overlapM2 += area(geos.intersection(parts[i]!, parts[j]!));
  const patchM2 = ellipsoidalArea(patch);
  return {
    patchM2,
    partsM2,
    sumM2: partsM2.reduce((a, b) => a + b, 0),
    gapM2,
    overlapM2,
    outsideM2,
    ok: gapM2 <= TILING_TOLERANCE_M2 && overlapM2 <= TILING_TOLERANCE_M2 && outsideM2 <= TILING_TOLERANCE_M2,
  };
}

function boxesOverlap(a: BBox, b: BBox): boolean {
  return a.minx <= b.maxx && b.minx <= a.maxx && a.miny <= b.maxy && b.miny <= a.maxy;
}

/** Throws parts_not_tiling naming what is wrong (gap, overlap, outside) with the areas. */
export function assertTiling(r: TilingReport): void {
  if (r.ok) return;
  const problems: string[] = [];
  if (r.gapM2 > TILING_TOLERANCE_M2) problems.push(`有 ${r.gapM2.toFixed(2)} 平方米未被任何部分覆盖`);
  if (r.overlapM2 > TILING_TOLERANCE_M2) problems.push(`各部分之间重叠 ${r.overlapM2.toFixed(2)} 平方米`);
  if (r.outsideM2 > TILING_TOLERANCE_M2) problems.push(`有 ${r.outsideM2.toFixed(2)} 平方米超出图斑范围`);
  throw new WeipianError(
    'parts_not_tiling',
    `拆分后的各部分必须恰好铺满图斑（误差不超过 ${TILING_TOLERANCE_M2} 平方米）：${problems.join('；')}`,
    r,
  );
}

export interface DrawnSplitOptions {
  /** Cut every drawn part to the patch first (a UI may draw past the boundary). */
  clipToPatch?: boolean;
  /** Add the patch minus the drawn parts as one more part. */
  rest?: boolean;
}

export interface PartShape {
  geometry: Areal;
  areaM2: number;
  origin: 'drawn' | 'rest' | 'approved' | 'unapproved';
}

function nonSliver(g: Areal | null): g is Areal {
  return g !== null && ellipsoidalArea(g) >= TILING_TOLERANCE_M2;
}

/**
 * Parts from hand-drawn polygons: each valid, optionally clipped to the patch, optionally completed
 * by the rest of the patch; then checked to tile the patch. At least two parts result.
 */
export function drawnParts(
  geos: Geos,
  patch: Areal,
  drawn: readonly Areal[],
  opts: DrawnSplitOptions = {},
): PartShape[] {
  const out: PartShape[] = [];
  drawn.forEach((g, i) => {
    const what = `第 ${i + 1} 部分`;
    assertValidDrawn(geos, g, what);
    const shape = opts.clipToPatch ? geos.intersection(g, patch) : g;
    if (!nonSliver(shape))
      throw new WeipianError(
        'part_empty',
        `${what}${opts.clipToPatch ? '与图斑' : ''}没有面积（小于 ${TILING_TOLERANCE_M2} 平方米）`,
        {
          index: i,
        },
      );
    out.push({ geometry: shape, areaM2: ellipsoidalArea(shape), origin: 'drawn' });
  });
  if (opts.rest) {
    const union = geos.union(out.map((p) => p.geometry));
    const rest = union ? geos.difference(patch, union) : patch;
    if (nonSliver(rest)) out.push({ geometry: rest, areaM2: ellipsoidalArea(rest), origin: 'rest' });
  }
  if (out.length < 2)
    throw new WeipianError('split_too_few_parts', '拆分至少要得到两个部分', { parts: out.length });
  assertTiling(
    tilingReport(
      geos,
      patch,
      out.map((p) => p.geometry),
    ),
  );
  return out;
}

/**
 * 批少占多: the patch split by the approval cover into the approved part (patch ∩ cover) and the
 * part taken beyond it (patch − cover). Refused when either side is below the tolerance (nothing to
 * split: the patch is wholly approved or wholly unapproved).
 */
export function coverParts(geos: Geos, patch: Areal, covers: readonly Areal[]): PartShape[] {
  const union = covers.length ? geos.union(covers) : null;
  const inside = union ? geos.intersection(patch, union) : null;
  const outside = union ? geos.difference(patch, union) : patch;
  if (!nonSliver(inside))
    throw new WeipianError(
      'split_nothing_approved',
      '图斑范围内没有已批准的用地（批准范围与图斑不相交），无法按批准范围拆分',
    );
  if (!nonSliver(outside))
    throw new WeipianError('split_all_approved', '图斑已全部在批准范围内，没有超出批准范围的部分可拆分');
  const parts: PartShape[] = [
    { geometry: inside, areaM2: ellipsoidalArea(inside), origin: 'approved' },
    { geometry: outside, areaM2: ellipsoidalArea(outside), origin: 'unapproved' },
  ];
  assertTiling(
    tilingReport(
      geos,
      patch,
      parts.map((p) => p.geometry),
    ),
  );
  return parts;
}

/**
 * The area of a part that figures count: the part minus what patches counted before it already
 * cover (a 巡查 patch over a satellite patch counts the overlap once, with the satellite patch).
 */
export function countedArea(geos: Geos, part: Areal, countedBefore: readonly Areal[]): number {
  const full = ellipsoidalArea(part);
  const near = countedBefore.filter((g) => boxesOverlap(bboxOf(g), bboxOf(part)));
  if (near.length === 0) return full;
  const union = geos.union(near);
  if (!union) return full;
  const rest = geos.difference(part, union);
  const m2 = rest ? Math.min(ellipsoidalArea(rest), full) : 0;
  return m2 < TILING_TOLERANCE_M2 ? 0 : m2;
}

/** Area of a ∩ b (m²), 0 when they do not meet. */
export function overlapM2(geos: Geos, a: Areal, b: Areal): number {
  if (!boxesOverlap(bboxOf(a), bboxOf(b))) return 0;
  const g = geos.intersection(a, b);
  return g ? ellipsoidalArea(g) : 0;
}

/** The polygons of several parts merged into one geometry (for merging parts back). */
export function mergeShapes(geos: Geos, parts: readonly Areal[]): Areal {
  const u = geos.union(parts);
  if (!u) throw new WeipianError('geometry_operation_failed', '合并部分失败：结果为空');
  return u;
}
