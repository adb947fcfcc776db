// Starting a worker thread on one of our modules, from the sources (through tsx) or from the build.
import { Worker } from 'node:worker_threads';

// Module hooks registered in the main thread (tsx) do not reach worker threads on Node 20, so the
// thread registers them itself before importing the module.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})();
`;

/**
 * Starts `<name>.ts` (sources) or `<name>.js` (build) next to the module `from` (its
 * import.meta.url) in a worker thread; `data` arrives as workerData.data.
 */
export function startThread(from: string, name: string, data: unknown): Worker {
  const fromSource = from.endsWith('.ts');
  const entry = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, from).href;
  const tsx = fromSource ? import.meta.resolve('tsx/esm/api') : null;
  return new Worker(BOOTSTRAP, { eval: true, workerData: { entry, tsx, data } });
}
