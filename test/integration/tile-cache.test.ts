// Tile caching on both engines: ETags of the content (304 without a body, right whatever the
// viewer's scope), cache headers, a change of data giving new tiles at once, a unit officer's
// cached tiles never reaching another unit; and, without a database, that cutting ahead gives the
// same tiles as cutting on demand, the byte bound of the tile LRU, and the tile ranges it walks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import GeoJSONVT from 'geojson-vt';
import { engines, freshDb, type TestDb } from '../helpers/db.ts';
import { seedAccounts, loginAs, as, type Session } from '../helpers/session.ts';
import { seedEvidencePatches, PATCH_A, PATCH_B, PATCH_C, type SeededPatches } from '../helpers/evidence.ts';
import { buildApp } from '../../src/server/app.ts';
import { encodeWkb } from '../../src/geo/wkb.ts';
import { bboxOfGeometry } from '../../src/geo/geometry.ts';
import { cutAhead, tileRange, TileCache } from '../../src/server/routes/tiles.ts';

/** Features per layer of a Mapbox Vector Tile (protobuf: layers are field 3, features field 2). */
function featureCount(buf: Buffer): number {
  let n = 0;
  const walk = (b: Uint8Array, onField: (no: number, value: Uint8Array | null) => void) => {
    let i = 0;
    const varint = () => {
      let r = 0;
      let s = 0;
      for (;;) {
        const c = b[i++]!;
        r += (c & 0x7f) * 2 ** s;
        if (c < 0x80) return r;
        s += 7;
      }
    };
    while (i < b.length) {
      const key = varint();
      const wire = key & 7;
      if (wire === 0) {
        varint();
        onField(key >> 3, null);
      } else if (wire === 2) {
        const len = varint();
        onField(key >> 3, b.subarray(i, i + len));
        i += len;
      } else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else throw new Error(`wire type ${wire}`);
    }
  };
  walk(new Uint8Array(buf), (no, layer) => {
    if (no === 3 && layer) walk(layer, (f) => (n += f === 2 ? 1 : 0));
  });
  return n;
}

// Patches A and B (unit1's) lie in z14 13553/6394 (see tiles.test.ts); C (unit2's) 2 km north.
const TILE_AB = '/api/tiles/patches/2017-land/14/13553/6394.pbf';

