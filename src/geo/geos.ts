// Thin wrapper around GEOS compiled to WASM (geos-wasm): validity, repair and intersection of
// polygons. Geometries cross the JS/WASM boundary as WKB (wkb.ts). Every GEOS object created
// here is destroyed before the call returns, so the WASM heap stays flat over millions of calls.

import initGeosJs from 'geos-wasm';
import type { Areal, PolygonCoords, Position } from './geometry.ts';
import { WeipianError } from '../domain/errors.ts';
import { decodeWkb, wkbSize, writeWkb } from './wkb.ts';

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
}

// The subset of the GEOS C API used here; geos-wasm's bundled typings are not strict-clean.
type Ptr = number;
interface GeosModule {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
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
  GEOSWKBWriter_create_r(ctx: Ptr): Ptr;
  GEOSWKBWriter_setByteOrder_r(ctx: Ptr, writer: Ptr, order: number): void;
  GEOSWKBWriter_setOutputDimension_r(ctx: Ptr, writer: Ptr, dims: number): void;
  GEOSWKBWriter_write_r(ctx: Ptr, writer: Ptr, g: Ptr, sizeOut: Ptr): Ptr;
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
}

const GEOS_POLYGON = 3;
const GEOS_MULTIPOLYGON = 6;
const GEOS_GEOMETRYCOLLECTION = 7;
const GEOS_WKB_NDR = 1;
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
  const writer = api.GEOSWKBWriter_create_r(ctx);
  api.GEOSWKBWriter_setByteOrder_r(ctx, writer, GEOS_WKB_NDR);
  api.GEOSWKBWriter_setOutputDimension_r(ctx, writer, 2);

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

  function fail(op: string): never {
    const reason = lastError ?? 'unknown GEOS error';
    lastError = undefined;
    throw new WeipianError('geometry_operation_failed', `几何运算失败（${op}）：${reason}`, { op, reason });
  }

  /** GEOS geometry read from g's WKB; 0 if GEOS cannot read it (message in lastError). */
  function tryToGeos(g: Areal): Ptr {
    const size = wkbSize(g);
    if (size > scratchSize) {
      if (scratch) M._free(scratch);
      scratchSize = Math.max(size, 2 * scratchSize, 4096);
      scratch = M._malloc(scratchSize);
      if (!scratch) {
        scratchSize = 0;
        throw new WeipianError('geometry_operation_failed', '几何运算失败：WASM 内存不足', { size });
      }
    }
    // HEAPU8 is read after the malloc because growing the heap replaces the view.
    writeWkb(g, M.HEAPU8, scratch);
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
    if (type === GEOS_GEOMETRYCOLLECTION) {
      const n = api.GEOSGetNumGeometries_r(ctx, geom);
      // GetGeometryN returns a borrowed pointer, owned by the collection: not destroyed here.
      for (let i = 0; i < n; i++) collectPolygons(api.GEOSGetGeometryN_r(ctx, geom, i), acc);
      return;
    }
    if ((type !== GEOS_POLYGON && type !== GEOS_MULTIPOLYGON) || api.GEOSisEmpty_r(ctx, geom) === 1) return;
    lastError = undefined;
    const buf = api.GEOSWKBWriter_write_r(ctx, writer, geom, out + 8);
    if (!buf) fail('写出 WKB');
    try {
      const size = M.HEAP32[(out + 8) >> 2]!;
      const g = decodeWkb(M.HEAPU8.subarray(buf, buf + size));
      for (const poly of g.type === 'Polygon' ? [g.coordinates] : g.coordinates)
        if (poly.length > 0) acc.push(poly);
    } finally {
      api.GEOSFree_r(ctx, buf);
    }
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

  return { version: api.GEOSversion(), validity, makeValid, intersection };
}
