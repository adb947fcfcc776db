// The demo district loaded once per test run, shared by every test process: the first process to
// ask builds it into a folder named after a hash of the code that shapes it (src/, rules/) and the
// scale; the others wait for it and copy it. A change to the code gives a new folder.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** A build still running after this long is taken to be dead (its process was killed). */
const STALE_LOCK_MS = 15 * 60_000;

function hashTree(h: ReturnType<typeof createHash>, dir: string): void {
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) hashTree(h, p);
    else h.update(path.relative(ROOT, p)).update(readFileSync(p));
  }
}

let key: string | undefined;
function codeKey(): string {
  if (!key) {
    const h = createHash('sha256');
    for (const d of ['src', 'rules']) hashTree(h, path.join(ROOT, d));
    key = h.digest('hex').slice(0, 16);
  }
  return key;
}

/**
 * A folder holding what build(dir) made for this code and `name`, built by one process of the run
 * and reused by the rest (copy it before changing anything in it).
 */
export async function sharedBuild(name: string, build: (dir: string) => Promise<void>): Promise<string> {
  const base = path.join(tmpdir(), `weipian-test-cache-${codeKey()}`);
  mkdirSync(base, { recursive: true });
  const ready = path.join(base, name);
  const lock = `${ready}.lock`;
  for (;;) {
    if (existsSync(path.join(ready, '.ready'))) return ready;
    try {
      mkdirSync(lock);
    } catch {
      // Another process builds it; wait, unless it died long ago.
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      await sleep(500);
      continue;
    }
    const work = `${ready}.build-${process.pid}`;
    try {
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      await build(work);
      writeFileSync(path.join(work, '.ready'), new Date().toISOString());
      rmSync(ready, { recursive: true, force: true });
      renameSync(work, ready);
      return ready;
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
