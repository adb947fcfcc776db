// The overlay engine: a patch against a reference layer (ReferenceIndex), giving every overlapping
// feature with the area of its intersection in m². Intersections are computed by GEOS in lon/lat
// and measured with the official ellipsoidal formula (area.ts) — the combination BENCH.md found
// to reproduce PostGIS geography areas. Inputs are repaired first (GEOS returns intersections
// larger than their inputs on invalid polygons); no result may exceed either input.
//
// Areas of pieces that share a split edge agree to the last digit, but a piece's area is not
// exactly additive with its parent's: GEOS puts new vertices on the straight lon/lat segment while
// area.ts treats edges as geodesics, which differ by ~L³·tanB/(16R) m² per split edge of length L
// (≈0.007 m² for a 100 m east–west edge). RELATIVE_NOISE bounds that for patch-sized polygons.

import type { Areal, BBox } from './geometry.ts';
import { bboxOf, polygonsOf } from './geometry.ts';
import { ellipsoidalArea } from './area.ts';
import type { GeomPtr, Geos, PreparedPtr } from './geos.ts';
import { allFinite, type FeatureId, type ReferenceIndex } from './reference-index.ts';
import { ringOverlay, MAX_PATCH_VERTICES, simpleRingOf, type FlatRing } from './ring-overlay.ts';

/** Pieces smaller than this (m²) are slivers of the overlay, not findings. */
export const DEFAULT_SLIVER_M2 = 0.01;
/** Relative difference between a piece and its parent that is numerical noise (see header). */
export const RELATIVE_NOISE = 1e-5;

/** Tolerance (m²) for comparing areas of about size m². */
export function areaNoise(m2: number): number {
  return RELATIVE_NOISE * Math.abs(m2) + 1e-6;
}

// ---------------------------------------------------------------------------------------------
// The patch side

/**
 * A patch ready for overlay with any number of layers: repaired once, measured once, read into
 * GEOS once and prepared when a layer needs it. dispose() frees the GEOS side.
 */
export class PatchShape {
  readonly geos: Geos;
  /** The geometry as given. */
  readonly input: Areal;
  /** The geometry overlaid: input, or its repair; null when nothing polygonal is left. */
  readonly geometry: Areal | null;
  /** Ellipsoidal area of geometry (m²). */
  readonly areaM2: number;
  readonly bbox: BBox;
  /** True when the input was invalid and geometry is its repair. */
  readonly repaired: boolean;
  /** GEOS's reason the input is invalid (e.g. 'Self-intersection'). */
  readonly issue: string | undefined;
  private ptr: GeomPtr | null | undefined;
  private prep: PreparedPtr | null | undefined;
  private flat: FlatRing | null | undefined;

  constructor(geos: Geos, g: Areal) {
    this.geos = geos;
    this.input = g;
    let geometry: Areal | null = g;
    let issue: string | undefined;
    if (!allFinite(g)) {
      issue = '坐标含非数值（NaN 或无穷大）';
      geometry = null;
    } else
      try {
        const v = geos.validity(g);
        if (!v.valid) {
          issue = v.reason ?? 'invalid';
          geometry = geos.makeValid(g);
        }
      } catch (e) {
        // GEOS could not even decide or repair: nothing trustworthy to overlay.
        issue = e instanceof Error ? e.message : String(e);
        geometry = null;
      }
    this.geometry = geometry;
    this.repaired = issue !== undefined;
    this.issue = issue;
    this.areaM2 = geometry ? ellipsoidalArea(geometry) : 0;
    this.bbox = bboxOf(geometry ?? g);
  }

  /** The GEOS geometry (created on first use); null when the patch has no polygon left. */
  geom(): GeomPtr | null {
    if (this.ptr === undefined) this.ptr = this.geometry ? this.geos.raw.read(this.geometry) : null;
    return this.ptr;
  }

  /** The geometry as one counter-clockwise ring when it is a small polygon without holes (ring-overlay.ts). */
  simpleRing(): FlatRing | null {
    if (this.flat === undefined)
      this.flat = this.geometry ? simpleRingOf(this.geometry, MAX_PATCH_VERTICES) : null;
    return this.flat;
  }

