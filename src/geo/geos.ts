// Thin wrapper around GEOS compiled to WASM (geos-wasm): validity, repair and intersection of
// polygons. Geometries go into GEOS as WKB (wkb.ts) and come back by copying the coordinate
// sequences of their rings (much faster than writing WKB). Every GEOS object created
// here is destroyed before the call returns, so the WASM heap stays flat over millions of calls.
// The exception is `raw`: GEOS geometries held by pointer for the overlay engine (overlay.ts),
// which keeps prepared geometries alive across many calls and must destroy what it creates.

import type { Areal, PolygonCoords, Position } from './geometry.ts';
import { WeipianError } from '../domain/errors.ts';
import { wkbSize, writeWkb } from './wkb.ts';

export interface Validity {
  valid: boolean;
  /** GEOS's reason, e.g. 'Self-intersection', 'Ring Self-intersection', 'Too few points in geometry component'. */
  reason?: string;
  /** Where the problem is, in the geometry's coordinates. */
  location?: Position;
}

export interface Geos {
  /** GEOS version string, e.g. '3.13.0-CAPI-1.19.0'. */
  readonly version: string;
  validity(g: Areal): Validity;
  /**
   * Repairs g (GEOS MakeValid, 'structure' method) and keeps only its polygonal parts, like
   * PostGIS ST_CollectionExtract(ST_MakeValid(g), 3). A valid g is returned as is (same object).
   * null when nothing polygonal remains (zero-area or empty input, or input GEOS cannot read).
   */
  makeValid(g: Areal): Areal | null;
  /** Polygonal part of a ∩ b; null when it has no area. Inputs should be valid (see makeValid). */
  intersection(a: Areal, b: Areal): Areal | null;
  /** Polygonal part of the union of all parts (which may overlap each other); null when empty. */
  union(parts: readonly Areal[]): Areal | null;
  /** Polygonal part of a − b; null when nothing is left. Inputs should be valid. */
  difference(a: Areal, b: Areal): Areal | null;
  /** Pointer-level access for the overlay engine (see GeosRaw). */
  readonly raw: GeosRaw;
}

/** A GEOS geometry in the WASM heap. Whoever creates one destroys it (GeosRaw.destroy). */
export type GeomPtr = number & { readonly __geos: 'geometry' };
/** A GEOS prepared geometry; its base geometry must outlive it. */
export type PreparedPtr = number & { readonly __geos: 'prepared' };

/**
 * GEOS by pointer, for loops that reuse geometries (prepared reference polygons, a patch overlaid
 * with many layers). Nothing here throws on GEOS failure: functions return null (predicates: null
 * for "GEOS raised an error") and lastError() tells why. Every returned GeomPtr / PreparedPtr is
 * owned by the caller.
 */
export interface GeosRaw {
  /** GEOS geometry of g; null when GEOS cannot read it. */
  read(g: Areal): GeomPtr | null;
  /** GEOS geometry of (little- or big-endian) WKB bytes, copied into the WASM heap; null when unreadable. */
  readWkb(bytes: Uint8Array): GeomPtr | null;
  /** The polygonal parts of g as an Areal (null if none); g stays alive. */
  toAreal(g: GeomPtr): Areal | null;
  destroy(g: GeomPtr): void;
  /** null when GEOS failed to decide. */
  isValid(g: GeomPtr): boolean | null;
  /** Repaired copy of g reduced to its polygonal parts (as Geos.makeValid); null when nothing polygonal remains. */
  makeValid(g: GeomPtr): GeomPtr | null;
  prepare(g: GeomPtr): PreparedPtr | null;
  destroyPrepared(p: PreparedPtr): void;
  preparedIntersects(p: PreparedPtr, g: GeomPtr): boolean | null;
  preparedContains(p: PreparedPtr, g: GeomPtr): boolean | null;
  contains(a: GeomPtr, b: GeomPtr): boolean | null;
  /** Full GEOS result (may be a collection with lines or points); null on failure. */
  intersection(a: GeomPtr, b: GeomPtr): GeomPtr | null;
  difference(a: GeomPtr, b: GeomPtr): GeomPtr | null;
  unaryUnion(g: GeomPtr): GeomPtr | null;
  /** Round-join buffer by width in g's units, quadSegs segments per quarter circle. */
  buffer(g: GeomPtr, width: number, quadSegs: number): GeomPtr | null;
  /** GEOS's message for the last failure (cleared when a call starts). */
  lastError(): string | undefined;
}

