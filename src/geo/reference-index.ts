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
import { featureRingOf, type FlatRing } from './ring-overlay.ts';

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

/**
 * The data of an index in shareable form: WKB of every feature in one buffer, areas, boxes and the
 * flatbush tree in typed arrays. Built on SharedArrayBuffers (packFeatures(…, { shared: true }),
 * or jobs/load-layer.ts straight from the database), it is posted to worker threads without a
 * copy, and each thread opens its own ReferenceIndex (its own GEOS) over the same memory.
 */
export interface PackedLayer {
  name: string;
  size: number;
  bufferM: number;
  coverage: boolean;
  wkb: Uint8Array;
  /** Byte offset of feature i's WKB is offsets[i], its end offsets[i + 1]. */
  offsets: Float64Array;
  /** Stored ellipsoidal area (m²) per feature. */
  areas: Float64Array;
  /** minx, miny, maxx, maxy per feature. */
  boxes: Float64Array;
  /** Flatbush data (Flatbush.from), null when empty. */
  tree: ArrayBufferLike | null;
  ids: readonly FeatureId[];
  attributes: readonly Readonly<Record<string, unknown>>[];
  skipped: readonly SkippedFeature[];
}

/** A typed array on shared memory when asked (posted to threads without a copy). */
export function allocate<T extends Float64Array | Uint8Array>(
  Type: { new (buffer: ArrayBufferLike): T; BYTES_PER_ELEMENT: number },
  length: number,
  shared: boolean,
): T {
  const bytes = length * Type.BYTES_PER_ELEMENT;
  return new Type(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** Builds the flatbush tree over boxes (4 numbers per feature). */
export function buildTree(boxes: Float64Array, n: number, shared: boolean): ArrayBufferLike | null {
  if (n === 0) return null;
  const tree = new Flatbush(n, 16, Float64Array, shared ? SharedArrayBuffer : ArrayBuffer);
  for (let i = 0; i < n; i++)
    tree.add(boxes[4 * i]!, boxes[4 * i + 1]!, boxes[4 * i + 2]!, boxes[4 * i + 3]!);
  tree.finish();
  return tree.data;
}

/** Packs features (lon/lat geometries) into a PackedLayer, growing them by bufferM first if asked. */
export function packFeatures(
  geos: Geos,
  features: readonly ReferenceFeature[],
  opts: ReferenceIndexOptions & { shared?: boolean } = {},
): PackedLayer {
  const bufferM = opts.bufferM ?? 0;
  const shared = opts.shared === true;
  const skipped: SkippedFeature[] = [];
  const kept: { f: ReferenceFeature; g: Areal }[] = [];
  for (const f of features) {
    let g: Areal | null = f.geometry;
    if (bufferM > 0) {
      g = bufferMetres(geos, g, bufferM);
      if (!g) {
        skipped.push({ id: f.id, reason: `外扩 ${bufferM} 米失败：${geos.raw.lastError() ?? '无面'}` });
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
  const offsets = allocate(Float64Array, n + 1, shared);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + wkbSize(kept[i]!.g);
  const wkb = allocate(Uint8Array, offsets[n]!, shared);
  const areas = allocate(Float64Array, n, shared);
  const boxes = allocate(Float64Array, 4 * n, shared);
  const ids: FeatureId[] = new Array<FeatureId>(n);
  const attributes: Readonly<Record<string, unknown>>[] = new Array<Readonly<Record<string, unknown>>>(n);
  for (let i = 0; i < n; i++) {
    const { f, g } = kept[i]!;
    writeWkb(g, wkb, offsets[i]!);
    // A stored area belongs to the given geometry, not to a buffered one.
    areas[i] = f.areaM2 !== undefined && bufferM === 0 ? f.areaM2 : ellipsoidalArea(g);
    const b = bboxOf(g);
    boxes.set([b.minx, b.miny, b.maxx, b.maxy], 4 * i);
    ids[i] = f.id;
    attributes[i] = f.attributes ?? {};
  }
  return {
    name: opts.name ?? '参考图层',
    size: n,
    bufferM,
    coverage: opts.coverage === true,
    wkb,
    offsets,
    areas,
    boxes,
    tree: buildTree(boxes, n, shared),
    ids,
    attributes,
    skipped,
  };
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
  private readonly offsets: Float64Array;
  private readonly tree: Flatbush | null;
  private readonly cache = new Map<number, FeatureGeom | typeof UNREADABLE>();
  /** Per feature: its ring for ring-overlay.ts, null when it has none, undefined until asked. */
  private readonly rings: (FlatRing | null | undefined)[] = [];
  private disposed = false;

  /** Opens an index over packed data (this thread's GEOS; the data may be shared with others). */
  constructor(
    geos: Geos,
    packed: PackedLayer,
    opts: Pick<ReferenceIndexOptions, 'prepare' | 'autoReferenceMax'> = {},
  ) {
    this.geos = geos;
    this.name = packed.name;
    this.bufferM = packed.bufferM;
    this.coverage = packed.coverage;
    this.size = packed.size;
    this.skipped = packed.skipped;
    const max = opts.autoReferenceMax ?? AUTO_REFERENCE_MAX;
    this.prepareSide =
      opts.prepare && opts.prepare !== 'auto' ? opts.prepare : packed.size <= max ? 'reference' : 'patch';
    this.offsets = packed.offsets;
    this.wkb = packed.wkb;
    this.areas = packed.areas;
    this.boxes = packed.boxes;
    this.ids = packed.ids;
    this.attributes = packed.attributes;
    this.tree = packed.tree ? Flatbush.from(packed.tree) : null;
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

  /** Feature i as one small simple ring (see ring-overlay.ts), else null. */
  simpleRing(i: number): FlatRing | null {
    let r = this.rings[i];
    if (r === undefined) {
      try {
        r = featureRingOf(this.geometry(i));
      } catch {
        r = null; // unreadable WKB: GEOS reports it
      }
      this.rings[i] = r;
    }
    return r;
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
  return new ReferenceIndex(geos, packFeatures(geos, features, opts), opts);
}
