// Streams a request body to a temporary file, refusing it as soon as it passes the size limit —
// never buffered in memory, never written past the limit. A declared Content-Length over the limit
// is refused before a byte is read.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WeipianError } from '../domain/errors.ts';

export interface Upload {
  path: string;
  bytes: number;
  cleanup(): Promise<void>;
}

function tooLarge(limit: number): WeipianError {
  return new WeipianError(
    'upload_too_large',
    `上传文件超过 ${(limit / 1024 ** 2).toFixed(0)} MB 上限，未接收`,
    { limit },
    413,
  );
}

export async function receiveUpload(
  body: Readable,
  declaredLength: string | undefined,
  limit: number,
  fileName: string,
): Promise<Upload> {
  if (declaredLength !== undefined && Number(declaredLength) > limit) throw tooLarge(limit);
  const dir = await mkdtemp(path.join(tmpdir(), 'weipian-upload-'));
  const target = path.join(dir, path.basename(fileName) || 'upload.bin');
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > limit) cb(tooLarge(limit));
      else cb(null, chunk);
    },
  });
  try {
    await pipeline(body, counter, createWriteStream(target));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    // The rest of an oversized body is not read: the connection is closed after the answer.
    body.destroy();
    throw e;
  }
  if (bytes === 0) {
    await rm(dir, { recursive: true, force: true });
    throw new WeipianError('source_empty', '上传的文件是空的', undefined, 400);
  }
  return { path: target, bytes, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
