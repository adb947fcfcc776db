// Vector tiles (Mapbox Vector Tile, EPSG:3857 grid) for the map: a batch's patches with their
// workflow state, verdict, pre-judgement and deadline as properties, and the reference layers in
// force. Each source is cut once into a geojson-vt index kept in memory, and cut ahead down to zoom
// 14 in the background (in slices, so requests interleave); deeper tiles are cut on demand from
// their zoom-14 parent. Encoded tiles are kept in an LRU bounded in bytes, keyed by the index (whose
// key changes with the data) and the viewer's scope. Land-use parcels are served from zoom 12
// (simplified by geojson-vt below zoom 14, where the client shows them); other layers from zoom 8.
// A unit officer's patch tiles contain only their unit's patches: features are filtered before
// encoding, and the cache is keyed by scope. Every tile has an ETag of its content, so a browser
// revalidating gets 304 without a body.
import { createHash } from 'node:crypto';
import { setImmediate as yieldToRequests } from 'node:timers/promises';
import type { FastifyPluginAsync } from 'fastify';
import GeoJSONVT, { type RawTile } from 'geojson-vt';
import type { Db } from '../../store/db.ts';
import { WeipianError } from '../../domain/errors.ts';
import { unitScope } from '../../domain/policies.ts';
import { decodeGeometry } from '../../geo/wkb.ts';
import { isLayerType, LAYER_TYPE_LABELS, type LayerType } from '../../store/queries/layers.ts';
import { localDate } from '../../domain/deadlines.ts';
import { requireUser } from '../auth.ts';
import { subjectOf } from '../access.ts';
import { batchOr404, workItems } from './web.ts';
import { encodeMvt } from '../mvt.ts';

const hashOf = (s: string) => createHash('sha1').update(s).digest('hex');
const etagOf = (b: Buffer) => `"${createHash('sha1').update(b).digest('base64url')}"`;

const EXTENT = 4096;
const MAX_ZOOM = 18;
const LAYER_MIN_ZOOM: Partial<Record<LayerType, number>> = { 'land-use': 12 };
const DEFAULT_LAYER_MIN_ZOOM = 8;
const PATCH_LAYER = 'patches';
/** Cut ahead down to this zoom when an index is built; deeper tiles are cut from these on demand. */
const CUT_AHEAD_ZOOM = 14;
/** Longest slice of cutting ahead before requests get their turn (ms). */
const CUT_SLICE_MS = 8;

interface Index {
  key: string;
  vt: GeoJSONVT;
  /** Where the data lies (longitude/latitude), for cutting ahead. */
  box: Box | null;
}

/** An index being built or built, under the key of the data it was built from. */
interface Known {
  key: string;
  index: Promise<Index>;
}

type GeoFeature = { type: 'Feature'; id: number; geometry: unknown; properties: Record<string, unknown> };

function newIndex(features: GeoFeature[]): GeoJSONVT {
  return new GeoJSONVT(
    { type: 'FeatureCollection', features } as never,
    // tolerance 3 (of 4096) keeps small parcels recognisable; indexMaxZoom 6 limits the up-front cut.
    { maxZoom: MAX_ZOOM, indexMaxZoom: 6, indexMaxPoints: 50000, tolerance: 3, extent: EXTENT, buffer: 64 },
  );
}

/** Attribute values a tile can carry (strings, numbers, booleans), at most 12 per feature. */
function tileProps(attrs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(attrs)) {
    if (n >= 12) break;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[k] = v;
      n++;
    }
  }
  return out;
}

interface Encoded {
  buf: Buffer;
  etag: string;
}

/** An LRU of encoded tiles, bounded in bytes (WEIPIAN_TILE_CACHE_MB, default 64). */
export class TileCache {
  private m = new Map<string, Encoded>();
  private used = 0;
  constructor(private maxBytes: number) {}
  get bytes(): number {
    return this.used;
  }
  get size(): number {
    return this.m.size;
  }
  get(k: string): Encoded | undefined {
    const v = this.m.get(k);
    if (v) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: Encoded): void {
    const old = this.m.get(k);
    if (old) {
      this.used -= old.buf.length + k.length;
      this.m.delete(k);
    }
    this.m.set(k, v);
    this.used += v.buf.length + k.length;
    while (this.used > this.maxBytes && this.m.size > 1) {
      const [oldest, e] = this.m.entries().next().value!;
      this.m.delete(oldest);
      this.used -= e.buf.length + oldest.length;
    }
  }
}

