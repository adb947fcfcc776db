// What a run needs to analyse patches, loaded once per run and process: the reference layers the
// run recorded (by id, so that every worker of a run uses the same versions), packed straight from
// the database into shared typed arrays — a province's million parcels are WKB bytes in one buffer,
// not a million JS object trees — plus the earlier batches' patches (history) and the rule pack.
import type { Queryable } from '../store/db.ts';
import { DEFAULT_ATTRIBUTE_KEYS, licenceBufferM } from '../domain/analysis.ts';
import { loadRulePack, type RulePack } from '../domain/rulepack.ts';
import type { Geos } from '../geo/geos.ts';
import { decodeWkb } from '../geo/wkb.ts';
import {
  allocate,
  buildTree,
  packFeatures,
  type PackedLayer,
  type ReferenceFeature,
} from '../geo/reference-index.ts';
import { LAYER_TYPE_LABELS, type LayerRow, type LayerType } from '../store/queries/layers.ts';
import type { AnalysisRunRow } from '../store/queries/analysis.ts';
import type { BatchRow } from '../store/queries/batches.ts';

export const LICENCE_TYPES: ReadonlySet<string> = new Set(['mining-right', 'exploration-right']);

/** Layers that are survey coverages (features never overlap): covered areas are sums of pieces. */
export const COVERAGE_TYPES: ReadonlySet<string> = new Set([
  'unit',
  'land-use',
  'farmland',
  'basic-farmland',
  'planning',
]);

// Short statements: under PGlite each query holds the server's one thread (~50 ms a page here).
const PAGE = 2_000;

// Only the attributes the analysis reads are kept (a parcel's other fields would cost memory).
const WANTED = new Set(
  Object.values(DEFAULT_ATTRIBUTE_KEYS).flatMap((keys) => keys.map((k) => k.toLowerCase())),
);
function trim(attrs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) if (WANTED.has(k.trim().toLowerCase())) out[k] = v;
  return out;
}

interface Row {
  id: number;
  attributes: Record<string, unknown>;
  g: Uint8Array;
  area_m2: number;
  minx: number;
  miny: number;
  maxx: number;
  maxy: number;
}

