// GeoJSON presentation of patches, shared by the API and `weipian export`. Geometry is EPSG:4490
// longitude/latitude (CGCS2000 and WGS84 agree to centimetres); the repaired copy is used when the
// delivered polygon was invalid, and the property `repaired` says so. A patch delivered only by its
// centre has a Point.
import { decodeGeometry } from '../geo/wkb.ts';
import type { PatchGeometry } from '../geo/geometry.ts';
import type { PatchRow } from '../store/queries/patches.ts';
import { OUTPUT_FIELD_IDS } from '../domain/fields.ts';

export interface Feature {
  type: 'Feature';
  id: number;
  geometry: PatchGeometry;
  properties: Record<string, unknown>;
}

export interface FeatureCollection {
  type: 'FeatureCollection';
  name?: string;
  crs?: { type: 'name'; properties: { name: string } };
  features: Feature[];
}

/** The legacy crs member: RFC 7946 dropped it, but GDAL and QGIS read it and then label CGCS2000. */
export const CRS_4490 = { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4490' } } as const;

export interface PatchFeatureOptions {
  batchSlug: string;
  /** Add the delivered attributes under their delivered names (where they don't clash). */
  withDelivered?: boolean;
}

export function patchProperties(row: PatchRow, batchSlug: string): Record<string, unknown> {
  const known: Record<string, unknown> = {
    jcbh: row.jcbh,
    batch: batchSlug,
    source: row.source,
    unit_code: row.unit_code,
    unit_name: row.unit_name,
    xzqdm: row.xzqdm,
    tblx: row.tblx,
    jcmj: row.jcmj_m2,
    gdmj: row.gdmj_m2,
    qsx: row.qsx,
    hsx: row.hsx,
    zxdx: row.center_x,
    zxdy: row.center_y,
    bz: row.bz,
    area_m2: row.area_m2,
    src_crs: row.src_crs,
    repaired: row.geom_repaired !== null,
    validity_issue: row.validity_issue,
    verdict: row.verdict,
    verdict_subtype: row.verdict_subtype,
    workflow_state: row.workflow_state,
  };
  // Every contract field is present, null until the step that computes it has run. The patch's
  // own columns win over the analysis copy (unit_code may since have been reassigned).
  const props: Record<string, unknown> = {};
  for (const id of OUTPUT_FIELD_IDS) props[id] = known[id] ?? row.analysis?.[id] ?? null;
  props.analysis_stale = row.analysis_stale ?? null;
  for (const [k, v] of Object.entries(known)) if (!(k in props)) props[k] = v;
  return props;
}

export function patchToFeature(row: PatchRow, opts: PatchFeatureOptions): Feature {
  const properties = patchProperties(row, opts.batchSlug);
  if (opts.withDelivered)
    for (const [k, v] of Object.entries(row.attributes)) if (!(k in properties)) properties[k] = v;
  return {
    type: 'Feature',
    id: row.id,
    geometry: decodeGeometry(row.geom_repaired ?? row.geom),
    properties,
  };
}
