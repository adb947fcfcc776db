// Builds Shapefile fixtures at test time with GDAL's ogr2ogr, so the bytes under test come from
// the writer people actually use rather than from our own code.

import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OGR2OGR = process.env.OGR2OGR ?? 'ogr2ogr';

let available: boolean | undefined;

/** Runs ogr2ogr with these arguments; rejects with its stderr on failure. */
export async function ogr2ogr(args: readonly string[]): Promise<void> {
  await run(OGR2OGR, [...args], { maxBuffer: 64 << 20 });
}

export function ogrAvailable(): boolean {
  available ??= spawnSync(OGR2OGR, ['--version'], { encoding: 'utf8' }).status === 0;
  return available;
}

/**
 * For `describe(name, { skip: skipWithoutOgr() }, …)`: false when ogr2ogr works. Without it the
 * tests are skipped with a reason locally, but under CI (where gdal-bin is installed) a missing
 * ogr2ogr is an error, so the fixtures cannot silently stop being tested.
 */
export function skipWithoutOgr(): string | false {
  if (ogrAvailable()) return false;
  const reason = `${OGR2OGR} not found: install gdal-bin (apt-get install gdal-bin) to build Shapefile fixtures`;
  if (process.env.CI) throw new Error(reason);
  return reason;
}

export interface FixtureGeometry {
  type: 'Point' | 'LineString' | 'Polygon' | 'MultiPolygon' | 'MultiPoint' | 'MultiLineString';
  coordinates: unknown;
}

export interface FixtureFeature {
  properties: Record<string, string | number | boolean | null>;
  geometry: FixtureGeometry | null;
}

export interface ShapefileOptions {
  /** Layer and file base name. */
  name?: string;
  /** Layer creation options, e.g. ['ENCODING=CP936']. */
  lco?: string[];
  /** Assigned (not reprojected) CRS. */
  srs?: string;
  /** Layer geometry type; MULTIPOLYGON gives a Polygon shapefile holding both kinds. */
  nlt?: string;
}

export interface FixtureFiles {
  dir: string;
  shp: string;
  shx: string;
  dbf: string;
  prj: string;
  cpg: string | null;
}

/** Writes `features` as GeoJSON to a scratch folder and converts it into `<dir>/<name>.shp`. */
export async function writeShapefile(
  dir: string,
  features: FixtureFeature[],
  opts: ShapefileOptions = {},
): Promise<FixtureFiles> {
  if (!ogrAvailable())
    throw new Error(`${OGR2OGR} is not installed (gdal-bin); cannot build Shapefile fixtures`);
  const name = opts.name ?? 'layer';
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'weipian-ogr-'));
  try {
    const src = path.join(scratch, `${name}.geojson`);
    const fc = { type: 'FeatureCollection', features: features.map((f) => ({ type: 'Feature', ...f })) };
    await writeFile(src, JSON.stringify(fc));
    const out = path.join(dir, `${name}.shp`);
    const args = [
      '-f',
      'ESRI Shapefile',
      '-a_srs',
      opts.srs ?? 'EPSG:4527',
      '-nlt',
      opts.nlt ?? 'MULTIPOLYGON',
      '-nln',
      name,
      ...(opts.lco ?? []).flatMap((o) => ['-lco', o]),
      out,
      src,
    ];
    try {
      await run(OGR2OGR, args);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`ogr2ogr failed: ${err.stderr || err.message}\nargs: ${args.join(' ')}`, { cause: e });
    }
    const sib = (ext: string) => path.join(dir, `${name}.${ext}`);
    return {
      dir,
      shp: out,
      shx: sib('shx'),
      dbf: sib('dbf'),
      prj: sib('prj'),
      cpg: existsSync(sib('cpg')) ? sib('cpg') : null,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// ---- realistic sample content -----------------------------------------------------------------
// EPSG:4527 (CGCS2000 3° zone 39 with the zone prefix): 周村 lies around E 39 560 000–39 590 000,
// N 4 060 000–4 080 000.

type Pos = [number, number];

/** A closed counter-clockwise rectangle ring (RFC 7946 outer orientation). */
export function rect(x0: number, y0: number, x1: number, y1: number): Pos[] {
  return [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
    [x0, y0],
  ];
}

/** The same rectangle clockwise, as a hole is written in GeoJSON. */
export function rectCw(x0: number, y0: number, x1: number, y1: number): Pos[] {
  return rect(x0, y0, x1, y1).reverse();
}

/** Four delivered patches: one with a hole, a two-part one with a hole in each part, a record
 * without geometry, and a plain rectangle; attributes as a 2017 land delivery names them. */
export function samplePatches(): FixtureFeature[] {
  return [
    {
      properties: {
        JCBH: '3703062017001',
        XZQDM: '370306101',
        XZQMC: '周村区北郊镇',
        TBLX: '新增建设用地',
        JCMJ: 4400,
        QSX: '2016-10-15',
        HSX: '2017-04-20',
        备注: '北郊镇东侧厂房，疑似未批先建',
      },
      geometry: {
        type: 'Polygon',
        coordinates: [
          rect(39571000, 4071000, 39571080, 4071060),
          rectCw(39571020, 4071020, 39571040, 4071040),
        ],
      },
    },
    {
      properties: {
        JCBH: '3703062017002',
        XZQDM: '370306102',
        XZQMC: '周村区南郊镇',
        TBLX: '新增建设用地',
        JCMJ: 1234.56,
        QSX: '2016-10-15',
        HSX: '2017-04-20',
        备注: '两处地块，中间隔农村道路',
      },
      geometry: {
        type: 'MultiPolygon',
        coordinates: [
          [rect(39575000, 4065000, 39575100, 4065100), rectCw(39575010, 4065010, 39575030, 4065030)],
          [rect(39575200, 4065000, 39575300, 4065100), rectCw(39575250, 4065050, 39575290, 4065090)],
        ],
      },
    },
    {
      properties: {
        JCBH: '3703062017003',
        XZQDM: '370306103',
        XZQMC: '周村区王村镇',
        TBLX: '其他',
        JCMJ: null,
        QSX: '2016-10-15',
        HSX: null,
        备注: null,
      },
      geometry: null,
    },
    {
      properties: {
        JCBH: '3703062017004',
        XZQDM: '370306104',
        XZQMC: '周村区萌水镇',
        TBLX: '新增建设用地（光伏）',
        JCMJ: 250.5,
        QSX: '2016-10-15',
        HSX: '2017-04-20',
        备注: '“设施农用地”备案号：周国土资〔2017〕12号；宽度≥8米',
      },
      geometry: { type: 'Polygon', coordinates: [rect(39588000, 4078000, 39588050, 4078010)] },
    },
  ];
}