  /** The prepared GEOS geometry (created on first use). */
  prepared(): PreparedPtr | null {
    if (this.prep === undefined) {
      const g = this.geom();
      this.prep = g ? this.geos.raw.prepare(g) : null;
    }
    return this.prep;
  }

  dispose(): void {
    const raw = this.geos.raw;
    if (this.prep) raw.destroyPrepared(this.prep);
    if (this.ptr) raw.destroy(this.ptr);
    this.prep = null;
    this.ptr = null;
  }
}

/** Runs f with a PatchShape for g (or g itself when already one), disposing what it created. */
export function withPatch<T>(geos: Geos, g: Areal | PatchShape, f: (shape: PatchShape) => T): T {
  if (g instanceof PatchShape) return f(g);
  const shape = new PatchShape(geos, g);
  try {
    return f(shape);
  } finally {
    shape.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Pieces

/**
 * How a piece was obtained: 'clip' — GEOS intersection; 'inside' — the feature lies wholly inside
 * the patch and contributes its stored area; 'covers_patch' — the feature contains the whole patch.
 */
export type PieceMethod = 'clip' | 'inside' | 'covers_patch';

export interface Piece {
  /** Feature index in the reference index. */
  index: number;
  id: FeatureId;
  /** Ellipsoidal area of patch ∩ feature, m². */
  areaM2: number;
  geometry: Areal;
  method: PieceMethod;
}

export type PairErrorCode =
  'reference_unreadable' | 'patch_unreadable' | 'intersection_failed' | 'intersection_exceeds_input';

/** A pair GEOS could not overlay even after repairing both sides: reported, never thrown. */
export interface PairError {
  /** Feature index, −1 when the patch itself is at fault. */
  index: number;
  id: FeatureId | null;
  code: PairErrorCode;
  message: string;
}

export interface OverlayOptions {
  /** Pieces below this area (m²) are dropped; default DEFAULT_SLIVER_M2. */
  sliverM2?: number;
  /** Only features for which this holds take part (e.g. licences valid at a date). */
  filter?: (index: number) => boolean;
}

export interface OverlayResult {
  patchAreaM2: number;
  pieces: Piece[];
  errors: PairError[];
  /** Number of pieces dropped as slivers. */
  slivers: number;
}

function within(inner: BBox, outer: BBox): boolean {
  return (
    inner.minx >= outer.minx &&
    inner.maxx <= outer.maxx &&
    inner.miny >= outer.miny &&
    inner.maxy <= outer.maxy
  );
}

class PairFailure extends Error {
  constructor(
    readonly code: PairErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** area of a ∩ b, checked against both inputs; throws PairFailure. */
function intersectOnce(
  geos: Geos,
  a: GeomPtr,
  b: GeomPtr,
  maxM2: number,
): { geometry: Areal | null; areaM2: number } {
  const raw = geos.raw;
  const res = raw.intersection(a, b);
  if (!res) throw new PairFailure('intersection_failed', raw.lastError() ?? 'GEOS 未返回结果');
  let geometry: Areal | null;
  try {
    geometry = raw.toAreal(res);
  } finally {
    raw.destroy(res);
  }
  let areaM2 = geometry ? ellipsoidalArea(geometry) : 0;
  if (!Number.isFinite(areaM2) || areaM2 > maxM2 + areaNoise(maxM2))
    throw new PairFailure(
      'intersection_exceeds_input',
      `相交面积 ${areaM2.toFixed(2)} 平方米大于输入面积 ${maxM2.toFixed(2)} 平方米`,
    );
  // Within noise of the smaller input: that input, not a hair more.
  if (areaM2 > maxM2) areaM2 = maxM2;
  return { geometry, areaM2 };
}

/** patch ∩ feature by GEOS; on failure both are repaired and the intersection retried once. */
function clip(geos: Geos, p: GeomPtr, r: GeomPtr, maxM2: number): { geometry: Areal | null; areaM2: number } {
  try {
    return intersectOnce(geos, p, r, maxM2);
  } catch (e) {
    if (!(e instanceof PairFailure)) throw e;
    const raw = geos.raw;
    const vp = raw.makeValid(p);
    const vr = raw.makeValid(r);
    try {
      if (!vp || !vr) return { geometry: null, areaM2: 0 }; // a side has no area at all
      return intersectOnce(geos, vp, vr, maxM2);
    } catch (e2) {
      if (e2 instanceof PairFailure) e2.message = `${e2.message}（修复后重试仍失败；首次：${e.message}）`;
      throw e2;
    } finally {
      if (vp) raw.destroy(vp);
      if (vr) raw.destroy(vr);
    }
  }
}

/** The feature contains the whole patch: the piece is the patch. */
function coversPatch(shape: PatchShape, index: ReferenceIndex, i: number): Piece {
  const areaM2 = Math.min(shape.areaM2, index.areas[i]!);
  return { index: i, id: index.ids[i]!, areaM2, geometry: shape.geometry!, method: 'covers_patch' };
}

/** The feature lies wholly inside the patch: the piece is the feature, with its stored area. */
function insidePatch(shape: PatchShape, index: ReferenceIndex, i: number): Piece {
  const areaM2 = Math.min(index.areas[i]!, shape.areaM2);
  return { index: i, id: index.ids[i]!, areaM2, geometry: index.geometry(i), method: 'inside' };
}

/**
 * Whether pairs of simple rings are overlaid without GEOS (ring-overlay.ts); WEIPIAN_RING_OVERLAY=0
 * turns it off, so benchmarks can show what it saves and tests can compare both paths.
 */
let ringPath = process.env.WEIPIAN_RING_OVERLAY !== '0';
export function setRingOverlay(enabled: boolean): void {
  ringPath = enabled;
}

/** The pair without GEOS when both are small simple rings in generic position; undefined when GEOS must decide. */
function ringPiece(shape: PatchShape, index: ReferenceIndex, i: number): Piece | null | undefined {
  if (!ringPath) return undefined;
  const pr = shape.simpleRing();
  if (!pr) return undefined;
  const fr = index.simpleRing(i);
  if (!fr) return undefined;
  const o = ringOverlay(pr, fr);
  if (!o) return undefined;
  switch (o.kind) {
    case 'disjoint':
      return null;
    case 'patch-inside':
      return coversPatch(shape, index, i);
    case 'feature-inside':
      return insidePatch(shape, index, i);
    case 'clip': {
      const geometry: Areal =
        o.rings.length === 1
          ? { type: 'Polygon', coordinates: [o.rings[0]!] }
          : { type: 'MultiPolygon', coordinates: o.rings.map((r) => [r]) };
      // Within noise of the smaller input: that input, not a hair more (as the GEOS path).
      const areaM2 = Math.min(ellipsoidalArea(geometry), shape.areaM2, index.areas[i]!);
      return { index: i, id: index.ids[i]!, areaM2, geometry, method: 'clip' };
    }
  }
}

function pairPiece(shape: PatchShape, index: ReferenceIndex, i: number, p: GeomPtr): Piece | null {
  const fast = ringPiece(shape, index, i);
  if (fast !== undefined) return fast;
  const raw = shape.geos.raw;
  const fg = index.acquire(i);
  if (!fg) throw new PairFailure('reference_unreadable', raw.lastError() ?? '参考要素几何无法读取');
  try {
    const rb = index.bbox(i);
    const refM2 = index.areas[i]!;
    const id = index.ids[i]!;
    const patchInRef = within(shape.bbox, rb);
    const refInPatch = within(rb, shape.bbox);
    if (fg.prepared) {
      // Reference prepared: a patch inside a town or zone is answered by one predicate.
      if (patchInRef && raw.preparedContains(fg.prepared, p) === true) return coversPatch(shape, index, i);
      if (refInPatch && raw.contains(p, fg.geom) === true) return insidePatch(shape, index, i);
      if (raw.preparedIntersects(fg.prepared, p) === false) return null;
    } else {
      const pp = shape.prepared();
      if (pp) {
        if (raw.preparedIntersects(pp, fg.geom) === false) return null;
        if (refInPatch && raw.preparedContains(pp, fg.geom) === true) return insidePatch(shape, index, i);
      }
    }
    const { geometry, areaM2 } = clip(shape.geos, p, fg.geom, Math.min(shape.areaM2, refM2));
    if (!geometry) return null;
    return { index: i, id, areaM2, geometry, method: 'clip' };
  } finally {
    index.release(fg);
  }
}

/** Overlays a prepared patch with one layer (see overlayPatch). */
export function overlayShape(
  shape: PatchShape,
  index: ReferenceIndex,
  opts: OverlayOptions = {},
): OverlayResult {
  if (index.geos !== shape.geos) throw new Error('overlay: patch and index use different GEOS instances');
  const sliver = opts.sliverM2 ?? DEFAULT_SLIVER_M2;
  const result: OverlayResult = { patchAreaM2: shape.areaM2, pieces: [], errors: [], slivers: 0 };
  // A patch smaller than a sliver can have no piece worth reporting.
  if (!shape.geometry || index.size === 0 || shape.areaM2 < sliver) return result;
  const candidates = index.search(shape.bbox);
  if (candidates.length === 0) return result;
  const p = shape.geom();
  if (!p) {
    result.errors.push({
      index: -1,
      id: null,
      code: 'patch_unreadable',
      message: `图斑几何无法读入 GEOS：${shape.geos.raw.lastError() ?? '未知原因'}`,
    });
    return result;
  }
  candidates.sort((a, b) => a - b); // stable output order whatever the tree layout
  for (const i of candidates) {
    if (opts.filter && !opts.filter(i)) continue;
    let piece: Piece | null;
    try {
      piece = pairPiece(shape, index, i, p);
    } catch (e) {
      const code = e instanceof PairFailure ? e.code : 'intersection_failed';
      const msg = e instanceof Error ? e.message : String(e);
      result.errors.push({
        index: i,
        id: index.ids[i]!,
        code,
        message: `与${index.name}要素 ${String(index.ids[i])} 叠加失败：${msg}`,
      });
      continue;
    }
    if (!piece) continue;
    if (piece.areaM2 < sliver) {
      result.slivers++;
      continue;
    }
    result.pieces.push(piece);
  }
  return result;
}

/**
 * Every feature of index that overlaps the patch, with the ellipsoidal area (m²) of the
 * intersection. The patch is repaired when invalid; a pair GEOS cannot overlay is reported in
 * errors, never thrown.
 */
export function overlayPatch(
  patch: Areal | PatchShape,
  index: ReferenceIndex,
  opts: OverlayOptions = {},
): OverlayResult {
  return withPatch(index.geos, patch, (shape) => overlayShape(shape, index, opts));
}

// ---------------------------------------------------------------------------------------------
// Covers: the union of pieces, so overlapping features do not count twice

export interface Cover {
  /** Area of the union of the pieces, m² (never more than the patch, never less than the largest piece). */
  coveredM2: number;
  /**
   * The union itself, inside the patch (null when nothing is covered or GEOS failed). Computed on
   * first call when the area did not need it (pieces of a coverage, pieces far apart).
   */
  union(): Areal | null;
  /** The pieces when they are known not to overlap each other (then areas of the cover are their sums). */
  disjoint: readonly Piece[] | null;
  errors: PairError[];
}

function boxesOverlap(a: BBox, b: BBox): boolean {
  return a.minx <= b.maxx && b.minx <= a.maxx && a.miny <= b.maxy && b.miny <= a.maxy;
}

/** GEOS union of the pieces' geometries; on failure each is repaired and the union retried once. */
function unionPieces(shape: PatchShape, pieces: readonly Piece[]): Areal | null {
  try {
    return shape.geos.union(pieces.map((p) => p.geometry));
  } catch {
    // Pieces of a repaired patch are valid; should GEOS still fail, repair each and retry once.
    const fixed = pieces.map((p) => shape.geos.makeValid(p.geometry)).filter((g): g is Areal => g !== null);
    return shape.geos.union(fixed);
  }
}

const fixed = (g: Areal | null) => (): Areal | null => g;

/**
 * Union of pieces (from any layers) overlaid on the same patch, and its area. With coverage (the
 * pieces come from non-overlapping features) the area is their sum, unless that sum exceeds the
 * patch — then the features did overlap after all and the union is computed.
 */
export function coverOf(shape: PatchShape, pieces: readonly Piece[], coverage = false): Cover {
  const errors: PairError[] = [];
  if (pieces.length === 0) return { coveredM2: 0, union: fixed(null), disjoint: pieces, errors };
  const whole = pieces.find((p) => p.method === 'covers_patch');
  if (whole) return { coveredM2: shape.areaM2, union: fixed(shape.geometry), disjoint: null, errors };
  if (pieces.length === 1)
    return { coveredM2: pieces[0]!.areaM2, union: fixed(pieces[0]!.geometry), disjoint: pieces, errors };
  let sum = 0;
  let largest = 0;
  for (const p of pieces) {
    sum += p.areaM2;
    largest = Math.max(largest, p.areaM2);
  }
  const lazyUnion = (): (() => Areal | null) => {
    let done = false;
    let g: Areal | null = null;
    return () => {
      if (!done) {
        done = true;
        try {
          g = unionPieces(shape, pieces);
        } catch {
          g = null;
        }
      }
      return g;
    };
  };
  if (coverage && sum <= shape.areaM2 + areaNoise(shape.areaM2))
    return { coveredM2: Math.min(sum, shape.areaM2), union: lazyUnion(), disjoint: pieces, errors };
  // Pieces whose boxes are apart cannot overlap (or touch): their union is their sum and a valid
  // multipolygon of them, no GEOS needed.
  const boxes = pieces.map((p) => bboxOf(p.geometry));
  let apart = pieces.length <= 64;
  for (let i = 0; apart && i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++)
      if (boxesOverlap(boxes[i]!, boxes[j]!)) {
        apart = false;
        break;
      }
  if (apart)
    return {
      coveredM2: Math.min(sum, shape.areaM2),
      union: fixed({ type: 'MultiPolygon', coordinates: pieces.flatMap((p) => polygonsOf(p.geometry)) }),
      disjoint: pieces,
      errors,
    };
  let union: Areal | null;
  try {
    union = unionPieces(shape, pieces);
  } catch (e) {
    errors.push({
      index: -1,
      id: null,
      code: 'intersection_failed',
      message: `合并覆盖范围失败，按各部分面积之和计：${e instanceof Error ? e.message : String(e)}`,
    });
    return { coveredM2: Math.min(sum, shape.areaM2), union: fixed(null), disjoint: null, errors };
  }
  const area = union ? ellipsoidalArea(union) : 0;
  // The union lies between its largest part and the smaller of (sum of parts, patch).
  const coveredM2 = Math.min(Math.max(area, largest), sum, shape.areaM2);
  return { coveredM2, union: fixed(union), disjoint: null, errors };
}

export interface CoverResult extends Cover {
  pieces: Piece[];
  slivers: number;
}

/**
 * Area of the patch covered by the features of index (optionally only those passing filter),
 * counting overlapping features once: the intersection pieces are unioned before measuring.
 */
export function coverArea(
  patch: Areal | PatchShape,
  index: ReferenceIndex,
  filter?: (index: number) => boolean,
  opts: OverlayOptions = {},
): CoverResult {
  return withPatch(index.geos, patch, (shape) => {
    const ov = overlayShape(shape, index, { ...opts, ...(filter ? { filter } : {}) });
    const cover = coverOf(shape, ov.pieces, index.coverage);
    return { ...cover, errors: [...ov.errors, ...cover.errors], pieces: ov.pieces, slivers: ov.slivers };
  });
}

export interface Remainder {
  /** The patch minus the covers; null when (all but slivers of) the patch is covered. */
  geometry: Areal | null;
  areaM2: number;
}

/** patch − cover, measured; null geometry when the rest is below the sliver tolerance. */
export function remainderOf(shape: PatchShape, cover: Cover, sliverM2 = DEFAULT_SLIVER_M2): Remainder {
  if (!shape.geometry) return { geometry: null, areaM2: 0 };
  if (cover.coveredM2 <= 0) return { geometry: shape.geometry, areaM2: shape.areaM2 };
  if (cover.coveredM2 >= shape.areaM2) return { geometry: null, areaM2: 0 };
  let rest: Areal | null;
  try {
    const union = cover.union();
    if (!union) throw new Error('no union');
    rest = shape.geos.difference(shape.geometry, union);
  } catch {
    // Fall back to the measured difference without a shape.
    const areaM2 = Math.max(0, shape.areaM2 - cover.coveredM2);
    return { geometry: null, areaM2: areaM2 < sliverM2 ? 0 : areaM2 };
  }
  const areaM2 = rest ? Math.min(ellipsoidalArea(rest), shape.areaM2) : 0;
  return areaM2 < sliverM2 ? { geometry: null, areaM2: 0 } : { geometry: rest, areaM2 };
}

/**
 * The part of the patch not covered by the features of index (the 批少占多 candidate part when the
 * index holds approvals), with its area; null when nothing beyond slivers is left.
 */
export function remainder(
  patch: Areal | PatchShape,
  index: ReferenceIndex,
  filter?: (index: number) => boolean,
  opts: OverlayOptions = {},
): (Remainder & { geometry: Areal }) | null {
  return withPatch(index.geos, patch, (shape) => {
    const cover = coverArea(shape, index, filter, opts);
    const r = remainderOf(shape, cover, opts.sliverM2);
    return r.geometry ? { geometry: r.geometry, areaM2: r.areaM2 } : null;
  });
}

/**
 * Area (m²) of a cover ∩ other (e.g. farmland within the uncovered part). When the cover's pieces do
 * not overlap, it is the sum over pieces — each wholly inside other (its own area), apart from it,
 * or clipped — against other prepared once, with no union of the pieces; otherwise the union ∩
 * other. null when GEOS fails even after repairing.
 */
export function coverOverlapArea(geos: Geos, cover: Cover, other: Areal | null): number | null {
  if (!other || cover.coveredM2 <= 0) return 0;
  if (!cover.disjoint) return overlapArea(geos, cover.union(), other);
  const raw = geos.raw;
  const ob = bboxOf(other);
  const og = raw.read(other);
  if (!og) return overlapArea(geos, cover.union(), other);
  const prep = raw.prepare(og);
  try {
    let sum = 0;
    for (const p of cover.disjoint) {
      if (!boxesOverlap(bboxOf(p.geometry), ob)) continue;
      const pg = raw.read(p.geometry);
      if (!pg) return overlapArea(geos, cover.union(), other);
      try {
        if (prep && raw.preparedContains(prep, pg) === true) {
          sum += p.areaM2;
          continue;
        }
        if (prep && raw.preparedIntersects(prep, pg) === false) continue;
        const res = raw.intersection(og, pg);
        if (!res) return overlapArea(geos, cover.union(), other);
        try {
          const g = raw.toAreal(res);
          if (g) sum += Math.min(ellipsoidalArea(g), p.areaM2);
        } finally {
          raw.destroy(res);
        }
      } finally {
        raw.destroy(pg);
      }
    }
    return sum;
  } finally {
    if (prep) raw.destroyPrepared(prep);
    raw.destroy(og);
  }
}

/**
 * Area (m²) of a ∩ b for two areas inside one patch (e.g. farmland within the uncovered part);
 * null when GEOS fails even after repairing both.
 */
export function overlapArea(geos: Geos, a: Areal | null, b: Areal | null): number | null {
  if (!a || !b) return 0;
  if (!boxesOverlap(bboxOf(a), bboxOf(b))) return 0;
  const measure = (x: Areal, y: Areal): number => {
    const g = geos.intersection(x, y);
    return g ? Math.min(ellipsoidalArea(g), ellipsoidalArea(x), ellipsoidalArea(y)) : 0;
  };
  try {
    return measure(a, b);
  } catch {
    try {
      const fa = geos.makeValid(a);
      const fb = geos.makeValid(b);
      return fa && fb ? measure(fa, fb) : 0;
    } catch {
      return null;
    }
  }
}