async function* pages(q: Queryable, layerId: number): AsyncGenerator<Row[]> {
  for (let last = 0; ;) {
    // Only the wanted attributes leave the database: a parcel's twenty other fields would be
    // serialised, sent and parsed for nothing (most of a layer's load time on PGlite).
    const rows = await q.query<Row>(
      `SELECT id, (SELECT coalesce(json_object_agg(k, v), '{}'::json) FROM json_each(attributes) AS e(k, v)
                   WHERE lower(btrim(k)) = ANY($4::text[])) AS attributes,
              coalesce(geom_repaired, geom) AS g, area_m2, minx, miny, maxx, maxy
       FROM reference_features WHERE layer_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [layerId, last, PAGE, [...WANTED]],
    );
    if (rows.length === 0) return;
    yield rows;
    last = rows[rows.length - 1]!.id;
  }
}

/** Packs one stored layer; licences are grown by the pack's boundary tolerance first. */
export async function loadPackedLayer(
  q: Queryable,
  geos: Geos,
  layer: LayerRow,
  pack: RulePack,
): Promise<PackedLayer> {
  const name = LAYER_TYPE_LABELS[layer.type];
  const coverage = COVERAGE_TYPES.has(layer.type);
  const bufferM = LICENCE_TYPES.has(layer.type) ? licenceBufferM(pack) : 0;
  if (bufferM > 0) {
    // Few features: decode, grow, pack.
    const features: ReferenceFeature[] = [];
    for await (const rows of pages(q, layer.id))
      for (const r of rows)
        features.push({
          id: r.id,
          geometry: decodeWkb(r.g),
          areaM2: r.area_m2,
          attributes: trim(r.attributes),
        });
    return packFeatures(geos, features, { name, coverage, bufferM, shared: true });
  }
  const [size] = await q.query<{ n: number; bytes: number }>(
    `SELECT count(*)::int AS n, coalesce(sum(octet_length(coalesce(geom_repaired, geom))), 0)::float8 AS bytes
     FROM reference_features WHERE layer_id = $1`,
    [layer.id],
  );
  const n = size!.n;
  const wkb = allocate(Uint8Array, size!.bytes, true);
  const offsets = allocate(Float64Array, n + 1, true);
  const areas = allocate(Float64Array, n, true);
  const boxes = allocate(Float64Array, 4 * n, true);
  const ids: number[] = new Array<number>(n);
  const attributes: Record<string, unknown>[] = new Array<Record<string, unknown>>(n);
  let i = 0;
  for await (const rows of pages(q, layer.id))
    for (const r of rows) {
      if (i >= n) break; // rows added since the count (a layer version is immutable once published)
      wkb.set(r.g, offsets[i]!);
      offsets[i + 1] = offsets[i]! + r.g.byteLength;
      areas[i] = r.area_m2;
      boxes[4 * i] = r.minx;
      boxes[4 * i + 1] = r.miny;
      boxes[4 * i + 2] = r.maxx;
      boxes[4 * i + 3] = r.maxy;
      ids[i] = r.id;
      attributes[i] = trim(r.attributes);
      i++;
    }
  return {
    name,
    size: i,
    bufferM: 0,
    coverage,
    wkb,
    offsets,
    areas,
    boxes,
    tree: buildTree(boxes, i, true),
    ids: ids.slice(0, i),
    attributes: attributes.slice(0, i),
    skipped: [],
  };
}

/** Earlier batches' patches of the same kind (polygons only): the history of the ground. */
export async function loadHistoryLayer(
  q: Queryable,
  geos: Geos,
  batch: BatchRow,
): Promise<PackedLayer | null> {
  const rows = await q.query<{ id: number; jcbh: string; slug: string; g: Uint8Array }>(
    `SELECT p.id, p.jcbh, b.slug, coalesce(p.geom_repaired, p.geom) AS g
     FROM patches p JOIN batches b ON b.id = p.batch_id
     WHERE b.kind = $1 AND (b.year < $2 OR (b.year = $2 AND b.id < $3)) AND p.geometry_kind = 'polygon'
     ORDER BY p.id`,
    [batch.kind, batch.year, batch.id],
  );
  if (rows.length === 0) return null;
  const features = rows.map((r) => ({
    id: r.id,
    geometry: decodeWkb(r.g),
    attributes: { batch: r.slug, jcbh: r.jcbh },
  }));
  return packFeatures(geos, features, { name: '往期图斑', shared: true });
}

/** Everything a worker needs for the patches of one run; plain data, posted to threads as is. */
export interface RunContext {
  runId: number;
  batch: BatchRow;
  packId: string;
  /** The validated pack, so that threads need not validate it again (absent: loaded by packId). */
  pack?: RulePack;
  layers: Partial<Record<LayerType, PackedLayer>>;
  history: PackedLayer | null;
}

/**
 * Packed layers kept per database for the next run of this process (a server analysing again after
 * one layer changed reloads that layer only). A published version never changes; the key still
 * carries its file's digest and size, so that a database restored under the same ids is not
 * mistaken for the old one. Only the layers of the latest run are kept.
 */
const packedCache = new WeakMap<Queryable, Map<string, PackedLayer>>();

function cacheKey(l: LayerRow, pack: RulePack): string {
  const bufferM = LICENCE_TYPES.has(l.type) ? licenceBufferM(pack) : 0;
  return `${l.id}:${l.version}:${l.source_sha256}:${l.feature_count}:${bufferM}`;
}

export async function loadRunContext(
  q: Queryable,
  geos: Geos,
  run: AnalysisRunRow,
  onStep: (line: string) => void = () => undefined,
): Promise<RunContext> {
  const [batch] = await q.query<BatchRow>('SELECT * FROM batches WHERE id = $1', [run.batch_id]);
  const pack = loadRulePack(run.rule_pack_id);
  const ids = Object.values(run.layer_ids).filter((v): v is number => typeof v === 'number');
  const layerRows = ids.length
    ? await q.query<LayerRow>('SELECT * FROM reference_layers WHERE id = ANY($1::int[]) ORDER BY type', [ids])
    : [];
  const layers: Partial<Record<LayerType, PackedLayer>> = {};
  const cached = packedCache.get(q) ?? new Map<string, PackedLayer>();
  const kept = new Map<string, PackedLayer>();
  for (const l of layerRows) {
    const key = cacheKey(l, pack);
    let packed = cached.get(key);
    if (!packed) {
      onStep(`读入${LAYER_TYPE_LABELS[l.type]}（第 ${l.version} 版，${l.feature_count} 个要素）`);
      packed = await loadPackedLayer(q, geos, l, pack);
    }
    layers[l.type] = packed;
    kept.set(key, packed);
  }
  packedCache.set(q, kept);
  return {
    runId: run.id,
    batch: batch!,
    packId: pack.id,
    pack,
    layers,
    history: await loadHistoryLayer(q, geos, batch!),
  };
}