// The subset of the GEOS C API used here; geos-wasm's bundled typings are not strict-clean.
type Ptr = number;
interface GeosModule {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPU32: Uint32Array;
  HEAPF64: Float64Array;
  _malloc(size: number): Ptr;
  _free(ptr: Ptr): void;
  UTF8ToString(ptr: Ptr): string;
  addFunction(f: (...args: number[]) => void, sig: string): Ptr;
}
interface GeosC {
  Module: GeosModule;
  GEOSversion(): string;
  GEOS_init_r(): Ptr;
  GEOSContext_setErrorMessageHandler_r(ctx: Ptr, handler: Ptr, userData: Ptr): Ptr;
  GEOSContext_setNoticeMessageHandler_r(ctx: Ptr, handler: Ptr, userData: Ptr): Ptr;
  GEOSWKBReader_create_r(ctx: Ptr): Ptr;
  GEOSWKBReader_setFixStructure_r(ctx: Ptr, reader: Ptr, fix: number): void;
  GEOSWKBReader_read_r(ctx: Ptr, reader: Ptr, wkb: Ptr, size: number): Ptr;
  GEOSFree_r(ctx: Ptr, p: Ptr): void;
  GEOSGeom_destroy_r(ctx: Ptr, g: Ptr): void;
  GEOSGeomTypeId_r(ctx: Ptr, g: Ptr): number;
  GEOSGetNumGeometries_r(ctx: Ptr, g: Ptr): number;
  GEOSGetGeometryN_r(ctx: Ptr, g: Ptr, n: number): Ptr;
  GEOSisEmpty_r(ctx: Ptr, g: Ptr): number;
  GEOSisValid_r(ctx: Ptr, g: Ptr): number;
  GEOSisValidDetail_r(ctx: Ptr, g: Ptr, flags: number, reason: Ptr, location: Ptr): number;
  GEOSGeomGetX_r(ctx: Ptr, g: Ptr, x: Ptr): number;
  GEOSGeomGetY_r(ctx: Ptr, g: Ptr, y: Ptr): number;
  GEOSMakeValid_r(ctx: Ptr, g: Ptr): Ptr;
  GEOSMakeValidParams_create_r?(ctx: Ptr): Ptr;
  GEOSMakeValidParams_setMethod_r?(ctx: Ptr, params: Ptr, method: number): number;
  GEOSMakeValidParams_setKeepCollapsed_r?(ctx: Ptr, params: Ptr, keep: number): number;
  GEOSMakeValidWithParams_r?(ctx: Ptr, g: Ptr, params: Ptr): Ptr;
  GEOSIntersection_r(ctx: Ptr, a: Ptr, b: Ptr): Ptr;
  GEOSGetExteriorRing_r(ctx: Ptr, g: Ptr): Ptr;
  GEOSGetNumInteriorRings_r(ctx: Ptr, g: Ptr): number;
  GEOSGetInteriorRingN_r(ctx: Ptr, g: Ptr, n: number): Ptr;
  GEOSGeom_getCoordSeq_r(ctx: Ptr, g: Ptr): Ptr;
  GEOSCoordSeq_getSize_r(ctx: Ptr, seq: Ptr, size: Ptr): number;
  GEOSCoordSeq_copyToBuffer_r(ctx: Ptr, seq: Ptr, buf: Ptr, hasZ: number, hasM: number): number;
  GEOSDifference_r(ctx: Ptr, a: Ptr, b: Ptr): Ptr;
  GEOSUnaryUnion_r(ctx: Ptr, g: Ptr): Ptr;
  GEOSBuffer_r(ctx: Ptr, g: Ptr, width: number, quadSegs: number): Ptr;
  GEOSContains_r(ctx: Ptr, a: Ptr, b: Ptr): number;
  GEOSPrepare_r(ctx: Ptr, g: Ptr): Ptr;
  GEOSPreparedGeom_destroy_r(ctx: Ptr, p: Ptr): void;
  GEOSPreparedIntersects_r(ctx: Ptr, p: Ptr, g: Ptr): number;
  GEOSPreparedContains_r(ctx: Ptr, p: Ptr, g: Ptr): number;
}

