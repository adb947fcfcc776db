// Vector tiles (Mapbox Vector Tile, EPSG:3857 grid) for the map: a batch's patches with their
// workflow state, verdict, pre-judgement and deadline as properties, and the reference layers in
// force. Each source is cut once into a geojson-vt index kept in memory; a tile is cut from it on
// demand and its encoding cached. Land-use parcels are served from zoom 12 (simplified by
// geojson-vt below zoom 14, where the client shows them); other layers from zoom 8.
// A unit officer's patch tiles contain only their unit's patches: features are filtered before
// encoding, and the cache is keyed by scope.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { FastifyPluginAsync } from 'fastify';
import GeoJSONVT, { type LegacyTile } from 'geojson-vt';
import type { Db } from '../../store/db.ts';
import { WeipianError } from '../../domain/errors.ts';
import { unitScope } from '../../domain/policies.ts';
import { decodeGeometry } from '../../geo/wkb.ts';
import { isLayerType, LAYER_TYPE_LABELS, type LayerType } from '../../store/queries/layers.ts';
import { localDate } from '../../domain/deadlines.ts';
import { requireUser } from '../auth.ts';
import { subjectOf } from '../access.ts';
import { batchOr404, workItems } from './web.ts';

// vt-pbf ships no types; its one function is typed here.
const vtpbf = createRequire(import.meta.url)('vt-pbf') as {
  fromGeojsonVt(layers: Record<string, LegacyTile>, opts?: { version?: number; extent?: number }): Uint8Array;
};

const hashOf = (s: string) => createHash('sha1').update(s).digest('hex');

const EXTENT = 4096;
const MAX_ZOOM = 18;
const LAYER_MIN_ZOOM: Partial<Record<LayerType, number>> = { 'land-use': 12 };
const DEFAULT_LAYER_MIN_ZOOM = 8;
const PATCH_LAYER = 'patches';

interface Index {
  key: string;
  vt: GeoJSONVT;
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

/** A small LRU of encoded tiles. */
class TileCache {
  private m = new Map<string, Buffer>();
  constructor(private max: number) {}
  get(k: string): Buffer | undefined {
    const v = this.m.get(k);
    if (v) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: Buffer): void {
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value!);
  }
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
  const cache = new TileCache(20000);
  const layerIndexes = new Map<LayerType, Promise<Index>>();
  const patchIndexes = new Map<string, Promise<Index>>();

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
    const known = layerIndexes.get(type);
    if (known && (await known).key === key) return known;
    const built = (async (): Promise<Index> => {
      const rows = await db.query<{
        id: number;
        attributes: Record<string, unknown>;
        geom: Uint8Array;
        geom_repaired: Uint8Array | null;
      }>(
        'SELECT id, attributes, geom, geom_repaired FROM reference_features WHERE layer_id = $1 ORDER BY id',
        [cur.id],
      );
      const features = rows.map((r) => ({
        type: 'Feature' as const,
        id: r.id,
        geometry: decodeGeometry(r.geom_repaired ?? r.geom),
        properties: tileProps(r.attributes),
      }));
      return { key, vt: newIndex(features) };
    })();
    layerIndexes.set(type, built);
    built.catch(() => layerIndexes.delete(type));
    return built;
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
    const known = patchIndexes.get(slug);
    if (known && (await known).key === sig) return known;
    const built = (async (): Promise<Index> => {
      const items = await workItems(db, batch, { unitCode: null, username: null });
      const byId = new Map(items.map((i) => [i.id, i]));
      const rows = await db.query<{ id: number; geom: Uint8Array; geom_repaired: Uint8Array | null }>(
        'SELECT id, geom, geom_repaired FROM patches WHERE batch_id = $1 ORDER BY id',
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
      return { key: sig, vt: newIndex(features) };
    })();
    patchIndexes.set(slug, built);
    built.catch(() => patchIndexes.delete(slug));
    return built;
  }

  function encode(
    layerName: string,
    tile: LegacyTile | null,
    keep?: (tags: Record<string, unknown>) => boolean,
  ): Buffer {
    const features = (tile?.features ?? []).filter((f) => !keep || keep(f.tags ?? {}));
    return Buffer.from(
      vtpbf.fromGeojsonVt({ [layerName]: { features } as LegacyTile }, { version: 2, extent: EXTENT }),
    );
  }

  const send = (reply: import('fastify').FastifyReply, buf: Buffer, shared: boolean) =>
    reply
      .header('content-type', 'application/vnd.mapbox-vector-tile')
      // Patches change with every judgement: revalidate; reference layers change only by import.
      .header('cache-control', shared ? 'private, max-age=60' : 'private, no-cache')
      .send(buf);

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
      let buf = cache.get(key);
      if (!buf) {
        buf = encode(
          PATCH_LAYER,
          index.vt.getTile(z, x, y),
          scope === null ? undefined : (t) => t.unit_code === scope,
        );
        cache.set(key, buf);
      }
      return send(reply, buf, false);
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
        return send(reply, encode(layer, null), true);
      const index = await layerIndex(layer);
      if (!index) return send(reply, encode(layer, null), true);
      const key = `${index.key}|${z}/${x}/${y}`;
      let buf = cache.get(key);
      if (!buf) {
        buf = encode(layer, index.vt.getTile(z, x, y));
        cache.set(key, buf);
      }
      return send(reply, buf, true);
    },
  );
};
