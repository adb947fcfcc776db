// Session and throttling settings, from the environment with the defaults of the brief. The clock is
// injectable so that tests can move time instead of sleeping.
import { WeipianError } from '../domain/errors.ts';

export interface AuthSettings {
  clock: () => Date;
  /** A session dies after this long without a request (WEIPIAN_SESSION_IDLE_MINUTES, default 8 h). */
  idleMinutes: number;
  /** …and this long after login whatever happens (WEIPIAN_SESSION_ABSOLUTE_MINUTES, default 7 days). */
  absoluteMinutes: number;
  /** Always mark the cookie Secure, e.g. behind a TLS-terminating proxy (WEIPIAN_SECURE_COOKIE=1). */
  secureCookie: boolean;
  /** Failed logins for one username within the window before that username is locked. */
  userFailureLimit: number;
  /** Failed logins from one address within the window before that address is locked. */
  addressFailureLimit: number;
  windowMinutes: number;
  lockMinutes: number;
  /** Valid sessions are kept in memory this long (WEIPIAN_SESSION_CACHE_MS, default 5000; 0 = off). */
  sessionCacheMs: number;
}

function minutes(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new WeipianError('config_invalid', `环境变量 ${name} 应为正数（分钟）：${raw}`, {
      name,
      value: raw,
    });
  return n;
}

function milliseconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new WeipianError('config_invalid', `环境变量 ${name} 应为非负数（毫秒）：${raw}`, {
      name,
      value: raw,
    });
  return n;
}

export function loadAuthSettings(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<AuthSettings> = {},
): AuthSettings {
  return {
    clock: () => new Date(),
    idleMinutes: minutes(env, 'WEIPIAN_SESSION_IDLE_MINUTES', 8 * 60),
    absoluteMinutes: minutes(env, 'WEIPIAN_SESSION_ABSOLUTE_MINUTES', 7 * 24 * 60),
    secureCookie: env.WEIPIAN_SECURE_COOKIE === '1' || env.WEIPIAN_SECURE_COOKIE === 'true',
    userFailureLimit: 5,
    addressFailureLimit: 20,
    windowMinutes: 15,
    lockMinutes: 15,
    sessionCacheMs: milliseconds(env, 'WEIPIAN_SESSION_CACHE_MS', 5000),
    ...overrides,
  };
}