for (const engine of engines()) {
  describe(`tile caching (${engine})`, () => {
    let t: TestDb;
    let app: FastifyInstance;
    let seeded: SeededPatches;
    let reviewer: Session;
    let unit1: Session;
    let unit2: Session;
    const saved = process.env.WEIPIAN_TILE_FRESH_MS;

    before(async () => {
      process.env.WEIPIAN_TILE_FRESH_MS = '0'; // every request checks the data
      t = await freshDb(engine);
      await seedAccounts(t.db);
      seeded = await seedEvidencePatches(t.db);
      app = await buildApp({ db: t.db });
      reviewer = await loginAs(app, 'reviewer');
      unit1 = await loginAs(app, 'unit1');
      unit2 = await loginAs(app, 'unit2');
    });
    after(async () => {
      if (saved === undefined) delete process.env.WEIPIAN_TILE_FRESH_MS;
      else process.env.WEIPIAN_TILE_FRESH_MS = saved;
      await app.close();
      await t.drop();
    });

    const get = (s: Session, url: string, etag?: string) =>
      app.inject(as(s, { method: 'GET', url, headers: etag ? { 'if-none-match': etag } : {} }));

    it('patch tiles: an ETag of the content, revalidated every time, 304 without a body', async () => {
      const r = await get(reviewer, TILE_AB);
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['cache-control'], 'private, no-cache');
      const etag = r.headers.etag as string;
      assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);
      assert.equal(featureCount(r.rawPayload), 2);
      const again = await get(reviewer, TILE_AB, etag);
      assert.equal(again.statusCode, 304);
      assert.equal(again.rawPayload.length, 0);
      assert.equal(again.headers.etag, etag);
      // A list of tags, and a weak one, also match.
      assert.equal((await get(reviewer, TILE_AB, `"x", W/${etag}`)).statusCode, 304);
      assert.equal((await get(reviewer, TILE_AB, '"other"')).statusCode, 200);
    });

    it('a change of the data gives a new tile at once, and an unchanged tile keeps its ETag', async () => {
      const before = await get(reviewer, TILE_AB);
      const far = await get(reviewer, '/api/tiles/patches/2017-land/14/13553/6393.pbf'); // C's tile
      assert.equal(featureCount(far.rawPayload), 1);
      await t.db.query(
        "UPDATE patch_workflow SET state = 'verifying', version = version + 1, updated_at = now() WHERE patch_id = $1",
        [seeded.a],
      );
      const after = await get(reviewer, TILE_AB, before.headers.etag as string);
      assert.equal(after.statusCode, 200);
      assert.notEqual(after.headers.etag, before.headers.etag);
      // C's tile was encoded again from the new index, but its content (and so its ETag) is the same.
      const farAgain = await get(
        reviewer,
        '/api/tiles/patches/2017-land/14/13553/6393.pbf',
        far.headers.etag as string,
      );
      assert.equal(farAgain.statusCode, 304);
    });

    it("one unit's cached tile never answers another unit, even revalidating with its ETag", async () => {
      const mine = await get(unit1, TILE_AB);
      assert.equal(featureCount(mine.rawPayload), 2);
      for (let i = 0; i < 2; i++) {
        // unit2 sends unit1's ETag (a shared browser): the tile is unit2's own, and empty.
        const other = await get(unit2, TILE_AB, mine.headers.etag as string);
        assert.equal(other.statusCode, 200);
        assert.equal(featureCount(other.rawPayload), 0);
        assert.notEqual(other.headers.etag, mine.headers.etag);
      }
      // The reviewer's tile of the same address, cached under another scope, is the full one.
      assert.equal(featureCount((await get(reviewer, TILE_AB)).rawPayload), 2);
      // At zoom 10 all three patches share a tile: each unit gets its own patches from the cache too.
      for (let i = 0; i < 2; i++) {
        assert.equal(
          featureCount((await get(unit1, '/api/tiles/patches/2017-land/10/847/399.pbf')).rawPayload),
          2,
        );
        assert.equal(
          featureCount((await get(unit2, '/api/tiles/patches/2017-land/10/847/399.pbf')).rawPayload),
          1,
        );
      }
    });

    it('reference tiles are kept five minutes, and not while no layer of the type exists', async () => {
      const none = await get(unit1, '/api/tiles/farmland/14/13553/6394.pbf');
      assert.equal(none.statusCode, 200);
      assert.equal(none.headers['cache-control'], 'private, no-cache');
      const [l] = await t.db.query<{ id: number }>(
        `INSERT INTO reference_layers (type, version, status, name, source_file, source_sha256, src_crs, fields,
           feature_count, total_area_m2, imported_by)
         VALUES ('farmland', 1, 'published', '耕地', 'gd.shp', $1, 'EPSG:4490', '[]', 2, 20000, 'tester')
         RETURNING id`,
        ['0'.repeat(64)],
      );
      for (const [i, geom] of [PATCH_A, PATCH_C].entries()) {
        const b = bboxOfGeometry(geom);
        await t.db.query(
          `INSERT INTO reference_features (layer_id, feature_index, attributes, geom, area_m2, minx, miny, maxx, maxy)
           VALUES ($1, $2, '{}', $3, 10000, $4, $5, $6, $7)`,
          [l!.id, i, encodeWkb(geom), b.minx, b.miny, b.maxx, b.maxy],
        );
      }
      const r = await get(unit1, '/api/tiles/farmland/14/13553/6394.pbf');
      assert.equal(r.headers['cache-control'], 'private, max-age=300');
      assert.equal(featureCount(r.rawPayload), 1);
      assert.equal(
        (await get(unit2, '/api/tiles/farmland/14/13553/6394.pbf', r.headers.etag as string)).statusCode,
        304,
      );
      // Below the layer's minimum zoom: a constant empty tile, kept too.
      const low = await get(unit1, '/api/tiles/farmland/7/105/49.pbf');
      assert.equal(low.headers['cache-control'], 'private, max-age=300');
      assert.equal(featureCount(low.rawPayload), 0);
    });
  });
}

