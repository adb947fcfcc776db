// Streams a request body to a temporary file, refusing it as soon as it passes the size limit —
// never buffered in memory, never written past the limit. A declared Content-Length over the limit
// is refused before a byte is read. A refused body is left unread, not destroyed, so that the 413
// answer still reaches the client; closeAfterRefusedUpload closes the connection after it.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
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
  // Through a pass-through, so that a refusal stops reading without destroying the request (and
  // with it the socket) before the answer is written.
  const pass = new PassThrough();
  body.pipe(pass);
  try {
    await pipeline(pass, counter, createWriteStream(target));
  } catch (e) {
    body.unpipe(pass);
    body.pause();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  if (bytes === 0) {
    await rm(dir, { recursive: true, force: true });
    throw new WeipianError('source_empty', '上传的文件是空的', undefined, 400);
  }
  return { path: target, bytes, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * For a scope of upload routes: when an upload is refused before its body was read to the end, the
 * answer carries `Connection: close` — Node would otherwise read (and discard) the unread rest,
 * up to gigabytes, to keep the connection alive.
 */
export function closeAfterRefusedUpload(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply) => {
    const body = req.body as Readable | undefined;
    if (reply.statusCode >= 400 && body && typeof body.pipe === 'function' && !body.readableEnded)
      reply.header('connection', 'close');
  });
}
