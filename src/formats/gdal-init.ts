// GDAL compiled to WebAssembly (gdal3.js), started once per process. The module is one global
// instance with one virtual file system and one error state, so every use goes through withGdal(),
// which runs the callers one at a time and hands each the messages GDAL printed meanwhile.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The parts of gdal3.js that weipian uses (its own typings declare only the browser entry). */
export interface GdalDataset {
  pointer: number;
  path: string;
  type: string;
  info: unknown;
}

export interface GdalFilePath {
  local: string;
  real: string;
  all?: { local: string; real: string }[];
}

export interface GdalFs {
  mkdir(path: string): void;
  writeFile(path: string, data: Uint8Array | string): void;
  readFile(path: string, opts?: { encoding: 'binary' }): Uint8Array;
  readdir(path: string): string[];
  unlink(path: string): void;
  rmdir(path: string): void;
  isDir(mode: number): boolean;
  stat(path: string): { mode: number };
}

export interface Gdal {
  open(
    fileOrFiles: string | string[],
    options?: string[],
    vfsHandlers?: string[],
  ): Promise<{ datasets: GdalDataset[]; errors: unknown[] }>;
  close(dataset: GdalDataset): Promise<void>;
  ogr2ogr(dataset: GdalDataset, options?: string[], outputName?: string): Promise<GdalFilePath>;
  ogrinfo(dataset: GdalDataset, options?: string[]): Promise<unknown>;
  getFileBytes(file: string | GdalFilePath): Promise<Uint8Array>;
  drivers: { raster: Record<string, unknown>; vector: Record<string, unknown> };
  Module: { FS: GdalFs };
}

type InitGdalJs = (config: {
  path?: string;
  logHandler?: (message: string, type: string) => void;
  errorHandler?: (message: string, type: string) => void;
}) => Promise<Gdal>;

/** Files of the running operation live under this folder of GDAL's in-memory file system. */
export const GDAL_WORK_ROOT = '/output';

let instance: Promise<Gdal> | undefined;
let capture: string[] | undefined;

function record(message: string): void {
  // Outside withGdal (should not happen) messages are dropped rather than printed on the console.
  if (capture && message.trim() !== '') capture.push(message.trim());
}

/** The memoised gdal3.js instance; the first call loads the WASM (about 3 s). */
export function initGdal(): Promise<Gdal> {
  instance ??= (async () => {
    const initGdalJs = require('gdal3.js/node.js') as InitGdalJs;
    const dir = path.dirname(require.resolve('gdal3.js/dist/package/gdal3WebAssembly.wasm'));
    // gdal3.js prefixes the data file's path with "./" itself, so it must be relative to the cwd.
    return initGdalJs({
      path: path.relative(process.cwd(), dir) || '.',
      logHandler: record,
      errorHandler: record,
    });
  })();
  instance.catch(() => {
    instance = undefined;
  });
  return instance;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs fn with exclusive use of GDAL. `messages` collects what GDAL reports (warnings and
 * errors) while fn runs, so callers can refuse a result GDAL had to degrade.
 */
export function withGdal<T>(fn: (gdal: Gdal, messages: string[]) => Promise<T>): Promise<T> {
  const run = queue.then(async () => {
    const gdal = await initGdal();
    const messages: string[] = [];
    capture = messages;
    try {
      return await fn(gdal, messages);
    } finally {
      capture = undefined;
    }
  });
  queue = run.catch(() => undefined);
  return run;
}

/** Removes a folder of GDAL's in-memory file system with everything in it. */
export function removeGdalDir(gdal: Gdal, dir: string): void {
  const fs = gdal.Module.FS;
  let names: string[];
  try {
    names = fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === '.' || name === '..') continue;
    const p = `${dir}/${name}`;
    if (fs.isDir(fs.stat(p).mode)) removeGdalDir(gdal, p);
    else fs.unlink(p);
  }
  fs.rmdir(dir);
}
