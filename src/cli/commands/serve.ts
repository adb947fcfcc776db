// weipian serve: the web API on 127.0.0.1 (WEIPIAN_HOST / WEIPIAN_PORT to change).
import type { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { openFromConfig } from '../context.ts';
import { buildApp } from '../../server/app.ts';
import { leaf } from '../program.ts';
import { ensureInitialAdmin } from '../../services/bootstrap.ts';
import { loadDemo, type DemoLoadResult } from '../../demo/load.ts';
import { demoLoginLines } from './demo.ts';
import { progressBar } from '../output.ts';
import { mkdirSync } from 'node:fs';
import { acquireLock, isLock } from '../../store/lock.ts';
import { removeOperatorToken, writeOperatorToken } from '../../server/operator-token.ts';
import { WeipianError } from '../../domain/errors.ts';

export function serveCommand(program: Command): void {
  leaf(
    program,
    'serve',
    '启动 Web 服务',
    (c) =>
      c
        .option('--port <port>', '端口（默认 8080 或 WEIPIAN_PORT）')
        .option('--host <host>', '监听地址（默认 127.0.0.1）')
        .option('--demo', '数据库为空时载入演示区县（周村区）与演示账号（npm start 使用）'),
    async (opts: { port?: string; host?: string; demo?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const host = opts.host ?? config.host;
      const port = opts.port ? Number(opts.port) : config.port;
      const url = `http://${host}:${port}/`;
      // The server owns the PGlite folder while it runs; CLI commands then act through its API.
      let operator: { token: string; release(): void } | undefined;
      if (!config.databaseUrl) {
        mkdirSync(config.dataDir, { recursive: true });
        const lock = acquireLock(config.dataDir, 'server', url);
        if (!isLock(lock))
          throw new WeipianError(
            'data_in_use',
            lock.kind === 'server'
              ? `已有 weipian serve（进程 ${lock.pid}，${lock.url ?? ''}）在使用数据目录 ${config.dataDir}`
              : `weipian 命令（进程 ${lock.pid}）正在使用数据目录 ${config.dataDir}，请等它结束后再启动服务`,
            { owner: lock },
          );
        operator = { token: writeOperatorToken(config.dataDir), release: lock.release };
      }
      const db = await openFromConfig(config, true, 'server');
      // A new installation gets one administrator; its one-time password is printed below, once.
      let demo: DemoLoadResult | undefined;
      if (opts.demo) {
        const bar = progressBar('载入');
        demo = await loadDemo(db, {
          actor: 'system:demo',
          onStep: (step) => {
            if (!opts.json) process.stdout.write(`${step}…\n`);
          },
          onProgress: bar,
        }).finally(() => bar.done());
      }
      const initialAdmin = demo ? null : await ensureInitialAdmin(db);
      const app = await buildApp({
        db,
        operator: operator && {
          token: operator.token,
          context: { filesDir: config.filesDir, maxUnzippedBytes: config.maxUnzippedBytes },
        },
      });
      try {
        await app.listen({ host, port });
      } catch (e) {
        await app.close();
        await db.close();
        if (operator) {
          removeOperatorToken(config.dataDir);
          operator.release();
        }
        throw new WeipianError('listen_failed', `无法在 ${url} 启动服务：${(e as Error).message}`);
      }
      if (opts.json)
        process.stdout.write(
          `${JSON.stringify({ ok: true, url, engine: db.engine, data: db.location, initialAdmin, demo })}\n`,
        );
      else
        process.stdout.write(
          `卫片执法监督检查系统已启动：${url}\n数据库：${db.engine === 'pglite' ? `内嵌 PGlite（${db.location}）` : `PostgreSQL（${db.location}）`}\n`,
        );
      if (demo && !opts.json) process.stdout.write(`${demoLoginLines(demo).join('\n')}\n`);
      if (initialAdmin && !opts.json)
        process.stdout.write(
          `已创建初始管理员账号 ${initialAdmin.username}，一次性密码：${initialAdmin.oneTimePassword}\n（只显示这一次；首次登录后须修改密码）\n`,
        );
      const stop = async () => {
        await app.close();
        await db.close();
        if (operator) {
          removeOperatorToken(config.dataDir);
          operator.release();
        }
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  );
}
