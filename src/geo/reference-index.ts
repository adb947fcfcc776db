// A reference layer ready for overlay: a flatbush index over the features' bounding boxes, the
// geometries packed as WKB in one buffer (a province's million parcels are not a million JS
// object trees), and GEOS geometries created from that WKB only when a patch needs them.
//
// Which side is prepared (GEOSPrepare) follows reuse, as measured in BENCH.md: a few large
// polygons (towns, planning zones, approvals) are met by thousands of patches, so each is read and
// prepared once and kept ('reference'); hundreds of thousands of small parcels are each met by one
// or two patches, so they are read per pair and the patch is prepared instead ('patch').

import Flatbush from 'flatbush';
import type { Areal, BBox } from './geometry.ts';
import { bboxOf, polygonsOf } from './geometry.ts';
import { ellipsoidalArea } from './area.ts';
import { decodeWkb, wkbSize, writeWkb } from './wkb.ts';
import type { GeomPtr, Geos, PreparedPtr } from './geos.ts';
import { bufferMetres } from './metric-buffer.ts';

export type FeatureId = string | number;

export interface ReferenceFeature {
  id: FeatureId;
  /** EPSG:4490 lon/lat, already repaired (valid): GEOS gives wrong overlays on invalid input. */
  geometry: Areal;
  /** Ellipsoidal area of geometry in m²; computed when absent. */
  areaM2?: number;
  attributes?: Readonly<Record<string, unknown>>;
}

export type PrepareSide = 'reference' | 'patch';

export interface ReferenceIndexOptions {
  /** Layer name for messages, e.g. '采矿权'. */
  name?: string;
  /** Which side of each pair to prepare; 'auto' (default): 'reference' up to autoReferenceMax features. */
  prepare?: PrepareSide | 'auto';
  autoReferenceMax?: number;
  /**
   * Grow every feature outward by this many metres before indexing (a licence's boundary
   * tolerance, see metric-buffer.ts). Stored areas are then those of the grown polygons.
   */
  bufferM?: number;
  /**
   * The features do not overlap each other (a survey coverage: 地类图斑, 耕地, 永久基本农田, towns).
   * Covered areas are then sums of pieces instead of unions, which halves the overlay time; should
   * the pieces of one patch add up to more than the patch, the union is computed after all.
   */
  coverage?: boolean;
}

/** Up to this many features, 'auto' prepares the reference polygons (towns: ~10, zones: ~300, approvals: ~1,000). */
export const AUTO_REFERENCE_MAX = 5000;

/** A GEOS geometry of one feature, borrowed from the index (see ReferenceIndex.acquire). */
export interface FeatureGeom {
  geom: GeomPtr;
  /** Present when the index prepares its features. */
  prepared: PreparedPtr | null;
}

/** A feature the index left out, with the reason. */
export interface SkippedFeature {
  id: FeatureId;
  reason: string;
}

const UNREADABLE = 'unreadable' as const;

/** Every coordinate is a finite number (NaN would poison areas and boxes silently). */
export function allFinite(g: Areal): boolean {
  for (const poly of polygonsOf(g))
    for (const ring of poly)
      for (const p of ring) if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) return false;
  return true;
}

export class ReferenceIndex {
  readonly geos: Geos;
  readonly name: string;
  /** Number of indexed features; feature indexes run 0 … size − 1. */
  readonly size: number;
  readonly prepareSide: PrepareSide;
  readonly bufferM: number;
  readonly coverage: boolean;
  readonly ids: readonly FeatureId[];
  readonly attributes: readonly Readonly<Record<string, unknown>>[];
  /** Stored ellipsoidal area (m²) per feature. */
  readonly areas: Float64Array;
  /** minx, miny, maxx, maxy per feature. */
  readonly boxes: Float64Array;
  readonly skipped: readonly SkippedFeature[];
  private readonly wkb: Uint8Array;
  /** Byte offset of feature i's WKB is offsets[i], its end offsets[i + 1]. */
  private readonly offsets: Float64Array;
  private readonly tree: Flatbush | null;
  private readonly cache = new Map<number, FeatureGeom | typeof UNREADABLE>();
  private disposed = false;