type Box = [number, number, number, number];

/** The smallest box around rows with minx, miny, maxx, maxy (longitude/latitude), or null. */
function boxOf(rows: readonly { minx: number; miny: number; maxx: number; maxy: number }[]): Box | null {
  if (!rows.length) return null;
  const b: Box = [Infinity, Infinity, -Infinity, -Infinity];
  for (const r of rows) {
    b[0] = Math.min(b[0], r.minx);
    b[1] = Math.min(b[1], r.miny);
    b[2] = Math.max(b[2], r.maxx);
    b[3] = Math.max(b[3], r.maxy);
  }
  return b;
}

/** The range of tile columns and rows at zoom z that covers a longitude/latitude box. */
export function tileRange(b: Box, z: number): { x0: number; x1: number; y0: number; y1: number } {
  const n = 2 ** z;
  const clamp = (v: number) => Math.min(n - 1, Math.max(0, Math.floor(v)));
  const col = (lon: number) => clamp(((lon + 180) / 360) * n);
  const row = (lat: number) => {
    const r = (Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI) / 180;
    return clamp(((1 - Math.asinh(Math.tan(r)) / Math.PI) / 2) * n);
  };
  return { x0: col(b[0]), x1: col(b[2]), y0: row(b[3]), y1: row(b[1]) };
}

/**
 * Cuts an index ahead, level by level down to `toZoom`, over the tiles covering the data's box: each
 * step splits at most one parent into its four children (geojson-vt keeps them), and requests get
 * their turn every few ms. Stops as soon as `wanted()` is false (a newer index replaced this one, or
 * the server closes). Returns the number of tiles visited.
 */
export async function cutAhead(
  vt: GeoJSONVT,
  box: Box | null,
  toZoom: number,
  wanted: () => boolean,
  sliceMs = CUT_SLICE_MS,
): Promise<number> {
  if (!box) return 0;
  let visited = 0;
  let slice = performance.now() - sliceMs;
  for (let z = 1; z <= toZoom; z++) {
    const { x0, x1, y0, y1 } = tileRange(box, z);
    for (let x = x0; x <= x1; x++)
      for (let y = y0; y <= y1; y++) {
        if (performance.now() - slice >= sliceMs) {
          await yieldToRequests();
          if (!wanted()) return visited;
          slice = performance.now();
        }
        vt.getTileRaw(z, x, y);
        visited++;
      }
  }
  return visited;
}

const tileParams = (extra: Record<string, unknown>, required: string[]) =>
  ({
    type: 'object',
    required: [...required, 'z', 'x', 'y'],
    properties: {
      ...extra,
      z: { type: 'integer', minimum: 0, maximum: 22 },
      x: { type: 'integer', minimum: 0 },
      y: { type: 'integer', minimum: 0 },
    },
  }) as const;

function checkTile(z: number, x: number, y: number): void {
  const n = 2 ** z;
  if (x >= n || y >= n)
    throw new WeipianError('tile_invalid', `瓦片编号超出范围：${z}/${x}/${y}（该级别 x、y 应小于 ${n}）`);
}