describe('cutting tiles ahead', () => {
  const features = [PATCH_A, PATCH_B, PATCH_C].map((g, i) => ({
    type: 'Feature',
    id: i + 1,
    geometry: g,
    properties: { n: i + 1 },
  }));
  const index = () =>
    new GeoJSONVT({ type: 'FeatureCollection', features } as never, {
      maxZoom: 18,
      indexMaxZoom: 6,
      indexMaxPoints: 50000,
      tolerance: 3,
      extent: 4096,
      buffer: 64,
    });
  // Patches A–C span lon 117.8–117.80280, lat 36.70000–36.71892.
  const box: [number, number, number, number] = [117.8, 36.7, 117.8028, 36.71892];

  it('walks the tiles over the data, hand-worked at zoom 14 and 13', () => {
    // x = (lon + 180) / 360 × 2^z: 117.8 → 13553.23, 117.8028 → 13553.36 at zoom 14.
    // y = (1 − asinh(tan lat) / π) / 2 × 2^z: 36.71892 → 6393.16, 36.7 → 6394.18 at zoom 14;
    // halved at zoom 13: 3196.58 and 3197.09, two rows.
    assert.deepEqual(tileRange(box, 14), { x0: 13553, x1: 13553, y0: 6393, y1: 6394 });
    assert.deepEqual(tileRange(box, 13), { x0: 6776, x1: 6776, y0: 3196, y1: 3197 });
    assert.deepEqual(tileRange(box, 0), { x0: 0, x1: 0, y0: 0, y1: 0 });
  });

  it('gives the same tiles as cutting on demand, and stops when no longer wanted', async () => {
    const ahead = index();
    // One tile at each zoom 1–12, two at 13 and at 14 (above).
    assert.equal(await cutAhead(ahead, box, 14, () => true), 12 + 2 + 2);
    const onDemand = index();
    for (const [z, x, y, n] of [
      [14, 13553, 6394, 2], // A and B
      [14, 13553, 6393, 1], // C
      [16, 54212, 25576, 1], // A only: B begins at x = 54213.2
      [18, 216851, 102306, 1], // A only
      [10, 847, 399, 3],
    ] as const) {
      const tile = ahead.getTile(z, x, y);
      assert.equal(tile?.features.length, n, `${z}/${x}/${y}`);
      assert.deepEqual(tile, onDemand.getTile(z, x, y), `${z}/${x}/${y}`);
    }
    // Asked to give way before every tile, and no longer wanted: stops at once.
    assert.equal(await cutAhead(index(), box, 14, () => false, 0), 0);
    assert.equal(await cutAhead(index(), box, 14, () => true, 0), 16);
    assert.equal(await cutAhead(index(), null, 14, () => true), 0);
  });
});

describe('TileCache', () => {
  const tile = (n: number) => ({ buf: Buffer.alloc(n), etag: '"x"' });

  it('is bounded in bytes, the least recently used going first', () => {
    const c = new TileCache(300);
    c.set('a', tile(100)); // 101 bytes with its key
    c.set('b', tile(100));
    assert.ok(c.get('a')); // a is now the most recent
    c.set('c', tile(100)); // 303 > 300: b goes
    assert.equal(c.get('b'), undefined);
    assert.ok(c.get('a') && c.get('c'));
    assert.equal(c.bytes, 202);
    c.set('a', tile(50)); // replacing counts the new size only
    assert.equal(c.bytes, 152);
    c.set('d', tile(1000)); // larger than the bound: kept alone
    assert.equal(c.size, 1);
  });
});