  constructor(geos: Geos, features: readonly ReferenceFeature[], opts: ReferenceIndexOptions = {}) {
    this.geos = geos;
    this.name = opts.name ?? '参考图层';
    this.bufferM = opts.bufferM ?? 0;
    this.coverage = opts.coverage === true;
    const skipped: SkippedFeature[] = [];
    const kept: { f: ReferenceFeature; g: Areal }[] = [];
    for (const f of features) {
      let g: Areal | null = f.geometry;
      if (this.bufferM > 0) {
        g = bufferMetres(geos, g, this.bufferM);
        if (!g) {
          skipped.push({
            id: f.id,
            reason: `外扩 ${this.bufferM} 米失败：${geos.raw.lastError() ?? '无面'}`,
          });
          continue;
        }
      }
      const b = bboxOf(g);
      if (!Number.isFinite(b.minx) || !Number.isFinite(b.maxy)) {
        skipped.push({ id: f.id, reason: '几何为空' });
        continue;
      }
      if (!allFinite(g)) {
        skipped.push({ id: f.id, reason: '坐标含非数值（NaN 或无穷大）' });
        continue;
      }
      kept.push({ f, g });
    }
    const n = kept.length;
    this.size = n;
    this.skipped = skipped;
    const max = opts.autoReferenceMax ?? AUTO_REFERENCE_MAX;
    this.prepareSide =
      opts.prepare && opts.prepare !== 'auto' ? opts.prepare : n <= max ? 'reference' : 'patch';

    const offsets = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + wkbSize(kept[i]!.g);
    const wkb = new Uint8Array(offsets[n]!);
    const areas = new Float64Array(n);
    const boxes = new Float64Array(4 * n);
    const ids: FeatureId[] = new Array<FeatureId>(n);
    const attributes: Readonly<Record<string, unknown>>[] = new Array<Readonly<Record<string, unknown>>>(n);
    const tree = n > 0 ? new Flatbush(n) : null;
    for (let i = 0; i < n; i++) {
      const { f, g } = kept[i]!;
      writeWkb(g, wkb, offsets[i]!);
      // A stored area belongs to the given geometry, not to a buffered one.
      areas[i] = f.areaM2 !== undefined && this.bufferM === 0 ? f.areaM2 : ellipsoidalArea(g);
      const b = bboxOf(g);
      boxes.set([b.minx, b.miny, b.maxx, b.maxy], 4 * i);
      tree!.add(b.minx, b.miny, b.maxx, b.maxy);
      ids[i] = f.id;
      attributes[i] = f.attributes ?? {};
    }
    tree?.finish();
    this.offsets = offsets;
    this.wkb = wkb;
    this.areas = areas;
    this.boxes = boxes;
    this.ids = ids;
    this.attributes = attributes;
    this.tree = tree;
  }

  /** Indexes of the features whose bounding box meets b. */
  search(b: BBox): number[] {
    return this.tree ? this.tree.search(b.minx, b.miny, b.maxx, b.maxy) : [];
  }

  bbox(i: number): BBox {
    const o = 4 * i;
    return {
      minx: this.boxes[o]!,
      miny: this.boxes[o + 1]!,
      maxx: this.boxes[o + 2]!,
      maxy: this.boxes[o + 3]!,
    };
  }

  /** Feature i's WKB (a view into the packed buffer). */
  wkbOf(i: number): Uint8Array {
    return this.wkb.subarray(this.offsets[i]!, this.offsets[i + 1]!);
  }

  /** Feature i's geometry (buffered when the index was built with bufferM). */
  geometry(i: number): Areal {
    return decodeWkb(this.wkbOf(i));
  }

  /**
   * A GEOS geometry for feature i, null when GEOS cannot read it. With 'reference' preparation it
   * is created and prepared once and kept; with 'patch' it is fresh. Give it back with release().
   */
  acquire(i: number): FeatureGeom | null {
    if (this.disposed) throw new Error(`ReferenceIndex ${this.name} used after dispose()`);
    const raw = this.geos.raw;
    if (this.prepareSide === 'patch') {
      const geom = raw.readWkb(this.wkbOf(i));
      return geom ? { geom, prepared: null } : null;
    }
    const hit = this.cache.get(i);
    if (hit !== undefined) return hit === UNREADABLE ? null : hit;
    const geom = raw.readWkb(this.wkbOf(i));
    if (!geom) {
      this.cache.set(i, UNREADABLE);
      return null;
    }
    const fg: FeatureGeom = { geom, prepared: raw.prepare(geom) };
    this.cache.set(i, fg);
    return fg;
  }

  release(fg: FeatureGeom): void {
    if (this.prepareSide === 'patch') this.geos.raw.destroy(fg.geom);
  }

  /** Number of GEOS geometries currently kept (prepared reference polygons). */
  get cachedCount(): number {
    return this.cache.size;
  }

  /** Frees the GEOS geometries kept for this index; the index cannot overlay afterwards. */
  dispose(): void {
    const raw = this.geos.raw;
    for (const fg of this.cache.values()) {
      if (fg === UNREADABLE) continue;
      if (fg.prepared) raw.destroyPrepared(fg.prepared);
      raw.destroy(fg.geom);
    }
    this.cache.clear();
    this.disposed = true;
  }
}

/** Builds the index of one reference layer (see ReferenceIndex). */
export function buildReferenceIndex(
  geos: Geos,
  features: readonly ReferenceFeature[],
  opts: ReferenceIndexOptions = {},
): ReferenceIndex {
  return new ReferenceIndex(geos, features, opts);
}
