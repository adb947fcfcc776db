// The local operator's credential: a random token in a file readable only by the owner of the data
// folder. Whoever can read it can already read the database files, so it grants nothing new; it
// lets the CLI act through a running server instead of opening the folder a second time.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const OPERATOR_HEADER = 'x-weipian-operator';
export const tokenPath = (dataDir: string) => path.join(dataDir, 'operator.token');

export function writeOperatorToken(dataDir: string): string {
  const token = randomBytes(32).toString('base64url');
  writeFileSync(tokenPath(dataDir), token, { mode: 0o600 });
  return token;
}

export function readOperatorToken(dataDir: string): string | null {
  try {
    return readFileSync(tokenPath(dataDir), 'utf8').trim();
  } catch {
    return null;
  }
}

export function removeOperatorToken(dataDir: string): void {
  rmSync(tokenPath(dataDir), { force: true });
}

export function tokenMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