export const tileRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  const cache = new TileCache(Number(process.env.WEIPIAN_TILE_CACHE_MB ?? 64) * 1024 * 1024);
  const layerIndexes = new Map<LayerType, Known>();
  const patchIndexes = new Map<string, Known>();
  let closed = false;
  app.addHook('onClose', async () => {
    closed = true;
  });

  /**
   * The index of `k` for the data `key`: the one known, or a new one built by `build` (at most one
   * build per key, however many requests ask at once), then cut ahead while it is the one in use.
   */
  function indexFor<K>(indexes: Map<K, Known>, k: K, key: string, build: () => Promise<Index>) {
    const known = indexes.get(k);
    if (known?.key === key) return known.index;
    const entry: Known = { key, index: build() };
    indexes.set(k, entry);
    entry.index
      .then(
        (index) => cutAhead(index.vt, index.box, CUT_AHEAD_ZOOM, () => !closed && indexes.get(k) === entry),
        () => indexes.get(k) === entry && indexes.delete(k),
      )
      .catch(() => undefined); // cutting ahead is a head start only
    return entry.index;
  }

  // What the tiles depend on is looked up at most once per `fresh` ms (and shared by concurrent
  // requests): a change shows in the tiles within that time (WEIPIAN_TILE_FRESH_MS, default 1000).
  const fresh = Number(process.env.WEIPIAN_TILE_FRESH_MS ?? 1000);
  const memo = new Map<string, { at: number; value: Promise<unknown> }>();
  function recent<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const m = memo.get(key);
    if (m && now - m.at < fresh) return m.value as Promise<T>;
    const value = load();
    memo.set(key, { at: now, value });
    value.catch(() => memo.delete(key));
    return value;
  }

  async function layerIndex(type: LayerType): Promise<Index | null> {
    const [cur] = await recent(`layer:${type}`, () =>
      db.query<{ id: number }>(
        "SELECT id FROM reference_layers WHERE type = $1 AND status = 'published' ORDER BY version DESC LIMIT 1",
        [type],
      ),
    );
    if (!cur) return null;
    const key = `layer${cur.id}`;
    return indexFor(layerIndexes, type, key, async (): Promise<Index> => {
      const rows = await db.query<{
        id: number;
        attributes: Record<string, unknown>;
        geom: Uint8Array;
        geom_repaired: Uint8Array | null;
        minx: number;
        miny: number;
        maxx: number;
        maxy: number;
      }>(
        `SELECT id, attributes, geom, geom_repaired, minx, miny, maxx, maxy
         FROM reference_features WHERE layer_id = $1 ORDER BY id`,
        [cur.id],
      );
      const features = rows.map((r) => ({
        type: 'Feature' as const,
        id: r.id,
        geometry: decodeGeometry(r.geom_repaired ?? r.geom),
        properties: tileProps(r.attributes),
      }));
      return { key, vt: newIndex(features), box: boxOf(rows) };
    });
  }

  /** What changes a batch's patch tiles: patches, workflow, parts, analysis — and the date (overdue). */
  async function patchSignature(batchId: number, tz: string): Promise<string> {
    const [s] = await db.query<{
      n: number;
      v: string | null;
      u: string | null;
      a: string | null;
      units: string | null;
    }>(
      `SELECT count(*)::int AS n, sum(w.version)::text AS v, max(w.updated_at)::text AS u,
         max(r.computed_at)::text AS a, string_agg(p.unit_code, ',' ORDER BY p.id) AS units
       FROM patches p JOIN patch_workflow w ON w.patch_id = p.id
       LEFT JOIN analysis_results r ON r.patch_id = p.id
       WHERE p.batch_id = $1`,
      [batchId],
    );
    // unit codes too: a reassignment must leave the old unit's tiles even if no workflow row moved.
    return `${s!.n}:${s!.v}:${s!.u}:${s!.a}:${localDate(new Date(), tz)}:${hashOf(s!.units ?? '')}`;
  }

  async function patchIndex(slug: string): Promise<Index> {
    const { batch, sig } = await recent(`patches:${slug}`, async () => {
      const batch = await batchOr404(db, slug);
      return { batch, sig: `${batch.id}:${await patchSignature(batch.id, 'Asia/Shanghai')}` };
    });
    return indexFor(patchIndexes, slug, sig, async (): Promise<Index> => {
      const items = await workItems(db, batch, { unitCode: null, username: null });
      const byId = new Map(items.map((i) => [i.id, i]));
      const rows = await db.query<{
        id: number;
        geom: Uint8Array;
        geom_repaired: Uint8Array | null;
        minx: number;
        miny: number;
        maxx: number;
        maxy: number;
      }>(
        'SELECT id, geom, geom_repaired, minx, miny, maxx, maxy FROM patches WHERE batch_id = $1 ORDER BY id',
        [batch.id],
      );
      const features: GeoFeature[] = [];
      for (const r of rows) {
        const i = byId.get(r.id);
        if (!i) continue;
        features.push({
          type: 'Feature',
          id: r.id,
          geometry: decodeGeometry(r.geom_repaired ?? r.geom),
          properties: {
            id: i.id,
            jcbh: i.jcbh,
            unit_code: i.unitCode ?? '',
            unit_name: i.unitName ?? '',
            source: i.source,
            state: i.state,
            verdict: i.verdict,
            prejudgement: i.prejudgement ?? 'none',
            overdue: i.deadlineStatus === 'overdue',
            area_mu: Math.round((i.areaM2 / (2000 / 3)) * 100) / 100,
          },
        });
      }
      return { key: sig, vt: newIndex(features), box: boxOf(rows) };
    });
  }

  function encode(
    layerName: string,
    tile: RawTile | null,
    keep?: (tags: Record<string, unknown>) => boolean,
  ): Encoded {
    const features = (tile?.features ?? []).filter((f) => !keep || keep(f.tags ?? {}));
    const b = encodeMvt(layerName, features, { version: 2, extent: EXTENT });
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    return { buf, etag: etagOf(buf) };
  }
  const emptyTiles = new Map<string, Encoded>();
  const emptyTile = (layerName: string) => {
    let e = emptyTiles.get(layerName);
    if (!e) emptyTiles.set(layerName, (e = encode(layerName, null)));
    return e;
  };

  const send = (
    req: import('fastify').FastifyRequest,
    reply: import('fastify').FastifyReply,
    tile: Encoded,
    reference: boolean,
  ) => {
    reply
      .header('etag', tile.etag)
      // Patches change with every judgement: the browser revalidates each time (a 304 when the
      // content is the same — the ETag is of the content, so it is right whatever the viewer's
      // scope). Reference layers change only by import: kept five minutes.
      .header('cache-control', reference ? 'private, max-age=300' : 'private, no-cache');
    const given = req.headers['if-none-match'];
    if (given && given.split(/\s*,\s*/).some((t) => t === tile.etag || t === `W/${tile.etag}`))
      return reply.code(304).send();
    return reply.header('content-type', 'application/vnd.mapbox-vector-tile').send(tile.buf);
  };

  app.get<{ Params: { slug: string; z: number; x: number; y: number } }>(
    '/api/tiles/patches/:slug/:z/:x/:y.pbf',
    {
      schema: {
        tags: ['网页工作台'],
        summary: '批次图斑矢量瓦片（MVT，图层 patches；属性含流程状态、判定、预判、是否逾期）',
        description: '镇街工作人员的瓦片只含本单位图斑。',
        params: tileParams({ slug: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } }, ['slug']),
      },
    },
    async (req, reply) => {
      const { slug, z, x, y } = req.params;
      checkTile(z, x, y);
      const scope = unitScope(subjectOf(requireUser(req)));
      const index = await patchIndex(slug);
      const key = `${index.key}|${scope ?? '*'}|${z}/${x}/${y}`;
      let tile = cache.get(key);
      if (!tile) {
        tile = encode(
          PATCH_LAYER,
          index.vt.getTileRaw(z, x, y),
          scope === null ? undefined : (t) => t.unit_code === scope,
        );
        cache.set(key, tile);
      }
      return send(req, reply, tile, false);
    },
  );

  app.get<{ Params: { layer: string; z: number; x: number; y: number } }>(
    '/api/tiles/:layer/:z/:x/:y.pbf',
    {
      schema: {
        tags: ['网页工作台'],
        summary: '参考图层矢量瓦片（MVT，图层名即图层类型，如 land-use；现行版本）',
        description: '地类图斑自 12 级起提供（14 级以下经简化），其他图层自 8 级起；更低级别为空瓦片。',
        params: tileParams({ layer: { type: 'string', maxLength: 40 } }, ['layer']),
      },
    },
    async (req, reply) => {
      const { layer, z, x, y } = req.params;
      if (!isLayerType(layer))
        throw new WeipianError(
          'layer_type_invalid',
          `没有这种参考图层：${layer}（可选：${Object.entries(LAYER_TYPE_LABELS)
            .map(([k, v]) => `${k} ${v}`)
            .join('、')}）`,
          undefined,
          404,
        );
      checkTile(z, x, y);
      if (z < (LAYER_MIN_ZOOM[layer] ?? DEFAULT_LAYER_MIN_ZOOM))
        return send(req, reply, emptyTile(layer), true);
      const index = await layerIndex(layer);
      // No layer of this type yet: not kept, so the first import shows at once.
      if (!index) return send(req, reply, emptyTile(layer), false);
      const key = `${index.key}|${z}/${x}/${y}`;
      let tile = cache.get(key);
      if (!tile) {
        tile = encode(layer, index.vt.getTileRaw(z, x, y));
        cache.set(key, tile);
      }
      return send(req, reply, tile, true);
    },
  );
};
