// Leftovers of imports whose process died (SIGKILL, power cut): their staging layers are invisible
// to every query, and removed here once their owner is known to be gone — the owner process on
// this host no longer exists, or (another host, shared PostgreSQL) it stopped beating for a while.
import { hostname } from 'node:os';
import type { Db } from '../store/db.ts';
import { discardStagingLayer, stagingLayers } from '../store/queries/layers.ts';

const STALE_AFTER_MS = 10 * 60 * 1000;

export function stagingOwner(): string {
  return `${hostname()}:${process.pid}`;
}

function ownerGone(owner: string | null, heartbeat: Date | null, now: number): boolean {
  if (!owner) return true;
  const sep = owner.lastIndexOf(':');
  const host = owner.slice(0, sep);
  const pid = Number(owner.slice(sep + 1));
  if (host === hostname()) {
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code !== 'EPERM';
    }
  }
  return !heartbeat || now - new Date(heartbeat).getTime() > STALE_AFTER_MS;
}

/** Discards the staging layers of dead imports; returns how many were removed. */
export async function recoverInterruptedImports(db: Db, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const l of await stagingLayers(db)) {
    if (!ownerGone(l.owner, l.heartbeat_at, now)) continue;
    await db.transaction((tx) => discardStagingLayer(tx, l.id));
    removed++;
  }
  return removed;
}
