// One owner of a PGlite data folder at a time. PGlite does not lock its folder, and two processes
// opening it lose commits silently (BENCH.md), so weipian keeps a lock file: created exclusively,
// naming the owner (pid, host, server address), removed when the owner ends; a lock whose process
// is gone is stale and taken over.
import { closeSync, linkSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

export interface LockInfo {
  pid: number;
  host: string;
  kind: 'server' | 'cli';
  /** Server address when kind = server, for CLI commands to act through. */
  url?: string;
  startedAt: string;
}

export interface DataLock {
  info: LockInfo;
  release(): void;
}

export const lockPath = (dataDir: string) => path.join(dataDir, 'weipian.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live owner of the folder, or null (no lock, or a stale one left by a killed process). */
export function currentOwner(dataDir: string): LockInfo | null {
  let info: LockInfo;
  try {
    info = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
  } catch {
    return null;
  }
  // A lock from another host (shared folder) cannot be checked: treat it as live.
  if (info.host !== hostname()) return info;
  return alive(info.pid) && info.pid !== process.pid ? info : null;
}

/** Takes the lock or returns the live owner that holds it. */
export function acquireLock(dataDir: string, kind: LockInfo['kind'], url?: string): DataLock | LockInfo {
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    kind,
    url,
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // Written in full under a private name, then linked into place: link() fails atomically when
      // the lock exists, and a reader never sees a half-written lock.
      const tmp = `${lockPath(dataDir)}.${process.pid}`;
      const fd = openSync(tmp, 'w', 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      try {
        linkSync(tmp, lockPath(dataDir));
      } finally {
        rmSync(tmp, { force: true });
      }
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          const now = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
          if (now.pid === process.pid) rmSync(lockPath(dataDir));
        } catch {
          /* already gone */
        }
      };
      process.once('exit', release);
      return { info, release };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = currentOwner(dataDir);
      if (owner) return owner;
      rmSync(lockPath(dataDir), { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`cannot take the lock ${lockPath(dataDir)}`);
}

export function isLock(x: DataLock | LockInfo): x is DataLock {
  return 'release' in x;
}
