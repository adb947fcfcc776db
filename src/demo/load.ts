// Loads the demo district into an empty database the way a user would: the generated delivery is
// imported through the same importers (`import layer`, `batch create`, `import patches`), then one
// account per role is created. A database that already holds batches is left alone.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Db } from '../store/db.ts';
import { generateDemo, LAND_DIR, MINERAL_DIR, DEFAULT_SEED, DEFAULT_SCALE } from './generate.ts';
import { importLayer } from '../jobs/import-layer.ts';
import { analyseBatch, type AnalyseSummary } from '../jobs/analyse-batch.ts';
import { importPatches } from '../jobs/import-patches.ts';
import { createBatch } from '../services/batches.ts';
import { seedDemoUsers, DEMO_PASSWORD, type DemoAccount } from '../services/bootstrap.ts';
import type { ProgressFn } from '../jobs/progress.ts';

export interface DemoLoadResult {
  loaded: boolean;
  accounts: DemoAccount[];
  password: string;
  layers: number;
  patches: { land: number; mineral: number };
  /** The analysis of each batch, by slug (empty when nothing was loaded). */
  analysis: Record<string, AnalyseSummary>;
  seconds: number;
}

export interface DemoLoadOptions {
  seed?: number;
  scale?: number;
  actor: string;
  /** Called with a short Chinese description of each step. */
  onStep?: (step: string) => void;
  onProgress?: ProgressFn;
  /** Generate the files into this (new) folder and keep them, e.g. to check the results against them. */
  keepFilesIn?: string;
}

/** The two units whose officers get demo accounts: a street in the centre and a town around it. */
export const DEMO_ACCOUNT_UNITS = ['370306001', '370306101'];

export async function isEmpty(db: Db): Promise<boolean> {
  const [r] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM batches');
  return r!.n === 0;
}

export async function loadDemo(db: Db, opts: DemoLoadOptions): Promise<DemoLoadResult> {
  const started = Date.now();
  const step = opts.onStep ?? (() => undefined);
  if (!(await isEmpty(db)))
    return {
      loaded: false,
      accounts: [],
      password: DEMO_PASSWORD,
      layers: 0,
      patches: { land: 0, mineral: 0 },
      analysis: {},
      seconds: 0,
    };
  const dir = await mkdtemp(path.join(tmpdir(), 'weipian-demo-'));
  const root = opts.keepFilesIn ?? path.join(dir, 'delivery');
  try {
    step('生成演示区县数据（周村区）');
    const { manifest } = await generateDemo(root, {
      seed: opts.seed ?? DEFAULT_SEED,
      scale: opts.scale ?? DEFAULT_SCALE,
    });
    const common = { actor: opts.actor, maxUnzippedBytes: 1 << 30, onProgress: opts.onProgress };
    // Unit boundaries first: the other layers and the patches refer to the units.
    const layers = manifest.layers
      .filter((l) => l.format === 'shapefile' && l.importAs !== null && l.importAs !== 'patches')
      .sort((a, b) => Number(b.importAs === 'unit') - Number(a.importAs === 'unit'));
    for (const l of layers) {
      step(`导入参考图层：${l.title}`);
      await importLayer(db, path.join(root, ...l.file.split('/')), { ...common, type: l.importAs! });
    }
    step('创建批次并导入部下发图斑');
    await createBatch(db, { slug: '2017-land', kind: 'land', year: 2017, actor: opts.actor });
    await createBatch(db, { slug: '2017-mineral', kind: 'mineral', year: 2017, actor: opts.actor });
    const land = await importPatches(db, path.join(root, LAND_DIR, '土地卫片图斑.shp'), {
      ...common,
      batch: '2017-land',
      areaUnit: 'mu',
      source: '卫片',
    });
    const mineral = await importPatches(db, path.join(root, MINERAL_DIR, '矿产卫片图斑.shp'), {
      ...common,
      batch: '2017-mineral',
      areaUnit: 'mu',
      source: '卫片',
    });
    const analysed: Record<string, AnalyseSummary> = {};
    for (const batch of ['2017-land', '2017-mineral']) {
      step(`叠加分析与预判：${batch}`);
      analysed[batch] = await analyseBatch(db, { batch, actor: opts.actor, onProgress: opts.onProgress });
    }
    step('创建演示账号');
    const accounts = await seedDemoUsers(
      db,
      DEMO_ACCOUNT_UNITS.map((code) => ({ code })),
    );
    return {
      loaded: true,
      accounts,
      password: DEMO_PASSWORD,
      layers: layers.length,
      patches: { land: land.imported, mineral: mineral.imported },
      analysis: analysed,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
