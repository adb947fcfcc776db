import { PGlite } from '@electric-sql/pglite';
import { CopyWriter, copyStatement } from '/work/main/src/store/bulk.ts';
import { mkdtempSync } from 'node:fs';
function chunk(layer: number, from: number, n: number) {
  const w = new CopyWriter(); const side = 317; const geom = new Uint8Array(93).fill(1);
  for (let i = from; i < from + n; i++) {
    const k = (i * 7919) % 100000; const x = 118 + (k % side) * 0.0004, y = 36 + Math.floor(k / side) * 0.0004;
    w.row(11).int4(layer).int4(i).text('{"BSM":1,"DLBM":"0101","DLMC":"水田","ZLDWMC":"周村区南郊镇","TBMJ":1600}')
      .bytea(geom).bytea(null).text(null).float8(1600).float8(x).float8(y).float8(x + 0.0004).float8(y + 0.0004);
  }
  return w.finish();
}
const cols = ['layer_id','feature_index','attributes','geom','geom_repaired','validity_issue','area_m2','minx','miny','maxx','maxy'];
const variants: Record<string, [string, string]> = {
  full: ['CREATE INDEX rf_bbox ON rf USING gist (box(point(minx, miny), point(maxx, maxy)));', ''],
  replica: ['CREATE INDEX rf_bbox ON rf USING gist (box(point(minx, miny), point(maxx, maxy)));', 'SET session_replication_role = replica'],
  nogist: ['', ''],
  nogist_replica: ['', 'SET session_replication_role = replica'],
  pointgist: ['CREATE INDEX rf_c ON rf USING gist (point((minx+maxx)/2, (miny+maxy)/2));', ''],
  spgist: ['CREATE INDEX rf_s ON rf USING spgist (box(point(minx, miny), point(maxx, maxy)));', 'SET session_replication_role = replica'],
  spgistpt: ['CREATE INDEX rf_s ON rf USING spgist (point((minx+maxx)/2, (miny+maxy)/2));', 'SET session_replication_role = replica'],
  btree: ['CREATE INDEX rf_t ON rf (layer_id, minx);', 'SET session_replication_role = replica'],
  brin: ['CREATE INDEX rf_b ON rf USING brin (box(point(minx, miny), point(maxx, maxy)));', ''],
};
const sizes = process.argv.slice(3).map(Number);
for (const size of sizes) for (const v of process.argv[2]!.split(',')) {
  const pgl = await PGlite.create({ dataDir: mkdtempSync('/tmp/exp/pgl-') });
  await pgl.exec(`CREATE TABLE reference_layers (id serial primary key); INSERT INTO reference_layers DEFAULT VALUES;
  CREATE TABLE rf (id serial PRIMARY KEY, layer_id int NOT NULL REFERENCES reference_layers(id), feature_index int NOT NULL, attributes json NOT NULL, geom bytea NOT NULL, geom_repaired bytea, validity_issue text, area_m2 float8 NOT NULL, minx float8 NOT NULL, miny float8 NOT NULL, maxx float8 NOT NULL, maxy float8 NOT NULL, UNIQUE (layer_id, feature_index)); ${variants[v]![0]}`);
  if (variants[v]![1]) await pgl.exec(variants[v]![1]);
  const chunks = Array.from({ length: Math.ceil(100000 / size) }, (_, k) => chunk(1, k * size, size));
  const t0 = performance.now(); const c0 = process.cpuUsage();
  for (const c of chunks) await pgl.query(copyStatement('rf', cols, "'/dev/blob'"), [], { blob: new Blob([c]) });
  const c = process.cpuUsage(c0);
  console.log(v.padEnd(16), size, ((performance.now() - t0) / 1000).toFixed(2), 's', ((c.user + c.system) / 1e6).toFixed(2), 'cpu');
  await pgl.close();
}
