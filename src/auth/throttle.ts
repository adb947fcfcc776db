// Login throttling: 5 failures for one username or 20 from one address within 15 minutes lock that
// username or address for 15 minutes. Each attempt is counted *before* the password is checked, in
// one atomic statement, so a burst of parallel guesses cannot all slip through before the first fails.
import type { Queryable } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import { countAttempt, lockKey } from '../store/queries/sessions.ts';
import type { AuthSettings } from './settings.ts';

export type ThrottleScope = 'username' | 'address';

export interface Counted {
  key: string;
  scope: ThrottleScope;
  /** This attempt's number in the current window. */
  n: number;
  limit: number;
}

const shanghaiTime = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

export function throttledError(scope: ThrottleScope, until: Date, now: Date): WeipianError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  const minutes = Math.ceil(seconds / 60);
  const who = scope === 'username' ? '该账号' : '本机地址';
  return new WeipianError(
    'login_throttled',
    `登录失败次数过多，${who}已暂时锁定，请于 ${shanghaiTime.format(until)}（约 ${minutes} 分钟后）再试`,
    { scope, retryAt: until.toISOString(), retryAfterSeconds: seconds },
    429,
  );
}

/** Counts an attempt; throws login_throttled (and locks) when the key is locked or over its limit. */
export async function countOrRefuse(
  q: Queryable,
  settings: AuthSettings,
  scope: ThrottleScope,
  key: string,
  now: Date,
): Promise<Counted> {
  const limit = scope === 'username' ? settings.userFailureLimit : settings.addressFailureLimit;
  const row = await countAttempt(q, key, now, settings.windowMinutes * 60);
  if (row.locked_until && row.locked_until.getTime() > now.getTime())
    throw throttledError(scope, row.locked_until, now);
  if (row.failures > limit) {
    // Only parallel attempts get here: the limit-th failure already locked the key.
    const until = new Date(now.getTime() + settings.lockMinutes * 60_000);
    await lockKey(q, key, until);
    throw throttledError(scope, until, now);
  }
  return { key, scope, n: row.failures, limit };
}

/** After a failed check: the limit-th failure in a window starts the lock. */
export async function failed(q: Queryable, settings: AuthSettings, c: Counted, now: Date): Promise<void> {
  if (c.n >= c.limit) await lockKey(q, c.key, new Date(now.getTime() + settings.lockMinutes * 60_000));
}
