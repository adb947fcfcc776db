// Where evidence files live. The database holds every fact about a file (name, type, SHA-256, EXIF,
// signals); the store holds only bytes, under keys the service chooses. Originals are stored
// content-addressed (`originals/ab/cd/<sha256>`), so a file is kept once however often it is used,
// and a key names exactly the bytes it must hold — `weipian evidence verify` re-hashes them.
// Nothing is ever overwritten or deleted through this interface except a just-written object whose
// database row did not commit (see `discard`).
//
// The default is a directory under the data folder (WEIPIAN_DATA/files/evidence), which `weipian
// backup` already carries. An S3-compatible store implements the same five methods (see
// docs/evidence.md).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  bytes: number;
}

export interface EvidenceStore {
  /** Human-readable location for messages (a folder, a bucket URL). */
  readonly location: string;
  /**
   * Copies a local file under `key` unless the key already exists (keys are content-addressed, so
   * an existing key already holds these bytes). `created` says whether this call wrote it.
   */
  putFile(key: string, localPath: string): Promise<{ created: boolean }>;
  /** Streams an object; undefined when the key does not exist. */
  open(key: string): Promise<{ stream: Readable; bytes: number } | undefined>;
  exists(key: string): Promise<boolean>;
  /**
   * Removes an object this process has just created whose database row rolled back. The service
   * never calls it for an object any committed row refers to.
   */
  discard(key: string): Promise<void>;
  /** Every key under a prefix, in order (for verification). */
  list(prefix: string): AsyncIterable<StoredObject>;
}

const KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

export function assertKey(key: string): void {
  if (!KEY.test(key) || key.includes('..')) throw new Error(`invalid evidence store key: ${key}`);
}

/** `originals/ab/cd/<sha256>`: two directory levels keep folders small at national scale. */
export function originalKey(sha256: string): string {
  return `originals/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

export function thumbnailKey(sha256: string): string {
  return `thumbnails/${sha256.slice(0, 2)}/${sha256}.jpg`;
}

/** A directory on the local disk (or a mounted network share). */
export class DirectoryStore implements EvidenceStore {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private file(key: string): string {
    assertKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async putFile(key: string, localPath: string): Promise<{ created: boolean }> {
    const target = this.file(key);
    if (await this.exists(key)) return { created: false };
    await mkdir(path.dirname(target), { recursive: true });
    // Written under a temporary name, flushed, then linked into place: a crash leaves either no
    // object or a complete one, and link() refuses to replace a key another writer got to first.
    const tmp = `${target}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await copyFile(localPath, tmp);
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await link(tmp, target);
        return { created: true };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { created: false };
        throw e;
      }
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async open(key: string) {
    const p = this.file(key);
    try {
      const st = await stat(p);
      if (!st.isFile()) return undefined;
      return { stream: createReadStream(p), bytes: st.size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.file(key))).isFile();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async discard(key: string): Promise<void> {
    await unlink(this.file(key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const walk = async function* (dir: string, rel: string): AsyncIterable<StoredObject> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        const p = path.join(dir, e.name);
        const k = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) yield* walk(p, k);
        else if (e.isFile() && !e.name.includes('.part-')) yield { key: k, bytes: (await stat(p)).size };
      }
    };
    assertKey(prefix);
    yield* walk(path.join(this.root, ...prefix.split('/')), prefix);
  }
}

/** SHA-256 of a stream, hex. */
export async function sha256OfStream(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return h.digest('hex');
}
