import { PGlite } from '@electric-sql/pglite';
import { CopyWriter, copyStatement } from '/work/main/src/store/bulk.ts';
import { mkdtempSync } from 'node:fs';
function chunk(layer: number, from: number, n: number) {
  const w = new CopyWriter(); const side = 317; const geom = new Uint8Array(93).fill(1);
  for (let i = from; i < from + n; i++) {
    const k = (i * 7919) % 100000; // shuffled order
    const x = 118 + (k % side) * 0.0004, y = 36 + Math.floor(k / side) * 0.0004;
    w.row(11).int4(layer).int4(i).text('{"BSM":1,"DLBM":"0101","DLMC":"水田","ZLDWMC":"周村区南郊镇","TBMJ":1600}')
      .bytea(geom).bytea(null).text(null).float8(1600).float8(x).float8(y).float8(x + 0.0004).float8(y + 0.0004);
  }
  return w.finish();
}
const cols = ['layer_id','feature_index','attributes','geom','geom_repaired','validity_issue','area_m2','minx','miny','maxx','maxy'];
const pgl = await PGlite.create({ dataDir: mkdtempSync('/tmp/exp/pgl-') });
await pgl.exec(`CREATE TABLE reference_layers (id serial primary key); INSERT INTO reference_layers DEFAULT VALUES;`);
for (let rep = 0; rep < 2; rep++) {
  await pgl.exec(`DROP TABLE IF EXISTS rf; CREATE TABLE rf (id serial, layer_id int NOT NULL, feature_index int NOT NULL, attributes json NOT NULL, geom bytea NOT NULL, geom_repaired bytea, validity_issue text, area_m2 float8 NOT NULL, minx float8 NOT NULL, miny float8 NOT NULL, maxx float8 NOT NULL, maxy float8 NOT NULL)`);
  const chunks = Array.from({ length: 100 }, (_, k) => chunk(1, k * 1000, 1000));
  const time = async (name: string, f: () => Promise<unknown>) => { const t0 = performance.now(); const c0 = process.cpuUsage(); await f(); const c = process.cpuUsage(c0); console.log(name.padEnd(30), ((performance.now() - t0) / 1000).toFixed(2), 's', ((c.user + c.system) / 1e6).toFixed(2), 'cpu'); };
  await time('heap copy', async () => { for (const c of chunks) await pgl.query(copyStatement('rf', cols, "'/dev/blob'"), [], { blob: new Blob([c]) }); });
  await time('pk', () => pgl.exec('ALTER TABLE rf ADD PRIMARY KEY (id)'));
  await time('unique', () => pgl.exec('ALTER TABLE rf ADD UNIQUE (layer_id, feature_index)'));
  await time('fk', () => pgl.exec('ALTER TABLE rf ADD FOREIGN KEY (layer_id) REFERENCES reference_layers(id)'));
  await time('gist box build', () => pgl.exec('CREATE INDEX rf_bbox ON rf USING gist (box(point(minx, miny), point(maxx, maxy)))'));
  await time('gist point build', () => pgl.exec('CREATE INDEX rf_pt ON rf USING gist (point((minx+maxx)/2, (miny+maxy)/2))'));
  await time('brin box build', () => pgl.exec('CREATE INDEX rf_brin ON rf USING brin (box(point(minx, miny), point(maxx, maxy))) WITH (pages_per_range=4)'));
}
