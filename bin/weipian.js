#!/usr/bin/env node
// Entry point of the `weipian` command: runs the compiled CLI (npm run build), or the
// TypeScript sources through tsx when no build exists (development checkouts).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
// WEIPIAN_FROM_SOURCE=1 (tests) runs the sources even when a build exists, so a stale build is never tested.
if (existsSync(built) && !process.env.WEIPIAN_FROM_SOURCE) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
