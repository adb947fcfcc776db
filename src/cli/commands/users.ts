// weipian users add|list|disable|enable|reset — account administration by the local operator (who
// has the database anyway), recorded as config.actor. Works while `weipian serve` runs: the commands
// then go through the server as the local operator (src/auth/commands.ts).
import type { Command } from 'commander';
import { operate } from '../context.ts';
import { printResult } from '../output.ts';
import { leaf, newCommand } from '../program.ts';
import { WeipianError } from '../../domain/errors.ts';
import { ROLES, ROLE_LABELS } from '../../domain/roles.ts';
import type { PublicUser } from '../../auth/users.ts';

async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new WeipianError(
      'password_stdin_tty',
      '--password-stdin 需要从管道读取密码，例如：printf %s "$密码" | weipian users add …',
    );
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline belongs to echo, not to the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function binding(u: PublicUser): string {
  if (u.unit) return `${u.unit.name ?? ''}（${u.unit.code}）`;
  if (u.department) return `${u.department.name ?? ''}（${u.department.code}）`;
  return '—';
}

/** Dates arrive as Date in-process and as ISO strings through the server. */
function when(d: Date | string | null): string {
  if (d === null) return '从未登录';
  return typeof d === 'string' ? d : d.toISOString();
}

function status(u: PublicUser): string {
  if (u.disabled) return '已停用';
  return u.mustChangePassword ? '待修改初始密码' : '正常';
}

const ONCE = '（只显示这一次，请当面或通过安全渠道交给本人；首次登录后须修改）';

export function usersCommands(program: Command): void {
  const users = newCommand('users', '用户账号：创建、查看、停用、重置密码');
  program.addCommand(users);

  leaf(
    users,
    'add <username>',
    '创建用户（默认生成一次性密码）',
    (c) =>
      c
        .requiredOption('--role <role>', `角色：${ROLES.map((r) => `${r}（${ROLE_LABELS[r]}）`).join('、')}`)
        .option('--unit <code>', '责任单位代码（9 位，镇街/开发区工作人员必填）')
        .option('--department <code>', '部门代码（有关部门用户必填，如 agriculture）')
        .option('--name <姓名>', '显示的姓名，默认同用户名')
        .option('--password-stdin', '从标准输入读取密码（不生成一次性密码）'),
    async (
      username: string,
      opts: {
        role: string;
        unit?: string;
        department?: string;
        name?: string;
        passwordStdin?: boolean;
        json?: boolean;
      },
    ) => {
      const password = opts.passwordStdin ? await readPasswordFromStdin() : undefined;
      const r = await operate('users.add', {
        username,
        role: opts.role,
        unitCode: opts.unit,
        departmentCode: opts.department,
        displayName: opts.name,
        password,
      });
      const user = r.user;
      printResult(opts, { ok: true, user, oneTimePassword: r.oneTimePassword }, () =>
        [
          `已创建用户 ${user.username}：${user.displayName}，${user.roleLabel}${user.unit || user.department ? `，${binding(user)}` : ''}`,
          r.oneTimePassword
            ? `一次性密码：${r.oneTimePassword}${ONCE}`
            : '密码已按标准输入设置，首次登录后须修改。',
        ].join('\n'),
      );
    },
  );

  leaf(
    users,
    'list',
    '列出全部用户',
    (c) => c,
    async (opts: { json?: boolean }) => {
      const rows = await operate('users.list', {});
      printResult(opts, { ok: true, users: rows }, () =>
        rows.length === 0
          ? '还没有用户。用 weipian users add 创建，或启动 weipian serve 生成初始管理员。'
          : rows
              .map((u) =>
                [u.username, u.displayName, u.roleLabel, binding(u), status(u), when(u.lastLoginAt)].join(
                  '\t',
                ),
              )
              .join('\n'),
      );
    },
  );

  leaf(
    users,
    'disable <username>',
    '停用用户（立即结束其全部登录会话）',
    (c) => c,
    async (username: string, opts: { json?: boolean }) => {
      const r = await operate('users.disable', { username });
      const user = r.user;
      printResult(opts, { ok: true, user, changed: r.changed, revokedSessions: r.revokedSessions }, () =>
        r.changed
          ? `已停用用户 ${user.username}，结束登录会话 ${r.revokedSessions} 个`
          : `用户 ${user.username} 原已停用，未作改动`,
      );
    },
  );

  leaf(
    users,
    'enable <username>',
    '重新启用已停用的用户',
    (c) => c,
    async (username: string, opts: { json?: boolean }) => {
      const r = await operate('users.enable', { username });
      const user = r.user;
      printResult(opts, { ok: true, user, changed: r.changed }, () =>
        r.changed ? `已启用用户 ${user.username}` : `用户 ${user.username} 原已启用，未作改动`,
      );
    },
  );

  leaf(
    users,
    'reset <username>',
    '重置密码：生成新的一次性密码并结束其全部登录会话',
    (c) => c,
    async (username: string, opts: { json?: boolean }) => {
      const r = await operate('users.reset', { username });
      const user = r.user;
      printResult(
        opts,
        { ok: true, user, oneTimePassword: r.oneTimePassword, revokedSessions: r.revokedSessions },
        () =>
          `已重置 ${user.username} 的密码，结束登录会话 ${r.revokedSessions} 个\n一次性密码：${r.oneTimePassword}${ONCE}`,
      );
    },
  );
}
