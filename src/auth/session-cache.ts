// Live sessions kept in memory for a few seconds (WEIPIAN_SESSION_CACHE_MS, default 5000), so that a
// request does not query the database for its session: on PGlite every query waits in the one WASM
// thread, and a map asks for dozens of tiles at once. Only sessions found valid are kept; expiry is
// still checked on every request against the clock. Whatever ends a session or changes a user in this
// process (logout, login, password change or reset, disable, enable) clears the cache once its
// transaction has committed, so it takes effect on the very next request. Another app server on the
// same PostgreSQL sees such a change after at most the TTL.
import type { SessionRow } from '../store/queries/sessions.ts';
import type { UserView } from '../store/queries/users.ts';

export interface CachedSession {
  session: SessionRow;
  user: UserView;
}

/** At most this many sessions are kept (the least recently used go first). */
export const SESSION_CACHE_MAX = 10_000;

export class SessionCache {
  private entries = new Map<string, CachedSession & { at: number }>();
  /** Bumped by every clear: a lookup that started before a clear must not store what it read. */
  private gen = 0;

  constructor(private readonly max = SESSION_CACHE_MAX) {}

  get generation(): number {
    return this.gen;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry if it was stored less than ttlMs before `now` (the settings' clock, in ms). */
  get(id: string, ttlMs: number, now: number): CachedSession | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id);
    const age = now - e.at;
    if (age < 0 || age >= ttlMs) return undefined; // a clock set back must not stretch the TTL
    this.entries.set(id, e); // most recently used last
    return e;
  }

  /** Keeps a session read from the database, unless the cache was cleared since `generation`. */
  set(id: string, generation: number, value: CachedSession, now: number): void {
    if (generation !== this.gen) return;
    this.entries.delete(id);
    this.entries.set(id, { ...value, at: now });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  clear(): void {
    this.gen++;
    this.entries.clear();
  }
}

// One cache per database handle: tests open many databases in one process.
const caches = new WeakMap<object, SessionCache>();

export function sessionCacheOf(db: object): SessionCache {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = new SessionCache()));
  return c;
}

/** Call after a committed change to sessions or users: the next request reads them again. */
export function forgetSessions(db: object): void {
  caches.get(db)?.clear();
}
