// Accounts that must exist before anyone can log in: the first administrator of a new installation,
// and (for the demo only) one account per role with known passwords.
import type { Db } from '../store/db.ts';
import { WeipianError } from '../domain/errors.ts';
import type { Role } from '../domain/roles.ts';
import { generateOneTimePassword, hashPassword } from '../auth/passwords.ts';
import { createUser, userSnapshot } from '../auth/users.ts';
import { appendEvent } from '../store/queries/events.ts';
import { countUsers, findUserByUsername, insertUser, type UserView } from '../store/queries/users.ts';
import { unitKindFromName } from '../store/queries/units.ts';

const BOOTSTRAP_LOCK = 7_421_102; // arbitrary, constant: "weipian first admin"

export interface InitialAdmin {
  username: string;
  /** Print it once; only its hash is stored, and it must be changed at the first login. */
  oneTimePassword: string;
}

/**
 * On a database without any user, creates `admin` (分局管理员) with a one-time password. Returns null
 * when users exist. Two servers starting together on one PostgreSQL create it once (advisory lock).
 */
export async function ensureInitialAdmin(db: Db, actor = 'system:first-start'): Promise<InitialAdmin | null> {
  if ((await countUsers(db)) > 0) return null;
  const oneTimePassword = generateOneTimePassword();
  const passwordHash = await hashPassword(oneTimePassword);
  const created = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK]);
    if ((await countUsers(tx)) > 0) return false;
    const admin = await insertUser(tx, {
      username: 'admin',
      displayName: '系统管理员',
      role: 'bureau_admin',
      unitCode: null,
      departmentCode: null,
      passwordHash,
      mustChangePassword: true,
      createdBy: actor,
      at: new Date(),
    });
    await appendEvent(tx, {
      actor,
      action: 'user.create',
      recordType: 'user',
      recordId: admin.username,
      after: userSnapshot(admin),
    });
    return true;
  });
  return created ? { username: 'admin', oneTimePassword } : null;
}

/** The demo's password for every demo account (README, "Demo accounts"). */
export const DEMO_PASSWORD = 'weipian-demo-2018';

export interface DemoUnit {
  /** 9-digit code of the responsible unit (responsible_units.code). */
  code: string;
  /** Needed only when the unit does not exist yet. */
  name?: string;
}

export interface DemoAccount {
  username: string;
  role: Role;
  displayName: string;
  unitCode: string | null;
  departmentCode: string | null;
  /** false when an account of that name already existed and was left alone. */
  created: boolean;
}

/**
 * Creates one account per role with DEMO_PASSWORD (no forced change): leader, admin, reviewer,
 * unit1…unitN (one per given unit, units created when missing) and dept (区农业农村局). Accounts that
 * exist already are left as they are. Never call this on a production database.
 */
export async function seedDemoUsers(db: Db, units: DemoUnit[]): Promise<DemoAccount[]> {
  if (units.length === 0) throw new WeipianError('demo_units_missing', '演示账号需要至少一个责任单位');
  for (const u of units) {
    if (!/^[0-9]{9}$/.test(u.code))
      throw new WeipianError('unit_code_invalid', `责任单位代码应为 9 位数字：${u.code}`, { code: u.code });
    const [exists] = await db.query('SELECT 1 FROM responsible_units WHERE code = $1', [u.code]);
    if (exists) continue;
    if (!u.name)
      throw new WeipianError('unit_not_found', `责任单位不存在且未给出名称：${u.code}`, { code: u.code });
    await db.query(
      `INSERT INTO responsible_units (code, name, kind) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING`,
      [u.code, u.name, unitKindFromName(u.name)],
    );
  }
  const wanted: Omit<DemoAccount, 'created'>[] = [
    {
      username: 'leader',
      role: 'leader',
      displayName: '区政府领导（演示）',
      unitCode: null,
      departmentCode: null,
    },
    {
      username: 'admin',
      role: 'bureau_admin',
      displayName: '分局管理员（演示）',
      unitCode: null,
      departmentCode: null,
    },
    {
      username: 'reviewer',
      role: 'reviewer',
      displayName: '分局审核员（演示）',
      unitCode: null,
      departmentCode: null,
    },
    ...units.map((u, i) => ({
      username: `unit${i + 1}`,
      role: 'unit_officer' as const,
      displayName: `镇街工作人员${i + 1}（演示）`,
      unitCode: u.code,
      departmentCode: null,
    })),
    {
      username: 'dept',
      role: 'department',
      displayName: '农业农村局（演示）',
      unitCode: null,
      departmentCode: 'agriculture',
    },
  ];
  const out: DemoAccount[] = [];
  for (const w of wanted) {
    const existing: UserView | undefined = await findUserByUsername(db, w.username);
    if (existing) {
      out.push({ ...w, created: false });
      continue;
    }
    await createUser(db, { ...w, password: DEMO_PASSWORD, mustChangePassword: false, actor: 'system:demo' });
    out.push({ ...w, created: true });
  }
  return out;
}