const GEOS_POLYGON = 3;
const GEOS_MULTIPOLYGON = 6;
const GEOS_GEOMETRYCOLLECTION = 7;
const WKB_GEOMETRYCOLLECTION = 7;
const GEOS_MAKE_VALID_STRUCTURE = 1;

let pending: Promise<Geos> | undefined;

/** The process-wide GEOS instance (initialised once; the WASM module loads in ~0.1–0.3 s). */
export function initGeos(): Promise<Geos> {
  pending ??= createGeos().catch((e: unknown) => {
    pending = undefined; // let a later call retry
    throw e;
  });
  return pending;
}

async function createGeos(): Promise<Geos> {
  // Loaded here, not at the top: its 2.6 MB module (the WASM inside) would cost every process that
  // imports this one, needed or not.
  const { default: initGeosJs } = await import('geos-wasm');
  const api = (await initGeosJs()) as unknown as GeosC;
  const M = api.Module;

  // Our own context, whose error handler records the message instead of throwing through WASM
  // frames (geos-wasm's default handler throws, which would skip C++ cleanup and leak).
  const ctx = api.GEOS_init_r();
  let lastError: string | undefined;
  const onError = M.addFunction((msg: number) => {
    lastError = M.UTF8ToString(msg).trim();
  }, 'vii');
  const onNotice = M.addFunction(() => {}, 'vii');
  api.GEOSContext_setErrorMessageHandler_r(ctx, onError, 0);
  api.GEOSContext_setNoticeMessageHandler_r(ctx, onNotice, 0);

  const reader = api.GEOSWKBReader_create_r(ctx);
  // Tolerate rings with too few points (they are then reported invalid instead of unreadable).
  api.GEOSWKBReader_setFixStructure_r(ctx, reader, 1);

  let mvParams = 0;
  if (api.GEOSMakeValidParams_create_r && api.GEOSMakeValidWithParams_r) {
    mvParams = api.GEOSMakeValidParams_create_r(ctx);
    api.GEOSMakeValidParams_setMethod_r?.(ctx, mvParams, GEOS_MAKE_VALID_STRUCTURE);
    api.GEOSMakeValidParams_setKeepCollapsed_r?.(ctx, mvParams, 0);
  }

  // Out-parameters: [0,8) double, [8,12) char* reason / size_t size, [12,16) GEOSGeometry* location.
  const out = M._malloc(16);
  // One growing scratch block for input WKB, instead of malloc/free per geometry.
  let scratch = 0;
  let scratchSize = 0;
  // And one for coordinates copied out of GEOS.
  let coords = 0;
  let coordsSize = 0;

  function fail(op: string): never {
    const reason = lastError ?? 'unknown GEOS error';
    lastError = undefined;
    throw new WeipianError('geometry_operation_failed', `几何运算失败（${op}）：${reason}`, { op, reason });
  }

  /** Makes the scratch block at least size bytes long. */
  function ensureScratch(size: number): void {
    if (size <= scratchSize) return;
    if (scratch) M._free(scratch);
    scratchSize = Math.max(size, 2 * scratchSize, 4096);
    scratch = M._malloc(scratchSize);
    if (!scratch) {
      scratchSize = 0;
      throw new WeipianError('geometry_operation_failed', '几何运算失败：WASM 内存不足', { size });
    }
  }

  /** GEOS geometry read from g's WKB; 0 if GEOS cannot read it (message in lastError). */
  function tryToGeos(g: Areal): Ptr {
    const size = wkbSize(g);
    ensureScratch(size);
    // HEAPU8 is read after the malloc because growing the heap replaces the view.
    writeWkb(g, M.HEAPU8, scratch);
    lastError = undefined;
    return api.GEOSWKBReader_read_r(ctx, reader, scratch, size);
  }

  function tryWkbToGeos(bytes: Uint8Array): Ptr {
    ensureScratch(bytes.byteLength);
    M.HEAPU8.set(bytes, scratch);
    lastError = undefined;
    return api.GEOSWKBReader_read_r(ctx, reader, scratch, bytes.byteLength);
  }

  /** One GeometryCollection of all parts, read by GEOS in one go; 0 if unreadable. */
  function tryCollectionToGeos(parts: readonly Areal[]): Ptr {
    let size = 9;
    for (const p of parts) size += wkbSize(p);
    ensureScratch(size);
    const heap = M.HEAPU8;
    const view = new DataView(heap.buffer, heap.byteOffset, heap.byteLength);
    view.setUint8(scratch, 1);
    view.setUint32(scratch + 1, WKB_GEOMETRYCOLLECTION, true);
    view.setUint32(scratch + 5, parts.length, true);
    let o = scratch + 9;
    for (const p of parts) o = writeWkb(p, heap, o);
    lastError = undefined;
    return api.GEOSWKBReader_read_r(ctx, reader, scratch, size);
  }

  function toGeos(g: Areal): Ptr {
    const geom = tryToGeos(g);
    if (!geom) fail('读取 WKB');
    return geom;
  }

  /** Appends the non-empty polygons of a GEOS geometry (recursing into collections) to acc. */
  function collectPolygons(geom: Ptr, acc: PolygonCoords[]): void {
    const type = api.GEOSGeomTypeId_r(ctx, geom);
    if (type === GEOS_GEOMETRYCOLLECTION || type === GEOS_MULTIPOLYGON) {
      const n = api.GEOSGetNumGeometries_r(ctx, geom);
      // GetGeometryN returns a borrowed pointer, owned by the collection: not destroyed here.
      for (let i = 0; i < n; i++) collectPolygons(api.GEOSGetGeometryN_r(ctx, geom, i), acc);
      return;
    }
    if (type !== GEOS_POLYGON || api.GEOSisEmpty_r(ctx, geom) === 1) return;
    // Coordinates are copied ring by ring straight out of GEOS's sequences: ~20× faster than
    // writing and decoding WKB, which dominated the overlay loop.
    const poly: PolygonCoords = [readRing(api.GEOSGetExteriorRing_r(ctx, geom))];
    const holes = api.GEOSGetNumInteriorRings_r(ctx, geom);
    for (let h = 0; h < holes; h++) poly.push(readRing(api.GEOSGetInteriorRingN_r(ctx, geom, h)));
    acc.push(poly);
  }

  /** Grows the coordinate output block to hold n points. */
  function ensureCoords(n: number): void {
    if (16 * n <= coordsSize) return;
    if (coords) M._free(coords);
    coordsSize = Math.max(16 * n, 2 * coordsSize, 16384);
    coords = M._malloc(coordsSize);
    if (!coords) {
      coordsSize = 0;
      throw new WeipianError('geometry_operation_failed', '几何运算失败：WASM 内存不足', { points: n });
    }
  }

  /** The positions of a (borrowed) ring. */
  function readRing(ring: Ptr): Position[] {
    if (!ring) fail('读取环');
    const seq = api.GEOSGeom_getCoordSeq_r(ctx, ring);
    if (!seq || !api.GEOSCoordSeq_getSize_r(ctx, seq, out + 8)) fail('读取坐标序列');
    const n = M.HEAPU32[(out + 8) >> 2]!;
    ensureCoords(n);
    if (!api.GEOSCoordSeq_copyToBuffer_r(ctx, seq, coords, 0, 0)) fail('复制坐标');
    // HEAPF64 is read after any malloc because growing the heap replaces the view.
    const f = M.HEAPF64;
    const o = coords >> 3;
    const pts = new Array<Position>(n);
    for (let i = 0; i < n; i++) pts[i] = [f[o + 2 * i]!, f[o + 2 * i + 1]!];
    return pts;
  }

  /** Polygonal parts of geom as an Areal (null if none); geom is destroyed. */
  function takeAreal(geom: Ptr): Areal | null {
    const polys: PolygonCoords[] = [];
    try {
      collectPolygons(geom, polys);
    } finally {
      api.GEOSGeom_destroy_r(ctx, geom);
    }
    if (polys.length === 0) return null;
    return polys.length === 1
      ? { type: 'Polygon', coordinates: polys[0]! }
      : { type: 'MultiPolygon', coordinates: polys };
  }

  function validity(g: Areal): Validity {
    const geom = tryToGeos(g);
    // Unreadable even with structure fixing (e.g. a one-point ring): invalid, not an exception.
    if (!geom) return { valid: false, reason: lastError ?? 'unreadable geometry' };
    try {
      M.HEAP32[(out + 8) >> 2] = 0;
      M.HEAP32[(out + 12) >> 2] = 0;
      lastError = undefined;
      const r = api.GEOSisValidDetail_r(ctx, geom, 0, out + 8, out + 12);
      if (r === 2) fail('有效性检查');
      const reasonPtr = M.HEAP32[(out + 8) >> 2]!;
      const locPtr = M.HEAP32[(out + 12) >> 2]!;
      const result: Validity = { valid: r === 1 };
      if (reasonPtr) {
        result.reason = M.UTF8ToString(reasonPtr);
        api.GEOSFree_r(ctx, reasonPtr);
      }
      if (locPtr) {
        api.GEOSGeomGetX_r(ctx, locPtr, out);
        const x = M.HEAPF64[out >> 3]!;
        api.GEOSGeomGetY_r(ctx, locPtr, out);
        const y = M.HEAPF64[out >> 3]!;
        api.GEOSGeom_destroy_r(ctx, locPtr);
        result.location = [x, y];
      }
      return result;
    } finally {
      api.GEOSGeom_destroy_r(ctx, geom);
    }
  }

  function makeValid(g: Areal): Areal | null {
    const geom = tryToGeos(g);
    if (!geom) return null; // nothing GEOS can read has no area to keep
    let fixed: Ptr;
    try {
      if (api.GEOSisEmpty_r(ctx, geom) === 1) return null;
      lastError = undefined;
      const v = api.GEOSisValid_r(ctx, geom);
      if (v === 2) fail('有效性检查');
      // 'structure' rebuilds even valid input (new start vertex, orientation), so skip it then.
      if (v === 1) return g;
      lastError = undefined;
      fixed = mvParams ? api.GEOSMakeValidWithParams_r!(ctx, geom, mvParams) : api.GEOSMakeValid_r(ctx, geom);
      if (!fixed) fail('修复 MakeValid');
    } finally {
      api.GEOSGeom_destroy_r(ctx, geom);
    }
    return takeAreal(fixed);
  }

  function intersection(a: Areal, b: Areal): Areal | null {
    const ga = toGeos(a);
    let gb = 0;
    let res: Ptr;
    try {
      gb = toGeos(b);
      lastError = undefined;
      res = api.GEOSIntersection_r(ctx, ga, gb);
      if (!res) fail('求交 Intersection');
    } finally {
      api.GEOSGeom_destroy_r(ctx, ga);
      if (gb) api.GEOSGeom_destroy_r(ctx, gb);
    }
    return takeAreal(res);
  }

  function union(parts: readonly Areal[]): Areal | null {
    if (parts.length === 0) return null;
    const coll = tryCollectionToGeos(parts);
    if (!coll) fail('读取 WKB');
    let res: Ptr;
    try {
      lastError = undefined;
      res = api.GEOSUnaryUnion_r(ctx, coll);
      if (!res) fail('合并 UnaryUnion');
    } finally {
      api.GEOSGeom_destroy_r(ctx, coll);
    }
    return takeAreal(res);
  }

  function difference(a: Areal, b: Areal): Areal | null {
    const ga = toGeos(a);
    let gb = 0;
    let res: Ptr;
    try {
      gb = toGeos(b);
      lastError = undefined;
      res = api.GEOSDifference_r(ctx, ga, gb);
      if (!res) fail('求差 Difference');
    } finally {
      api.GEOSGeom_destroy_r(ctx, ga);
      if (gb) api.GEOSGeom_destroy_r(ctx, gb);
    }
    return takeAreal(res);
  }

  // ---- pointer level (GeosRaw) ----
  const geomOrNull = (p: Ptr): GeomPtr | null => (p ? (p as GeomPtr) : null);
  /** GEOS predicates return 0/1, and 2 when an exception was raised. */
  const predicate = (r: number): boolean | null => (r === 2 ? null : r === 1);
  const begin = (): void => {
    lastError = undefined;
  };

  const raw: GeosRaw = {
    read: (g) => geomOrNull(tryToGeos(g)),
    readWkb: (bytes) => geomOrNull(tryWkbToGeos(bytes)),
    toAreal(g) {
      const polys: PolygonCoords[] = [];
      collectPolygons(g, polys);
      if (polys.length === 0) return null;
      return polys.length === 1
        ? { type: 'Polygon', coordinates: polys[0]! }
        : { type: 'MultiPolygon', coordinates: polys };
    },
    destroy: (g) => api.GEOSGeom_destroy_r(ctx, g),
    isValid(g) {
      begin();
      return predicate(api.GEOSisValid_r(ctx, g));
    },
    makeValid(g) {
      begin();
      const fixed = mvParams ? api.GEOSMakeValidWithParams_r!(ctx, g, mvParams) : api.GEOSMakeValid_r(ctx, g);
      if (!fixed) return null;
      // Keep only the polygonal parts: overlay refuses mixed-dimension collections.
      const areal = takeAreal(fixed);
      return areal ? geomOrNull(tryToGeos(areal)) : null;
    },
    prepare(g) {
      begin();
      const p = api.GEOSPrepare_r(ctx, g);
      return p ? (p as PreparedPtr) : null;
    },
    destroyPrepared: (p) => api.GEOSPreparedGeom_destroy_r(ctx, p),
    preparedIntersects(p, g) {
      begin();
      return predicate(api.GEOSPreparedIntersects_r(ctx, p, g));
    },
    preparedContains(p, g) {
      begin();
      return predicate(api.GEOSPreparedContains_r(ctx, p, g));
    },
    contains(a, b) {
      begin();
      return predicate(api.GEOSContains_r(ctx, a, b));
    },
    intersection(a, b) {
      begin();
      return geomOrNull(api.GEOSIntersection_r(ctx, a, b));
    },
    difference(a, b) {
      begin();
      return geomOrNull(api.GEOSDifference_r(ctx, a, b));
    },
    unaryUnion(g) {
      begin();
      return geomOrNull(api.GEOSUnaryUnion_r(ctx, g));
    },
    buffer(g, width, quadSegs) {
      begin();
      return geomOrNull(api.GEOSBuffer_r(ctx, g, width, quadSegs));
    },
    lastError: () => lastError,
  };

  return { version: api.GEOSversion(), validity, makeValid, intersection, union, difference, raw };
}
