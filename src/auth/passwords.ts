// Password hashing with node's scrypt. The stored form names its parameters,
// `scrypt$N$r$p$salt$hash` (salt and hash in base64), so the cost can be raised later: old hashes
// still verify and are re-hashed at the next successful login (needsRehash).
// Passwords never leave this module except as hashes; nothing here logs.
import { randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { WeipianError } from '../domain/errors.ts';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 2^15 × 8 × 1 costs about 100–200 ms and 32 MiB here: slow for guessing, fine for logins. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

function scryptAsync(
  password: string,
  salt: Buffer,
  params: ScryptParams,
  keyBytes = KEY_BYTES,
): Promise<Buffer> {
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, keyBytes, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash extends ScryptParams {
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  // Bounds keep a corrupted row from asking for gigabytes of memory.
  const powerOfTwo = Number.isInteger(N) && N >= 2 ** 10 && N <= 2 ** 20 && (N & (N - 1)) === 0;
  if (!powerOfTwo || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16)
    return null;
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 128) return null;
  return { N, r, p, salt, key };
}

/** True when password matches the stored hash; false for a wrong password or an unreadable hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return false;
  // The key length is the stored one, so hashes made with another length still verify.
  const key = await scryptAsync(password, h.salt, h, h.key.length);
  return timingSafeEqual(key, h.key);
}

/** True when the hash was made with weaker parameters than today's defaults. */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const h = parseHash(stored);
  return !h || h.N < params.N || h.r < params.r || h.p < params.p;
}

let dummy: Promise<string> | undefined;
/**
 * Spends the same time as a real check, for logins to unknown accounts: the answer's timing must not
 * tell whether a username exists.
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('weipian-dummy-password');
  await verifyPassword(password, await dummy);
}

/** Character classes: lower-case letters, upper-case letters, digits, everything else. */
function classCount(password: string): number {
  const classes = new Set<string>();
  for (const ch of password) {
    if (/\p{Ll}/u.test(ch)) classes.add('lower');
    else if (/\p{Lu}/u.test(ch)) classes.add('upper');
    else if (/\p{Nd}/u.test(ch)) classes.add('digit');
    else classes.add('other');
  }
  return classes.size;
}

/** Throws password_weak with the rule that failed. */
export function checkPasswordRules(password: string, username?: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH)
    throw new WeipianError('password_weak', `密码至少需要 ${PASSWORD_MIN_LENGTH} 个字符`, {
      rule: 'min_length',
      min: PASSWORD_MIN_LENGTH,
    });
  if (length > PASSWORD_MAX_LENGTH)
    throw new WeipianError('password_weak', `密码最多 ${PASSWORD_MAX_LENGTH} 个字符`, {
      rule: 'max_length',
      max: PASSWORD_MAX_LENGTH,
    });
  if (classCount(password) < 2)
    throw new WeipianError('password_weak', '密码不能只由一类字符组成，请混合使用字母、数字或符号', {
      rule: 'classes',
    });
  if (username && password.toLowerCase() === username.toLowerCase())
    throw new WeipianError('password_weak', '密码不能与用户名相同', { rule: 'username' });
}

// No 0/O, 1/l/I: one-time passwords are read aloud and typed from paper.
const LOWER = 'abcdefghijkmnpqrstuvwxyz';
const DIGITS = '23456789';
const ALPHABET = LOWER + DIGITS;

/** A one-time password like `k7wq-m3zt-h9pe-4xar` (about 95 bits), always with letters and digits. */
export function generateOneTimePassword(): string {
  for (;;) {
    const chars = Array.from({ length: 16 }, () => ALPHABET[randomInt(ALPHABET.length)]!);
    const s = chars.join('');
    if (/[a-z]/.test(s) && /[0-9]/.test(s)) return s.match(/.{4}/g)!.join('-');
  }
}
