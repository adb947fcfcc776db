// weipian serve: the web API on 127.0.0.1 (WEIPIAN_HOST / WEIPIAN_PORT to change).
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { openFromConfig } from '../context.ts';
import { buildApp } from '../../server/app.ts';
import { leaf } from '../program.ts';
import { ensureInitialAdmin } from '../../services/bootstrap.ts';

export function serveCommand(program: Command): void {
  leaf(
    program,
    'serve',
    '启动 Web 服务',
    (c) => c.option('--port <port>', '端口（默认 8080 或 WEIPIAN_PORT）').option('--host <host>', '监听地址（默认 127.0.0.1）'),
    async (opts: { port?: string; host?: string; json?: boolean }) => {
      const config = loadConfig();
      const db = await openFromConfig(config);
      // A new installation gets one administrator; its one-time password is printed below, once.
      const initialAdmin = await ensureInitialAdmin(db);
      const app = await buildApp({ db });
      const host = opts.host ?? config.host;
      const port = opts.port ? Number(opts.port) : config.port;
      await app.listen({ host, port });
      const url = `http://${host}:${port}/`;
      if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, url, engine: db.engine, data: db.location, initialAdmin })}\n`);
      else process.stdout.write(`卫片执法监督检查系统已启动：${url}\n数据库：${db.engine === 'pglite' ? `内嵌 PGlite（${db.location}）` : `PostgreSQL（${db.location}）`}\n`);
      if (initialAdmin && !opts.json)
        process.stdout.write(
          `已创建初始管理员账号 ${initialAdmin.username}，一次性密码：${initialAdmin.oneTimePassword}\n（只显示这一次；首次登录后须修改密码）\n`,
        );
      const stop = async () => {
        await app.close();
        await db.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  );
}
