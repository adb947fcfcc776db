// The `weipian users …` operations as operator commands (src/services/operator.ts): the CLI runs them
// in-process when it owns the data, or through the running server when `weipian serve` holds the
// PGlite folder — so an administrator can be added or reset without stopping the service.
// Results are plain JSON (users presented, never a hash); dates become strings when they cross HTTP.
import type { Db } from '../store/db.ts';
import { listUsers } from '../store/queries/users.ts';
import { createUser, disableUser, enableUser, presentUser, resetPassword } from './users.ts';

interface Ctx {
  actor: string;
}

export interface UsersAddArgs {
  username: string;
  role: string;
  displayName?: string;
  unitCode?: string;
  departmentCode?: string;
  password?: string;
}

export const userOperatorCommands = {
  'users.add': async (db: Db, a: UsersAddArgs, c: Ctx) => {
    const r = await createUser(db, { ...a, actor: c.actor });
    return { user: presentUser(r.user), oneTimePassword: r.oneTimePassword };
  },
  'users.list': async (db: Db, _a: Record<string, never>) => (await listUsers(db)).map(presentUser),
  'users.disable': async (db: Db, a: { username: string }, c: Ctx) => {
    const r = await disableUser(db, { username: a.username }, { actor: c.actor });
    return { user: presentUser(r.user), changed: r.changed, revokedSessions: r.revokedSessions };
  },
  'users.enable': async (db: Db, a: { username: string }, c: Ctx) => {
    const r = await enableUser(db, { username: a.username }, { actor: c.actor });
    return { user: presentUser(r.user), changed: r.changed };
  },
  'users.reset': async (db: Db, a: { username: string }, c: Ctx) => {
    const r = await resetPassword(db, { username: a.username }, { actor: c.actor });
    return {
      user: presentUser(r.user),
      oneTimePassword: r.oneTimePassword,
      revokedSessions: r.revokedSessions,
    };
  },
} as const;
